//! The outside world, as the service sees it: small traits that speak domain types.
//! Real adapters live in `aws` and `slack`; in-process ones in `memory` (demo and the fast tests).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::audit::{AuditEvent, ChainSnapshot, EventDraft};
use crate::domain::ids::{ChannelId, RequestId, SlackGroupId, SlackUserId};
use crate::domain::preview::{RolePreview, WhoCanComeBack};
use crate::domain::request::{CardRef, Failure, Request};
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::notice::{Card, Notice, RequestForm, ThreadNote};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error with its whole cause chain, for logs and the audit record (never for Slack).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request changed since it was read: re-read and decide again.
    #[error("the request changed since it was read")]
    Conflict,
    /// The idempotency key was seen before: this is a redelivery.
    #[error("already recorded")]
    Duplicate,
    #[error("audit store unavailable")]
    Unavailable(#[source] BoxError),
    /// An item the bot wrote no longer reads back (edited by hand, or by a newer version).
    #[error("audit store holds an unreadable item: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn unavailable(why: impl Into<String>) -> Self {
        StoreError::Unavailable(why.into().into())
    }
}

pub use crate::notice::Page;

/// How long a worker owns an approved request while it writes the policy (both adapters).
pub const APPLY_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a replica owns one drift check of an applied revocation (both adapters).
pub const WATCH_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// When a lease of `length` taken at `now` runs out (both stores use this, so they agree).
pub fn lease_end(now: DateTime<Utc>, length: std::time::Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::minutes(1))
}

/// An applied revocation under drift watch (SPEC §11), with the watch's state, which is stored
/// beside the request: watched from the `applied` transition until the watch is finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub request: Request,
    /// When the next check is due.
    pub due: DateTime<Utc>,
    /// The drift already reported and not yet seen resolved (its code), so it is reported once.
    pub drift: Option<String>,
}

/// When an applied request's first check is due: at once (the cut-off in force lies in the past).
pub fn first_watch_due(request: &Request) -> Option<DateTime<Utc>> {
    request.written().map(|w| w.in_force.time())
}

/// What one drift check concluded; every update also gives up the check's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchUpdate {
    /// Nothing to remember.
    Checked,
    /// Drift seen: remember `code`, only if no drift is remembered (`false` if one already is).
    Drifted(String),
    /// The deny is in force again: forget the reported drift.
    InForce,
    /// The window has passed (and any clean-up is done): stop watching.
    Finished,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Create a request with its first event, once per idempotency key.
    async fn create(
        &self,
        request: &Request,
        event: EventDraft,
        idempotency_key: Option<&str>,
    ) -> Result<AuditEvent, StoreError>;
    /// Write `next` only if the stored version is still `next.version - 1`, together with its event.
    async fn transition(&self, next: &Request, event: EventDraft)
    -> Result<AuditEvent, StoreError>;
    /// Append an event that changes no request (refused attempts).
    async fn record(&self, event: EventDraft) -> Result<AuditEvent, StoreError>;
    /// Remember where the card was posted (not a transition).
    async fn set_card(&self, id: &RequestId, card: &CardRef) -> Result<(), StoreError>;
    /// Count reminder number `sent + 1` for a pending request, if nobody else has sent it: `false`
    /// when another replica did (or the request is no longer pending). Survives restarts.
    async fn claim_reminder(&self, id: &RequestId, sent: u32) -> Result<bool, StoreError>;
    /// Take the lease on an `approved` request for writing its policy; `false` if it is not approved
    /// or another worker holds an unexpired lease. Keeps two workers from writing the same policy.
    async fn claim(&self, id: &RequestId, now: DateTime<Utc>) -> Result<bool, StoreError>;
    async fn get(&self, id: &RequestId) -> Result<Option<Request>, StoreError>;
    async fn events_for(&self, id: &RequestId) -> Result<Vec<AuditEvent>, StoreError>;
    /// Requests still pending or approved.
    async fn open_requests(&self) -> Result<Vec<Request>, StoreError>;
    /// Applied requests under drift watch whose next check is due at `now`.
    async fn watch_list(&self, now: DateTime<Utc>) -> Result<Vec<Watch>, StoreError>;
    /// Take one due check of a watched request: `None` if it is not due (another replica took
    /// it) or another replica holds an unexpired lease. Moves the next check to `next_due` and
    /// returns the watch as stored now.
    async fn claim_watch(
        &self,
        id: &RequestId,
        now: DateTime<Utc>,
        next_due: DateTime<Utc>,
    ) -> Result<Option<Watch>, StoreError>;
    /// Record what a check concluded and give up its lease. `false` only for a `Drifted` that
    /// was already remembered.
    async fn update_watch(&self, id: &RequestId, update: WatchUpdate) -> Result<bool, StoreError>;
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
    /// Every event as stored (with its sort key) and the chain head, for `audit verify`.
    async fn chain_snapshot(&self) -> Result<ChainSnapshot, StoreError>;
    /// Every event and the chain head's sequence number.
    async fn whole_chain(&self) -> Result<(Vec<AuditEvent>, u64), StoreError> {
        let s = self.chain_snapshot().await?;
        Ok((
            s.events.into_iter().map(|e| e.event).collect(),
            s.head.map_or(0, |h| h.seq),
        ))
    }
    async fn ping(&self) -> Result<(), StoreError>;
}

