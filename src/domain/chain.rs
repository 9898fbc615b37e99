//! Checking the audit trail (README "The audit table (DynamoDB)"): every hash and link, sequence numbers against
//! sort keys and the head, witnesses seen outside the table, and every other item of the table
//! accounted for (a request item must be what its events say; anything else is named).

use std::collections::{HashMap, HashSet};

use super::audit::{AuditEvent, EventKind, GENESIS_HASH, chain_hash};
use super::explain::unexplained;
use super::request::Request;

/// The chain head item: the sequence number and hash of the newest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

/// An event as stored, with the sequence number its sort key says (`EVT#<seq>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub key_seq: u64,
    pub event: AuditEvent,
}

/// An item of the table that is none of the kinds the bot writes, or one of them in a shape the
/// bot never writes (an unknown attribute, a missing `kind`, keys that disagree): named by its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unaccounted {
    pub pk: String,
    pub sk: String,
    pub why: String,
}

/// An idempotency key and the request it was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub key: String,
    pub request_id: String,
}

/// Everything the table holds, for `audit verify`: every event and the head, every request item,
/// every idempotency key, and whatever the store could not read as one of those.
#[derive(Debug, Clone, Default)]
pub struct ChainSnapshot {
    pub events: Vec<StoredEvent>,
    pub head: Option<ChainHead>,
    pub requests: Vec<Request>,
    pub keys: Vec<StoredKey>,
    pub unaccounted: Vec<Unaccounted>,
}

/// A place in the chain seen outside the table (posted on a card, or in a log line):
/// `<seq>:<first hex digits of its hash>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub seq: u64,
    pub hash_prefix: String,
}

/// Hex digits a witness shows and `audit verify --witness` needs at least: 128 bits of the hash,
/// so that nobody can grind a forged event (or a whole recomputed chain) to match a posted witness.
pub const WITNESS_HEX: usize = 32;

impl Witness {
    pub fn of(e: &AuditEvent) -> Witness {
        Witness {
            seq: e.seq,
            hash_prefix: e.hash.chars().take(WITNESS_HEX).collect(),
        }
    }

    pub fn parse(s: &str) -> Result<Witness, WitnessError> {
        let s = s.trim().trim_start_matches('#');
        let (seq, hex) = s
            .split_once(':')
            .or_else(|| s.split_once(' '))
            .ok_or_else(|| WitnessError::Shape(s.to_string()))?;
        let seq: u64 = seq
            .trim()
            .parse()
            .map_err(|_| WitnessError::Seq(seq.to_string()))?;
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(WitnessError::Hash(hex));
        }
        if hex.len() < WITNESS_HEX {
            return Err(WitnessError::TooShort(hex.len()));
        }
        Ok(Witness {
            seq,
            hash_prefix: hex,
        })
    }
}

/// Why a text is not a witness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error(
        "`{0}` is not a witness (expected <seq>:<hex>, e.g. 42:1a2b3c4d5e6f708192a3b4c5d6e7f809)"
    )]
    Shape(String),
    #[error("`{0}` is not a sequence number")]
    Seq(String),
    #[error("`{0}` is not a hash prefix (32 to 64 hex digits)")]
    Hash(String),
    #[error(
        "a witness of {0} hex digits is too short to prove anything: give at least 32 hex digits (128 bits), as cards and logs show them"
    )]
    TooShort(usize),
}

impl std::fmt::Display for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {}", self.seq, self.hash_prefix)
    }
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
    #[error("sequence number #{seq} appears {count} times")]
    Duplicate { seq: u64, count: usize },
    #[error("event #{seq} is stored under the sort key of #{key_seq}")]
    KeyMismatch { seq: u64, key_seq: u64 },
    #[error("event #{seq} lies past the chain head (#{head}): it was appended outside the bot")]
    PastHead { seq: u64, head: u64 },
    #[error(
        "the newest event #{seq} does not have the hash the chain head records: it was rewritten"
    )]
    HeadMismatch { seq: u64 },
    #[error("there are events but no chain head")]
    NoHead,
    #[error("witness {witness} disagrees: the stored event #{seq} has a different hash")]
    WitnessDiffers { witness: String, seq: u64 },
    #[error("witness {witness} names event #{seq}, which is not in the table")]
    WitnessMissing { witness: String, seq: u64 },
    #[error("item {pk:?} {sk:?} is not one the bot writes: {why}")]
    Unaccounted { pk: String, sk: String, why: String },
    #[error("request {request_id} is not what its audit events say: {why}")]
    Unexplained { request_id: String, why: String },
    #[error(
        "request {request_id} has a `requested` event (#{seq}) but no request item: it was deleted"
    )]
    RequestMissing { request_id: String, seq: u64 },
    #[error("idempotency key {key:?} names request {request_id:?}, which has no request item")]
    OrphanKey { key: String, request_id: String },
}

