//! The Re-apply button on a drift note (README "Revocations that stay in force"): a new request for the same target, by the
//! person who clicked, with the usual checks and approval.

use std::sync::Arc;

use tracing::{info, warn};

use super::notice::Notice;
use super::{App, CommandContext, ReapplyContext};
use crate::domain::request::{State, Target};
use crate::domain::role_arn::RoleSpec;
use crate::ports::error_chain;

impl App {
    /// The Re-apply button: a new request for the same role, by the person who clicked, with the
    /// usual checks and approval.
    #[tracing::instrument(skip_all,
        fields(reapplies = %ctx.request_id, user = %ctx.user, request_id = tracing::field::Empty))]
    pub(super) async fn reapply(self: Arc<Self>, ctx: ReapplyContext) {
        let Some(old) = self
            .request_for_click(&ctx.request_id, &ctx.response_url)
            .await
        else {
            return;
        };
        if old.state() != State::Applied {
            return self
                .tell(
                    &ctx.response_url,
                    Notice::ReapplyNotApplicable(old.id().clone()),
                )
                .await;
        }
        if !self.channel_allowed(old.channel()) {
            return self
                .tell(&ctx.response_url, Notice::ChannelNotAllowed)
                .await;
        }
        let reason = format!("re-apply {}: drift", old.id());
        // A second click (or a second person) while the first re-apply waits gets pointed to it.
        match self.store.open_requests().await {
            Ok(open) => {
                if let Some(open) = open
                    .iter()
                    .find(|r| r.reason() == reason && r.target_arn() == old.target_arn())
                {
                    return self
                        .tell(
                            &ctx.response_url,
                            Notice::ReapplyAlreadyOpen {
                                old: old.id().clone(),
                                open: open.id().clone(),
                            },
                        )
                        .await;
                }
            }
            Err(e) => {
                warn!(error = %error_chain(&e), "could not look for an open re-apply request");
            }
        }
        info!(old = %old.id(), "re-apply requested");
        let command = CommandContext {
            user: ctx.user,
            channel: old.channel().clone(),
            text: format!("{} {reason}", old.target_arn()),
            response_url: ctx.response_url.into(),
            trigger_id: None,
        };
        match old.target() {
            Target::Role(role) => {
                let spec = RoleSpec::Arn(role.clone());
                self.submit(command, spec, reason).await
            }
            Target::PermissionSet(ps) => {
                let arn = ps.arn.clone();
                self.submit_permission_set(command, arn, reason).await
            }
            // No command makes user requests yet (README "Leaked access keys and IAM users").
            Target::User(_) => {
                self.tell(
                    &command.response_url,
                    Notice::ReapplyNotApplicable(old.id().clone()),
                )
                .await
            }
        }
    }
}
