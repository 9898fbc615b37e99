//! `AuditStore`: requests and their append-only, hash-chained audit trail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::BoxError;
use crate::domain::audit::{AuditEvent, ChainSnapshot, EventDraft};
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::request::{CardRef, Request};
use crate::domain::role_arn::RoleArn;

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

/// How long a worker owns an approved request while it writes the policy (both adapters). The
/// worker renews it for as long as the work runs (every [`APPLY_LEASE_RENEWAL`]).
pub const APPLY_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a worker renews its apply lease: a third of it, so one renewal may fail (DynamoDB
/// unavailable for a moment) without the lease running out.
pub const APPLY_LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(20);

/// How long a replica owns one drift check of an applied revocation (both adapters).
pub const WATCH_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// When a lease of `length` taken at `now` runs out (both stores use this, so they agree).
pub fn lease_end(now: DateTime<Utc>, length: std::time::Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::minutes(1))
}

/// An applied revocation under drift watch (README "Revocations that stay in force"), with the watch's state, which is stored
/// beside the request: watched from the `applied` transition until the watch is finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub request: Request,
    /// When the next check is due.
    pub due: DateTime<Utc>,
    /// The drift already reported and not yet seen resolved (its code), so it is reported once.
    pub drift: Option<String>,
}

/// When an applied request's first check is due: at once (the cut-off in force lies in the past);
/// `None` unless `request` is applied, so a transition starts the watch only when it applies.
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

/// An event as a lookup reads it from the request's partition, with what is wrong with its item,
/// if anything: an item without `kind` = event, keys that disagree with its content, an attribute
/// the bot never writes, a place past the chain head. Such an item is shown marked as not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownEvent {
    pub event: AuditEvent,
    pub item_problem: Option<String>,
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
    /// Renew the apply lease this worker holds until `held_until` (what its claim or last renewal
    /// set) to `lease_end(now, APPLY_LEASE)`: `false` when the request is no longer approved or
    /// the lease is not that one any more (it ran out and another worker took it).
    async fn renew_claim(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Remember the permission-set provisioning this worker started for an approved request (its
    /// `ProvisionPermissionSet` request id), under the lease it holds until `held_until`: `false`
    /// when it no longer holds it. Read back as [`Request::provisioning`].
    async fn set_provisioning(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        provisioning: &str,
    ) -> Result<bool, StoreError>;
    async fn get(&self, id: &RequestId) -> Result<Option<Request>, StoreError>;
    /// The chain events of one request (items that are not chain events are left out).
    async fn events_for(&self, id: &RequestId) -> Result<Vec<AuditEvent>, StoreError>;
    /// Every event-like item of one request's partition, as lookups show them, each with what is
    /// wrong with its item. A store that holds only typed events (memory) has nothing to report.
    async fn events_shown(&self, id: &RequestId) -> Result<Vec<ShownEvent>, StoreError> {
        Ok(self
            .events_for(id)
            .await?
            .into_iter()
            .map(|event| ShownEvent {
                event,
                item_problem: None,
            })
            .collect())
    }
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
    /// Every item of the table, for `audit verify`: every event as stored (with its sort key), the
    /// chain head, every request and idempotency key, and every item that is none of those.
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
