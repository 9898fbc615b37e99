//! What a request revokes, and how that is kept in the stored request.
//!
//! The stored request (the DynamoDB item's `data`) holds the target as one field beside the
//! others: `"role": "arn:…"` or `"permission_set": {…}`. [`Request`](super::Request) flattens
//! [`Target`] into itself, so the enum writes exactly that field; reading checks there is exactly
//! one of the two.

use serde::{Deserialize, Serialize};

use crate::domain::permission_set::PermissionSetTarget;
use crate::domain::role_arn::RoleArn;

/// What a request revokes: one IAM role, or an Identity Center permission set (SPEC §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "StoredTarget")]
pub enum Target {
    /// The canonical ARN, as IAM returned it when the request was checked.
    Role(RoleArn),
    /// The permission set, as Identity Center described it.
    PermissionSet(PermissionSetTarget),
}

impl Target {
    /// The role's or the permission set's ARN (for the audit trail and the `by_role` index).
    pub fn arn(&self) -> String {
        match self {
            Target::Role(r) => r.to_string(),
            Target::PermissionSet(ps) => ps.arn.clone(),
        }
    }

    /// The role's or the permission set's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Role(r) => r.name(),
            Target::PermissionSet(ps) => &ps.name,
        }
    }
}

/// The target's fields as stored; both are read so that a record naming both, or neither, is
/// refused rather than read as one of them.
#[derive(Deserialize)]
struct StoredTarget {
    #[serde(default)]
    role: Option<RoleArn>,
    #[serde(default)]
    permission_set: Option<PermissionSetTarget>,
}

impl TryFrom<StoredTarget> for Target {
    type Error = &'static str;
    fn try_from(s: StoredTarget) -> Result<Self, Self::Error> {
        match (s.role, s.permission_set) {
            (Some(role), None) => Ok(Target::Role(role)),
            (None, Some(ps)) => Ok(Target::PermissionSet(ps)),
            _ => Err("a request names exactly one role or one permission set"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{approved, t0, user};
    use super::super::{CardRef, Failure, Request, State, Status};
    use super::*;
    use crate::domain::ids::ChannelId;
    use crate::domain::policy::MergeOutcome;

    /// Requests as the code before `Target` was a field wrote them (commit 554657d), byte for byte.
    const ROLE_PENDING: &str = include_str!("testdata/role_pending.json");
    const ROLE_APPLIED: &str = include_str!("testdata/role_applied.json");
    const PERMISSION_SET_FAILED: &str = include_str!("testdata/permission_set_failed.json");

    fn read(json: &str) -> Request {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn stored_requests_read_back_and_are_written_the_same() {
        for json in [ROLE_PENDING, ROLE_APPLIED, PERMISSION_SET_FAILED] {
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
    fn a_stored_request_names_exactly_one_target() {
        let role = r#""role":"arn:aws:iam::111111111111:role/team/app","#;
        let set = PERMISSION_SET_FAILED
            .split_once(r#","requester""#)
            .and_then(|(head, _)| head.split_once(r#""permission_set":"#))
            .map(|(_, set)| format!(r#""permission_set":{set},"#))
            .unwrap();
        let both = ROLE_APPLIED.replacen(role, &format!("{role}{set}"), 1);
        let neither = ROLE_APPLIED.replacen(role, "", 1);
        assert_ne!(both, ROLE_APPLIED);
        assert_ne!(neither, ROLE_APPLIED);
        for json in [both, neither] {
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
