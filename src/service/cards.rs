//! Keeping the approval card in step with the request.

use tracing::{error, warn};

use super::notice::{Card, Notice};
use super::{App, CommandContext};
use crate::domain::audit::Witness;
use crate::domain::ids::RequestId;
use crate::domain::request::Request;
use crate::ports::error_chain;

impl App {
    pub(super) fn card(&self, request: &Request, witness: Option<Witness>) -> Card {
        Card {
            request: request.clone(),
            account_name: self
                .settings
                .account(request.role().account())
                .and_then(|a| a.name.clone()),
            witness,
        }
    }

    pub(super) async fn post_card(&self, ctx: &CommandContext, request: &Request) {
        match self
            .slack
            .post_card(request.channel(), &self.card(request, None))
            .await
        {
            Ok(card) => {
                let stored = self.store.set_card(request.id(), &card).await;
                if let Err(e) = &stored {
                    error!(error = %error_chain(e), "could not remember the card; it will not be updated");
                }
                self.tell(
                    &ctx.response_url,
                    Notice::AwaitingApproval(request.id().clone()),
                )
                .await;
                if stored.is_ok() {
                    self.catch_up_card(request.id()).await;
                }
            }
            Err(e) => {
                error!(error = %e, "could not post the approval card");
                self.tell(
                    &ctx.response_url,
                    Notice::CardNotPosted {
                        id: request.id().clone(),
                        slack_error: e.0,
                    },
                )
                .await;
            }
        }
    }

    /// Show `request` on its card. A closed request shows its place in the audit chain: `witness`
    /// when the caller has it, else the last stored event.
    pub(super) async fn update_card(&self, request: &Request, witness: Option<Witness>) {
        // A click can be handled before the card's reference is stored (the reference is written
        // once Slack has answered the post): look it up again before giving up on the update.
        let at = match request.card() {
            Some(at) => at.clone(),
            None => match self.store.get(request.id()).await {
                Ok(Some(r)) if r.card().is_some() => match r.card() {
                    Some(at) => at.clone(),
                    None => return,
                },
                _ => return,
            },
        };
        let witness = match witness {
            Some(w) => Some(w),
            None if !request.state().is_open() => self
                .store
                .events_for(request.id())
                .await
                .ok()
                .and_then(|events| events.last().map(Witness::of)),
            None => None,
        };
        if let Err(e) = self
            .slack
            .update_card(&at, &self.card(request, witness))
            .await
        {
            warn!(error = %e, request_id = %request.id(), "could not update the card");
        }
    }

    /// Right after the card's reference is stored: if a click already closed the request (it
    /// may have found no card to update), show the outcome on the card now. A request still in
    /// progress is left to its own updates, so this never shows an older state over a newer one.
    async fn catch_up_card(&self, id: &RequestId) {
        match self.store.get(id).await {
            Ok(Some(current)) if !current.state().is_open() => {
                self.update_card(&current, None).await
            }
            Ok(_) => {}
            Err(e) => {
                warn!(error = %error_chain(&e), request_id = %id, "could not re-read the request after posting its card")
            }
        }
    }
}
