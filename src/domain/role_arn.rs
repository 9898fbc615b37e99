//! IAM role ARNs, the ways a person may name a role, and ARN patterns from the config.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct RoleError(pub String);

const PARTITIONS: &[&str] = &["aws", "aws-us-gov", "aws-cn"];

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(s: &str) -> Result<Self, RoleError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(RoleError(format!(
                "`{s}` is not an AWS account id (12 digits)"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for AccountId {
    type Error = RoleError;
    fn try_from(s: String) -> Result<Self, RoleError> {
        Self::parse(&s)
    }
}
impl From<AccountId> for String {
    fn from(v: AccountId) -> String {
        v.0
    }
}
impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// IAM's rule for role names: 1–64 characters of `[\w+=,.@-]`.
pub fn check_role_name(name: &str) -> Result<(), RoleError> {
    check_iam_name(name, "role").map_err(RoleError)
}

/// IAM's rule for role and user names (`noun`): 1–64 characters of `[\w+=,.@-]`.
pub(crate) fn check_iam_name(name: &str, noun: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("the {noun} name is empty"));
    }
    if name.chars().count() > 64 {
        return Err(format!(
            "`{}…` is longer than IAM's 64-character limit for {noun} names",
            name.chars().take(20).collect::<String>()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c)))
    {
        return Err(format!(
            "`{name}` is not a valid {noun} name: `{bad}` is not allowed (letters, digits and _+=,.@- only)"
        ));
    }
    Ok(())
}

/// IAM's rule for paths: `/`, or `/`-delimited segments of printable ASCII, at most 512.
fn check_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && !path.contains("//")
        && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if ok {
        Ok(())
    } else {
        Err(format!("`{path}` is not a valid IAM path"))
    }
}

/// An IAM ARN of one kind of resource (`role`, `user`), split and checked:
/// `arn:<partition>:iam::<account>:<noun><path><name>`.
pub(crate) struct IamArnParts {
    pub partition: String,
    pub account: AccountId,
    pub path: String,
    pub name: String,
}

pub(crate) fn parse_iam_arn(s: &str, noun: &str) -> Result<IamArnParts, String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(format!(
            "`{s}` is not a {noun} ARN (expected arn:aws:iam::123456789012:{noun}/Name)"
        ));
    };
    if *arn != "arn" {
        return Err(format!("`{s}` does not start with `arn:`"));
    }
    if !PARTITIONS.contains(partition) {
        return Err(format!(
            "`{partition}` is not an AWS partition (aws, aws-us-gov or aws-cn)"
        ));
    }
    if *service != "iam" || !region.is_empty() {
        return Err(format!(
            "`{s}` is not an IAM ARN (expected arn:{partition}:iam::<account>:{noun}/<name>)"
        ));
    }
    let account = AccountId::parse(account).map_err(|e| e.0)?;
    let Some(rest) = resource
        .strip_prefix(noun)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Err(format!(
            "`{s}` names a `{}`, not a {noun}",
            resource.split('/').next().unwrap_or_default()
        ));
    };
    let (path, name) = match rest.rfind('/') {
        Some(i) => (format!("/{}", &rest[..=i]), &rest[i + 1..]),
        None => ("/".to_string(), rest),
    };
    check_path(&path)?;
    check_iam_name(name, noun)?;
    Ok(IamArnParts {
        partition: (*partition).to_string(),
        account,
        path,
        name: name.to_string(),
    })
}

/// The partition of a typed ARN, checked (for ARNs built from a typed name).
pub(crate) fn check_partition(partition: &str) -> Result<(), String> {
    if PARTITIONS.contains(&partition) {
        Ok(())
    } else {
        Err(format!("`{partition}` is not an AWS partition"))
    }
}

/// A fully qualified IAM role: `arn:<partition>:iam::<account>:role<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleArn {
    partition: String,
    account: AccountId,
    path: String,
    name: String,
}

impl RoleArn {
    pub fn parse(s: &str) -> Result<Self, RoleError> {
        let p = parse_iam_arn(s, "role").map_err(RoleError)?;
        Ok(RoleArn {
            partition: p.partition,
            account: p.account,
            path: p.path,
            name: p.name,
        })
    }

    pub fn new(partition: &str, account: AccountId, name: &str) -> Result<Self, RoleError> {
        check_role_name(name)?;
        check_partition(partition).map_err(RoleError)?;
        Ok(RoleArn {
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
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:role{}{}",
            self.partition, self.account, self.path, self.name
        )
    }
}
impl TryFrom<String> for RoleArn {
    type Error = RoleError;
    fn try_from(s: String) -> Result<Self, RoleError> {
        Self::parse(&s)
    }
}
impl From<RoleArn> for String {
    fn from(v: RoleArn) -> String {
        v.to_string()
    }
}

/// How a person named the role in a command, before the configured accounts resolve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSpec {
    Arn(RoleArn),
    /// `<account name or id>/<RoleName>`
    InAccount {
        account: String,
        name: String,
    },
    /// `<RoleName>`, valid when exactly one account is configured.
    Bare(String),
}

