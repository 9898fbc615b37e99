//! IAM users (README "Leaked access keys and IAM users"): their ARNs, the ways a person may name
//! one, the `[users]` patterns, and which users may never be revoked. Pure: protection is matched
//! against the canonical ARN that `GetUser` returned, never against what a person typed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::role_arn::{
    AccountId, check_iam_name, check_partition, glob_ignoring_case, parse_iam_arn,
};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct UserError(pub String);

/// IAM's rule for user names: 1–64 characters of `[\w+=,.@-]`.
pub fn check_user_name(name: &str) -> Result<(), UserError> {
    check_iam_name(name, "user").map_err(UserError)
}

/// A fully qualified IAM user: `arn:<partition>:iam::<account>:user<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserArn {
    partition: String,
    account: AccountId,
    path: String,
    name: String,
}

impl UserArn {
    pub fn parse(s: &str) -> Result<Self, UserError> {
        let p = parse_iam_arn(s, "user").map_err(UserError)?;
        Ok(UserArn {
            partition: p.partition,
            account: p.account,
            path: p.path,
            name: p.name,
        })
    }

    /// The user `name` in `account`, at the root path (what a typed name resolves to before
    /// `GetUser` gives the canonical ARN).
    pub fn new(partition: &str, account: AccountId, name: &str) -> Result<Self, UserError> {
        check_user_name(name)?;
        check_partition(partition).map_err(UserError)?;
        Ok(UserArn {
            partition: partition.into(),
            account,
            path: "/".into(),
            name: name.into(),
        })
    }

    pub fn account(&self) -> &AccountId {
        &self.account
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The same user: IAM user names are unique per account regardless of case and path.
    pub fn same_user(&self, other: &UserArn) -> bool {
        self.partition == other.partition
            && self.account == other.account
            && self.name.eq_ignore_ascii_case(&other.name)
    }

    /// The ARN without its path (`…:user/<name>`), for patterns that name no path.
    fn pathless(&self) -> String {
        format!(
            "arn:{}:iam::{}:user/{}",
            self.partition, self.account, self.name
        )
    }
}

impl fmt::Display for UserArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:user{}{}",
            self.partition, self.account, self.path, self.name
        )
    }
}
impl TryFrom<String> for UserArn {
    type Error = UserError;
    fn try_from(s: String) -> Result<Self, UserError> {
        Self::parse(&s)
    }
}
impl From<UserArn> for String {
    fn from(v: UserArn) -> String {
        v.to_string()
    }
}

/// How a person named the user in a command, before the configured accounts resolve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSpec {
    Arn(UserArn),
    /// `<account name or id>/<UserName>`
    InAccount {
        account: String,
        name: String,
    },
    /// `<UserName>`, valid when exactly one account is configured.
    Bare(String),
}

impl UserSpec {
    pub fn parse(s: &str) -> Result<Self, UserError> {
        if s.starts_with("arn:") {
            return UserArn::parse(s).map(UserSpec::Arn);
        }
        match s.split_once('/') {
            Some((account, name)) => {
                if account.is_empty()
                    || !account
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                {
                    return Err(UserError(format!(
                        "`{s}`: `{account}` is not an account name or id"
                    )));
                }
                if name.contains('/') {
                    return Err(UserError(format!(
                        "`{s}`: give a user with a path as a full ARN"
                    )));
                }
                check_user_name(name)?;
                Ok(UserSpec::InAccount {
                    account: account.into(),
                    name: name.into(),
                })
            }
            None => {
                check_user_name(s)?;
                Ok(UserSpec::Bare(s.into()))
            }
        }
    }
}

impl fmt::Display for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserSpec::Arn(a) => write!(f, "{a}"),
            UserSpec::InAccount { account, name } => write!(f, "{account}/{name}"),
            UserSpec::Bare(n) => f.write_str(n),
        }
    }
}