/// Walk events (any order) against the chain head's sequence number. Reports every break, first first.
pub fn verify_chain(events: Vec<AuditEvent>, head_seq: u64) -> Vec<ChainBreak> {
    let head_hash = events
        .iter()
        .find(|e| e.seq == head_seq)
        .map(|e| e.hash.clone())
        .unwrap_or_default();
    let snapshot = ChainSnapshot {
        events: events
            .into_iter()
            .map(|event| StoredEvent {
                key_seq: event.seq,
                event,
            })
            .collect(),
        head: (head_seq > 0).then_some(ChainHead {
            seq: head_seq,
            hash: head_hash,
        }),
        ..ChainSnapshot::default()
    };
    verify_links(&snapshot, &[])
}

/// Everything `audit verify` checks (README "The audit table (DynamoDB)"): each event's hash and link, sequence
/// numbers unique, gap-free and equal to the sort key, nothing past the head, the newest event
/// equal to the head, every witness seen outside the table, and every other item accounted for.
pub fn verify_snapshot(snapshot: &ChainSnapshot, witnesses: &[Witness]) -> Vec<ChainBreak> {
    let mut breaks = verify_links(snapshot, witnesses);
    breaks.extend(account_for_items(snapshot));
    breaks
}

/// The chain alone: hashes, links, sequence numbers, the head and the witnesses.
fn verify_links(snapshot: &ChainSnapshot, witnesses: &[Witness]) -> Vec<ChainBreak> {
    let mut breaks = Vec::new();
    let mut stored: Vec<&StoredEvent> = snapshot.events.iter().collect();
    stored.sort_by_key(|s| s.event.seq);
    for s in &stored {
        if s.key_seq != s.event.seq {
            breaks.push(ChainBreak::KeyMismatch {
                seq: s.event.seq,
                key_seq: s.key_seq,
            });
        }
    }
    let mut events: Vec<&AuditEvent> = Vec::with_capacity(stored.len());
    for s in stored {
        match events.last() {
            Some(last) if last.seq == s.event.seq => {
                let count = snapshot
                    .events
                    .iter()
                    .filter(|o| o.event.seq == s.event.seq)
                    .count();
                if !breaks
                    .iter()
                    .any(|b| matches!(b, ChainBreak::Duplicate { seq, .. } if *seq == s.event.seq))
                {
                    breaks.push(ChainBreak::Duplicate {
                        seq: s.event.seq,
                        count,
                    });
                }
            }
            _ => events.push(&s.event),
        }
    }
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
    match &snapshot.head {
        None if !events.is_empty() => breaks.push(ChainBreak::NoHead),
        None => {}
        Some(head) => {
            if head.seq > last {
                breaks.push(ChainBreak::Truncated {
                    last,
                    head: head.seq,
                });
            }
            for e in events.iter().filter(|e| e.seq > head.seq) {
                breaks.push(ChainBreak::PastHead {
                    seq: e.seq,
                    head: head.seq,
                });
            }
            if let Some(newest) = events.iter().find(|e| e.seq == head.seq)
                && newest.hash != head.hash
            {
                breaks.push(ChainBreak::HeadMismatch { seq: head.seq });
            }
        }
    }
    for w in witnesses {
        match events.iter().find(|e| e.seq == w.seq) {
            Some(e) if e.hash.starts_with(&w.hash_prefix) => {}
            Some(_) => breaks.push(ChainBreak::WitnessDiffers {
                witness: w.to_string(),
                seq: w.seq,
            }),
            None => breaks.push(ChainBreak::WitnessMissing {
                witness: w.to_string(),
                seq: w.seq,
            }),
        }
    }
    breaks
}

