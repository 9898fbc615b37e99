//! Does a request item say what its audit events say? (README "The audit table (DynamoDB)": what `audit verify`
//! accounts for.) The request item is a convenience for lookups and for the bot's own work; the
//! chain is the record. Everything a lookup shows about a request — who asked, for what, why, its
//! state, its approvers, its cut-off and what was written — must follow from the request's events,
//! replayed through the same transitions the state machine allows. What the events do not carry
//! (the card's place, reminder counts, leases, watch state, the impact preview, the expiry time)
//! is bookkeeping and is not shown as part of the trail.

use super::audit::{AuditEvent, EventKind, stored_time};
use super::request::{Request, State, Status};

/// What the events of one request add up to.
#[derive(Debug, Default)]
struct Replayed {
    state: Option<State>,
    approvals: Vec<String>,
    /// Transitions after `requested` (each one bumps the stored version).
    transitions: u64,
    by: Option<String>,
    cutoff: Option<String>,
    applied: Option<(Option<String>, Option<String>, Option<String>)>,
    failed_kind: Option<String>,
    required: Option<u32>,
}

/// `None` when `request` is what `events` (any order; only this request's are looked at) say it
/// is; otherwise the first thing that does not follow from them, in words.
pub fn unexplained(request: &Request, events: &[&AuditEvent]) -> Option<String> {
    let mut own: Vec<&AuditEvent> = events
        .iter()
        .copied()
        .filter(|e| &e.draft.request_id == request.id())
        .collect();
    own.sort_by_key(|e| e.seq);
    let replayed = match replay(request, &own) {
        Ok(r) => r,
        Err(why) => return Some(why),
    };
    compare(request, &replayed).err()
}

fn replay(request: &Request, events: &[&AuditEvent]) -> Result<Replayed, String> {
    let Some((first, rest)) = events.split_first() else {
        return Err("no `requested` event records it".into());
    };
    let d = &first.draft;
    if d.kind != EventKind::Requested {
        return Err(format!(
            "its first event (#{}) is `{}`, not `requested`",
            first.seq,
            d.kind.as_str()
        ));
    }
    let mismatch = |what: &str, stored: &str, recorded: Option<&str>| {
        format!(
            "the stored {what} ({stored:?}) is not the one its `requested` event #{} records ({:?})",
            first.seq,
            recorded.unwrap_or("none")
        )
    };
    if d.actor != request.requester().as_str() {
        return Err(mismatch(
            "requester",
            request.requester().as_str(),
            Some(&d.actor),
        ));
    }
    let target = request.target_arn();
    if d.role_arn.as_deref() != Some(target.as_str()) {
        return Err(mismatch("target", &target, d.role_arn.as_deref()));
    }
    if d.reason.as_deref() != Some(request.reason()) {
        return Err(mismatch("reason", request.reason(), d.reason.as_deref()));
    }
    let created = stored_time(&request.created_at());
    if d.at != created {
        return Err(mismatch("creation time", &created, Some(&d.at)));
    }
    let mut r = Replayed {
        state: Some(State::Pending),
        ..Replayed::default()
    };
    for e in rest {
        let d = &e.draft;
        let state = r.state.unwrap_or(State::Pending);
        let needs = |from: State| {
            if state == from {
                Ok(())
            } else {
                Err(format!(
                    "event #{} (`{}`) cannot follow the state `{}` its earlier events leave it in",
                    e.seq,
                    d.kind.as_str(),
                    state.as_str()
                ))
            }
        };
        let next = match d.kind {
            EventKind::Requested => {
                return Err(format!("a second `requested` event (#{})", e.seq));
            }
            EventKind::ApprovalRecorded | EventKind::Approved => {
                needs(State::Pending)?;
                r.approvals.push(d.actor.clone());
                if let Some(required) = d
                    .detail
                    .as_deref()
                    .and_then(|t| t.split_once(" of "))
                    .and_then(|(_, rest)| rest.split(' ').next())
                    .and_then(|n| n.parse().ok())
                {
                    r.required = Some(required);
                }
                if d.kind == EventKind::Approved {
                    r.by = Some(d.actor.clone());
                    r.cutoff = d.cutoff.clone();
                    State::Approved
                } else {
                    State::Pending
                }
            }
            EventKind::Rejected | EventKind::Cancelled => {
                needs(State::Pending)?;
                r.by = Some(d.actor.clone());
                if d.kind == EventKind::Rejected {
                    State::Rejected
                } else {
                    State::Cancelled
                }
            }
            EventKind::Expired => {
                needs(State::Pending)?;
                State::Expired
            }
            EventKind::Applied => {
                needs(State::Approved)?;
                r.applied = Some((d.cutoff.clone(), d.policy_sha256.clone(), d.detail.clone()));
                State::Applied
            }
            EventKind::Failed => {
                needs(State::Approved)?;
                if d.cutoff != r.cutoff {
                    return Err(format!(
                        "the `failed` event #{} names another cut-off than its approval",
                        e.seq
                    ));
                }
                r.failed_kind = d.detail.clone();
                State::Failed
            }
            // Events that record something about the request without changing it.
            EventKind::RequestRefused
            | EventKind::ClickRefused
            | EventKind::Reminded
            | EventKind::Drift
            | EventKind::Cleanup
            | EventKind::ConfigLoaded => continue,
        };
        r.transitions += 1;
        r.state = Some(next);
    }
    Ok(r)
}

