//! A revocation request and its state machine (SPEC §4). Pure: no clock, no I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::audit::{EventDraft, EventKind};
use super::ids::{ChannelId, RequestId, SlackUserId};
use super::policy::{Cutoff, MergeOutcome};
use super::preview::RolePreview;
use super::role_arn::RoleArn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Approved,
    Applied,
    Failed,
    Rejected,
    Cancelled,
    Expired,
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Applied => "applied",
            State::Failed => "failed",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "pending" => State::Pending,
            "approved" => State::Approved,
            "applied" => State::Applied,
            "failed" => State::Failed,
            "rejected" => State::Rejected,
            "cancelled" => State::Cancelled,
            "expired" => State::Expired,
            _ => return None,
        })
    }

    /// Open requests still need work: a decision (pending) or the IAM write (approved).
    pub fn is_open(&self) -> bool {
        matches!(self, State::Pending | State::Approved)
    }

    /// The only transitions that exist.
    pub fn can_become(&self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Pending, Approved | Rejected | Cancelled | Expired) | (Approved, Applied | Failed)
        )
    }
}

/// Where the approval card lives, so it can be updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    pub channel: ChannelId,
    pub ts: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub role: RoleArn,
    pub requester: SlackUserId,
    pub reason: String,
    pub channel: ChannelId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub approvals_required: u32,
    pub approvals: Vec<SlackUserId>,
    pub state: State,
    /// Bumped on every transition; the conditional write checks it.
    pub version: u64,
    pub decided_by: Option<SlackUserId>,
    pub cutoff: Option<Cutoff>,
    pub outcome: Option<MergeOutcome>,
    pub policy_sha256: Option<String>,
    pub error: Option<String>,
    pub card: Option<CardRef>,
    /// The impact preview taken when the request was made, kept for every card update.
    pub preview: Option<RolePreview>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Cancel,
}

impl Action {
    pub fn parse(action_id: &str) -> Option<Action> {
        match action_id {
            "approve" => Some(Action::Approve),
            "reject" => Some(Action::Reject),
            "cancel" => Some(Action::Cancel),
            _ => None,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
        }
    }
}

/// Why a click did nothing. Shown to the person who clicked, and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    SelfApproval,
    NotAnApprover,
    NotTheRequester,
    AlreadyApproved,
    RequesterRejecting,
    Closed(State),
    Expired,
}

impl Refusal {
    pub fn message(&self, id: &RequestId) -> String {
        match self {
            Refusal::SelfApproval => format!(
                "You requested {id}, so you cannot approve it: a second authorized person must approve."
            ),
            Refusal::NotAnApprover => {
                format!("You are not on the approvers list, so you cannot approve or reject {id}.")
            }
            Refusal::NotTheRequester => {
                format!("Only the person who requested {id} can cancel it.")
            }
            Refusal::AlreadyApproved => {
                format!("You have already approved {id}; it needs another approver.")
            }
            Refusal::RequesterRejecting => {
                format!("You requested {id}: use Cancel to withdraw it.")
            }
            Refusal::Closed(s) => format!("{id} is already {}; nothing was changed.", s.as_str()),
            Refusal::Expired => format!(
                "{id} has expired; nothing was changed. Ask again with /revoke-role if it is still needed."
            ),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Refusal::SelfApproval => "self_approval",
            Refusal::NotAnApprover => "not_an_approver",
            Refusal::NotTheRequester => "not_the_requester",
            Refusal::AlreadyApproved => "already_approved",
            Refusal::RequesterRejecting => "requester_rejecting",
            Refusal::Closed(_) => "closed",
            Refusal::Expired => "expired",
        }
    }
}

/// The result of applying a person's click to the current request.
// Short-lived: built and consumed in one step, so boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Write `next` (version bumped) together with `event`, conditional on the old version.
    Transition {
        next: Request,
        event: EventDraft,
    },
    Refuse(Refusal),
}

/// What a new request is made of; everything else starts empty.
pub struct NewRequest {
    pub role: RoleArn,
    pub requester: SlackUserId,
    pub reason: String,
    pub channel: ChannelId,
    pub approvals_required: u32,
    pub preview: Option<RolePreview>,
}

impl Request {
    /// A fresh request: `pending`, version 1, a new id, expiring `expires_after` from `now`.
    pub fn pending(
        new: NewRequest,
        now: DateTime<Utc>,
        expires_after: chrono::Duration,
    ) -> Request {
        Request {
            id: RequestId::generate(),
            role: new.role,
            requester: new.requester,
            reason: new.reason,
            channel: new.channel,
            created_at: now,
            expires_at: now + expires_after,
            approvals_required: new.approvals_required,
            approvals: vec![],
            state: State::Pending,
            version: 1,
            decided_by: None,
            cutoff: None,
            outcome: None,
            policy_sha256: None,
            error: None,
            card: None,
            preview: new.preview,
        }
    }

