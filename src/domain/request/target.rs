//! What a request revokes, and how that is kept in the stored request.
//!
//! The stored request (the DynamoDB item's `data`) holds the target as one field beside the
//! others: `"role": "arn:…"`, `"permission_set": {…}` or `"user": {…}`.
//! [`Request`](super::Request) flattens [`Target`] into itself, so the enum writes exactly that
//! field; reading checks there is exactly one of them.

use serde::{Deserialize, Serialize};

use crate::domain::access_key::{AccessKeyId, KeyChange};
use crate::domain::ids::RequestId;
use crate::domain::permission_set::PermissionSetTarget;
use crate::domain::role_arn::RoleArn;
use crate::domain::user::UserArn;

/// What a request revokes: one IAM role, an Identity Center permission set (README "Identity Center permission sets"), or an
/// IAM user's access keys (README "Leaked access keys and IAM users").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "StoredTarget")]
pub enum Target {
    /// The canonical ARN, as IAM returned it when the request was checked.
    Role(RoleArn),
    /// The permission set, as Identity Center described it.
    PermissionSet(PermissionSetTarget),
    /// An IAM user and what the request does to its keys.
    User(UserTarget),
}

/// An IAM user request: a pasted key, a `user`, or a `restore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTarget {
    /// The canonical ARN, as `GetUser` returned it when the request was checked.
    pub arn: UserArn,
    /// What approving does to the user's keys.
    pub keys: KeyPlan,
    /// Each key this request changed and its status before, once applied (for the card, the
    /// thread, and the keys a later `restore` may set back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<KeyChange>,
}

/// What a user request does to the user's access keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyPlan {
    /// `key <id>`: that key `Inactive`, and the user's deny.
    Key { key: AccessKeyId },
    /// `user <name>`: every key of the user that is `Active` at approval `Inactive`, and the
    /// user's deny.
    AllActive,
    /// `restore <request-id>`: the keys request `of` deactivated that are still there and
    /// `Inactive`, back to `Active`. The deny stays.
    Restore {
        of: RequestId,
        keys: Vec<AccessKeyId>,
    },
}

impl Target {
    /// The role's or the permission set's ARN (for the audit trail and the `by_role` index).
    pub fn arn(&self) -> String {
        match self {
            Target::Role(r) => r.to_string(),
            Target::PermissionSet(ps) => ps.arn.clone(),
            Target::User(u) => u.arn.to_string(),
        }
    }

    /// The role's, the permission set's or the user's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Role(r) => r.name(),
            Target::PermissionSet(ps) => &ps.name,
            Target::User(u) => u.arn.name(),
        }
    }
}

