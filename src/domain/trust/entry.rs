//! A way back into the role: who, through which STS call, under which conditions.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::principal::PrincipalKind;
use crate::domain::role_arn::AccountId;

/// The STS calls that start a session of the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EntryPoint {
    AssumeRole,
    AssumeRoleWithSaml,
    AssumeRoleWithWebIdentity,
}

impl EntryPoint {
    pub(super) const ALL: [EntryPoint; 3] = [
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
