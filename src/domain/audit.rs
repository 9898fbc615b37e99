//! Audit events and the hash chain that makes the trail tamper-evident (README "The audit table (DynamoDB)").

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ids::{Actor, RequestId};
use super::policy::Cutoff;
use super::role_arn::RoleArn;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A time as the trail stores it (an event's `at`, a request's times in the store): RFC 3339 in
/// UTC to the millisecond, so that stored times order as strings.
pub fn stored_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Requested,
    /// A request refused before it existed (unauthorized requester, protected role, unknown role…).
    RequestRefused,
    ApprovalRecorded,
    Approved,
    Rejected,
    Cancelled,
    Expired,
    Applied,
    Failed,
    /// A click that changed nothing (self-approval, not an approver, closed request…).
    ClickRefused,
    /// The approvers were reminded in the card's thread.
    Reminded,
    /// An applied revocation's deny was found gone, moved back or unreadable (README "Revocations that stay in force").
    Drift,
    /// An applied revocation's deny was removed after its window (`cleanup_after_window`).
    Cleanup,
    /// A `serve` process started with a config: the detail holds its SHA-256 and source.
    ConfigLoaded,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Requested => "requested",
            EventKind::RequestRefused => "request_refused",
            EventKind::ApprovalRecorded => "approval_recorded",
            EventKind::Approved => "approved",
            EventKind::Rejected => "rejected",
            EventKind::Cancelled => "cancelled",
            EventKind::Expired => "expired",
            EventKind::Applied => "applied",
            EventKind::Failed => "failed",
            EventKind::ClickRefused => "click_refused",
            EventKind::Reminded => "reminded",
            EventKind::Drift => "drift",
            EventKind::Cleanup => "cleanup",
            EventKind::ConfigLoaded => "config_loaded",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

/// An event before the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDraft {
    pub request_id: RequestId,
    pub kind: EventKind,
    /// A Slack user id, `revoke-role-bot`, or the AWS caller for the CLI.
    pub actor: String,
    pub at: String,
    pub role_arn: Option<String>,
    pub reason: Option<String>,
    pub cutoff: Option<String>,
    pub policy_sha256: Option<String>,
    pub error: Option<String>,
    pub detail: Option<String>,
}

impl EventDraft {
    pub fn new(request_id: RequestId, kind: EventKind, actor: &str, at: DateTime<Utc>) -> Self {
        EventDraft {
            request_id,
            kind,
            actor: actor.to_string(),
            at: stored_time(&at),
            role_arn: None,
            reason: None,
            cutoff: None,
            policy_sha256: None,
            error: None,
            detail: None,
        }
    }
    /// The same, with a typed actor (the stored form keeps user ids as they are, for `by_actor`).
    pub fn by(request_id: RequestId, kind: EventKind, actor: &Actor, at: DateTime<Utc>) -> Self {
        Self::new(request_id, kind, &actor.as_stored(), at)
    }
    pub fn actor(&self) -> Actor {
        Actor::from_stored(&self.actor)
    }
    pub fn with_role(mut self, role: &RoleArn) -> Self {
        self.role_arn = Some(role.to_string());
        self
    }
    pub fn with_role_text(mut self, role: &str) -> Self {
        self.role_arn = Some(role.to_string());
        self
    }
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }
    pub fn with_cutoff(mut self, cutoff: Cutoff) -> Self {
        self.cutoff = Some(cutoff.to_string());
        self
    }
    pub fn with_policy_sha256(mut self, sha: String) -> Self {
        self.policy_sha256 = Some(sha);
        self
    }
    pub fn with_error(mut self, error: String) -> Self {
        self.error = Some(error);
        self
    }
    pub fn with_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Give the draft its sequence number and link it to the previous event.
    pub fn seal(self, seq: u64, prev_hash: &str) -> AuditEvent {
        let hash = chain_hash(seq, prev_hash, &self);
        AuditEvent {
            seq,
            prev_hash: prev_hash.to_string(),
            hash,
            draft: self,
        }
    }
}

/// An event in the global chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: u64,
    pub prev_hash: String,
    pub hash: String,
    #[serde(flatten)]
    pub draft: EventDraft,
}

/// SHA-256 over a fixed-order JSON rendering of the event with its place in the chain.
pub fn chain_hash(seq: u64, prev_hash: &str, draft: &EventDraft) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        seq: u64,
        prev_hash: &'a str,
        event: &'a EventDraft,
    }
    match serde_json::to_vec(&Canonical {
        seq,
        prev_hash,
        event: draft,
    }) {
        Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
        // Serializing strings and numbers cannot fail; if it ever did, the event must not verify.
        Err(_) => "unhashable".to_string(),
    }
}

pub use super::chain::{
    ChainBreak, ChainHead, ChainSnapshot, StoredEvent, WITNESS_HEX, Witness, verify_chain,
    verify_snapshot,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_as_text() {
        for k in [
            EventKind::Requested,
            EventKind::ClickRefused,
            EventKind::ApprovalRecorded,
        ] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("bogus"), None);
    }
}
