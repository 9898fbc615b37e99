//! Audit events and the hash chain that makes the trail tamper-evident (SPEC §7).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ids::RequestId;
use super::policy::Cutoff;
use super::role_arn::RoleArn;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
            at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
            role_arn: None,
            reason: None,
            cutoff: None,
            policy_sha256: None,
            error: None,
            detail: None,
        }
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
    let bytes = serde_json::to_vec(&Canonical {
        seq,
        prev_hash,
        event: draft,
    })
    .unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event #{seq} is missing")]
    Missing { seq: u64 },
    #[error("event #{seq} ({request_id}, {kind}) was altered: its content does not match its hash")]
    Altered {
        seq: u64,
        request_id: String,
        kind: String,
    },
    #[error("event #{seq} ({request_id}) does not link to event #{}: the event before it was altered or replaced", seq - 1)]
    Unlinked { seq: u64, request_id: String },
    #[error("events after #{last} are missing: the chain head says #{head}")]
    Truncated { last: u64, head: u64 },
}

/// Walk events (any order) against the chain head's sequence number. Reports every break, first first.
pub fn verify_chain(mut events: Vec<AuditEvent>, head_seq: u64) -> Vec<ChainBreak> {
    events.sort_by_key(|e| e.seq);
    let mut breaks = Vec::new();
    let mut expected = 1u64;
    let mut prev: Option<&AuditEvent> = None;
    for e in &events {
        while expected < e.seq {
            breaks.push(ChainBreak::Missing { seq: expected });
            expected += 1;
        }
        if chain_hash(e.seq, &e.prev_hash, &e.draft) != e.hash {
            breaks.push(ChainBreak::Altered {
                seq: e.seq,
                request_id: e.draft.request_id.to_string(),
                kind: e.draft.kind.as_str().to_string(),
            });
        } else {
            let linked = match prev {
                Some(p) if p.seq + 1 == e.seq => p.hash == e.prev_hash,
                Some(_) => true, // gap already reported as missing
                None => e.seq != 1 || e.prev_hash == GENESIS_HASH,
            };
            if !linked {
                breaks.push(ChainBreak::Unlinked {
                    seq: e.seq,
                    request_id: e.draft.request_id.to_string(),
                });
            }
        }
        expected = e.seq + 1;
        prev = Some(e);
    }
    let last = events.last().map_or(0, |e| e.seq);
    if head_seq > last {
        breaks.push(ChainBreak::Truncated {
            last,
            head: head_seq,
        });
    }
    breaks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let e = EventDraft::new(
                    RequestId::parse("rr-7f3k2q9x").unwrap(),
                    EventKind::Requested,
                    "U0ALICE",
                    Utc::now(),
                )
                .with_reason(&format!("INC-{seq}"))
                .seal(seq, &prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert!(verify_chain(chain(5), 5).is_empty());
        assert!(verify_chain(vec![], 0).is_empty());
    }

    #[test]
    fn an_edit_is_named() {
        let mut c = chain(5);
        c[2].draft.reason = Some("nothing to see".into());
        assert_eq!(
            verify_chain(c, 5),
            vec![ChainBreak::Altered {
                seq: 3,
                request_id: "rr-7f3k2q9x".into(),
                kind: "requested".into()
            }]
        );
    }

    #[test]
    fn a_rehashed_edit_breaks_the_link() {
        let mut c = chain(5);
        let mut d = c[2].draft.clone();
        d.reason = Some("forged".into());
        c[2] = d.seal(3, &c[1].hash.clone());
        assert_eq!(
            verify_chain(c, 5),
            vec![ChainBreak::Unlinked {
                seq: 4,
                request_id: "rr-7f3k2q9x".into()
            }]
        );
    }

    #[test]
    fn deletions_are_named_in_the_middle_and_at_the_end() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(c, 5), vec![ChainBreak::Missing { seq: 2 }]);
        let mut c = chain(5);
        c.pop();
        assert_eq!(
            verify_chain(c, 5),
            vec![ChainBreak::Truncated { last: 4, head: 5 }]
        );
    }

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
