//! Decisions on a pending request: people's clicks (approve, reject, cancel) and the sweeper's
//! expiry.

use chrono::{DateTime, Utc};

use super::Request;
use super::status::{InvalidTransition, State, Status, Transition};
use crate::domain::audit::EventKind;
use crate::domain::ids::{Actor, SlackUserId};
use crate::domain::policy::Cutoff;

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
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Transition(Box<Transition>),
    Refuse(Refusal),
}

impl Request {
    /// Apply a click. `is_approver` comes from the access lists, resolved by the caller.
    pub fn decide(
        &self,
        action: Action,
        actor: &SlackUserId,
        is_approver: bool,
        now: DateTime<Utc>,
    ) -> Decision {
        if self.state() != State::Pending {
            return Decision::Refuse(Refusal::Closed(self.state()));
        }
        if now >= self.expires_at {
            return Decision::Refuse(Refusal::Expired);
        }
        let who = Actor::User(actor.clone());
        let by = actor.clone();
        // Cancelling and rejecting close the request in one step.
        let close = |status: Status, kind: EventKind| {
            self.to(status)
                .map_err(|_: InvalidTransition| Refusal::Closed(self.state()))
                .map(|next| Self::transition(next, kind, &who, now))
        };
        let step = match action {
            Action::Cancel if actor != &self.requester => Err(Refusal::NotTheRequester),
            Action::Cancel => close(Status::Cancelled { by }, EventKind::Cancelled),
            Action::Reject if actor == &self.requester => Err(Refusal::RequesterRejecting),
            Action::Reject if !is_approver => Err(Refusal::NotAnApprover),
            Action::Reject => close(Status::Rejected { by }, EventKind::Rejected),
            Action::Approve if actor == &self.requester => Err(Refusal::SelfApproval),
            Action::Approve if !is_approver => Err(Refusal::NotAnApprover),
            Action::Approve if self.approvals.contains(actor) => Err(Refusal::AlreadyApproved),
            Action::Approve => Ok(self.approve(by, now)),
        };
        match step {
            Ok(t) => Decision::Transition(Box::new(t)),
            Err(refusal) => Decision::Refuse(refusal),
        }
    }

    /// Record one approval; the last one needed approves, and decides the cut-off.
    fn approve(&self, by: SlackUserId, now: DateTime<Utc>) -> Transition {
        let who = Actor::User(by.clone());
        let count = self.approvals.len() as u32 + 1;
        let mut next = if count >= self.approvals_required {
            let cutoff = Cutoff::at_or_after(now);
            match self.to(Status::Approved {
                by: by.clone(),
                cutoff,
            }) {
                Ok(next) => next,
                // Unreachable from `decide` (it checked `pending`); recorded as an approval only.
                Err(_) => self.bumped(),
            }
        } else {
            self.bumped()
        };
        next.approvals.push(by);
        let kind = if next.state() == State::Approved {
            EventKind::Approved
        } else {
            EventKind::ApprovalRecorded
        };
        let mut event = next
            .event(kind, &who, now)
            .with_detail(format!("{count} of {} approvals", self.approvals_required));
        if let Some(c) = next.cutoff() {
            event = event.with_cutoff(c);
        }
        Transition { next, event }
    }

    /// The same state, one version on (an approval that does not yet reach the quorum).
    fn bumped(&self) -> Request {
        let mut next = self.clone();
        next.version += 1;
        next
    }

