//! Settings (SPEC §6): a TOML file for everything but secrets, which come only from the environment.
//! Read and validated once at start; a missing or bad key stops the process with the key's name.
//!
//! Each group of keys is read in its own module (`[approval]`, `[access]` and `[roles]`,
//! `[[accounts]]`, `[identity_center]`); this one reads the file, the top-level keys and `[watch]`, in
//! the order the errors are reported.

mod access;
mod accounts;
mod approval;
mod identity_center;
mod secrets;
mod users;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::command::parse_duration;
use crate::domain::ids::{ChannelId, Principal};
use crate::domain::role_arn::ArnPattern;

pub use accounts::{Account, ResolveError};
pub use identity_center::IdentityCenter;
pub use secrets::{SlackSecrets, SlackTimeouts};
pub use users::Users;

pub const CONFIG_ENV: &str = "REVOKE_ROLE_BOT_CONFIG";

/// The partitions an account or an Identity Center instance may be in.
const PARTITIONS: [&str; 3] = ["aws", "aws-us-gov", "aws-cn"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file: pass --config <file> or set {CONFIG_ENV}")]
    NoFile,
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

fn key_err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.into(),
        message: message.into(),
    }
}

/// A duration key, if it is set.
fn duration(key: &str, value: Option<&str>) -> Result<Option<Duration>, ConfigError> {
    value
        .map(|s| parse_duration(s).map_err(|e| key_err(key, e.0)))
        .transpose()
}

/// Each entry of a list key, parsed; the first bad one is reported under the key.
fn parse_each<T>(
    key: &str,
    list: &[String],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ConfigError> {
    list.iter()
        .map(|s| parse(s).map_err(|message| key_err(key, message)))
        .collect()
}

fn principal(s: &str) -> Result<Principal, String> {
    Principal::parse(s.trim()).map_err(|e| e.0)
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub table: String,
    pub approvals_required: u32,
    pub expires_after: Duration,
    /// Remind the approvers in the card's thread after this long without a decision (SPEC §12).
    pub remind_after: Duration,
    /// Also mention `escalate_to` in reminders after this long.
    pub escalate_after: Option<Duration>,
    pub escalate_to: Vec<Principal>,
    pub requesters: Vec<Principal>,
    pub approvers: Vec<Principal>,
    /// Empty: any channel.
    pub channels: Vec<ChannelId>,
    pub allow: Vec<ArnPattern>,
    pub protect: Vec<ArnPattern>,
    pub accounts: Vec<Account>,
    pub identity_center: Option<IdentityCenter>,
    /// `[users]`: which IAM users (and their keys) may be revoked; none without it.
    pub users: Option<Users>,
    /// How often an applied revocation's deny is re-read until its window has passed (SPEC §11).
    pub drift_check_every: Duration,
    /// Remove the deny once its window has passed (SPEC §11; off by default).
    pub cleanup_after_window: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    listen: Option<String>,
    audit: Option<RawAudit>,
    approval: Option<approval::RawApproval>,
    access: Option<access::RawAccess>,
    roles: Option<access::RawRoles>,
    watch: Option<RawWatch>,
    accounts: Option<Vec<accounts::RawAccount>>,
    identity_center: Option<identity_center::RawIdentityCenter>,
    users: Option<users::RawUsers>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    table: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    drift_check_every: Option<String>,
    cleanup_after_window: Option<bool>,
}

impl Settings {
    /// The config path: the flag wins over the environment variable.
    pub fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
        if let Some(p) = flag {
            return Ok(p.to_path_buf());
        }
        match std::env::var_os(CONFIG_ENV) {
            Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
            _ => Err(ConfigError::NoFile),
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: PathBuf::new(),
            message: e.message().to_string()
                + &e.span()
                    .map(|s| format!(" (at byte {})", s.start))
                    .unwrap_or_default(),
        })?;

        let listen = raw.listen.as_deref().unwrap_or("0.0.0.0:3000");
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| key_err("listen", format!("`{listen}` is not an address:port")))?;

        let table = raw
            .audit
            .and_then(|a| a.table)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| key_err("audit.table", "missing: name the DynamoDB audit table"))?;
        if table.len() < 3
            || table.len() > 255
            || !table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(key_err(
                "audit.table",
                format!("`{table}` is not a DynamoDB table name"),
            ));
        }

        let approval = approval::Approval::read(raw.approval.unwrap_or_default())?;
        let access = access::Access::read(raw.access, raw.roles)?;

        let watch = raw.watch.unwrap_or_default();
        let drift_check_every = duration(
            "watch.drift_check_every",
            watch.drift_check_every.as_deref(),
        )?
        .unwrap_or(Duration::from_secs(300));
        let cleanup_after_window = watch.cleanup_after_window.unwrap_or(false);

        let accounts = accounts::read(raw.accounts.unwrap_or_default())?;
        let identity_center = raw
            .identity_center
            .map(|ic| identity_center::read(ic, &accounts))
            .transpose()?;
        let users = raw.users.map(users::read).transpose()?;

        Ok(Settings {
            listen,
            table,
            approvals_required: approval.approvals_required,
            expires_after: approval.expires_after,
            remind_after: approval.remind_after,
            escalate_after: approval.escalate_after,
            escalate_to: approval.escalate_to,
            requesters: access.requesters,
            approvers: access.approvers,
            channels: access.channels,
            allow: access.allow,
            protect: access.protect,
            accounts,
            identity_center,
            users,
            drift_check_every,
            cleanup_after_window,
        })
    }
}

