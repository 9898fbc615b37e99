//! Who can come back (SPEC §12): a role's trust policy read as the list of principals that can
//! assume the role again after its sessions are revoked, and what revocation alone does not stop.
//!
//! Only `Allow` statements whose actions include an entry point (`sts:AssumeRole`,
//! `sts:AssumeRoleWithSAML`, `sts:AssumeRoleWithWebIdentity`, wildcards included) count;
//! `sts:TagSession`, `sts:SetSourceIdentity` and the like only accompany an entry. What the bot cannot
//! read exactly (`NotPrincipal`, `NotAction`, odd shapes) is listed as a warning rather than guessed.
//!
//! Texts here are plain: principal strings and condition values come from the trust policy and are
//! untrusted. Quoted values use Rust's string escaping; whoever renders them still escapes them.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policy::parse_strict_json;
use super::role_arn::AccountId;

/// How a principal reaches the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PrincipalKind {
    /// `"*"`, as the whole principal or as `"AWS": "*"`.
    Everyone,
    /// An account id or `arn:…:iam::<id>:root`: anyone in that account whom their own policies allow.
    Account,
    Role,
    User,
    /// `arn:…:sts::<id>:assumed-role/<role>/<session>`.
    AssumedRoleSession,
    /// `arn:…:sts::<id>:federated-user/<name>`.
    FederatedUser,
    /// `"Service": "ec2.amazonaws.com"` and the like.
    Service,
    /// `"Federated": "arn:…:saml-provider/<name>"`.
    SamlProvider,
    /// `"Federated": "arn:…:oidc-provider/<host>"`, or a web identity provider by name
    /// (`cognito-identity.amazonaws.com`, `accounts.google.com`, …).
    OidcProvider,
    CanonicalUser,
    /// An `AWS` value that is neither an account nor an ARN, e.g. a unique id (`AROA…`) that IAM puts
    /// in place of a role or user that was deleted.
    Unrecognised,
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrincipalKind::Everyone => "anyone",
            PrincipalKind::Account => "account",
            PrincipalKind::Role => "IAM role",
            PrincipalKind::User => "IAM user",
            PrincipalKind::AssumedRoleSession => "role session",
            PrincipalKind::FederatedUser => "federated user",
            PrincipalKind::Service => "AWS service",
            PrincipalKind::SamlProvider => "SAML provider",
            PrincipalKind::OidcProvider => "OIDC provider",
            PrincipalKind::CanonicalUser => "canonical user",
            PrincipalKind::Unrecognised => "unrecognised principal",
        })
    }
}

/// The STS calls that start a session of the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EntryPoint {
    AssumeRole,
    AssumeRoleWithSaml,
    AssumeRoleWithWebIdentity,
}

impl EntryPoint {
    const ALL: [EntryPoint; 3] = [
        EntryPoint::AssumeRole,
        EntryPoint::AssumeRoleWithSaml,
        EntryPoint::AssumeRoleWithWebIdentity,
    ];

    pub fn action(self) -> &'static str {
        match self {
            EntryPoint::AssumeRole => "sts:AssumeRole",
            EntryPoint::AssumeRoleWithSaml => "sts:AssumeRoleWithSAML",
            EntryPoint::AssumeRoleWithWebIdentity => "sts:AssumeRoleWithWebIdentity",
        }
    }
}

impl fmt::Display for EntryPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action())
    }
}

/// One condition of a statement, as written: operator, key and values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConditionText {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

impl fmt::Display for ConditionText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} = ", self.operator, self.key)?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{v:?}")?;
        }
        Ok(())
    }
}