/// What went wrong with an IAM or STS call, in kinds the service can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamErrorKind {
    NoSuchEntity,
    AccessDenied,
    LimitExceeded,
    Unmodifiable,
    Throttled,
    Timeout,
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("iam:{action} failed ({kind:?})")]
pub struct IamError {
    pub action: &'static str,
    pub kind: IamErrorKind,
    #[source]
    pub source: BoxError,
}

impl IamError {
    pub fn new(action: &'static str, kind: IamErrorKind, source: impl Into<BoxError>) -> Self {
        IamError {
            action,
            kind,
            source: source.into(),
        }
    }

    /// What a responder is told (AWS's own text stays in the log and the audit record).
    pub fn failure(&self) -> Failure {
        let action = self.action.to_string();
        match self.kind {
            IamErrorKind::NoSuchEntity => Failure::RoleNotFound,
            IamErrorKind::AccessDenied => Failure::AccessDenied { action },
            IamErrorKind::LimitExceeded => Failure::NoInlinePolicySpace,
            IamErrorKind::Unmodifiable => Failure::Unmodifiable,
            IamErrorKind::Throttled => Failure::Throttled,
            IamErrorKind::Timeout => Failure::Timeout { action },
            IamErrorKind::Other => Failure::Aws { action },
        }
    }

    /// The whole error, for the log and the audit event.
    pub fn full(&self) -> String {
        error_chain(self)
    }
}

/// What `GetRole` says: the role as IAM stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// The canonical ARN: partition, account, path and name as IAM has them.
    pub arn: RoleArn,
    pub max_session_duration_secs: Option<i32>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_region: Option<String>,
    /// The trust policy (URL-decoded JSON).
    pub trust_policy: Option<String>,
}

/// The rest of the impact preview: reads that only need the role's name, run concurrently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDetails {
    pub instance_profiles: Vec<String>,
    /// Characters used by inline policies other than `AWSRevokeOlderSessions`.
    pub inline_policy_chars_used: usize,
    /// The current `AWSRevokeOlderSessions` document, if any.
    pub revoke_policy: Option<String>,
}

impl RoleInfo {
    /// The impact preview; `configured` are the accounts this bot works in (a principal elsewhere
    /// is flagged: revoking here does not stop it).
    pub fn preview(&self, details: &RoleDetails, configured: &[AccountId]) -> RolePreview {
        RolePreview {
            path: self.arn.path().to_string(),
            max_session_duration_secs: self.max_session_duration_secs,
            last_used_at: self.last_used_at,
            last_used_region: self.last_used_region.clone(),
            instance_profiles: details.instance_profiles.clone(),
            existing_cutoff: crate::domain::policy::read_existing(details.revoke_policy.as_deref())
                .into_policy()
                .and_then(|p| p.cutoff()),
            inline_policy_chars_used: details.inline_policy_chars_used,
            who_can_come_back: self
                .trust_policy
                .as_deref()
                .map(|t| WhoCanComeBack::read(t, configured)),
        }
    }
}

