//! What an approved request ends in: the policy written (`applied`), or a failure a responder
//! can act on (`failed`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::status::{InvalidTransition, Status, Transition};
use super::{Request, Target};
use crate::domain::access_key::KeyChange;
use crate::domain::audit::EventKind;
use crate::domain::ids::{Actor, SlackUserId};
use crate::domain::policy::{Cutoff, MergeOutcome};
use crate::domain::protection::Protection;

/// What was written and read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub outcome: MergeOutcome,
    /// The cut-off in force on the role afterwards: the request's own, or a later one that was there.
    pub in_force: Cutoff,
    pub policy_sha256: String,
    /// False when the write succeeded but IAM never showed it back within the retry window.
    pub verified: bool,
    /// The role's `MaxSessionDuration` as `GetRole` returned it when the deny was written: one of
    /// the lengths the clean-up window is the longest of (README "Revocations that stay in
    /// force"). Absent for permission sets and in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_secs_at_apply: Option<i64>,
}

/// Why an approved request could not be applied, in terms a responder can act on.
/// AWS's own error text is logged and kept in the audit event, never shown in Slack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    RoleNotFound,
    AccessDenied {
        action: String,
    },
    NoInlinePolicySpace,
    Unmodifiable,
    Throttled,
    Aws {
        action: String,
    },
    Timeout {
        action: String,
    },
    /// The existing `AWSRevokeOlderSessions` document is in a form the bot does not fully understand.
    PolicyNotUnderstood {
        document: String,
        why: String,
    },
    /// The role became protected (or changed identity) since it was requested.
    Protected {
        protection: Protection,
    },
    RoleChanged {
        now: String,
    },
    CutoffKeptMovingBack,
    ReadBackDiffers,
    /// `ProvisionPermissionSet` failed; AWS's reason (untrusted text).
    ProvisioningFailed {
        reason: String,
    },
    /// Provisioning did not finish within the wait; the policy is written and AWS goes on.
    ProvisioningTimedOut,
    /// A permission-set request while `[identity_center]` is not configured (any more).
    IdentityCenterNotConfigured,
    /// The bot's credentials for the account are not confirmed (unreachable, or they belong to
    /// `belongs_to`): nothing was read or written there.
    AccountNotConfirmed {
        account: String,
        belongs_to: Option<String>,
    },
}

impl Request {
    /// Approved → applied, with what was written.
    pub fn applied(
        &self,
        written: Written,
        now: DateTime<Utc>,
    ) -> Result<Transition, InvalidTransition> {
        let (by, cutoff) = self.approved_parts()?;
        let mut detail = format!(
            "{:?}{}",
            written.outcome,
            if written.verified {
                ""
            } else {
                ", written, not verified"
            }
        );
        if let Target::User(u) = &self.target
            && !u.changed.is_empty()
        {
            detail.push_str("; keys ");
            detail.push_str(&u.changes_detail());
        }
        let next = self.to(Status::Applied {
            by,
            cutoff,
            written: written.clone(),
        })?;
        let event = next
            .event(EventKind::Applied, &Actor::Bot, now)
            .with_cutoff(written.in_force)
            .with_policy_sha256(written.policy_sha256)
            .with_detail(detail);
        Ok(Transition { next, event })
    }

    /// Approved → applied, for a user request: what was written, and each key changed with its
    /// status before, kept on the request and named in the event's detail. Only user requests
    /// change keys.
    pub fn applied_with_key_changes(
        &self,
        written: Written,
        changed: Vec<KeyChange>,
        now: DateTime<Utc>,
    ) -> Result<Transition, InvalidTransition> {
        let mut with_keys = self.clone();
        match &mut with_keys.target {
            Target::User(u) => u.changed = changed,
            _ if changed.is_empty() => {}
            _ => {
                return Err(InvalidTransition {
                    from: "a role or permission-set request",
                    to: "key changes",
                });
            }
        }
        with_keys.applied(written, now)
    }

