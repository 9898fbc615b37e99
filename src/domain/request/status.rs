//! The states a request goes through, the data each one holds, and the transition table every
//! change of state goes through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Request;
use super::outcome::{Failure, Written};
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::ids::{Actor, SlackUserId};
use crate::domain::policy::Cutoff;

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
    const ALL: [State; 7] = [
        State::Pending,
        State::Approved,
        State::Applied,
        State::Failed,
        State::Rejected,
        State::Cancelled,
        State::Expired,
    ];

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
        State::ALL.into_iter().find(|state| state.as_str() == s)
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

/// The state with the data that only that state has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Pending,
    /// The cut-off is decided here, once, and reused by every retry, recovery pass and replica.
    Approved {
        by: SlackUserId,
        cutoff: Cutoff,
    },
    Applied {
        by: SlackUserId,
        cutoff: Cutoff,
        written: Written,
    },
    Failed {
        by: SlackUserId,
        cutoff: Cutoff,
        failure: Failure,
    },
    Rejected {
        by: SlackUserId,
    },
    Cancelled {
        by: SlackUserId,
    },
    Expired,
}

impl Status {
    pub fn state(&self) -> State {
        match self {
            Status::Pending => State::Pending,
            Status::Approved { .. } => State::Approved,
            Status::Applied { .. } => State::Applied,
            Status::Failed { .. } => State::Failed,
            Status::Rejected { .. } => State::Rejected,
            Status::Cancelled { .. } => State::Cancelled,
            Status::Expired => State::Expired,
        }
    }
}

/// A write to make: `next` (version bumped) with its audit event, conditional on the old version.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub next: Request,
    pub event: EventDraft,
}

/// A transition the table does not allow (a bug in the caller, or a stale read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{from} cannot become {to}")]
pub struct InvalidTransition {
    pub from: &'static str,
    pub to: &'static str,
}

impl Request {
    /// Move to `status` if the transition table allows it.
    pub(super) fn to(&self, status: Status) -> Result<Request, InvalidTransition> {
        if !self.state().can_become(status.state()) {
            return Err(InvalidTransition {
                from: self.state().as_str(),
                to: status.state().as_str(),
            });
        }
        let mut next = self.clone();
        next.status = status;
        next.version += 1;
        Ok(next)
    }

    /// The audit event of a change to this request, naming its target.
    pub(super) fn event(&self, kind: EventKind, actor: &Actor, at: DateTime<Utc>) -> EventDraft {
        EventDraft::by(self.id.clone(), kind, actor, at).with_role_text(&self.target_arn())
    }

    pub(super) fn transition(
        next: Request,
        kind: EventKind,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Transition {
        let event = next.event(kind, actor, now);
        Transition { next, event }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn each_state_parses_back_from_its_name_and_its_stored_form() {
        let names = [
            "pending",
            "approved",
            "applied",
            "failed",
            "rejected",
            "cancelled",
            "expired",
        ];
        for name in names {
            let state = State::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(state.as_str(), name);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{name}\"")
            );
        }
        assert_eq!(State::parse("Pending"), None);
        assert_eq!(State::parse(""), None);
    }
}