    fn transitioned(&self, state: State) -> Request {
        let mut next = self.clone();
        next.state = state;
        next.version += 1;
        next
    }

    fn event(&self, kind: EventKind, actor: &str, at: DateTime<Utc>) -> EventDraft {
        EventDraft::new(self.id.clone(), kind, actor, at).with_role(&self.role)
    }

    /// Apply a click. `is_approver` comes from the access lists, resolved by the caller.
    pub fn decide(
        &self,
        action: Action,
        actor: &SlackUserId,
        is_approver: bool,
        now: DateTime<Utc>,
    ) -> Decision {
        if self.state != State::Pending {
            return Decision::Refuse(Refusal::Closed(self.state));
        }
        if now >= self.expires_at {
            return Decision::Refuse(Refusal::Expired);
        }
        let who = actor.as_str();
        match action {
            Action::Cancel => {
                if actor != &self.requester {
                    return Decision::Refuse(Refusal::NotTheRequester);
                }
                let mut next = self.transitioned(State::Cancelled);
                next.decided_by = Some(actor.clone());
                Decision::Transition {
                    event: next.event(EventKind::Cancelled, who, now),
                    next,
                }
            }
            Action::Reject => {
                if actor == &self.requester {
                    return Decision::Refuse(Refusal::RequesterRejecting);
                }
                if !is_approver {
                    return Decision::Refuse(Refusal::NotAnApprover);
                }
                let mut next = self.transitioned(State::Rejected);
                next.decided_by = Some(actor.clone());
                Decision::Transition {
                    event: next.event(EventKind::Rejected, who, now),
                    next,
                }
            }
            Action::Approve => {
                if actor == &self.requester {
                    return Decision::Refuse(Refusal::SelfApproval);
                }
                if !is_approver {
                    return Decision::Refuse(Refusal::NotAnApprover);
                }
                if self.approvals.contains(actor) {
                    return Decision::Refuse(Refusal::AlreadyApproved);
                }
                let mut next = self.clone();
                next.version += 1;
                next.approvals.push(actor.clone());
                let count = next.approvals.len() as u32;
                let kind = if count >= self.approvals_required {
                    next.state = State::Approved;
                    next.decided_by = Some(actor.clone());
                    EventKind::Approved
                } else {
                    EventKind::ApprovalRecorded
                };
                let event = next
                    .event(kind, who, now)
                    .with_detail(format!("{count} of {} approvals", self.approvals_required));
                Decision::Transition { next, event }
            }
        }
    }

    /// Pending past its expiry: move to `expired` (the sweeper's transition).
    pub fn expire(&self, now: DateTime<Utc>) -> Option<(Request, EventDraft)> {
        (self.state == State::Pending && now >= self.expires_at).then(|| {
            let next = self.transitioned(State::Expired);
            let event = next.event(EventKind::Expired, "revoke-role-bot", now);
            (next, event)
        })
    }

    /// Approved → applied, with what was written.
    pub fn applied(
        &self,
        cutoff: Cutoff,
        outcome: MergeOutcome,
        policy_sha256: String,
        now: DateTime<Utc>,
    ) -> Option<(Request, EventDraft)> {
        (self.state == State::Approved).then(|| {
            let mut next = self.transitioned(State::Applied);
            next.cutoff = Some(cutoff);
            next.outcome = Some(outcome);
            next.policy_sha256 = Some(policy_sha256.clone());
            let event = next
                .event(EventKind::Applied, "revoke-role-bot", now)
                .with_cutoff(cutoff)
                .with_policy_sha256(policy_sha256)
                .with_detail(format!("{outcome:?}"));
            (next, event)
        })
    }

    /// Approved → failed, with the reason a person can act on and the full error for the record.
    pub fn failed(
        &self,
        short: &str,
        full: &str,
        now: DateTime<Utc>,
    ) -> Option<(Request, EventDraft)> {
        (self.state == State::Approved).then(|| {
            let mut next = self.transitioned(State::Failed);
            next.error = Some(short.to_string());
            let event = next
                .event(EventKind::Failed, "revoke-role-bot", now)
                .with_error(format!("{short}: {full}"));
            (next, event)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> SlackUserId {
        SlackUserId::parse(s).unwrap()
    }

    fn req(required: u32) -> Request {
        let mut r = Request::pending(
            NewRequest {
                role: RoleArn::parse("arn:aws:iam::111111111111:role/app").unwrap(),
                requester: user("U0ALICE"),
                reason: "INC-1".into(),
                channel: ChannelId::parse("C0INC").unwrap(),
                approvals_required: required,
                preview: None,
            },
            Utc::now(),
            chrono::Duration::minutes(30),
        );
        r.id = RequestId::parse("rr-7f3k2q9x").unwrap();
        r
    }

    fn next_of(d: Decision) -> (Request, EventDraft) {
        match d {
            Decision::Transition { next, event } => (next, event),
            Decision::Refuse(r) => panic!("refused: {r:?}"),
        }
    }

    #[test]
    fn only_the_listed_transitions_exist() {
        use State::*;
        let all = [
            Pending, Approved, Applied, Failed, Rejected, Cancelled, Expired,
        ];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Pending, Approved),
                (Pending, Rejected),
                (Pending, Cancelled),
                (Pending, Expired),
                (Approved, Applied),
                (Approved, Failed)
            ]
        );
    }