/// A principal that can start a session of the role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: PrincipalKind,
    /// As written in the trust policy.
    pub principal: String,
    /// The account the principal lives in, where its ARN or id names one.
    pub account: Option<AccountId>,
    pub actions: Vec<EntryPoint>,
    /// All conditions of the statement; each must hold for the principal to get in.
    pub conditions: Vec<ConditionText>,
    /// 1-based index of the statement in the trust policy.
    pub statement: usize,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PrincipalKind::Everyone => f.write_str("anyone")?,
            PrincipalKind::Account => write!(
                f,
                "account {} (anyone there whom their own policies allow)",
                self.account
                    .as_ref()
                    .map_or(self.principal.as_str(), AccountId::as_str)
            )?,
            kind => write!(f, "{kind} {:?}", self.principal)?,
        }
        for (i, c) in self.conditions.iter().enumerate() {
            f.write_str(if i == 0 { " if " } else { " and " })?;
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// What revocation alone does not stop, or what the bot could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Warning {
    /// `"*"`: anyone at all, subject only to the conditions listed (none: anyone with AWS credentials).
    Everyone {
        statement: usize,
        conditions: Vec<ConditionText>,
    },
    /// A principal in an account this bot is not configured for.
    UnconfiguredAccount {
        account: AccountId,
        principal: String,
    },
    /// A web identity provider trusted without a condition on who the token is for (`…:sub`; for
    /// Cognito, `…:aud`): anyone who can get a token from the provider (for GitHub Actions: any
    /// repository) can assume the role.
    WebIdentityWithoutSubject {
        provider: String,
        /// The key that would say who may come in, e.g. `token.actions.githubusercontent.com:sub`.
        missing_key: String,
        statement: usize,
    },
    /// The subject condition is a wildcard pattern: every matching subject can assume the role.
    BroadSubject {
        provider: String,
        pattern: String,
        statement: usize,
    },
    /// `Deny` statements were not applied to the list: it may name principals that are denied.
    DenyStatementsNotApplied { count: usize },
    /// Part of the policy the bot does not read exactly.
    NotUnderstood { statement: usize, reason: Unclear },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unclear {
    StatementNotAnObject,
    /// `Allow` with `NotPrincipal`: everyone except the principals named.
    NotPrincipal,
    /// `NotAction`: the entry points listed are those it does not exclude.
    NotAction,
    NoPrincipal,
    NoAction,
    MalformedPrincipal(String),
    UnknownPrincipalType(String),
    UnrecognisedFederatedPrincipal(String),
    MalformedAction,
    MalformedCondition,
    UnknownEffect(String),
}

impl fmt::Display for Unclear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unclear::StatementNotAnObject => f.write_str("it is not a JSON object"),
            Unclear::NotPrincipal => f.write_str(
                "it allows with NotPrincipal, which lets everyone except the principals named assume \
                 the role",
            ),
            Unclear::NotAction => f.write_str(
                "it uses NotAction; the entry points listed for it are those it does not exclude",
            ),
            Unclear::NoPrincipal => f.write_str("it has no Principal"),
            Unclear::NoAction => f.write_str("it has no Action"),
            Unclear::MalformedPrincipal(p) => write!(f, "its Principal {p} is not a principal map"),
            Unclear::UnknownPrincipalType(t) => {
                write!(f, "it names a principal of type {t:?}, which the bot does not know")
            }
            Unclear::UnrecognisedFederatedPrincipal(p) => write!(
                f,
                "its Federated principal {p:?} is neither a SAML nor an OIDC provider the bot knows"
            ),
            Unclear::MalformedAction => f.write_str("its Action is not a string or list of strings"),
            Unclear::MalformedCondition => f.write_str(
                "its Condition is not a map of operators to keys and values; the principals are \
                 listed without it",
            ),
            Unclear::UnknownEffect(e) => write!(f, "its Effect is {e}, not Allow or Deny"),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Everyone {
                statement,
                conditions,
            } => {
                write!(f, "statement {statement} trusts \"*\": ")?;
                if conditions.is_empty() {
                    f.write_str(
                        "anyone with AWS credentials can assume this role, with no condition",
                    )
                } else {
                    f.write_str("anyone can assume this role if ")?;
                    for (i, c) in conditions.iter().enumerate() {
                        if i > 0 {
                            f.write_str(" and ")?;
                        }
                        write!(f, "{c}")?;
                    }
                    Ok(())
                }
            }
            Warning::UnconfiguredAccount { account, principal } => write!(
                f,
                "{principal:?} is in account {account}, which this bot is not configured for: \
                 revoking here does not stop it from assuming the role again"
            ),
            Warning::WebIdentityWithoutSubject {
                provider,
                missing_key,
                statement,
            } => write!(
                f,
                "statement {statement} trusts the web identity provider {provider:?} without a \
                 condition on {missing_key:?}: anyone who can get a token from it can assume this role"
            ),
            Warning::BroadSubject {
                provider,
                pattern,
                statement,
            } => write!(
                f,
                "statement {statement} lets every subject of {provider:?} matching {pattern:?} assume \
                 this role"
            ),
            Warning::DenyStatementsNotApplied { count } => write!(
                f,
                "the trust policy has {count} Deny statement(s); they are not applied to this list, \
                 which may name principals that are denied"
            ),
            Warning::NotUnderstood { statement, reason } => {
                write!(f, "statement {statement} is not fully understood: {reason}")
            }
        }
    }
}