impl RoleSpec {
    pub fn parse(s: &str) -> Result<Self, RoleError> {
        if s.starts_with("arn:") {
            return RoleArn::parse(s).map(RoleSpec::Arn);
        }
        match s.split_once('/') {
            Some((account, name)) => {
                if account.is_empty() {
                    return Err(RoleError(format!(
                        "`{s}`: the account before `/` is missing"
                    )));
                }
                if !account
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                {
                    return Err(RoleError(format!(
                        "`{account}` is not an account name or id"
                    )));
                }
                if name.contains('/') {
                    return Err(RoleError(format!(
                        "`{s}`: give a role with a path as a full ARN"
                    )));
                }
                check_role_name(name)?;
                Ok(RoleSpec::InAccount {
                    account: account.into(),
                    name: name.into(),
                })
            }
            None => {
                check_role_name(s)?;
                Ok(RoleSpec::Bare(s.into()))
            }
        }
    }
}

impl fmt::Display for RoleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleSpec::Arn(a) => write!(f, "{a}"),
            RoleSpec::InAccount { account, name } => write!(f, "{account}/{name}"),
            RoleSpec::Bare(n) => f.write_str(n),
        }
    }
}

/// An ARN pattern from the config, where `*` matches any run of characters (including `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnPattern(String);

impl ArnPattern {
    pub fn parse(s: &str) -> Result<Self, RoleError> {
        if !s.starts_with("arn:") {
            return Err(RoleError(format!(
                "`{s}` is not an ARN pattern (expected e.g. arn:aws:iam::*:role/*)"
            )));
        }
        Ok(ArnPattern(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How `roles.allow` matches: the whole canonical ARN, exactly as written (case and path).
    pub fn matches(&self, arn: &RoleArn) -> bool {
        glob(&self.0, &arn.to_string())
    }

    /// How `roles.protect` matches (README "Configuration"): ignoring case, since IAM role names
    /// are unique regardless of case, and a pattern that names no path (`…:role/<name>`) matches
    /// that name at any path. Protecting more than was written is the safe direction.
    pub fn protects(&self, arn: &RoleArn) -> bool {
        let pattern = self.0.to_ascii_lowercase();
        if glob(&pattern, &arn.to_string().to_ascii_lowercase()) {
            return true;
        }
        let names_no_path = self
            .0
            .split_once(":role/")
            .is_some_and(|(_, rest)| !rest.contains('/'));
        names_no_path && {
            let pathless = format!(
                "arn:{}:iam::{}:role/{}",
                arn.partition(),
                arn.account(),
                arn.name()
            );
            glob(&pattern, &pathless.to_ascii_lowercase())
        }
    }
}

/// `glob`, ignoring ASCII case (permission-set names in `identity_center.protect`).
pub fn glob_ignoring_case(pattern: &str, text: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

/// `*` matches any run of characters (permission-set names use it too).
pub fn glob(pattern: &str, text: &str) -> bool {
    glob_match(pattern.as_bytes(), text.as_bytes(), b'*', None)
}

/// Iterative glob: `any_run` matches any run of items and `any_one`, where there is one, any single
/// item; linear in practice, no recursion to blow the stack on hostile input.
pub(crate) fn glob_match<T: Copy + PartialEq>(
    pattern: &[T],
    text: &[T],
    any_run: T,
    any_one: Option<T>,
) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == any_run {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && (pattern[p] == text[t] || Some(pattern[p]) == any_one) {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == any_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_plain_and_pathed_arns() {
        let a = RoleArn::parse("arn:aws:iam::111111111111:role/app-deployer").unwrap();
        assert_eq!(a.name(), "app-deployer");
        assert_eq!(a.path(), "/");
        assert_eq!(a.account().as_str(), "111111111111");
        let b = RoleArn::parse("arn:aws-us-gov:iam::111111111111:role/team/ci/builder").unwrap();
        assert_eq!(b.path(), "/team/ci/");
        assert_eq!(b.name(), "builder");
        assert_eq!(
            b.to_string(),
            "arn:aws-us-gov:iam::111111111111:role/team/ci/builder"
        );
        assert!(RoleArn::parse("arn:aws-cn:iam::111111111111:role/x").is_ok());
    }

    #[test]
    fn refuses_malformed_arns_with_a_reason() {
        for (bad, says) in [
            ("arn:aws:iam::1111:role/x", "12 digits"),
            ("arn:aws:iam::111111111111:user/x", "not a role"),
            ("arn:aws:s3:::bucket", "not an IAM ARN"),
            ("arn:gcp:iam::111111111111:role/x", "partition"),
            ("arn:aws:iam::111111111111:role/", "empty"),
            ("arn:aws:iam::111111111111:role/bad*name", "not allowed"),
            ("arn:aws:iam::111111111111", "not a role ARN"),
            (
                "arn:aws:iam:us-east-1:111111111111:role/x",
                "not an IAM ARN",
            ),
        ] {
            let err = RoleArn::parse(bad).unwrap_err().0;
            assert!(err.contains(says), "{bad}: {err}");
        }
        let long = format!("arn:aws:iam::111111111111:role/{}", "a".repeat(65));
        assert!(RoleArn::parse(&long).unwrap_err().0.contains("64"));
    }

    #[test]
    fn role_specs_cover_arn_account_and_bare_forms() {
        assert!(matches!(
            RoleSpec::parse("arn:aws:iam::111111111111:role/x").unwrap(),
            RoleSpec::Arn(_)
        ));
        assert_eq!(
            RoleSpec::parse("prod/app").unwrap(),
            RoleSpec::InAccount {
                account: "prod".into(),
                name: "app".into()
            }
        );
        assert_eq!(
            RoleSpec::parse("app+x=y,z.w@v-1_").unwrap(),
            RoleSpec::Bare("app+x=y,z.w@v-1_".into())
        );
        assert!(RoleSpec::parse("/app").is_err());
        assert!(RoleSpec::parse("prod/a/b").is_err());
        assert!(RoleSpec::parse("app;rm").is_err());
    }

    #[test]
    fn protect_patterns_ignore_case_and_a_pattern_without_a_path_matches_any_path() {
        let p = ArnPattern::parse("arn:aws:iam::*:role/break-glass-*").unwrap();
        let arn = |s: &str| RoleArn::parse(s).unwrap();
        for protected in [
            "arn:aws:iam::111111111111:role/break-glass-x",
            "arn:aws:iam::111111111111:role/ops/break-glass-x",
            "arn:aws:iam::111111111111:role/Break-Glass-Prod",
            "arn:aws:iam::111111111111:role/ops/deep/BREAK-GLASS-x",
        ] {
            assert!(p.protects(&arn(protected)), "{protected}");
        }
        for not in [
            "arn:aws:iam::111111111111:role/app",
            "arn:aws:iam::111111111111:role/break-glass/app",
            "arn:aws:iam::111111111111:role/my-break-glass-x",
            "arn:aws-cn:iam::111111111111:role/break-glass-x",
        ] {
            assert!(!p.protects(&arn(not)), "{not}");
        }
        // A pattern with a path keeps to that path (in any case).
        let pathed = ArnPattern::parse("arn:aws:iam::*:role/ops/*").unwrap();
        assert!(pathed.protects(&arn("arn:aws:iam::111111111111:role/OPS/x")));
        assert!(!pathed.protects(&arn("arn:aws:iam::111111111111:role/other/x")));
        assert!(!pathed.protects(&arn("arn:aws:iam::111111111111:role/x")));
        assert!(glob_ignoring_case("BreakGlass*", "breakglassADMIN"));
    }

    #[test]
    fn allow_patterns_stay_exact_in_case_and_path() {
        let p = ArnPattern::parse("arn:aws:iam::*:role/app-*").unwrap();
        let arn = |s: &str| RoleArn::parse(s).unwrap();
        assert!(p.matches(&arn("arn:aws:iam::111111111111:role/app-x")));
        assert!(!p.matches(&arn("arn:aws:iam::111111111111:role/App-x")));
        assert!(!p.matches(&arn("arn:aws:iam::111111111111:role/ops/app-x")));
    }

    #[test]
    fn patterns_match_with_stars() {
        let arn = RoleArn::parse("arn:aws:iam::111111111111:role/ops/break-glass-admin").unwrap();
        assert!(
            ArnPattern::parse("arn:aws:iam::*:role/*")
                .unwrap()
                .matches(&arn)
        );
        assert!(
            ArnPattern::parse("arn:aws:iam::*:role/*break-glass-*")
                .unwrap()
                .matches(&arn)
        );
        assert!(
            !ArnPattern::parse("arn:aws:iam::*:role/break-glass-*")
                .unwrap()
                .matches(&arn)
        );
        assert!(
            !ArnPattern::parse("arn:aws:iam::222222222222:role/*")
                .unwrap()
                .matches(&arn)
        );
        assert!(ArnPattern::parse("role/*").is_err());
    }

    proptest! {
        #[test]
        fn arn_parser_never_panics_and_round_trips(s in "\\PC{0,120}") {
            if let Ok(a) = RoleArn::parse(&s) {
                prop_assert_eq!(RoleArn::parse(&a.to_string()).unwrap(), a);
            }
        }

        #[test]
        fn valid_arns_round_trip(acct in "[0-9]{12}", path in "(/[a-z]{1,8}){0,3}", name in "[A-Za-z0-9_+=,.@-]{1,64}") {
            let s = format!("arn:aws:iam::{acct}:role{path}/{name}");
            let a = RoleArn::parse(&s).unwrap();
            prop_assert_eq!(a.to_string(), s);
            prop_assert_eq!(a.name(), name.as_str());
        }

        #[test]
        fn glob_never_panics(p in "[a*:/]{0,20}", t in "[a:/]{0,40}") {
            let _ = glob(&p, &t);
        }
    }
}