    /// Pending past its expiry: move to `expired` (the sweeper's transition).
    pub fn expire(&self, now: DateTime<Utc>) -> Option<Transition> {
        if now < self.expires_at {
            return None;
        }
        let next = self.to(Status::Expired).ok()?;
        Some(Self::transition(next, EventKind::Expired, &Actor::Bot, now))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{approved, next_of, req, t0, user, written};
    use super::*;

    /// `who` clicks `action` on `r` at `at`; `is_approver` is what the access lists say.
    fn click(
        r: &Request,
        action: Action,
        who: &str,
        is_approver: bool,
        at: DateTime<Utc>,
    ) -> Decision {
        r.decide(action, &user(who), is_approver, at)
    }

    /// The state `who`'s click moves `r` to (now).
    fn state_after(r: &Request, action: Action, who: &str, is_approver: bool) -> State {
        next_of(click(r, action, who, is_approver, t0()))
            .next
            .state()
    }

    fn refused(refusal: Refusal) -> Decision {
        Decision::Refuse(refusal)
    }

    #[test]
    fn requester_can_never_approve() {
        assert_eq!(
            click(&req(1), Action::Approve, "U0ALICE", true, t0()),
            refused(Refusal::SelfApproval)
        );
    }

    #[test]
    fn the_approving_click_decides_the_cutoff_once_rounded_up() {
        let t = next_of(click(&req(1), Action::Approve, "U0BOB", true, t0()));
        assert_eq!(t.next.state(), State::Approved);
        assert_eq!(t.next.version(), 2);
        assert_eq!(t.event.kind, EventKind::Approved);
        assert_eq!(t.next.cutoff().unwrap().to_string(), "2026-11-23T12:00:01Z");
        assert_eq!(t.event.cutoff.as_deref(), Some("2026-11-23T12:00:01Z"));
    }

    #[test]
    fn non_approvers_are_refused() {
        let r = req(1);
        for action in [Action::Approve, Action::Reject] {
            assert_eq!(
                click(&r, action, "U0EVE", false, t0()),
                refused(Refusal::NotAnApprover),
                "{action:?}"
            );
        }
    }

    #[test]
    fn two_approvals_need_two_distinct_people() {
        let r = req(2);
        let one = next_of(click(&r, Action::Approve, "U0BOB", true, t0()));
        assert_eq!(one.next.state(), State::Pending);
        assert_eq!(one.next.cutoff(), None);
        assert_eq!(one.event.kind, EventKind::ApprovalRecorded);
        assert_eq!(
            click(&one.next, Action::Approve, "U0BOB", true, t0()),
            refused(Refusal::AlreadyApproved)
        );
        let two = next_of(click(&one.next, Action::Approve, "U0CAROL", true, t0()));
        assert_eq!(two.next.state(), State::Approved);
        assert_eq!(two.event.kind, EventKind::Approved);
        assert_eq!(two.next.approvals().len(), 2);
        assert_eq!(two.next.version(), 3);
    }

    #[test]
    fn only_the_requester_cancels_and_approvers_reject() {
        let r = req(1);
        assert_eq!(
            click(&r, Action::Cancel, "U0BOB", true, t0()),
            refused(Refusal::NotTheRequester)
        );
        assert_eq!(
            state_after(&r, Action::Cancel, "U0ALICE", false),
            State::Cancelled
        );
        assert_eq!(
            state_after(&r, Action::Reject, "U0BOB", true),
            State::Rejected
        );
        assert_eq!(
            click(&r, Action::Reject, "U0ALICE", true, t0()),
            refused(Refusal::RequesterRejecting)
        );
    }

    #[test]
    fn closed_and_expired_requests_refuse_clicks() {
        let r = req(1);
        let late = r.expires_at() + chrono::Duration::seconds(1);
        assert_eq!(
            click(&r, Action::Approve, "U0BOB", true, late),
            refused(Refusal::Expired)
        );
        assert_eq!(r.expire(late).unwrap().next.state(), State::Expired);
        assert!(r.expire(t0()).is_none());
        let done = approved()
            .applied(written(approved().cutoff().unwrap()), t0())
            .unwrap()
            .next;
        assert_eq!(
            click(&done, Action::Approve, "U0BOB", true, t0()),
            refused(Refusal::Closed(State::Applied))
        );
        assert!(done.expire(late).is_none());
    }
}