/// Who can come back, and what to worry about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrustAnalysis {
    pub entries: Vec<Entry>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TrustError {
    #[error("the trust policy is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the trust policy is not a JSON object")]
    NotAnObject,
    #[error("the trust policy has no Statement")]
    NoStatement,
    #[error("the trust policy's Statement is neither a statement nor a list of statements")]
    StatementNotAList,
}

/// Analyse a role's trust policy (`AssumeRolePolicyDocument`, URL-decoded).
pub fn analyse(
    trust_json: &str,
    configured_accounts: &[AccountId],
) -> Result<TrustAnalysis, TrustError> {
    let Value::Object(top) = parse_strict_json(trust_json).map_err(TrustError::InvalidJson)? else {
        return Err(TrustError::NotAnObject);
    };
    let statements = match top.get("Statement") {
        None => return Err(TrustError::NoStatement),
        Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
        Some(obj @ Value::Object(_)) => vec![obj],
        Some(_) => return Err(TrustError::StatementNotAList),
    };
    let mut out = TrustAnalysis::default();
    let mut denies = 0;
    for (i, s) in statements.into_iter().enumerate() {
        let index = i + 1;
        let unclear = |reason| Warning::NotUnderstood {
            statement: index,
            reason,
        };
        let Value::Object(m) = s else {
            out.warnings.push(unclear(Unclear::StatementNotAnObject));
            continue;
        };
        match m.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => {}
            Some(Value::String(e)) if e == "Deny" => {
                denies += 1;
                continue;
            }
            other => {
                out.warnings.push(unclear(Unclear::UnknownEffect(
                    other.map_or_else(|| "missing".into(), |v| short(&v.to_string())),
                )));
                continue;
            }
        }
        let actions = match (m.get("Action"), m.get("NotAction")) {
            (Some(a), _) => match strings(a) {
                Some(patterns) => EntryPoint::ALL
                    .into_iter()
                    .filter(|ep| patterns.iter().any(|p| action_matches(p, ep.action())))
                    .collect::<Vec<_>>(),
                None => {
                    out.warnings.push(unclear(Unclear::MalformedAction));
                    continue;
                }
            },
            (None, Some(na)) => {
                out.warnings.push(unclear(Unclear::NotAction));
                match strings(na) {
                    Some(patterns) => EntryPoint::ALL
                        .into_iter()
                        .filter(|ep| !patterns.iter().any(|p| action_matches(p, ep.action())))
                        .collect(),
                    None => {
                        out.warnings.push(unclear(Unclear::MalformedAction));
                        continue;
                    }
                }
            }
            (None, None) => {
                out.warnings.push(unclear(Unclear::NoAction));
                continue;
            }
        };
        if actions.is_empty() {
            continue;
        }
        let conditions = match m.get("Condition") {
            None => Vec::new(),
            Some(c) => conditions(c).unwrap_or_else(|| {
                out.warnings.push(unclear(Unclear::MalformedCondition));
                Vec::new()
            }),
        };
        if m.contains_key("NotPrincipal") {
            out.warnings.push(unclear(Unclear::NotPrincipal));
            continue;
        }
        let Some(principal) = m.get("Principal") else {
            out.warnings.push(unclear(Unclear::NoPrincipal));
            continue;
        };
        let mut add = |kind, principal: &str, account| {
            out.entries.push(Entry {
                kind,
                principal: principal.to_string(),
                account,
                actions: actions.clone(),
                conditions: conditions.clone(),
                statement: index,
            });
        };
        match principal {
            Value::String(s) if s == "*" => add(PrincipalKind::Everyone, s, None),
            Value::Object(map) => {
                for (kind_name, values) in map {
                    let Some(values) = strings(values) else {
                        out.warnings.push(unclear(Unclear::MalformedPrincipal(short(
                            &Value::Object(map.clone()).to_string(),
                        ))));
                        continue;
                    };
                    for v in values {
                        match kind_name.as_str() {
                            "AWS" => {
                                let (kind, account) = aws_principal(v);
                                add(kind, v, account);
                            }
                            "Service" => add(PrincipalKind::Service, v, None),
                            "CanonicalUser" => add(PrincipalKind::CanonicalUser, v, None),
                            "Federated" => match federated_principal(v) {
                                Some((kind, account)) => add(kind, v, account),
                                None => {
                                    out.warnings.push(unclear(
                                        Unclear::UnrecognisedFederatedPrincipal(short(v)),
                                    ));
                                    add(PrincipalKind::Unrecognised, v, None);
                                }
                            },
                            other => out
                                .warnings
                                .push(unclear(Unclear::UnknownPrincipalType(short(other)))),
                        }
                    }
                }
            }
            other => out.warnings.push(unclear(Unclear::MalformedPrincipal(short(
                &other.to_string(),
            )))),
        }
    }
    let warnings = derived_warnings(&out.entries, configured_accounts);
    out.warnings.extend(warnings);
    if denies > 0 {
        out.warnings
            .push(Warning::DenyStatementsNotApplied { count: denies });
    }
    Ok(out)
}

