//! `Slack`: what the service asks Slack to show, and why it could not.

use async_trait::async_trait;

use crate::domain::ids::{ChannelId, SlackGroupId, SlackUserId};
use crate::domain::request::CardRef;
use crate::notice::{Card, Notice, RequestForm, ThreadNote};

/// Why a Slack call did not do what was asked. The detail is Slack's or the transport's words:
/// it goes to the log, never into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Slack answered with a refusal (an error code, a 4xx): the same call would fail again.
    #[error("Slack refused {method}: {detail}")]
    Refused {
        method: &'static str,
        /// Slack's error code (`not_in_channel`, `expired_trigger_id`), when it gave one.
        code: Option<String>,
        detail: String,
    },
    /// No usable answer after every try: rate limited past the wait the bot accepts, 5xx, no
    /// connection, or no answer in time.
    #[error("Slack did not answer {method}: {detail}")]
    Unavailable {
        method: &'static str,
        detail: String,
    },
    /// The call was sent but not answered (no answer in time, the connection lost after
    /// sending, a 5xx): Slack may have done it. A call that must not be done twice (posting a
    /// card) is not tried again.
    #[error("Slack did not confirm {method}: {detail}")]
    Unconfirmed {
        method: &'static str,
        detail: String,
    },
    /// This adapter cannot do it (the demo's console has no user groups, for one).
    #[error("not supported here: {0}")]
    Unsupported(&'static str),
}

impl SlackError {
    /// Slack refused what it was sent (Block Kit beyond its limits): a smaller message may pass.
    pub fn is_refused_content(&self) -> bool {
        matches!(
            self,
            SlackError::Refused { code: Some(c), .. }
                if matches!(c.as_str(), "invalid_blocks" | "invalid_blocks_format" | "msg_too_long" | "invalid_arguments")
        )
    }

    /// What the person is told: Slack's error code when it gave one (it says what to fix, e.g.
    /// `not_in_channel`), else what kind of failure it was. Never the transport's details.
    pub fn reason(&self) -> String {
        match self {
            SlackError::Refused { code: Some(c), .. } => c.clone(),
            SlackError::Refused { code: None, .. } => "Slack refused the call".into(),
            SlackError::Unavailable { .. } => "Slack did not answer".into(),
            SlackError::Unconfirmed { .. } => "Slack did not confirm it".into(),
            SlackError::Unsupported(what) => format!("{what} not supported here"),
        }
    }
}

#[async_trait]
pub trait Slack: Send + Sync {
    async fn post_card(&self, channel: &ChannelId, card: &Card) -> Result<CardRef, SlackError>;
    async fn update_card(&self, at: &CardRef, card: &Card) -> Result<(), SlackError>;
    async fn respond(&self, response_url: &str, notice: &Notice) -> Result<(), SlackError>;
    /// A reply in the card's thread.
    async fn post_in_thread(&self, card: &CardRef, note: &ThreadNote) -> Result<(), SlackError>;
    /// A direct message from the bot (the outcome, to the requester).
    async fn direct_message(&self, user: &SlackUserId, note: &ThreadNote)
    -> Result<(), SlackError>;
    async fn group_members(&self, group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError>;
    /// Open the request form (`views.open`) for a slash command's `trigger_id`.
    async fn open_request_form(
        &self,
        trigger_id: &str,
        form: &RequestForm,
    ) -> Result<(), SlackError> {
        let _ = (trigger_id, form);
        Err(SlackError::Unsupported("forms"))
    }
    /// A message only `user` sees in `channel` (the answer to a form, which has no `response_url`).
    async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &SlackUserId,
        notice: &Notice,
    ) -> Result<(), SlackError> {
        let _ = (channel, user, notice);
        Err(SlackError::Unsupported("ephemeral messages"))
    }
}
