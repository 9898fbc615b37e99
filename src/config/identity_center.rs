//! `[identity_center]` (README "Identity Center permission sets"): where permission sets are administered.

use serde::Deserialize;

use super::accounts::{Account, by_name_or_id};
use super::{ConfigError, PARTITIONS, key_err};
use crate::domain::role_arn::AccountId;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdentityCenter {
    instance_arn: Option<String>,
    region: Option<String>,
    account: Option<String>,
    protect: Option<Vec<String>>,
}

/// `[identity_center]` (README "Identity Center permission sets"): where permission sets are administered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCenter {
    /// `arn:aws:sso:::instance/ssoins-…`
    pub instance_arn: String,
    pub region: String,
    /// The configured account whose credentials administer Identity Center.
    pub account: AccountId,
    /// Permission set names (or patterns with `*`) that may never be revoked from Slack.
    pub protect: Vec<String>,
}

pub(super) fn read(
    ic: RawIdentityCenter,
    accounts: &[Account],
) -> Result<IdentityCenter, ConfigError> {
    let instance_arn = ic
        .instance_arn
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| key_err("identity_center.instance_arn", "missing"))?;
    let ok = instance_arn
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(":sso:::instance/"))
        .is_some_and(|(partition, id)| {
            PARTITIONS.contains(&partition)
                && id.starts_with("ssoins-")
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !ok {
        return Err(key_err(
            "identity_center.instance_arn",
            format!(
                "`{instance_arn}` is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)"
            ),
        ));
    }
    let region = ic
        .region
        .filter(|r| {
            !r.is_empty()
                && r.len() <= 32
                && r.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .ok_or_else(|| {
            key_err(
                "identity_center.region",
                "missing or not a region (e.g. us-east-1)",
            )
        })?;
    let key = ic.account.ok_or_else(|| {
        key_err(
            "identity_center.account",
            "missing: a configured account name or id",
        )
    })?;
    let account = by_name_or_id(accounts, &key)
        .map(|a| a.id.clone())
        .ok_or_else(|| {
            key_err(
                "identity_center.account",
                format!("`{key}` is not a configured account (name or id)"),
            )
        })?;
    Ok(IdentityCenter {
        instance_arn,
        region,
        account,
        protect: ic.protect.unwrap_or_default(),
    })
}
