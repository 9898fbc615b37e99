//! `[users]` (README "Leaked access keys and IAM users"): which IAM users, and so which of their
//! access keys, may be revoked. Optional: without it no user or key can be revoked.

use serde::Deserialize;

use super::{ConfigError, key_err, parse_each};
use crate::domain::user::{UserArn, UserPattern, UserRules};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUsers {
    allow: Option<Vec<String>>,
    protect: Option<Vec<String>>,
}

/// `[users]`: `allow` and `protect` patterns over user ARNs (`arn:aws:iam::*:user/*`), matched
/// ignoring case, a pattern without a path matching the name at any path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Users {
    pub allow: Vec<UserPattern>,
    pub protect: Vec<UserPattern>,
}

impl Users {
    /// The rules protection checks: these patterns, and the users whose credentials the bot uses
    /// (always protected).
    pub fn rules(users: Option<&Users>, bot_users: Vec<UserArn>) -> UserRules {
        UserRules {
            configured: users.map(|u| (u.allow.clone(), u.protect.clone())),
            bot_users,
        }
    }
}

fn user_pattern(s: &str) -> Result<UserPattern, String> {
    UserPattern::parse(s.trim()).map_err(|e| e.0)
}

pub(super) fn read(raw: RawUsers) -> Result<Users, ConfigError> {
    let allow = raw.allow.ok_or_else(|| {
        key_err(
            "users.allow",
            "missing: which IAM users may be revoked (e.g. [\"arn:aws:iam::*:user/*\"])",
        )
    })?;
    Ok(Users {
        allow: parse_each("users.allow", &allow, user_pattern)?,
        protect: parse_each(
            "users.protect",
            &raw.protect.unwrap_or_default(),
            user_pattern,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use super::super::test_support::{GOOD, err};
    use crate::domain::user::UserProtection;

    const USERS: &str = r#"
[users]
allow = ["arn:aws:iam::*:user/*"]
protect = ["arn:aws:iam::*:user/break-glass-*"]
"#;

    fn user(s: &str) -> crate::domain::user::UserArn {
        crate::domain::user::UserArn::parse(s).unwrap()
    }

    #[test]
    fn users_are_optional_and_without_them_no_user_can_be_revoked() {
        let s = Settings::from_toml(GOOD).unwrap();
        assert_eq!(s.users, None);
        let rules = super::Users::rules(s.users.as_ref(), vec![]);
        let p = rules.check(&user("arn:aws:iam::111111111111:user/ci"));
        assert_eq!(p, Some(UserProtection::UsersNotConfigured));
        assert!(p.unwrap().explain().contains("users.allow"));
    }

    #[test]
    fn users_allow_and_protect_are_read() {
        let s = Settings::from_toml(&format!("{GOOD}{USERS}")).unwrap();
        let users = s.users.clone().unwrap();
        assert_eq!(users.allow.len(), 1);
        assert_eq!(
            users.protect[0].as_str(),
            "arn:aws:iam::*:user/break-glass-*"
        );
        let rules = super::Users::rules(
            s.users.as_ref(),
            vec![user("arn:aws:iam::111111111111:user/revoke-role-bot")],
        );
        assert_eq!(
            rules.check(&user("arn:aws:iam::111111111111:user/ci")),
            None
        );
        assert!(matches!(
            rules.check(&user("arn:aws:iam::111111111111:user/ops/BREAK-GLASS-1")),
            Some(UserProtection::Configured { .. })
        ));
        assert_eq!(
            rules.check(&user("arn:aws:iam::111111111111:user/revoke-role-bot")),
            Some(UserProtection::BotItself)
        );
    }

    #[test]
    fn users_errors_name_the_key() {
        assert!(err(&format!("{GOOD}\n[users]\nprotect = []\n")).contains("`users.allow`"));
        assert!(
            err(&format!("{GOOD}{USERS}").replace("user/*\"]", "role/*\"]"))
                .contains("`users.allow`")
        );
        assert!(
            err(&format!("{GOOD}{USERS}").replace("user/break", "role/break"))
                .contains("`users.protect`")
        );
        assert!(err(&format!("{GOOD}\n[users]\nallow = []\ndeny = []\n")).contains("deny"));
        // An empty allow-list is valid: nobody may be revoked.
        let s = Settings::from_toml(&format!("{GOOD}\n[users]\nallow = []\n")).unwrap();
        let rules = super::Users::rules(s.users.as_ref(), vec![]);
        assert_eq!(
            rules.check(&user("arn:aws:iam::111111111111:user/ci")),
            Some(UserProtection::NotAllowed)
        );
    }
}
