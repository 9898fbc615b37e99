//! The entry points: what Slack hands the service (a slash command, a click, a Re-apply), answered
//! at once, with the slow work spawned onto the application's tracked tasks.

use std::sync::Arc;

use super::App;
use super::notice::Notice;
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::command::{AuditQuery, AuditTarget, Command};
use crate::domain::ids::{Actor, ChannelId, RequestId, SlackUserId};
use crate::domain::request::Action;

/// A slash command as it arrived, after the signature was checked.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub user: SlackUserId,
    pub channel: ChannelId,
    pub text: String,
    /// Where answers go: the command's `response_url`, or for the request form (which has none)
    /// ephemeral messages in the channel the command came from.
    pub response_url: ReplyTo,
    pub trigger_id: Option<String>,
}

/// Where the answers to a command go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    ResponseUrl(String),
    /// Ephemeral messages to `user` in `channel` (`chat.postEphemeral`).
    Ephemeral {
        channel: ChannelId,
        user: SlackUserId,
    },
}

impl From<String> for ReplyTo {
    fn from(url: String) -> Self {
        ReplyTo::ResponseUrl(url)
    }
}

/// Anything an answer can be sent to: a `response_url`, or a [`ReplyTo`].
pub trait Recipient: Sync {
    fn reply_to(&self) -> ReplyTo;
}

impl Recipient for String {
    fn reply_to(&self) -> ReplyTo {
        ReplyTo::ResponseUrl(self.clone())
    }
}

impl Recipient for ReplyTo {
    fn reply_to(&self) -> ReplyTo {
        self.clone()
    }
}

/// A button click as it arrived, after the signature was checked.
#[derive(Debug, Clone)]
pub struct ClickContext {
    pub user: SlackUserId,
    pub action: Action,
    pub request_id: RequestId,
    pub response_url: String,
    /// The message the button is on (`container.channel_id`, `container.message_ts`): how the
    /// bot learns where a card is whose posting Slack did not confirm.
    pub card: Option<crate::domain::request::CardRef>,
}

/// A click on the Re-apply button under a drift note (README "Revocations that stay in force"): asks for a new request.
#[derive(Debug, Clone)]
pub struct ReapplyContext {
    pub user: SlackUserId,
    /// The applied request whose revocation drifted.
    pub request_id: RequestId,
    pub response_url: String,
}

impl App {
    /// The immediate answer to a slash command; slow work is spawned.
    pub fn on_command(self: &Arc<Self>, ctx: CommandContext) -> Notice {
        let command = match Command::parse(&ctx.text) {
            Ok(c) => c,
            Err(e) => return Notice::NotUnderstood(e),
        };
        if !self.channel_allowed(&ctx.channel) {
            let app = self.clone();
            let event = EventDraft::by(
                RequestId::generate(),
                EventKind::RequestRefused,
                &Actor::User(ctx.user.clone()),
                self.clock.now(),
            )
            .with_reason(&ctx.text)
            .with_detail(format!(
                "channel {} is not on the channels allow-list",
                ctx.channel
            ));
            self.spawn(async move { app.record_quietly(event).await });
            return Notice::ChannelNotAllowed;
        }
        // Parsed but not carried out yet: said so, nothing requested.
        if let Some(e) = command.not_available_yet() {
            return Notice::NotUnderstood(e);
        }
        let app = self.clone();
        match command {
            // No arguments at all: the request form, for whoever does not remember the syntax.
            Command::Help if ctx.text.trim().is_empty() => match ctx.trigger_id.clone() {
                Some(trigger) => {
                    // The trigger's life starts now, not when the work gets a slot.
                    let expires = tokio::time::Instant::now() + super::notice::TRIGGER_LIFETIME;
                    self.spawn(async move { app.open_form(ctx, trigger, expires).await });
                    Notice::OpeningForm
                }
                None => Notice::Usage,
            },
            Command::Help => Notice::Usage,
            Command::Revoke { role, reason, .. } => {
                let shown = role.to_string();
                self.spawn(async move { app.submit(ctx, role, reason).await });
                Notice::Checking { role: shown }
            }
            Command::RevokePermissionSet { name, reason } => {
                let shown = format!("permission set {name}");
                self.spawn(async move { app.submit_permission_set(ctx, name, reason).await });
                Notice::Checking { role: shown }
            }
            Command::Status(id) => {
                let q = AuditQuery {
                    target: AuditTarget::Request(id),
                    since: None,
                    limit: 1,
                };
                self.spawn(async move { app.lookup_for(ctx, q).await });
                Notice::LookingUp
            }
            Command::Audit(q) => {
                self.spawn(async move { app.lookup_for(ctx, q).await });
                Notice::LookingUp
            }
            // Answered above (`not_available_yet`) until they are wired.
            Command::RevokeKey { .. } | Command::RevokeUser { .. } | Command::Restore { .. } => {
                Notice::Usage
            }
        }
    }

    /// A click is always acknowledged empty; the outcome arrives on the card or through `response_url`.
    pub fn on_click(self: &Arc<Self>, ctx: ClickContext) {
        let app = self.clone();
        self.spawn(async move { app.click(ctx).await });
    }

    /// Re-apply after drift: like a slash command, a new request answered in the background.
    pub fn on_reapply(self: &Arc<Self>, ctx: ReapplyContext) {
        let app = self.clone();
        self.spawn(async move { app.reapply(ctx).await });
    }

    #[tracing::instrument(name = "lookup", skip_all, fields(user = %ctx.user))]
    async fn lookup_for(self: Arc<Self>, ctx: CommandContext, q: AuditQuery) {
        let notice = match self.lookup(&q).await {
            Ok(found) => Notice::Found(found),
            Err(e) => Notice::LookupFailed(e),
        };
        self.tell(&ctx.response_url, notice).await;
    }
}
