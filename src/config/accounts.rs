//! `[[accounts]]`: the accounts the bot revokes in, and turning what a person typed into a role ARN.

use std::collections::HashSet;

use serde::Deserialize;

use super::{ConfigError, PARTITIONS, Settings, key_err};
use crate::domain::role_arn::{AccountId, RoleArn, RoleSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: Option<String>,
    pub partition: String,
    pub assume_role_arn: Option<RoleArn>,
    pub external_id: Option<String>,
}

impl Account {
    /// `name (id)`, or the id alone for an account without a name.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.id),
            None => self.id.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    id: Option<String>,
    name: Option<String>,
    partition: Option<String>,
    assume_role_arn: Option<String>,
    external_id: Option<String>,
}

/// Why a role could not be resolved from what was typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("account {account} is not configured")]
    AccountNotConfigured {
        account: String,
        configured: Vec<String>,
    },
    #[error("several accounts are configured, so the account must be named")]
    AccountNeeded {
        name: String,
        configured: Vec<String>,
    },
    #[error("{0}")]
    BadRole(String),
}

/// The accounts, each checked and none named twice (by id or by name).
pub(super) fn read(raw_accounts: Vec<RawAccount>) -> Result<Vec<Account>, ConfigError> {
    if raw_accounts.is_empty() {
        return Err(key_err(
            "accounts",
            "missing: configure at least one [[accounts]] with an `id`",
        ));
    }
    let mut accounts = Vec::new();
    let mut seen = HashSet::new();
    for (i, a) in raw_accounts.into_iter().enumerate() {
        let k = |f: &str| format!("accounts[{i}].{f}");
        let id = a.id.ok_or_else(|| key_err(k("id"), "missing"))?;
        let id = AccountId::parse(id.trim()).map_err(|e| key_err(k("id"), e.0))?;
        if !seen.insert(id.as_str().to_string()) {
            return Err(key_err(k("id"), format!("{id} is configured twice")));
        }
        if let Some(n) = &a.name {
            if n.is_empty()
                || n.len() > 64
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(key_err(
                    k("name"),
                    format!("`{n}` must be 1–64 letters, digits, - _ or ."),
                ));
            }
            if !seen.insert(n.clone()) {
                return Err(key_err(k("name"), format!("`{n}` is used twice")));
            }
        }
        let partition = a.partition.unwrap_or_else(|| "aws".into());
        if !PARTITIONS.contains(&partition.as_str()) {
            return Err(key_err(
                k("partition"),
                format!("`{partition}` is not aws, aws-us-gov or aws-cn"),
            ));
        }
        let assume_role_arn = a
            .assume_role_arn
            .map(|s| RoleArn::parse(&s).map_err(|e| key_err(k("assume_role_arn"), e.0)))
            .transpose()?;
        if a.external_id.is_some() && assume_role_arn.is_none() {
            return Err(key_err(
                k("external_id"),
                "is only used with assume_role_arn",
            ));
        }
        accounts.push(Account {
            id,
            name: a.name,
            partition,
            assume_role_arn,
            external_id: a.external_id,
        });
    }
    Ok(accounts)
}

/// The configured account with this id or name.
pub(super) fn by_name_or_id<'a>(accounts: &'a [Account], key: &str) -> Option<&'a Account> {
    accounts
        .iter()
        .find(|a| a.id.as_str() == key || a.name.as_deref() == Some(key))
}

impl Settings {
    pub fn account(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// Turn what a person typed into a full ARN, using the configured accounts (README "Using it in Slack").
    /// This is only what was typed: IAM's canonical ARN decides what is checked and written.
    pub fn resolve_role(&self, spec: &RoleSpec) -> Result<RoleArn, ResolveError> {
        match spec {
            RoleSpec::Arn(arn) => {
                if self.account(arn.account()).is_none() {
                    return Err(ResolveError::AccountNotConfigured {
                        account: arn.account().to_string(),
                        configured: self.account_names(),
                    });
                }
                Ok(arn.clone())
            }
            RoleSpec::InAccount { account, name } => {
                let a = by_name_or_id(&self.accounts, account).ok_or_else(|| {
                    ResolveError::AccountNotConfigured {
                        account: account.clone(),
                        configured: self.account_names(),
                    }
                })?;
                RoleArn::new(&a.partition, a.id.clone(), name)
                    .map_err(|e| ResolveError::BadRole(e.0))
            }
            RoleSpec::Bare(name) => match self.accounts.as_slice() {
                [only] => RoleArn::new(&only.partition, only.id.clone(), name)
                    .map_err(|e| ResolveError::BadRole(e.0)),
                _ => Err(ResolveError::AccountNeeded {
                    name: name.clone(),
                    configured: self.account_names(),
                }),
            },
        }
    }

    /// `name (id)` for each configured account.
    pub fn account_names(&self) -> Vec<String> {
        self.accounts.iter().map(Account::label).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::GOOD;
    use super::*;

    #[test]
    fn roles_resolve_through_accounts() {
        let s = Settings::from_toml(GOOD).unwrap();
        let r = |t: &str| s.resolve_role(&RoleSpec::parse(t).unwrap());
        assert_eq!(
            r("prod/app").unwrap().to_string(),
            "arn:aws:iam::111111111111:role/app"
        );
        assert_eq!(
            r("222222222222/app").unwrap().to_string(),
            "arn:aws:iam::222222222222:role/app"
        );
        assert!(matches!(r("app"), Err(ResolveError::AccountNeeded { .. })));
        assert!(matches!(
            r("dev/app"),
            Err(ResolveError::AccountNotConfigured { account, .. }) if account == "dev"
        ));
        assert!(matches!(
            r("arn:aws:iam::333333333333:role/app"),
            Err(ResolveError::AccountNotConfigured { account, configured })
                if account == "333333333333" && configured.len() == 2
        ));
        let one_account = GOOD
            .split("[[accounts]]\nid = \"222222222222\"")
            .next()
            .unwrap();
        let one = Settings::from_toml(one_account).unwrap();
        assert_eq!(
            one.resolve_role(&RoleSpec::Bare("app".into()))
                .unwrap()
                .to_string(),
            "arn:aws:iam::111111111111:role/app"
        );
    }
}