fn compare(request: &Request, r: &Replayed) -> Result<(), String> {
    let state = r.state.unwrap_or(State::Pending);
    if request.state() != state {
        return Err(format!(
            "its stored state `{}` is not the `{}` its events lead to",
            request.state().as_str(),
            state.as_str()
        ));
    }
    let approvals: Vec<&str> = request.approvals().iter().map(|u| u.as_str()).collect();
    if approvals != r.approvals {
        return Err(format!(
            "its stored approvers ({}) are not the ones its events record ({})",
            approvals.join(", "),
            r.approvals.join(", ")
        ));
    }
    if let Some(required) = r.required
        && required != request.approvals_required()
    {
        return Err(format!(
            "it says {} approval(s) are needed; its events say {required}",
            request.approvals_required()
        ));
    }
    if request.version() != r.transitions + 1 {
        return Err(format!(
            "its stored version {} does not match its {} recorded transition(s)",
            request.version(),
            r.transitions
        ));
    }
    if request.decided_by().map(|u| u.as_str().to_string()) != r.by {
        return Err("who decided it is not who its events say".into());
    }
    if request.cutoff().map(|c| c.to_string()) != r.cutoff {
        return Err(format!(
            "its stored cut-off ({}) is not the one its approval records ({})",
            request
                .cutoff()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into()),
            r.cutoff.as_deref().unwrap_or("none")
        ));
    }
    match request.status() {
        Status::Applied { written, .. } => {
            let detail = format!(
                "{:?}{}",
                written.outcome,
                if written.verified {
                    ""
                } else {
                    ", written, not verified"
                }
            );
            let stored = (
                Some(written.in_force.to_string()),
                Some(written.policy_sha256.clone()),
                Some(detail),
            );
            if r.applied.as_ref() != Some(&stored) {
                return Err(
                    "what it says was written (cut-off in force, policy, outcome) is not what its `applied` event records"
                        .into(),
                );
            }
        }
        Status::Failed { failure, .. } => {
            let kind = serde_json::to_value(failure)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)));
            if kind != r.failed_kind {
                return Err("its failure is not the one its `failed` event records".into());
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::GENESIS_HASH;
    use crate::domain::ids::{ChannelId, RequestId, SlackUserId};
    use crate::domain::policy::{Cutoff, MergeOutcome};
    use crate::domain::request::{Action, Decision, NewRequest, Transition, Written};
    use crate::domain::role_arn::RoleArn;
    use chrono::{DateTime, Utc};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00.250Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn user(s: &str) -> SlackUserId {
        SlackUserId::parse(s).unwrap()
    }

    struct Trail {
        request: Request,
        events: Vec<AuditEvent>,
    }

    impl Trail {
        fn new(required: u32) -> Trail {
            let request = Request::pending(
                NewRequest {
                    role: RoleArn::parse("arn:aws:iam::111111111111:role/app").unwrap(),
                    requester: user("U0ALICE"),
                    reason: "INC-1".into(),
                    channel: ChannelId::parse("C0INC").unwrap(),
                    approvals_required: required,
                    preview: None,
                },
                t0(),
                chrono::Duration::minutes(30),
            )
            .with_id(RequestId::parse("rr-7f3k2q9x").unwrap());
            let draft = crate::domain::audit::EventDraft::new(
                request.id().clone(),
                EventKind::Requested,
                "U0ALICE",
                t0(),
            )
            .with_role_text(&request.target_arn())
            .with_reason("INC-1");
            Trail {
                events: vec![draft.seal(1, GENESIS_HASH)],
                request,
            }
        }

        fn step(mut self, t: Transition) -> Trail {
            let last = self.events.last().unwrap();
            let e = t.event.seal(last.seq + 1, &last.hash.clone());
            self.events.push(e);
            self.request = t.next;
            self
        }

        fn click(self, who: &str) -> Trail {
            match self.request.decide(Action::Approve, &user(who), true, t0()) {
                Decision::Transition(t) => self.step(*t),
                Decision::Refuse(r) => panic!("{r:?}"),
            }
        }

        fn apply(self) -> Trail {
            let c = self.request.cutoff().unwrap();
            let t = self
                .request
                .applied(
                    Written {
                        outcome: MergeOutcome::Created,
                        in_force: c,
                        policy_sha256: "abc".into(),
                        verified: true,
                        session_secs_at_apply: None,
                    },
                    t0(),
                )
                .unwrap();
            self.step(t)
        }

        fn check(&self, request: &Request) -> Option<String> {
            unexplained(request, &self.events.iter().collect::<Vec<_>>())
        }
    }

    fn edited(r: &Request, edit: impl FnOnce(&mut serde_json::Value)) -> Request {
        let mut v = serde_json::to_value(r).unwrap();
        edit(&mut v);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_state_the_lifecycle_reaches_is_explained_by_its_events() {
        let t = Trail::new(1);
        assert_eq!(t.check(&t.request), None, "pending");
        let t = t.click("U0BOB");
        assert_eq!(t.check(&t.request), None, "approved");
        let t = t.apply();
        assert_eq!(t.check(&t.request), None, "applied");
        let two = Trail::new(2).click("U0BOB");
        assert_eq!(two.check(&two.request), None, "one of two");
        let two = two.click("U0CAROL").apply();
        assert_eq!(two.check(&two.request), None, "two of two");
        let failed = Trail::new(1).click("U0BOB");
        let f = failed
            .request
            .failed(crate::domain::request::Failure::Throttled, "x", t0())
            .unwrap();
        let failed = failed.step(f);
        assert_eq!(failed.check(&failed.request), None, "failed");
        let expired = Trail::new(1);
        let e = expired
            .request
            .expire(t0() + chrono::Duration::hours(1))
            .unwrap();
        let expired = expired.step(e);
        assert_eq!(expired.check(&expired.request), None, "expired");
    }

    #[test]
    fn a_state_edited_to_approved_or_applied_without_events_is_named() {
        let pending = Trail::new(1);
        let approved = pending.click("U0BOB");
        // The approved item written into a request whose events say pending.
        let why = Trail::new(1).check(&approved.request).unwrap();
        assert!(why.contains("approvers") || why.contains("state"), "{why}");
        let applied = approved.apply();
        let why = Trail::new(1).check(&applied.request).unwrap();
        assert!(why.contains("state `applied`"), "{why}");
    }

    #[test]
    fn edits_to_approvers_cutoff_requester_reason_or_quorum_are_named() {
        let t = Trail::new(1).click("U0BOB").apply();
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "approvers",
                Box::new(|v| v["approvals"] = serde_json::json!(["U0MALLORY"])),
            ),
            (
                "cut-off",
                Box::new(|v| v["status"]["cutoff"] = serde_json::json!("2099-01-01T00:00:00Z")),
            ),
            (
                "requester",
                Box::new(|v| v["requester"] = serde_json::json!("U0MALLORY")),
            ),
            (
                "reason",
                Box::new(|v| v["reason"] = serde_json::json!("routine")),
            ),
            (
                "approval(s) are needed",
                Box::new(|v| v["approvals_required"] = serde_json::json!(3)),
            ),
            (
                "written",
                Box::new(|v| v["status"]["written"]["policy_sha256"] = serde_json::json!("f00")),
            ),
        ];
        for (what, edit) in cases {
            let forged = edited(&t.request, |v| edit(v));
            let why = t
                .check(&forged)
                .unwrap_or_else(|| panic!("{what} edit went unnoticed"));
            assert!(why.contains(what), "{what}: {why}");
        }
        let a = Cutoff::parse("2026-11-23T12:00:01Z").unwrap();
        assert_eq!(t.request.cutoff(), Some(a));
    }

    #[test]
    fn a_request_without_its_requested_event_is_named() {
        let t = Trail::new(1).click("U0BOB");
        let why = unexplained(&t.request, &[&t.events[1]]).unwrap();
        assert!(why.contains("not `requested`"), "{why}");
        let why = unexplained(&t.request, &[]).unwrap();
        assert!(why.contains("no `requested` event"), "{why}");
    }
}
