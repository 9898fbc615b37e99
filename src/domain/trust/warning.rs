//! What revocation alone does not stop, and what the bot could not read exactly.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::entry::ConditionText;
use crate::domain::role_arn::AccountId;

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
