//! `[approval]`: how many approvals a request needs, how long it waits, and who is reminded when.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, duration, key_err, parse_each, principal};
use crate::domain::ids::Principal;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproval {
    approvals_required: Option<i64>,
    expires_after: Option<String>,
    remind_after: Option<String>,
    escalate_after: Option<String>,
    escalate_to: Option<Vec<String>>,
}

pub(super) struct Approval {
    pub approvals_required: u32,
    pub expires_after: Duration,
    pub remind_after: Duration,
    pub escalate_after: Option<Duration>,
    pub escalate_to: Vec<Principal>,
}

impl Approval {
    pub(super) fn read(raw: RawApproval) -> Result<Self, ConfigError> {
        let remind_after = duration("approval.remind_after", raw.remind_after.as_deref())?
            .unwrap_or(Duration::from_secs(300));
        if remind_after < Duration::from_secs(1) {
            return Err(key_err("approval.remind_after", "must be at least 1s"));
        }
        let escalate_after = duration("approval.escalate_after", raw.escalate_after.as_deref())?;
        let escalate_to = parse_each(
            "approval.escalate_to",
            &raw.escalate_to.unwrap_or_default(),
            principal,
        )?;
        if escalate_after.is_some() && escalate_to.is_empty() {
            return Err(key_err(
                "approval.escalate_to",
                "missing: `escalate_after` is set, so name who to escalate to (user ids or user groups)",
            ));
        }
        let n = raw.approvals_required.unwrap_or(1);
        if !(1..=10).contains(&n) {
            return Err(key_err(
                "approval.approvals_required",
                format!("{n} is not between 1 and 10"),
            ));
        }
        let expires_after = duration("approval.expires_after", raw.expires_after.as_deref())?
            .unwrap_or(Duration::from_secs(1800));
        Ok(Approval {
            approvals_required: n as u32,
            expires_after,
            remind_after,
            escalate_after,
            escalate_to,
        })
    }
}