/// A valid file with every group, to change one key at a time.
#[cfg(test)]
mod test_support {
    use super::Settings;

    pub const GOOD: &str = r#"
listen = "127.0.0.1:3000"
[audit]
table = "revoke-role-bot-audit"
[approval]
approvals_required = 2
expires_after = "15m"
[access]
requesters = ["U01ALICE", "S01ONCALL"]
approvers = ["S01SECLEAD"]
channels = []
[roles]
allow = ["arn:aws:iam::*:role/*"]
protect = ["arn:aws:iam::*:role/break-glass-*"]
[[accounts]]
id = "111111111111"
name = "prod"
[[accounts]]
id = "222222222222"
name = "staging"
assume_role_arn = "arn:aws:iam::222222222222:role/revoke-role-bot-target"
external_id = "xyz"
"#;

    pub fn err(text: &str) -> String {
        Settings::from_toml(text).unwrap_err().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{GOOD, err};
    use super::*;

    #[test]
    fn the_spec_example_loads() {
        let s = Settings::from_toml(GOOD).unwrap();
        assert_eq!(s.approvals_required, 2);
        assert_eq!(s.expires_after, Duration::from_secs(900));
        assert_eq!(s.requesters.len(), 2);
        assert_eq!(
            s.accounts[1].assume_role_arn.as_ref().unwrap().name(),
            "revoke-role-bot-target"
        );
    }

    #[test]
    fn errors_name_the_key() {
        assert!(
            err(&GOOD.replace("table = \"revoke-role-bot-audit\"", "")).contains("`audit.table`")
        );
        assert!(
            err(&GOOD.replace("requesters = [\"U01ALICE\", \"S01ONCALL\"]", ""))
                .contains("`access.requesters`")
        );
        assert!(err(&GOOD.replace("\"U01ALICE\"", "\"alice\"")).contains("`access.requesters`"));
        assert!(
            err(&GOOD.replace("approvals_required = 2", "approvals_required = 0"))
                .contains("`approval.approvals_required`")
        );
        assert!(err(&GOOD.replace("\"15m\"", "\"soon\"")).contains("`approval.expires_after`"));
        assert!(err(&GOOD.replace("\"222222222222\"", "\"2222\"")).contains("`accounts[1].id`"));
        assert!(err(&GOOD.replace("\"staging\"", "\"prod\"")).contains("`accounts[1].name`"));
        assert!(
            err(&GOOD.replace("arn:aws:iam::*:role/break", "role/break"))
                .contains("`roles.protect`")
        );
        assert!(err(&GOOD.replace("127.0.0.1:3000", "nowhere")).contains("`listen`"));
        assert!(err(&format!("{GOOD}\nbogus = 1")).contains("bogus"));
        assert!(err("[audit]\ntable = \"t-1\"\n[access]\nrequesters=[]\napprovers=[]\n[roles]\nallow=[]\n").contains("`accounts`"));
    }

    #[test]
    fn watch_defaults_to_five_minutes_without_cleanup_and_takes_seconds() {
        let s = Settings::from_toml(GOOD).unwrap();
        assert_eq!(s.drift_check_every, Duration::from_secs(300));
        assert!(!s.cleanup_after_window);
        let s = Settings::from_toml(&format!(
            "{GOOD}\n[watch]\ndrift_check_every = \"1s\"\ncleanup_after_window = true\n"
        ))
        .unwrap();
        assert_eq!(s.drift_check_every, Duration::from_secs(1));
        assert!(s.cleanup_after_window);
        assert!(
            err(&format!("{GOOD}\n[watch]\ndrift_check_every = \"often\"\n"))
                .contains("`watch.drift_check_every`")
        );
        assert!(
            err(&format!("{GOOD}\n[watch]\ndrift_check_every = \"0s\"\n"))
                .contains("`watch.drift_check_every`")
        );
        assert!(err(&format!("{GOOD}\n[watch]\ncleanup = true\n")).contains("cleanup"));
    }
}
