//! Which roles may never be revoked (README "Using it in Slack"). Pure: matched against the canonical ARN that IAM
//! returned, never against what a person typed.

use serde::{Deserialize, Serialize};

use super::role_arn::{ArnPattern, RoleArn, glob_ignoring_case};

/// Why a role may not be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Protection {
    /// Path `/aws-service-role/`: AWS owns the role and its sessions.
    ServiceLinked,
    /// `AWSReservedSSO_*` or path `/aws-reserved/`: IAM refuses changes; revoke through the permission set.
    IdentityCenter,
    /// The role the bot itself runs as.
    BotItself,
    /// A role the bot assumes in a target account (`assume_role_arn`).
    BotTargetRole,
    /// Matches `roles.protect`.
    Configured { pattern: String },
    /// Matches nothing in `roles.allow`.
    NotAllowed,
}

/// Everything protection depends on, fixed at start.
#[derive(Debug, Clone, Default)]
pub struct ProtectionRules {
    pub allow: Vec<ArnPattern>,
    pub protect: Vec<ArnPattern>,
    /// The role the bot runs as, from `sts:GetCallerIdentity`.
    pub self_role: Option<RoleArn>,
    /// Every `assume_role_arn` of the configured accounts.
    pub assumed_roles: Vec<RoleArn>,
    /// `identity_center.protect`: permission set names (with `*`) never revoked from Slack.
    pub permission_sets: Vec<String>,
}

/// Role names are unique per account and partition; the path is not part of a role's identity.
fn same_role(a: &RoleArn, b: &RoleArn) -> bool {
    a.partition() == b.partition() && a.account() == b.account() && a.name() == b.name()
}

pub fn is_identity_center_role(role: &RoleArn) -> bool {
    role.name().starts_with("AWSReservedSSO_") || role.path().starts_with("/aws-reserved/")
}

impl ProtectionRules {
    /// Whether a permission set (by name) matches `identity_center.protect`, ignoring case.
    pub fn permission_set_protected(&self, name: &str) -> bool {
        self.permission_sets
            .iter()
            .any(|p| glob_ignoring_case(p, name))
    }

    /// The first protection that applies, built-in ones first. The one function that decides: the
    /// refusal, the type-ahead's 🔒 and `check-config`'s list of protected roles all ask it.
    /// `protect` patterns ignore case and match a path-less name at any path; `allow` patterns
    /// match exactly (README "Configuration").
    pub fn check(&self, role: &RoleArn) -> Option<Protection> {
        if role.path().starts_with("/aws-service-role/") {
            return Some(Protection::ServiceLinked);
        }
        if is_identity_center_role(role) {
            return Some(Protection::IdentityCenter);
        }
        if self
            .self_role
            .as_ref()
            .is_some_and(|me| same_role(me, role))
        {
            return Some(Protection::BotItself);
        }
        if self.assumed_roles.iter().any(|r| same_role(r, role)) {
            return Some(Protection::BotTargetRole);
        }
        if let Some(p) = self.protect.iter().find(|p| p.protects(role)) {
            return Some(Protection::Configured {
                pattern: p.as_str().to_string(),
            });
        }
        if !self.allow.iter().any(|p| p.matches(role)) {
            return Some(Protection::NotAllowed);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(s: &str) -> RoleArn {
        RoleArn::parse(s).unwrap()
    }

    fn rules() -> ProtectionRules {
        ProtectionRules {
            allow: vec![ArnPattern::parse("arn:aws:iam::*:role/*").unwrap()],
            protect: vec![ArnPattern::parse("arn:aws:iam::*:role/break-glass-*").unwrap()],
            self_role: Some(arn("arn:aws:iam::111111111111:role/bot-task")),
            assumed_roles: vec![arn("arn:aws:iam::222222222222:role/ops/bot-target")],
            permission_sets: vec!["BreakGlass*".into(), "Exact".into()],
        }
    }

    #[test]
    fn permission_sets_match_their_patterns_by_name() {
        let r = rules();
        assert!(r.permission_set_protected("BreakGlass"));
        assert!(r.permission_set_protected("BreakGlassAdmin"));
        assert!(r.permission_set_protected("Exact"));
        assert!(!r.permission_set_protected("Exactly"));
        assert!(!r.permission_set_protected("AdminBreakGlass"));
        assert!(
            r.permission_set_protected("breakglassadmin"),
            "ignoring case"
        );
        assert!(r.permission_set_protected("EXACT"));
        assert!(!ProtectionRules::default().permission_set_protected("BreakGlass"));
    }

    #[test]
    fn built_in_protections_cannot_be_lifted() {
        let r = rules();
        assert_eq!(
            r.check(&arn(
                "arn:aws:iam::111111111111:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
            )),
            Some(Protection::ServiceLinked)
        );
        assert_eq!(
            r.check(&arn("arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123")),
            Some(Protection::IdentityCenter)
        );
        assert_eq!(
            r.check(&arn("arn:aws:iam::111111111111:role/other/bot-task")),
            Some(Protection::BotItself)
        );
    }

    #[test]
    fn the_roles_the_bot_assumes_are_protected_whatever_their_path() {
        assert_eq!(
            rules().check(&arn("arn:aws:iam::222222222222:role/bot-target")),
            Some(Protection::BotTargetRole)
        );
        assert_eq!(
            rules().check(&arn("arn:aws:iam::333333333333:role/bot-target")),
            None
        );
    }

    #[test]
    fn patterns_match_the_canonical_partition() {
        let r = rules();
        assert!(matches!(
            r.check(&arn("arn:aws:iam::111111111111:role/break-glass-x")),
            Some(Protection::Configured { .. })
        ));
        // An aws-cn role does not match `arn:aws:`: it is simply not allowed (the caller checks
        // the canonical ARN, so a typed partition can never select the pattern).
        assert_eq!(
            r.check(&arn("arn:aws-cn:iam::111111111111:role/break-glass-x")),
            Some(Protection::NotAllowed)
        );
        assert_eq!(r.check(&arn("arn:aws:iam::111111111111:role/app")), None);
    }

    #[test]
    fn protect_reaches_other_paths_and_cases_while_allow_stays_exact() {
        let r = rules();
        for protected in [
            "arn:aws:iam::111111111111:role/ops/break-glass-x",
            "arn:aws:iam::111111111111:role/Break-Glass-Prod",
        ] {
            assert_eq!(
                r.check(&arn(protected)),
                Some(Protection::Configured {
                    pattern: "arn:aws:iam::*:role/break-glass-*".into()
                }),
                "{protected}"
            );
        }
        let strict = ProtectionRules {
            allow: vec![ArnPattern::parse("arn:aws:iam::*:role/app-*").unwrap()],
            ..ProtectionRules::default()
        };
        assert_eq!(
            strict.check(&arn("arn:aws:iam::111111111111:role/app-1")),
            None
        );
        assert_eq!(
            strict.check(&arn("arn:aws:iam::111111111111:role/App-1")),
            Some(Protection::NotAllowed)
        );
        assert_eq!(
            strict.check(&arn("arn:aws:iam::111111111111:role/ops/app-1")),
            Some(Protection::NotAllowed)
        );
    }
}
