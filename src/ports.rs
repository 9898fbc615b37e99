//! The outside world, as the service sees it: small traits that speak domain types.
//! Real adapters live in `aws` and `slack`; in-process ones in `memory` (demo and unit tests).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::audit::{AuditEvent, EventDraft};
use crate::domain::ids::{ChannelId, RequestId, SlackGroupId, SlackUserId};
use crate::domain::preview::RolePreview;
use crate::domain::request::{CardRef, Request};
use crate::domain::role_arn::RoleArn;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The request changed since it was read: re-read and decide again.
    #[error("the request changed since it was read")]
    Conflict,
    /// The idempotency key was seen before: this is a redelivery.
    #[error("already recorded")]
    Duplicate,
    #[error("audit store unavailable: {0}")]
    Unavailable(String),
}

/// A page of results and whether more matched.
#[derive(Debug, Clone, Default)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
    /// Items the store read to answer (to show index use).
    pub scanned: usize,
    /// How many matched in all, when there are more than fit and the store can count them.
    pub total: Option<usize>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Create a request with its first event, once per idempotency key.
    async fn create(
        &self,
        request: &Request,
        event: EventDraft,
        idempotency_key: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Write `next` only if the stored version is still `next.version - 1`, together with its event.
    async fn transition(&self, next: &Request, event: EventDraft) -> Result<(), StoreError>;
    /// Append an event that changes no request (refused attempts).
    async fn record(&self, event: EventDraft) -> Result<(), StoreError>;
    /// Remember where the card was posted (not a transition).
    async fn set_card(&self, id: &RequestId, card: &CardRef) -> Result<(), StoreError>;
    /// Take the lease on an `approved` request for writing its policy; `false` if it is not approved
    /// or another worker holds an unexpired lease. Keeps two workers from writing the same policy.
    async fn claim(&self, id: &RequestId, now: DateTime<Utc>) -> Result<bool, StoreError>;
    async fn get(&self, id: &RequestId) -> Result<Option<Request>, StoreError>;
    async fn events_for(&self, id: &RequestId) -> Result<Vec<AuditEvent>, StoreError>;
    /// Requests still pending or approved.
    async fn open_requests(&self) -> Result<Vec<Request>, StoreError>;
    async fn requests_by_role(
        &self,
        role: &RoleArn,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError>;
    async fn requests_by_user(
        &self,
        user: &SlackUserId,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError>;
    async fn latest_requests(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError>;
    /// Every event and the chain head's sequence number, for `audit verify`.
    async fn whole_chain(&self) -> Result<(Vec<AuditEvent>, u64), StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    Unmodifiable(String),
    #[error("{0}")]
    Throttled(String),
    #[error("{0}")]
    Other(String),
}

impl IamError {
    /// A short line a responder can act on; the full error goes to the log and the audit event.
    pub fn short(&self, role: &RoleArn, action: &str) -> String {
        match self {
            IamError::NoSuchEntity(_) => format!(
                "role `{}` does not exist in account {}",
                role.name(),
                role.account()
            ),
            IamError::AccessDenied(_) => format!(
                "the bot is not allowed to call iam:{action} on `{}`: grant it in the bot's role (see deploy/)",
                role.name()
            ),
            IamError::LimitExceeded(_) => format!(
                "`{}` has no inline policy space left (10,240 characters in all): remove or shrink an inline policy, then ask again",
                role.name()
            ),
            IamError::Unmodifiable(_) => {
                format!("`{}` is managed by AWS and cannot be changed", role.name())
            }
            IamError::Throttled(_) => {
                "AWS throttled the request even after retries: ask again in a minute".into()
            }
            IamError::Other(_) => {
                format!("AWS refused iam:{action}; the error is in the audit trail and the log")
            }
        }
    }
}

#[async_trait]
pub trait Iam: Send + Sync {
    /// On failure, also which IAM action failed (so the message names the missing permission).
    async fn preview(&self, role: &RoleArn) -> Result<RolePreview, (&'static str, IamError)>;
    /// The current `AWSRevokeOlderSessions` document as JSON text, if the role has one.
    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError>;
    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Slack API: {0}")]
pub struct SlackError(pub String);

/// A message answering one person or the channel through a `response_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub in_channel: bool,
    /// mrkdwn sections, shown in order; the first is also the notification text.
    pub sections: Vec<String>,
}

impl Reply {
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Reply {
            in_channel: false,
            sections: vec![text.into()],
        }
    }
    pub fn in_channel(sections: Vec<String>) -> Self {
        Reply {
            in_channel: true,
            sections,
        }
    }
    pub fn text(&self) -> String {
        self.sections.join("\n")
    }
}

/// What the approval card shows; rendered to Block Kit by the Slack adapter, to text by the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub request: Request,
    pub account_name: Option<String>,
}

#[async_trait]
pub trait Slack: Send + Sync {
    async fn post_card(&self, channel: &ChannelId, card: &Card) -> Result<CardRef, SlackError>;
    async fn update_card(&self, at: &CardRef, card: &Card) -> Result<(), SlackError>;
    async fn respond(&self, response_url: &str, reply: &Reply) -> Result<(), SlackError>;
    async fn group_members(&self, group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError>;
}
