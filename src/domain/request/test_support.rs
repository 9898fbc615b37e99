//! Requests and people the request tests share.

use chrono::{DateTime, Utc};

use super::{Action, Decision, NewRequest, Request, Transition, Written};
use crate::domain::ids::{ChannelId, RequestId, SlackUserId};
use crate::domain::policy::{Cutoff, MergeOutcome};
use crate::domain::role_arn::RoleArn;

pub(super) fn user(s: &str) -> SlackUserId {
    SlackUserId::parse(s).unwrap()
}

pub(super) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T12:00:00.250Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A pending role request by U0ALICE that needs `required` approvals.
pub(super) fn req(required: u32) -> Request {
    Request::pending(
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
    .with_id(RequestId::parse("rr-7f3k2q9x").unwrap())
}

pub(super) fn next_of(d: Decision) -> Transition {
    match d {
        Decision::Transition(t) => *t,
        Decision::Refuse(r) => panic!("refused: {r:?}"),
    }
}

/// `req(1)`, approved by U0BOB.
pub(super) fn approved() -> Request {
    next_of(req(1).decide(Action::Approve, &user("U0BOB"), true, t0())).next
}

pub(super) fn written(c: Cutoff) -> Written {
    Written {
        outcome: MergeOutcome::Created,
        in_force: c,
        policy_sha256: "abc".into(),
        verified: true,
        session_secs_at_apply: None,
    }
}