    /// Approved → failed, with the reason a person can act on and the full error for the record.
    pub fn failed(
        &self,
        failure: Failure,
        full_error: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, InvalidTransition> {
        let (by, cutoff) = self.approved_parts()?;
        let kind = serde_json::to_value(&failure)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)))
            .unwrap_or_else(|| "failure".into());
        let next = self.to(Status::Failed {
            by,
            cutoff,
            failure,
        })?;
        let event = next
            .event(EventKind::Failed, &Actor::Bot, now)
            .with_cutoff(cutoff)
            .with_detail(kind)
            .with_error(full_error.to_string());
        Ok(Transition { next, event })
    }

    fn approved_parts(&self) -> Result<(SlackUserId, Cutoff), InvalidTransition> {
        match &self.status {
            Status::Approved { by, cutoff } => Ok((by.clone(), *cutoff)),
            other => Err(InvalidTransition {
                from: other.state().as_str(),
                to: "an outcome",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::State;
    use super::super::test_support::{approved, req, t0, written};
    use super::*;

    #[test]
    fn outcome_only_from_approved_and_it_keeps_the_approval_cutoff() {
        let c = Cutoff::parse("2026-01-01T00:00:00Z").unwrap();
        assert!(req(1).applied(written(c), t0()).is_err());
        let a = approved();
        let done = a.applied(written(c), t0()).unwrap();
        assert_eq!(done.next.state(), State::Applied);
        assert_eq!(done.next.cutoff(), a.cutoff());
        assert_eq!(done.event.cutoff.as_deref(), Some("2026-01-01T00:00:00Z"));
        let failed = a
            .failed(Failure::RoleNotFound, "NoSuchEntity: gone", t0())
            .unwrap();
        assert_eq!(failed.next.state(), State::Failed);
        assert_eq!(failed.next.cutoff(), a.cutoff());
        assert!(failed.event.error.unwrap().contains("NoSuchEntity"));
        assert!(done.next.applied(written(c), t0()).is_err());
    }

    #[test]
    fn a_user_request_keeps_the_keys_it_changed_and_names_them_in_the_event() {
        use super::super::test_support::next_of;
        use super::super::{Action, KeyPlan, UserTarget};
        use crate::domain::access_key::{AccessKeyId, KeyStatus};
        use crate::domain::ids::ChannelId;
        use crate::domain::user::UserArn;

        let key = AccessKeyId::parse("AKIAIOSFODNN7EXAMPLE").unwrap();
        let pending = Request::pending_target(
            Target::User(UserTarget {
                arn: UserArn::parse("arn:aws:iam::111111111111:user/ci").unwrap(),
                keys: KeyPlan::Key { key: key.clone() },
                changed: vec![],
            }),
            super::super::test_support::user("U0ALICE"),
            "INC-7".into(),
            ChannelId::parse("C0INC").unwrap(),
            1,
            t0(),
            chrono::Duration::minutes(30),
        );
        let approved = next_of(pending.decide(
            Action::Approve,
            &super::super::test_support::user("U0BOB"),
            true,
            t0(),
        ))
        .next;
        let c = approved.cutoff().unwrap();
        let change = KeyChange {
            id: key,
            before: KeyStatus::Active,
            after: KeyStatus::Inactive,
        };
        let done = approved
            .applied_with_key_changes(written(c), vec![change.clone()], t0())
            .unwrap();
        assert_eq!(done.next.state(), State::Applied);
        assert_eq!(
            done.next.user().unwrap().changed,
            std::slice::from_ref(&change)
        );
        assert_eq!(
            done.event.detail.as_deref(),
            Some("Created; keys AKIAIOSFODNN7EXAMPLE Active → Inactive")
        );
        // A role request changes no keys.
        assert!(
            super::super::test_support::approved()
                .applied_with_key_changes(written(c), vec![change], t0())
                .is_err()
        );
    }
}