/// Roles of one account, as `ListRoles` returns them (for the request form's type-ahead).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleList {
    pub roles: Vec<RoleArn>,
    /// More roles matched than were returned.
    pub more: bool,
}

/// The most roles the form lists at once (Slack shows at most 100 options).
pub const ROLE_LIST_MAX: usize = 100;

/// IAM (and STS) in each configured account, through that account's credentials.
#[async_trait]
pub trait Iam: Send + Sync {
    /// Roles of `account` whose name contains `query` (ignoring case), at most `limit`, read page
    /// by page with `iam:ListRoles`. Adapters that cannot list roles refuse.
    async fn list_roles(
        &self,
        account: &AccountId,
        query: &str,
        limit: usize,
    ) -> Result<RoleList, IamError> {
        let _ = (account, query, limit);
        Err(IamError::new(
            "ListRoles",
            IamErrorKind::Other,
            "this IAM adapter does not list roles",
        ))
    }
    async fn get_role(&self, role: &RoleArn) -> Result<RoleInfo, IamError>;
    async fn role_details(&self, role: &RoleArn) -> Result<RoleDetails, IamError>;
    /// The current `AWSRevokeOlderSessions` document as JSON text, if the role has one.
    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError>;
    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError>;
    /// Remove the `AWSRevokeOlderSessions` inline policy (clean-up after its window).
    async fn delete_revoke_policy(&self, role: &RoleArn) -> Result<(), IamError>;
    /// The account the credentials used for `account` really belong to (`sts:GetCallerIdentity`).
    async fn credentials_account(&self, account: &AccountId) -> Result<AccountId, IamError>;
}

/// A permission set as `DescribePermissionSet` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSetInfo {
    pub arn: String,
    pub name: String,
    /// ISO 8601, e.g. `PT8H`.
    pub session_duration: Option<String>,
}

/// Where a `ProvisionPermissionSet` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioning {
    InProgress {
        request_id: String,
    },
    Succeeded,
    /// AWS's reason, as it said it (untrusted text).
    Failed {
        reason: String,
    },
}

/// IAM Identity Center (sso-admin) on the configured instance, through the credentials of the
/// account that administers it. Errors use `IamError` (an AWS call, its action and kind).
#[async_trait]
pub trait IdentityCenter: Send + Sync {
    /// The instance is there and the credentials can read it (`ListInstances`).
    async fn check_instance(&self) -> Result<(), IamError>;
    /// The permission set with this name or ARN (`ListPermissionSets` + `DescribePermissionSet`).
    async fn find_permission_set(
        &self,
        name_or_arn: &str,
    ) -> Result<Option<PermissionSetInfo>, IamError>;
    /// `ListAccountsForProvisionedPermissionSet`.
    async fn provisioned_accounts(&self, permission_set: &str) -> Result<Vec<AccountId>, IamError>;
    /// `GetInlinePolicyForPermissionSet`; `None` when there is none.
    async fn get_inline_policy(&self, permission_set: &str) -> Result<Option<String>, IamError>;
    async fn put_inline_policy(
        &self,
        permission_set: &str,
        document_json: &str,
    ) -> Result<(), IamError>;
    /// `ProvisionPermissionSet` to every account it is provisioned to.
    async fn provision(&self, permission_set: &str) -> Result<Provisioning, IamError>;
    /// `DescribePermissionSetProvisioningStatus`.
    async fn provisioning_status(&self, request_id: &str) -> Result<Provisioning, IamError>;
}

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
    /// This adapter cannot do it (the demo's console has no user groups, for one).
    #[error("not supported here: {0}")]
    Unsupported(&'static str),
}

impl SlackError {
    /// What the person is told: Slack's error code when it gave one (it says what to fix, e.g.
    /// `not_in_channel`), else what kind of failure it was. Never the transport's details.
    pub fn reason(&self) -> String {
        match self {
            SlackError::Refused { code: Some(c), .. } => c.clone(),
            SlackError::Refused { code: None, .. } => "Slack refused the call".into(),
            SlackError::Unavailable { .. } => "Slack did not answer".into(),
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