fn derived_warnings(entries: &[Entry], configured: &[AccountId]) -> Vec<Warning> {
    let mut out: Vec<Warning> = Vec::new();
    let mut push = |w: Warning| {
        if !out.contains(&w) {
            out.push(w);
        }
    };
    for e in entries {
        match e.kind {
            PrincipalKind::Everyone => push(Warning::Everyone {
                statement: e.statement,
                conditions: e.conditions.clone(),
            }),
            PrincipalKind::OidcProvider => {
                let provider = oidc_key_prefix(&e.principal);
                let missing_key = format!("{provider}:{}", subject_claim(provider));
                let subject: Vec<&ConditionText> = e
                    .conditions
                    .iter()
                    .filter(|c| {
                        c.key.eq_ignore_ascii_case(&missing_key) && is_positive(&c.operator)
                    })
                    .collect();
                if subject.is_empty() {
                    push(Warning::WebIdentityWithoutSubject {
                        provider: e.principal.clone(),
                        missing_key,
                        statement: e.statement,
                    });
                }
                for c in subject.into_iter().filter(|c| is_like(&c.operator)) {
                    for v in c.values.iter().filter(|v| v.contains(['*', '?'])) {
                        push(Warning::BroadSubject {
                            provider: e.principal.clone(),
                            pattern: v.clone(),
                            statement: e.statement,
                        });
                    }
                }
            }
            _ => {}
        }
        if let Some(account) = &e.account
            && !configured.contains(account)
        {
            push(Warning::UnconfiguredAccount {
                account: account.clone(),
                principal: e.principal.clone(),
            });
        }
    }
    out
}

/// `"x"` or `["x", "y"]`.
fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(a) if !a.is_empty() => a.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn conditions(v: &Value) -> Option<Vec<ConditionText>> {
    let Value::Object(ops) = v else {
        return None;
    };
    let mut out = Vec::new();
    for (op, keys) in ops {
        let Value::Object(keys) = keys else {
            return None;
        };
        for (key, values) in keys {
            out.push(ConditionText {
                operator: op.clone(),
                key: key.clone(),
                values: condition_values(values)?,
            });
        }
    }
    Some(out)
}

fn condition_values(v: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        _ => None,
    };
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    }
}