/// Every item that is not an event or the head: unknown items, request items their events do not
/// explain, `requested` events whose request item is gone, keys of no request.
fn account_for_items(snapshot: &ChainSnapshot) -> Vec<ChainBreak> {
    let events: Vec<&AuditEvent> = snapshot.events.iter().map(|s| &s.event).collect();
    let mut breaks: Vec<ChainBreak> = snapshot
        .unaccounted
        .iter()
        .map(|u| ChainBreak::Unaccounted {
            pk: u.pk.clone(),
            sk: u.sk.clone(),
            why: u.why.clone(),
        })
        .collect();
    let mut by_request: HashMap<&str, Vec<&AuditEvent>> = HashMap::new();
    for e in &events {
        by_request
            .entry(e.draft.request_id.as_str())
            .or_default()
            .push(e);
    }
    let ids: HashSet<&str> = snapshot.requests.iter().map(|r| r.id().as_str()).collect();
    for r in &snapshot.requests {
        let own = by_request.get(r.id().as_str()).cloned().unwrap_or_default();
        if let Some(why) = unexplained(r, &own) {
            breaks.push(ChainBreak::Unexplained {
                request_id: r.id().to_string(),
                why,
            });
        }
    }
    for e in &events {
        if e.draft.kind == EventKind::Requested && !ids.contains(e.draft.request_id.as_str()) {
            breaks.push(ChainBreak::RequestMissing {
                request_id: e.draft.request_id.to_string(),
                seq: e.seq,
            });
        }
    }
    for k in &snapshot.keys {
        if !ids.contains(k.request_id.as_str()) {
            breaks.push(ChainBreak::OrphanKey {
                key: k.key.clone(),
                request_id: k.request_id.clone(),
            });
        }
    }
    breaks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{EventDraft, EventKind};
    use crate::domain::ids::RequestId;
    use chrono::Utc;

    fn chain(n: u64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                // Refusals: events of no request item, so that the chain alone is checked here.
                let e = EventDraft::new(
                    RequestId::parse("rr-7f3k2q9x").unwrap(),
                    EventKind::RequestRefused,
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
                kind: "request_refused".into()
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

    fn snapshot(c: &[AuditEvent]) -> ChainSnapshot {
        let last = c.last().unwrap();
        ChainSnapshot {
            events: c
                .iter()
                .map(|e| StoredEvent {
                    key_seq: e.seq,
                    event: e.clone(),
                })
                .collect(),
            head: Some(ChainHead {
                seq: last.seq,
                hash: last.hash.clone(),
            }),
            ..ChainSnapshot::default()
        }
    }

    #[test]
    fn a_rewritten_newest_event_with_a_recomputed_hash_is_caught_by_the_head() {
        let c = chain(3);
        let mut s = snapshot(&c);
        let mut d = c[2].draft.clone();
        d.reason = Some("forged".into());
        s.events[2].event = d.seal(3, &c[1].hash);
        assert_eq!(
            verify_snapshot(&s, &[]),
            vec![ChainBreak::HeadMismatch { seq: 3 }]
        );
    }

    #[test]
    fn a_forged_event_past_the_head_is_caught() {
        let c = chain(4);
        let mut s = snapshot(&c[..3]);
        s.events.push(StoredEvent {
            key_seq: 4,
            event: c[3].clone(),
        });
        assert_eq!(
            verify_snapshot(&s, &[]),
            vec![ChainBreak::PastHead { seq: 4, head: 3 }]
        );
    }

    #[test]
    fn a_duplicate_sequence_number_or_a_wrong_sort_key_is_caught() {
        let c = chain(3);
        let mut s = snapshot(&c);
        let mut d = c[1].draft.clone();
        d.reason = Some("second copy".into());
        s.events.push(StoredEvent {
            key_seq: 9,
            event: d.seal(2, &c[0].hash),
        });
        let breaks = verify_snapshot(&s, &[]);
        assert!(
            breaks.contains(&ChainBreak::Duplicate { seq: 2, count: 2 }),
            "{breaks:?}"
        );
        assert!(
            breaks.contains(&ChainBreak::KeyMismatch { seq: 2, key_seq: 9 }),
            "{breaks:?}"
        );
    }

    #[test]
    fn witnesses_outside_the_table_catch_a_fully_recomputed_chain() {
        let honest = chain(3);
        let w = Witness::of(&honest[1]);
        assert_eq!(w.hash_prefix.len(), WITNESS_HEX);
        assert!(verify_snapshot(&snapshot(&honest), std::slice::from_ref(&w)).is_empty());
        // Someone with write access rebuilds the whole chain with different content.
        let mut prev = GENESIS_HASH.to_string();
        let forged: Vec<AuditEvent> = honest
            .iter()
            .map(|e| {
                let mut d = e.draft.clone();
                d.reason = Some("rewritten".into());
                let f = d.seal(e.seq, &prev);
                prev = f.hash.clone();
                f
            })
            .collect();
        assert!(verify_snapshot(&snapshot(&forged), &[]).is_empty());
        assert_eq!(
            verify_snapshot(&snapshot(&forged), std::slice::from_ref(&w)),
            vec![ChainBreak::WitnessDiffers {
                witness: w.to_string(),
                seq: 2
            }]
        );
        let far = Witness::parse("99:abcdef0123456789abcdef0123456789").unwrap();
        assert!(matches!(
            verify_snapshot(&snapshot(&honest), &[far])[..],
            [ChainBreak::WitnessMissing { seq: 99, .. }]
        ));
    }

    #[test]
    fn every_item_that_is_not_an_event_is_accounted_for_or_named() {
        let c = chain(2);
        let mut s = snapshot(&c);
        s.unaccounted.push(Unaccounted {
            pk: "REQ#rr-7f3k2q9x".into(),
            sk: "EVT#00000000000000000099".into(),
            why: "an event-like item without kind = event".into(),
        });
        s.keys.push(StoredKey {
            key: "trigger#1".into(),
            request_id: "rr-aaaaaaaa".into(),
        });
        let breaks = verify_snapshot(&s, &[]);
        assert_eq!(
            breaks,
            vec![
                ChainBreak::Unaccounted {
                    pk: "REQ#rr-7f3k2q9x".into(),
                    sk: "EVT#00000000000000000099".into(),
                    why: "an event-like item without kind = event".into(),
                },
                ChainBreak::OrphanKey {
                    key: "trigger#1".into(),
                    request_id: "rr-aaaaaaaa".into(),
                },
            ]
        );
        assert!(
            breaks[0]
                .to_string()
                .contains("\"EVT#00000000000000000099\"")
        );
        // A `requested` event whose request item was deleted.
        let requested = EventDraft::new(
            RequestId::parse("rr-7f3k2q9x").unwrap(),
            EventKind::Requested,
            "U0ALICE",
            Utc::now(),
        )
        .seal(1, GENESIS_HASH);
        assert_eq!(
            verify_snapshot(&snapshot(&[requested]), &[]),
            vec![ChainBreak::RequestMissing {
                request_id: "rr-7f3k2q9x".into(),
                seq: 1
            }]
        );
    }

    #[test]
    fn witnesses_parse_strictly() {
        assert_eq!(
            Witness::parse("42:1A2B3C4D5E6F708192A3B4C5D6E7F809").unwrap(),
            Witness {
                seq: 42,
                hash_prefix: "1a2b3c4d5e6f708192a3b4c5d6e7f809".into()
            }
        );
        assert!(Witness::parse("#42 1a2b3c4d5e6f708192a3b4c5d6e7f809").is_ok());
        for bad in ["42", "x:1a2b3c4d", "42:xyz", "42:1a2b"] {
            assert!(Witness::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn witnesses_carry_at_least_128_bits_and_shorter_ones_are_refused() {
        let e = &chain(1)[0];
        let w = Witness::of(e);
        assert_eq!(w.hash_prefix.len(), 32);
        assert_eq!(w.to_string(), format!("#1 {}", &e.hash[..32]));
        let hex32 = "0123456789abcdef0123456789abcdef";
        assert!(Witness::parse(&format!("7:{hex32}")).is_ok());
        assert!(Witness::parse(&format!("7:{hex32}{hex32}")).is_ok());
        for short in [8, 12, 31] {
            let err = Witness::parse(&format!("7:{}", &hex32[..short])).unwrap_err();
            assert_eq!(err, WitnessError::TooShort(short), "{short}");
            assert!(err.to_string().contains("32 hex digits"), "{err}");
        }
    }
}