    #[test]
    fn requester_can_never_approve() {
        let r = req(1);
        assert_eq!(
            r.decide(Action::Approve, &user("U0ALICE"), true, Utc::now()),
            Decision::Refuse(Refusal::SelfApproval)
        );
    }

    #[test]
    fn approval_by_a_second_approver_moves_to_approved() {
        let (next, event) =
            next_of(req(1).decide(Action::Approve, &user("U0BOB"), true, Utc::now()));
        assert_eq!(next.state, State::Approved);
        assert_eq!(next.version, 2);
        assert_eq!(event.kind, EventKind::Approved);
    }

    #[test]
    fn non_approvers_are_refused() {
        let r = req(1);
        assert_eq!(
            r.decide(Action::Approve, &user("U0EVE"), false, Utc::now()),
            Decision::Refuse(Refusal::NotAnApprover)
        );
        assert_eq!(
            r.decide(Action::Reject, &user("U0EVE"), false, Utc::now()),
            Decision::Refuse(Refusal::NotAnApprover)
        );
    }

    #[test]
    fn two_approvals_need_two_distinct_people() {
        let r = req(2);
        let (after_one, e1) = next_of(r.decide(Action::Approve, &user("U0BOB"), true, Utc::now()));
        assert_eq!(after_one.state, State::Pending);
        assert_eq!(e1.kind, EventKind::ApprovalRecorded);
        assert_eq!(
            after_one.decide(Action::Approve, &user("U0BOB"), true, Utc::now()),
            Decision::Refuse(Refusal::AlreadyApproved)
        );
        let (after_two, e2) =
            next_of(after_one.decide(Action::Approve, &user("U0CAROL"), true, Utc::now()));
        assert_eq!(after_two.state, State::Approved);
        assert_eq!(e2.kind, EventKind::Approved);
        assert_eq!(after_two.approvals.len(), 2);
    }

    #[test]
    fn only_the_requester_cancels_and_approvers_reject() {
        let r = req(1);
        assert_eq!(
            r.decide(Action::Cancel, &user("U0BOB"), true, Utc::now()),
            Decision::Refuse(Refusal::NotTheRequester)
        );
        assert_eq!(
            next_of(r.decide(Action::Cancel, &user("U0ALICE"), false, Utc::now()))
                .0
                .state,
            State::Cancelled
        );
        assert_eq!(
            next_of(r.decide(Action::Reject, &user("U0BOB"), true, Utc::now()))
                .0
                .state,
            State::Rejected
        );
        assert_eq!(
            r.decide(Action::Reject, &user("U0ALICE"), true, Utc::now()),
            Decision::Refuse(Refusal::RequesterRejecting)
        );
    }

    #[test]
    fn closed_and_expired_requests_refuse_clicks() {
        let mut r = req(1);
        let late = r.expires_at + chrono::Duration::seconds(1);
        assert_eq!(
            r.decide(Action::Approve, &user("U0BOB"), true, late),
            Decision::Refuse(Refusal::Expired)
        );
        assert_eq!(r.expire(late).unwrap().0.state, State::Expired);
        assert!(r.expire(Utc::now()).is_none());
        r.state = State::Applied;
        assert_eq!(
            r.decide(Action::Approve, &user("U0BOB"), true, Utc::now()),
            Decision::Refuse(Refusal::Closed(State::Applied))
        );
    }

    #[test]
    fn outcome_only_from_approved() {
        let r = req(1);
        let c = Cutoff::parse("2026-01-01T00:00:00Z").unwrap();
        assert!(
            r.applied(c, MergeOutcome::Created, "x".into(), Utc::now())
                .is_none()
        );
        let (approved, _) = next_of(r.decide(Action::Approve, &user("U0BOB"), true, Utc::now()));
        let (done, ev) = approved
            .applied(c, MergeOutcome::Created, "abc".into(), Utc::now())
            .unwrap();
        assert_eq!(done.state, State::Applied);
        assert_eq!(ev.cutoff.as_deref(), Some("2026-01-01T00:00:00Z"));
        let (failed, ev) = approved
            .failed("role not found", "NoSuchEntity", Utc::now())
            .unwrap();
        assert_eq!(failed.state, State::Failed);
        assert!(ev.error.unwrap().contains("NoSuchEntity"));
    }
}