/// IAM action matching: case-insensitive, `*` any run, `?` any one character.
fn action_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ai) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ai < a.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == a[ai]) {
            pi += 1;
            ai += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ai));
            pi += 1;
        } else if let Some((sp, sa)) = star {
            pi = sp + 1;
            ai = sa + 1;
            star = Some((sp, sa + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `arn:partition:service:region:account:resource` split into its six parts.
fn arn_parts(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    let parts = [
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ];
    (parts[0] == "arn").then_some(parts)
}

fn aws_principal(s: &str) -> (PrincipalKind, Option<AccountId>) {
    if s == "*" {
        return (PrincipalKind::Everyone, None);
    }
    if let Ok(id) = AccountId::parse(s) {
        return (PrincipalKind::Account, Some(id));
    }
    let Some([_, _, service, _, account, resource]) = arn_parts(s) else {
        return (PrincipalKind::Unrecognised, None);
    };
    let Ok(account) = AccountId::parse(account) else {
        return (PrincipalKind::Unrecognised, None);
    };
    let kind = match (service, resource) {
        ("iam", "root") => PrincipalKind::Account,
        ("iam", r) if r.starts_with("role/") => PrincipalKind::Role,
        ("iam", r) if r.starts_with("user/") => PrincipalKind::User,
        ("sts", r) if r.starts_with("assumed-role/") => PrincipalKind::AssumedRoleSession,
        ("sts", r) if r.starts_with("federated-user/") => PrincipalKind::FederatedUser,
        _ => return (PrincipalKind::Unrecognised, Some(account)),
    };
    (kind, Some(account))
}

/// Web identity providers that are named rather than given as an IAM OIDC provider ARN.
const NAMED_WEB_IDENTITY_PROVIDERS: &[&str] = &[
    "cognito-identity.amazonaws.com",
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
];

fn federated_principal(s: &str) -> Option<(PrincipalKind, Option<AccountId>)> {
    if NAMED_WEB_IDENTITY_PROVIDERS.contains(&s) {
        return Some((PrincipalKind::OidcProvider, None));
    }
    let [_, _, "iam", _, account, resource] = arn_parts(s)? else {
        return None;
    };
    let account = AccountId::parse(account).ok();
    if resource.starts_with("saml-provider/") {
        Some((PrincipalKind::SamlProvider, account))
    } else if resource.starts_with("oidc-provider/") {
        Some((PrincipalKind::OidcProvider, account))
    } else {
        None
    }
}

/// The prefix of the provider's condition keys: the host (and path) after `oidc-provider/`, or the
/// provider's name.
fn oidc_key_prefix(principal: &str) -> &str {
    principal
        .split_once(":oidc-provider/")
        .map_or(principal, |(_, host)| host)
}

/// The claim that says who a token is for. Cognito identity pools are told apart by `aud` (the
/// identity pool id); every other provider by `sub`.
fn subject_claim(provider: &str) -> &'static str {
    if provider == "cognito-identity.amazonaws.com" {
        "aud"
    } else {
        "sub"
    }
}

/// Strip `ForAnyValue:` and `…IfExists`: the operator that decides whether the condition narrows
/// who gets in. `ForAllValues:` is not narrowing (it holds when the key is absent).
fn base_operator(op: &str) -> Option<&str> {
    if op.starts_with("ForAllValues:") {
        return None;
    }
    let op = op.strip_prefix("ForAnyValue:").unwrap_or(op);
    Some(op.strip_suffix("IfExists").unwrap_or(op))
}

fn is_positive(op: &str) -> bool {
    matches!(
        base_operator(op),
        Some("StringEquals" | "StringLike" | "StringEqualsIgnoreCase")
    )
}

fn is_like(op: &str) -> bool {
    base_operator(op) == Some("StringLike")
}

fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOME: &str = "111111111111";
    const OTHER: &str = "222222222222";

    fn accounts(ids: &[&str]) -> Vec<AccountId> {
        ids.iter().map(|i| AccountId::parse(i).unwrap()).collect()
    }

    fn trust(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    fn run(statements: &str, configured: &[&str]) -> TrustAnalysis {
        analyse(&trust(statements), &accounts(configured)).unwrap()
    }

    const GITHUB: &str =
        "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";

    fn github(condition: &str) -> String {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"{GITHUB}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}"#
        )
    }

    #[test]
    fn an_account_root_is_anyone_in_that_account() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        assert_eq!(a.entries.len(), 1);
        let e = &a.entries[0];
        assert_eq!(e.kind, PrincipalKind::Account);
        assert_eq!(e.account, Some(AccountId::parse(HOME).unwrap()));
        assert_eq!(e.actions, vec![EntryPoint::AssumeRole]);
        assert_eq!(
            e.to_string(),
            "account 111111111111 (anyone there whom their own policies allow)"
        );
        // The short form too.
        let short = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(short.entries[0].kind, PrincipalKind::Account);
    }

    #[test]
    fn a_cross_account_role_in_an_unconfigured_account_is_flagged() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/deploy","arn:aws:iam::111111111111:user/alice"]},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"abc123"}}}"#,
            &[HOME],
        );
        let kinds: Vec<_> = a.entries.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![PrincipalKind::Role, PrincipalKind::User]);
        assert_eq!(a.entries[0].actions, vec![EntryPoint::AssumeRole]);
        assert_eq!(
            a.entries[0].conditions,
            vec![ConditionText {
                operator: "StringEquals".into(),
                key: "sts:ExternalId".into(),
                values: vec!["abc123".into()],
            }]
        );
        assert_eq!(
            a.warnings,
            vec![Warning::UnconfiguredAccount {
                account: AccountId::parse(OTHER).unwrap(),
                principal: "arn:aws:iam::222222222222:role/deploy".into(),
            }]
        );
        assert_eq!(
            a.entries[0].to_string(),
            r#"IAM role "arn:aws:iam::222222222222:role/deploy" if StringEquals sts:ExternalId = "abc123""#
        );
        assert!(run(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/deploy"},"Action":"sts:AssumeRole"}"#, &[HOME, OTHER]).warnings.is_empty());
    }

    #[test]
    fn services_are_listed_without_warnings() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        let services: Vec<(&PrincipalKind, &str)> = a
            .entries
            .iter()
            .map(|e| (&e.kind, e.principal.as_str()))
            .collect();
        assert_eq!(
            services,
            vec![
                (&PrincipalKind::Service, "ec2.amazonaws.com"),
                (&PrincipalKind::Service, "lambda.amazonaws.com")
            ]
        );
    }

    #[test]
    fn a_saml_provider_is_listed_with_its_audience() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/Okta"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}"#,
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        let e = &a.entries[0];
        assert_eq!(e.kind, PrincipalKind::SamlProvider);
        assert_eq!(e.actions, vec![EntryPoint::AssumeRoleWithSaml]);
        assert_eq!(e.conditions[0].key, "SAML:aud");
        assert_eq!(
            e.to_string(),
            r#"SAML provider "arn:aws:iam::111111111111:saml-provider/Okta" if StringEquals SAML:aud = "https://signin.aws.amazon.com/saml""#
        );
    }

    #[test]
    fn github_oidc_with_only_an_audience_lets_any_repository_in() {
        let a = run(
            &github(
                r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}"#,
            ),
            &[HOME],
        );
        assert_eq!(a.entries[0].kind, PrincipalKind::OidcProvider);
        assert_eq!(
            a.warnings,
            vec![Warning::WebIdentityWithoutSubject {
                provider: GITHUB.into(),
                missing_key: "token.actions.githubusercontent.com:sub".into(),
                statement: 1,
            }]
        );
        assert!(
            a.warnings[0]
                .to_string()
                .contains("anyone who can get a token")
        );
    }

    #[test]
    fn github_oidc_with_an_exact_subject_is_not_flagged() {
        let a = run(
            &github(
                r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/payments:ref:refs/heads/main"}}"#,
            ),
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        assert_eq!(a.entries[0].conditions.len(), 2);
    }

    #[test]
    fn a_wildcard_subject_is_flagged_as_broad() {
        let a = run(
            &github(
                r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":["repo:acme/*","repo:acme/payments:ref:refs/heads/main"]}}"#,
            ),
            &[HOME],
        );
        assert_eq!(
            a.warnings,
            vec![Warning::BroadSubject {
                provider: GITHUB.into(),
                pattern: "repo:acme/*".into(),
                statement: 1,
            }]
        );
    }

    #[test]
    fn a_negative_or_vacuous_subject_condition_does_not_count() {
        for op in ["StringNotEquals", "ForAllValues:StringLike"] {
            let a = run(
                &github(&format!(
                    r#"{{"{op}":{{"token.actions.githubusercontent.com:sub":"repo:evil/x:*"}}}}"#
                )),
                &[HOME],
            );
            assert!(
                matches!(
                    a.warnings.as_slice(),
                    [Warning::WebIdentityWithoutSubject { .. }]
                ),
                "{op}: {:?}",
                a.warnings
            );
        }
        // Condition keys are case-insensitive.
        let a = run(
            &github(
                r#"{"StringEquals":{"TOKEN.actions.githubusercontent.com:SUB":"repo:acme/x:ref:refs/heads/main"}}"#,
            ),
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
    }

    #[test]
    fn cognito_is_told_apart_by_its_identity_pool_audience() {
        let without = run(
            r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}"#,
            &[HOME],
        );
        assert!(matches!(
            without.warnings.as_slice(),
            [Warning::WebIdentityWithoutSubject { missing_key, .. }] if missing_key == "cognito-identity.amazonaws.com:aud"
        ));
        let with = run(
            r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:12345678-1234-1234-1234-123456789012"}}}"#,
            &[HOME],
        );
        assert_eq!(with.warnings, vec![]);
    }

    #[test]
    fn a_star_principal_without_conditions_is_flagged() {
        for principal in [r#""*""#, r#"{"AWS":"*"}"#] {
            let a = run(
                &format!(
                    r#"{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}"#
                ),
                &[HOME],
            );
            assert_eq!(a.entries[0].kind, PrincipalKind::Everyone);
            assert_eq!(
                a.warnings,
                vec![Warning::Everyone {
                    statement: 1,
                    conditions: vec![]
                }]
            );
            assert_eq!(
                a.warnings[0].to_string(),
                "statement 1 trusts \"*\": anyone with AWS credentials can assume this role, with no condition"
            );
        }
    }

    #[test]
    fn a_star_principal_with_conditions_names_them() {
        let a = run(
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}"#,
            &[HOME],
        );
        let [Warning::Everyone { conditions, .. }] = a.warnings.as_slice() else {
            panic!("{:?}", a.warnings);
        };
        assert_eq!(conditions[0].key, "aws:PrincipalOrgID");
        assert_eq!(
            a.warnings[0].to_string(),
            "statement 1 trusts \"*\": anyone can assume this role if StringEquals aws:PrincipalOrgID = \"o-abc123\""
        );
    }

    #[test]
    fn not_principal_is_not_understood() {
        let a = run(
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/bob"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert!(a.entries.is_empty());
        assert_eq!(
            a.warnings,
            vec![Warning::NotUnderstood {
                statement: 1,
                reason: Unclear::NotPrincipal
            }]
        );
        assert!(a.warnings[0].to_string().contains("everyone except"));
    }

    #[test]
    fn not_action_is_flagged_and_its_remaining_entry_points_listed() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"NotAction":"sts:AssumeRoleWith*"}"#,
            &[HOME],
        );
        assert_eq!(a.entries[0].actions, vec![EntryPoint::AssumeRole]);
        assert_eq!(
            a.warnings,
            vec![Warning::NotUnderstood {
                statement: 1,
                reason: Unclear::NotAction
            }]
        );
    }

    #[test]
    fn only_entry_point_actions_count() {
        let tag_only = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":["sts:TagSession","sts:SetSourceIdentity"]}"#,
            &[HOME],
        );
        assert_eq!(
            tag_only,
            TrustAnalysis::default(),
            "no way in, nothing to flag"
        );
        let wild = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:*"}"#,
            &[HOME],
        );
        assert_eq!(wild.entries[0].actions, EntryPoint::ALL.to_vec());
        let lower = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"STS:assumerole"}"#,
            &[HOME],
        );
        assert_eq!(lower.entries[0].actions, vec![EntryPoint::AssumeRole]);
    }

    #[test]
    fn deny_statements_are_reported_as_not_applied() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/mallory"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.entries.len(), 1);
        assert_eq!(
            a.warnings,
            vec![Warning::DenyStatementsNotApplied { count: 1 }]
        );
    }

    #[test]
    fn a_deleted_principal_shows_as_its_unique_id() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"AROA1234567890EXAMPLE"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.entries[0].kind, PrincipalKind::Unrecognised);
        assert_eq!(a.warnings, vec![]);
    }

    #[test]
    fn odd_shapes_are_warnings_and_broken_documents_errors() {
        assert!(matches!(
            analyse("nope", &[]),
            Err(TrustError::InvalidJson(_))
        ));
        assert!(matches!(
            analyse(r#"{"Statement":[],"Statement":[]}"#, &[]),
            Err(TrustError::InvalidJson(_))
        ));
        assert_eq!(analyse("[]", &[]), Err(TrustError::NotAnObject));
        assert_eq!(analyse("{}", &[]), Err(TrustError::NoStatement));
        assert_eq!(
            analyse(r#"{"Statement":1}"#, &[]),
            Err(TrustError::StatementNotAList)
        );
        let a = run(
            r#"1,{"Effect":"Allow","Principal":{"Weird":"x"},"Action":"sts:AssumeRole"},{"Effect":"allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Federated":"login.example.com"},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
            &[HOME],
        );
        assert_eq!(
            a.warnings,
            vec![
                Warning::NotUnderstood {
                    statement: 1,
                    reason: Unclear::StatementNotAnObject
                },
                Warning::NotUnderstood {
                    statement: 2,
                    reason: Unclear::UnknownPrincipalType("Weird".into())
                },
                Warning::NotUnderstood {
                    statement: 3,
                    reason: Unclear::UnknownEffect("\"allow\"".into())
                },
                Warning::NotUnderstood {
                    statement: 4,
                    reason: Unclear::UnrecognisedFederatedPrincipal("login.example.com".into())
                },
            ]
        );
        // A single statement object is read like a list of one.
        let single = analyse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
            &[],
        )
        .unwrap();
        assert_eq!(single.entries[0].kind, PrincipalKind::Service);
    }

    #[test]
    fn action_patterns_match_like_iam() {
        assert!(action_matches("*", "sts:AssumeRole"));
        assert!(action_matches("sts:Assume*", "sts:AssumeRoleWithSAML"));
        assert!(action_matches("sts:AssumeRol?", "sts:AssumeRole"));
        assert!(!action_matches("sts:AssumeRol?", "sts:AssumeRoleWithSAML"));
        assert!(!action_matches("sts:AssumeRole", "sts:AssumeRoleWithSAML"));
        assert!(action_matches("*:*Role*", "sts:AssumeRoleWithWebIdentity"));
        assert!(!action_matches("iam:*", "sts:AssumeRole"));
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "*",
                "Allow",
                "Deny",
                "sts:AssumeRole",
                "sts:*",
                GITHUB,
                "arn:aws:iam::222222222222:root",
                "arn:aws:iam::1:root",
                "arn:",
                "123456789012",
                "token.actions.githubusercontent.com:sub",
                "repo:a/*",
                "cognito-identity.amazonaws.com",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "Statement",
                        "Effect",
                        "Action",
                        "NotAction",
                        "Principal",
                        "NotPrincipal",
                        "AWS",
                        "Service",
                        "Federated",
                        "Condition",
                        "StringLike",
                        "StringEquals",
                        "token.actions.githubusercontent.com:sub"
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn analysing_arbitrary_documents_never_panics(v in arbitrary_json()) {
            if let Ok(a) = analyse(&v.to_string(), &accounts(&[HOME])) {
                for w in &a.warnings {
                    let _ = w.to_string();
                }
                for e in &a.entries {
                    prop_assert!(!e.actions.is_empty());
                    let _ = e.to_string();
                }
            }
        }

        #[test]
        fn analysing_arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = analyse(&text, &[]);
        }
    }
}
