//! `[access]` and `[roles]`: who may ask and approve, where, and which roles may be revoked.

use serde::Deserialize;

use super::{ConfigError, key_err, parse_each, principal};
use crate::domain::ids::{ChannelId, Principal};
use crate::domain::role_arn::ArnPattern;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    requesters: Option<Vec<String>>,
    approvers: Option<Vec<String>>,
    channels: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoles {
    allow: Option<Vec<String>>,
    protect: Option<Vec<String>>,
}

pub(super) struct Access {
    pub requesters: Vec<Principal>,
    pub approvers: Vec<Principal>,
    pub channels: Vec<ChannelId>,
    pub allow: Vec<ArnPattern>,
    pub protect: Vec<ArnPattern>,
}

fn channel(s: &str) -> Result<ChannelId, String> {
    ChannelId::parse(s.trim()).map_err(|e| e.0)
}

fn arn_pattern(s: &str) -> Result<ArnPattern, String> {
    ArnPattern::parse(s).map_err(|e| e.0)
}

impl Access {
    pub(super) fn read(
        access: Option<RawAccess>,
        roles: Option<RawRoles>,
    ) -> Result<Self, ConfigError> {
        let access = access
            .ok_or_else(|| key_err("access", "missing: list `requesters` and `approvers`"))?;
        let principals = |key: &str, list: Option<Vec<String>>| {
            let list = list.ok_or_else(|| key_err(key, "missing (an empty list means nobody)"))?;
            parse_each(key, &list, principal)
        };
        let requesters = principals("access.requesters", access.requesters)?;
        let approvers = principals("access.approvers", access.approvers)?;
        let channels = parse_each(
            "access.channels",
            &access.channels.unwrap_or_default(),
            channel,
        )?;

        let missing_allow = || key_err("roles.allow", "missing: which roles may be revoked");
        let roles = roles.ok_or_else(missing_allow)?;
        let allow = parse_each(
            "roles.allow",
            &roles.allow.ok_or_else(missing_allow)?,
            arn_pattern,
        )?;
        let protect = parse_each(
            "roles.protect",
            &roles.protect.unwrap_or_default(),
            arn_pattern,
        )?;
        Ok(Access {
            requesters,
            approvers,
            channels,
            allow,
            protect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use super::super::test_support::GOOD;

    #[test]
    fn empty_lists_load_and_mean_nobody() {
        let s = Settings::from_toml(&GOOD.replace("[\"S01SECLEAD\"]", "[]")).unwrap();
        assert!(s.approvers.is_empty());
    }
}
