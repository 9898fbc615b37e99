//! Keeping the approval card in step with the request.

use tracing::{error, warn};

use super::notice::{Card, Notice, ThreadNote};
use super::{App, CommandContext};
use crate::domain::audit::Witness;
use crate::domain::ids::RequestId;
use crate::domain::request::{CardRef, Request, State};
use crate::ports::{SlackError, error_chain};

impl App {
    pub(super) fn card(&self, request: &Request, witness: Option<Witness>) -> Card {
        Card {
            request: request.clone(),
            account_name: self
                .settings
                .accounts
                .iter()
                .find(|a| request.role().is_some_and(|r| r.account() == &a.id))
                .and_then(|a| a.name.clone()),
            witness,
            minimal: false,
        }
    }

    /// Post `card`; when Slack refuses it as too big or malformed, post the minimal card, which
    /// still has the buttons (README, "Slack").
    async fn post_or_minimal(
        &self,
        channel: &crate::domain::ids::ChannelId,
        card: Card,
    ) -> Result<CardRef, SlackError> {
        match self.slack.post_card(channel, &card).await {
            Err(e) if e.is_refused_content() => {
                error!(error = %e, "Slack refused the approval card; posting the minimal card");
                self.slack
                    .post_card(
                        channel,
                        &Card {
                            minimal: true,
                            ..card
                        },
                    )
                    .await
            }
            other => other,
        }
    }

    /// The same for an update.
    async fn update_or_minimal(&self, at: &CardRef, card: Card) -> Result<(), SlackError> {
        match self.slack.update_card(at, &card).await {
            Err(e) if e.is_refused_content() => {
                error!(error = %e, "Slack refused the card's update; showing the minimal card");
                self.slack
                    .update_card(
                        at,
                        &Card {
                            minimal: true,
                            ..card
                        },
                    )
                    .await
            }
            other => other,
        }
    }

    pub(super) async fn post_card(&self, ctx: &CommandContext, request: &Request) {
        match self
            .post_or_minimal(request.channel(), self.card(request, None))
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
            Err(e @ SlackError::Unconfirmed { .. }) => {
                // It may be in the channel: posting again could leave a second card the bot never
                // updates. The first click on it tells where it is (`decide::learn_card`).
                error!(error = %e, "Slack did not confirm the approval card; not posting it again");
                self.tell(
                    &ctx.response_url,
                    Notice::CardUnconfirmed(request.id().clone()),
                )
                .await;
            }
            Err(e) => {
                error!(error = %e, "could not post the approval card");
                self.tell(
                    &ctx.response_url,
                    Notice::CardNotPosted {
                        id: request.id().clone(),
                        slack_error: e.reason(),
                    },
                )
                .await;
            }
        }
    }

    /// Show `request` on its card. A closed request shows its place in the audit chain: `witness`
    /// when the caller has it, else the last stored event.
    pub(super) async fn update_card(&self, request: &Request, witness: Option<Witness>) {
        let Some(at) = self.card_of(request).await else {
            return;
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
            .update_or_minimal(&at, self.card(request, witness))
            .await
        {
            warn!(error = %e, "could not update the card");
        }
    }

    /// A request just closed, recorded at `witness`: the outcome on its card, in its thread and
    /// to the requester.
    pub(super) async fn show_outcome(&self, done: &Request, witness: Witness) {
        self.update_card(done, Some(witness)).await;
        self.announce_outcome(done).await;
    }

    /// Where the card is. A click can be handled before the card's reference is stored (it is
    /// written once Slack has answered the post): look it up again before giving up.
    async fn card_of(&self, request: &Request) -> Option<CardRef> {
        match request.card() {
            Some(at) => Some(at.clone()),
            None => match self.store.get(request.id()).await {
                Ok(Some(r)) => r.card().cloned(),
                _ => None,
            },
        }
    }

    /// A reply in the card's thread: the request's timeline.
    pub(super) async fn timeline(&self, request: &Request, note: ThreadNote) {
        let Some(at) = self.card_of(request).await else {
            return;
        };
        if let Err(e) = self.slack.post_in_thread(&at, &note).await {
            warn!(error = %e, "could not post in the card's thread");
        }
    }

    /// A closed request: its outcome in the thread, and to the requester directly (unless they
    /// closed it themselves by cancelling).
    pub(super) async fn announce_outcome(&self, request: &Request) {
        let note = ThreadNote::Outcome(Box::new(request.clone()));
        self.timeline(request, note.clone()).await;
        if request.state() != State::Cancelled
            && let Err(e) = self.slack.direct_message(request.requester(), &note).await
        {
            warn!(error = %e, "could not send the requester the outcome");
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
                warn!(error = %error_chain(&e), "could not re-read the request after posting its card")
            }
        }
    }
}