/// A `[users]` pattern: a user ARN where `*` matches any run of characters.
///
/// Matching ignores case (IAM user names are unique regardless of case), and a pattern that
/// names no path (nothing between `user/` and the name) matches the name at any path:
/// `…:user/ci-*` matches `user/build/CI-runner` (README "Leaked access keys and IAM users").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPattern(String);

impl UserPattern {
    pub fn parse(s: &str) -> Result<Self, UserError> {
        let resource = s
            .strip_prefix("arn:")
            .and_then(|rest| rest.splitn(5, ':').nth(4));
        match resource {
            Some(r) if r.starts_with("user/") || r.starts_with('*') => {
                Ok(UserPattern(s.to_string()))
            }
            _ => Err(UserError(format!(
                "`{s}` is not a user ARN pattern (expected e.g. arn:aws:iam::*:user/*)"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern names a path: anything between `user/` and the last `/`.
    fn names_a_path(&self) -> bool {
        self.0
            .split_once(":user/")
            .is_some_and(|(_, rest)| rest.contains('/'))
    }

    pub fn matches(&self, user: &UserArn) -> bool {
        glob_ignoring_case(&self.0, &user.to_string())
            || (!self.names_a_path() && glob_ignoring_case(&self.0, &user.pathless()))
    }
}

/// Why a user (or a key of theirs) may not be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UserProtection {
    /// No `[users]` in the config: no user or key can be revoked.
    UsersNotConfigured,
    /// A user whose credentials the bot itself uses.
    BotItself,
    /// Matches `users.protect`.
    Configured { pattern: String },
    /// Matches nothing in `users.allow`.
    NotAllowed,
}

impl UserProtection {
    /// What a person is told, as plain text (the config key to change is named).
    pub fn explain(&self) -> String {
        match self {
            UserProtection::UsersNotConfigured => {
                "IAM users cannot be revoked here: the config has no `[users]` (set `users.allow`)"
                    .into()
            }
            UserProtection::BotItself => "the bot itself uses this user's credentials".into(),
            UserProtection::Configured { pattern } => {
                format!("the user matches `users.protect` ({pattern})")
            }
            UserProtection::NotAllowed => "the user matches nothing in `users.allow`".into(),
        }
    }
}

/// Which users may be revoked: `[users]` (if configured) and the users the bot itself is.
#[derive(Debug, Clone, Default)]
pub struct UserRules {
    /// `users.allow` and `users.protect`; `None` without `[users]`.
    pub configured: Option<(Vec<UserPattern>, Vec<UserPattern>)>,
    /// Users whose credentials the bot uses (from `sts:GetCallerIdentity`).
    pub bot_users: Vec<UserArn>,
}

impl UserRules {
    /// The first protection that applies, built-in ones first.
    pub fn check(&self, user: &UserArn) -> Option<UserProtection> {
        let Some((allow, protect)) = &self.configured else {
            return Some(UserProtection::UsersNotConfigured);
        };
        if self.bot_users.iter().any(|me| me.same_user(user)) {
            return Some(UserProtection::BotItself);
        }
        if let Some(p) = protect.iter().find(|p| p.matches(user)) {
            return Some(UserProtection::Configured {
                pattern: p.as_str().to_string(),
            });
        }
        if !allow.iter().any(|p| p.matches(user)) {
            return Some(UserProtection::NotAllowed);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arn(s: &str) -> UserArn {
        UserArn::parse(s).unwrap()
    }

    fn pattern(s: &str) -> UserPattern {
        UserPattern::parse(s).unwrap()
    }

    #[test]
    fn parses_plain_and_pathed_user_arns() {
        let a = arn("arn:aws:iam::111111111111:user/ci-bot");
        assert_eq!((a.path(), a.name()), ("/", "ci-bot"));
        assert_eq!(a.account().as_str(), "111111111111");
        let b = arn("arn:aws-cn:iam::111111111111:user/build/eu/Runner+1@x");
        assert_eq!((b.path(), b.name()), ("/build/eu/", "Runner+1@x"));
        assert_eq!(
            b.to_string(),
            "arn:aws-cn:iam::111111111111:user/build/eu/Runner+1@x"
        );
        assert_eq!(b.partition(), "aws-cn");
    }

    #[test]
    fn refuses_malformed_user_arns_with_a_reason() {
        for (bad, says) in [
            ("arn:aws:iam::1111:user/x", "12 digits"),
            ("arn:aws:iam::111111111111:role/x", "not a user"),
            ("arn:aws:sts::111111111111:user/x", "not an IAM ARN"),
            ("arn:gcp:iam::111111111111:user/x", "partition"),
            ("arn:aws:iam::111111111111:user/", "empty"),
            ("arn:aws:iam::111111111111:user/bad*name", "not allowed"),
            ("arn:aws:iam::111111111111:user/a//b", "path"),
            ("arn:aws:iam::111111111111", "not a user ARN"),
        ] {
            let err = UserArn::parse(bad).unwrap_err().0;
            assert!(err.contains(says), "{bad}: {err}");
        }
        let long = format!("arn:aws:iam::111111111111:user/{}", "a".repeat(65));
        assert!(UserArn::parse(&long).unwrap_err().0.contains("64"));
    }

    #[test]
    fn user_specs_cover_arn_account_and_bare_forms() {
        assert!(matches!(
            UserSpec::parse("arn:aws:iam::111111111111:user/x").unwrap(),
            UserSpec::Arn(_)
        ));
        assert_eq!(
            UserSpec::parse("prod/ci-bot").unwrap(),
            UserSpec::InAccount {
                account: "prod".into(),
                name: "ci-bot".into()
            }
        );
        assert_eq!(
            UserSpec::parse("ci-bot").unwrap(),
            UserSpec::Bare("ci-bot".into())
        );
        assert!(UserSpec::parse("/ci-bot").is_err());
        assert!(UserSpec::parse("prod/a/b").is_err());
        assert!(UserSpec::parse("ci;rm").is_err());
    }

    #[test]
    fn the_same_user_ignores_case_and_path() {
        let a = arn("arn:aws:iam::111111111111:user/ops/Deployer");
        assert!(a.same_user(&arn("arn:aws:iam::111111111111:user/deployer")));
        assert!(!a.same_user(&arn("arn:aws:iam::222222222222:user/deployer")));
        assert!(!a.same_user(&arn("arn:aws-cn:iam::111111111111:user/deployer")));
    }

    #[test]
    fn a_pattern_without_a_path_matches_the_name_at_any_path_ignoring_case() {
        let p = pattern("arn:aws:iam::*:user/break-glass-*");
        assert!(p.matches(&arn("arn:aws:iam::111111111111:user/break-glass-1")));
        assert!(p.matches(&arn("arn:aws:iam::111111111111:user/ops/Break-Glass-x")));
        assert!(p.matches(&arn("arn:aws:iam::111111111111:user/a/b/BREAK-GLASS-")));
        assert!(!p.matches(&arn("arn:aws:iam::111111111111:user/ops/glass")));
        assert!(!p.matches(&arn("arn:aws-cn:iam::111111111111:user/break-glass-1")));
    }

    #[test]
    fn a_pattern_with_a_path_matches_that_path_only() {
        let p = pattern("arn:aws:iam::*:user/ops/*");
        assert!(p.matches(&arn("arn:aws:iam::111111111111:user/ops/alice")));
        assert!(p.matches(&arn("arn:aws:iam::111111111111:user/OPS/eu/alice")));
        assert!(!p.matches(&arn("arn:aws:iam::111111111111:user/alice")));
        assert!(!p.matches(&arn("arn:aws:iam::111111111111:user/dev/alice")));
        let exact = pattern("arn:aws:iam::111111111111:user/ci/runner");
        assert!(exact.matches(&arn("arn:aws:iam::111111111111:user/CI/Runner")));
        assert!(!exact.matches(&arn("arn:aws:iam::111111111111:user/runner")));
    }

    #[test]
    fn patterns_must_name_users() {
        assert!(UserPattern::parse("arn:aws:iam::*:user/*").is_ok());
        assert!(UserPattern::parse("arn:*:iam::*:user/*").is_ok());
        for bad in ["user/*", "arn:aws:iam::*:role/*", "arn:aws:iam", "*"] {
            let e = UserPattern::parse(bad).unwrap_err().0;
            assert!(e.contains("not a user ARN pattern"), "{bad}: {e}");
        }
    }

    fn rules() -> UserRules {
        UserRules {
            configured: Some((
                vec![pattern("arn:aws:iam::*:user/*")],
                vec![pattern("arn:aws:iam::*:user/break-glass-*")],
            )),
            bot_users: vec![arn("arn:aws:iam::111111111111:user/svc/revoke-role-bot")],
        }
    }

    #[test]
    fn without_users_configured_no_user_can_be_revoked_and_the_refusal_names_users_allow() {
        let r = UserRules::default();
        let p = r.check(&arn("arn:aws:iam::111111111111:user/ci"));
        assert_eq!(p, Some(UserProtection::UsersNotConfigured));
        assert!(p.unwrap().explain().contains("users.allow"));
    }

    #[test]
    fn the_users_the_bot_uses_are_always_protected() {
        let mut r = rules();
        assert_eq!(
            r.check(&arn("arn:aws:iam::111111111111:user/Revoke-Role-Bot")),
            Some(UserProtection::BotItself)
        );
        r.configured = Some((vec![pattern("arn:aws:iam::*:user/*")], vec![]));
        assert_eq!(
            r.check(&arn("arn:aws:iam::111111111111:user/revoke-role-bot")),
            Some(UserProtection::BotItself)
        );
    }

    #[test]
    fn protect_then_allow_decide_the_rest() {
        let r = rules();
        assert_eq!(
            r.check(&arn("arn:aws:iam::111111111111:user/team/Break-Glass-1")),
            Some(UserProtection::Configured {
                pattern: "arn:aws:iam::*:user/break-glass-*".into()
            })
        );
        assert_eq!(r.check(&arn("arn:aws:iam::111111111111:user/ci")), None);
        assert_eq!(
            r.check(&arn("arn:aws-us-gov:iam::111111111111:user/ci")),
            Some(UserProtection::NotAllowed)
        );
        assert!(
            UserProtection::NotAllowed
                .explain()
                .contains("`users.allow`")
        );
    }

    proptest! {
        #[test]
        fn user_arn_parser_never_panics_and_round_trips(s in "\\PC{0,120}") {
            if let Ok(a) = UserArn::parse(&s) {
                prop_assert_eq!(UserArn::parse(&a.to_string()).unwrap(), a);
            }
        }

        #[test]
        fn hostile_user_arns_never_panic(s in "arn:(aws|x):iam::[0-9]{12}:user/[\\PC/]{0,80}") {
            let _ = UserArn::parse(&s);
            let _ = UserSpec::parse(&s);
        }

        #[test]
        fn valid_user_arns_round_trip(acct in "[0-9]{12}", path in "(/[a-z]{1,8}){0,3}", name in "[A-Za-z0-9_+=,.@-]{1,64}") {
            let s = format!("arn:aws:iam::{acct}:user{path}/{name}");
            let a = UserArn::parse(&s).unwrap();
            prop_assert_eq!(a.to_string(), s);
            prop_assert_eq!(a.name(), name.as_str());
        }

        #[test]
        fn user_spec_parser_never_panics(s in "\\PC{0,100}") {
            let _ = UserSpec::parse(&s);
        }

        #[test]
        fn patterns_never_panic_and_a_pathless_pattern_ignores_the_path(
            p in "[a-z*:/]{0,30}", path in "(/[a-z]{1,5}){0,3}", name in "[A-Za-z]{1,10}"
        ) {
            let user = arn(&format!("arn:aws:iam::111111111111:user{path}/{name}"));
            if let Ok(p) = UserPattern::parse(&p) {
                let _ = p.matches(&user);
            }
            let exact = pattern(&format!("arn:aws:iam::111111111111:user/{}", name.to_lowercase()));
            prop_assert!(exact.matches(&user));
        }
    }
}