impl UserTarget {
    /// `AKIA… Active → Inactive, AKIA… Active → Inactive`: the keys changed, for an audit
    /// event's detail; empty when none was.
    pub fn changes_detail(&self) -> String {
        self.changed
            .iter()
            .map(KeyChange::detail)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The target's fields as stored; all are read so that a record naming two, or none, is
/// refused rather than read as one of them.
#[derive(Deserialize)]
struct StoredTarget {
    #[serde(default)]
    role: Option<RoleArn>,
    #[serde(default)]
    permission_set: Option<PermissionSetTarget>,
    #[serde(default)]
    user: Option<UserTarget>,
}

impl TryFrom<StoredTarget> for Target {
    type Error = &'static str;
    fn try_from(s: StoredTarget) -> Result<Self, Self::Error> {
        match (s.role, s.permission_set, s.user) {
            (Some(role), None, None) => Ok(Target::Role(role)),
            (None, Some(ps), None) => Ok(Target::PermissionSet(ps)),
            (None, None, Some(user)) => Ok(Target::User(user)),
            _ => Err("a request names exactly one role, one permission set or one user"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{approved, t0, user};
    use super::super::{CardRef, Failure, Request, State, Status};
    use super::*;
    use crate::domain::access_key::KeyStatus;
    use crate::domain::ids::ChannelId;
    use crate::domain::policy::MergeOutcome;

    /// Requests as the code before `Target` was a field wrote them (commit 554657d), byte for byte.
    const ROLE_PENDING: &str = include_str!("testdata/role_pending.json");
    const ROLE_APPLIED: &str = include_str!("testdata/role_applied.json");
    const PERMISSION_SET_FAILED: &str = include_str!("testdata/permission_set_failed.json");
    /// A `key` request as this version writes it once applied.
    const USER_KEY_APPLIED: &str = include_str!("testdata/user_key_applied.json");
    /// A `restore` request as this version writes it while pending.
    const USER_RESTORE_PENDING: &str = include_str!("testdata/user_restore_pending.json");

    fn read(json: &str) -> Request {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn stored_requests_read_back_and_are_written_the_same() {
        for json in [
            ROLE_PENDING,
            ROLE_APPLIED,
            PERMISSION_SET_FAILED,
            USER_KEY_APPLIED,
            USER_RESTORE_PENDING,
        ] {
            let json = json.trim_end();
            assert_eq!(serde_json::to_string(&read(json)).unwrap(), json);
        }
    }

    #[test]
    fn a_stored_role_request_reads_as_that_role() {
        let r = read(ROLE_APPLIED);
        let role = RoleArn::parse("arn:aws:iam::111111111111:role/team/app").unwrap();
        assert_eq!(r.target(), &Target::Role(role.clone()));
        assert_eq!(r.role(), Some(&role));
        assert_eq!(r.permission_set(), None);
        assert_eq!(r.target_name(), "app");
        assert_eq!(r.id().as_str(), "rr-7f3k2q9x");
        assert_eq!(r.requester(), &user("U0ALICE"));
        assert_eq!(r.reason(), "INC-1 \"leaked\" key");
        assert_eq!(r.created_at(), t0());
        assert_eq!(r.approvals(), [user("U0BOB"), user("U0CAROL")]);
        assert_eq!((r.approvals_required(), r.version()), (2, 4));
        assert_eq!(r.state(), State::Applied);
        assert_eq!(r.outcome(), Some(MergeOutcome::Created));
        assert_eq!(r.written().map(|w| w.verified), Some(false));
        assert_eq!(r.preview().unwrap().inline_policy_chars_used, 321);
        assert_eq!((r.card(), r.reminders()), (None, 0));
        assert_eq!(read(ROLE_PENDING).status(), &Status::Pending);
    }

    #[test]
    fn a_stored_permission_set_request_reads_as_that_permission_set() {
        let r = read(PERMISSION_SET_FAILED);
        let Target::PermissionSet(ps) = r.target() else {
            panic!("{:?}", r.target());
        };
        assert_eq!(ps.name, "DataEngineer");
        assert_eq!(ps.accounts.len(), 2);
        assert_eq!(ps.session_duration.as_deref(), Some("PT8H"));
        assert_eq!(r.role(), None);
        assert_eq!(r.target_arn(), ps.arn);
        assert_eq!(
            r.failure(),
            Some(&Failure::ProvisioningFailed {
                reason: "boom".into()
            })
        );
        assert_eq!(r.preview(), None);
    }

    #[test]
    fn a_stored_key_request_reads_as_that_user_its_key_and_the_keys_it_changed() {
        let r = read(USER_KEY_APPLIED);
        let Target::User(u) = r.target() else {
            panic!("{:?}", r.target());
        };
        assert_eq!(
            u.arn,
            UserArn::parse("arn:aws:iam::111111111111:user/ci/deployer").unwrap()
        );
        let key = AccessKeyId::parse("AKIAIOSFODNN7EXAMPLE").unwrap();
        assert_eq!(u.keys, KeyPlan::Key { key: key.clone() });
        assert_eq!(
            u.changed,
            [KeyChange {
                id: key,
                before: KeyStatus::Active,
                after: KeyStatus::Inactive
            }]
        );
        assert_eq!(u.changes_detail(), "AKIAIOSFODNN7EXAMPLE Active → Inactive");
        assert_eq!(r.role(), None);
        assert_eq!(r.permission_set(), None);
        assert_eq!(r.user(), Some(u));
        assert_eq!(r.target_arn(), "arn:aws:iam::111111111111:user/ci/deployer");
        assert_eq!(r.target_name(), "deployer");
        assert_eq!(r.state(), State::Applied);
    }

    #[test]
    fn a_stored_restore_request_names_the_request_and_the_keys_it_sets_back() {
        let r = read(USER_RESTORE_PENDING);
        let Some(u) = r.user() else {
            panic!("{:?}", r.target());
        };
        assert_eq!(
            u.keys,
            KeyPlan::Restore {
                of: RequestId::parse("rr-7f3k2q9x").unwrap(),
                keys: vec![AccessKeyId::parse("AKIAIOSFODNN7EXAMPLE").unwrap()]
            }
        );
        assert!(u.changed.is_empty());
        assert_eq!(r.status(), &Status::Pending);
    }

    #[test]
    fn a_user_request_is_stored_under_user_and_reads_back() {
        let target = UserTarget {
            arn: UserArn::parse("arn:aws:iam::111111111111:user/ci").unwrap(),
            keys: KeyPlan::AllActive,
            changed: vec![],
        };
        let r = Request::pending_target(
            Target::User(target.clone()),
            user("U0ALICE"),
            "INC-7".into(),
            ChannelId::parse("C0INC").unwrap(),
            1,
            t0(),
            chrono::Duration::minutes(30),
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.contains(
                r#""user":{"arn":"arn:aws:iam::111111111111:user/ci","keys":{"kind":"all_active"}}"#
            ),
            "{json}"
        );
        assert!(
            !json.contains(r#""role""#) && !json.contains("changed"),
            "{json}"
        );
        let back: Request = serde_json::from_str(&json).unwrap();
        assert_eq!(back.target(), &Target::User(target));
    }

    #[test]
    fn a_stored_request_names_exactly_one_target() {
        let role = r#""role":"arn:aws:iam::111111111111:role/team/app","#;
        let set = PERMISSION_SET_FAILED
            .split_once(r#","requester""#)
            .and_then(|(head, _)| head.split_once(r#""permission_set":"#))
            .map(|(_, set)| format!(r#""permission_set":{set},"#))
            .unwrap();
        let both = ROLE_APPLIED.replacen(role, &format!("{role}{set}"), 1);
        let neither = ROLE_APPLIED.replacen(role, "", 1);
        let user =
            r#""user":{"arn":"arn:aws:iam::111111111111:user/ci","keys":{"kind":"all_active"}},"#;
        let role_and_user = ROLE_APPLIED.replacen(role, &format!("{role}{user}"), 1);
        assert_ne!(both, ROLE_APPLIED);
        assert_ne!(neither, ROLE_APPLIED);
        assert_ne!(role_and_user, ROLE_APPLIED);
        for json in [both, neither, role_and_user] {
            let err = serde_json::from_str::<Request>(&json).unwrap_err();
            assert!(err.to_string().contains("exactly one"), "{err}");
        }
    }

    #[test]
    fn stored_form_round_trips_without_the_card_and_the_provisioning() {
        let a = approved()
            .with_card(CardRef {
                channel: ChannelId::parse("C0INC").unwrap(),
                ts: "1.2".into(),
            })
            .with_provisioning(Some("b7c1e2d3-provisioning".into()));
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""state":"approved""#), "{json}");
        assert!(!json.contains("b7c1e2d3"), "stored beside the data: {json}");
        let back: Request = serde_json::from_str(&json).unwrap();
        assert_eq!((back.card(), back.provisioning()), (None, None));
        assert_eq!(back.cutoff(), a.cutoff());
        assert_eq!(back.status(), a.status());
    }
}
