//! Settings (README "Configuration"): a TOML file for everything but secrets, which come only from the environment.
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

/// The config file's path.
pub const CONFIG_ENV: &str = "REVOKE_ROLE_BOT_CONFIG";
/// The config's TOML text itself (a deployment feeds it from SSM Parameter Store).
pub const CONFIG_TOML_ENV: &str = "REVOKE_ROLE_BOT_CONFIG_TOML";

/// The partitions an account or an Identity Center instance may be in.
const PARTITIONS: [&str; 3] = ["aws", "aws-us-gov", "aws-cn"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no config: pass --config <file>, or set {CONFIG_ENV} (a path) or {CONFIG_TOML_ENV} (the TOML text)"
    )]
    NoFile,
    #[error(
        "more than one config source is set ({}): set exactly one, so that what runs is never in doubt",
        .0.join(", ")
    )]
    SeveralSources(Vec<&'static str>),
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
    /// Remind the approvers in the card's thread after this long without a decision (README "Using it in Slack").
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
    /// How often an applied revocation's deny is re-read until its window has passed (README "Revocations that stay in force").
    pub drift_check_every: Duration,
    /// Remove the deny once its window has passed (README "Revocations that stay in force"; off by default).
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

/// Where the config came from (README "Configuration"): exactly one of these is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// `--config FILE`.
    Flag(PathBuf),
    /// `REVOKE_ROLE_BOT_CONFIG`: a path.
    EnvPath(PathBuf),
    /// `REVOKE_ROLE_BOT_CONFIG_TOML`: the text itself.
    EnvText(String),
}

impl ConfigSource {
    /// Which source this is, as the audit event and the log name it.
    pub fn kind(&self) -> &'static str {
        match self {
            ConfigSource::Flag(_) => "--config",
            ConfigSource::EnvPath(_) => CONFIG_ENV,
            ConfigSource::EnvText(_) => CONFIG_TOML_ENV,
        }
    }
}

/// The settings, with where they came from and the SHA-256 of the exact text loaded.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub settings: Settings,
    pub source: &'static str,
    /// Lowercase hex SHA-256 of the TOML text as read.
    pub sha256: String,
}

impl Settings {
    /// The one config source: `--config`, `REVOKE_ROLE_BOT_CONFIG` or
    /// `REVOKE_ROLE_BOT_CONFIG_TOML` (read through `var`). An empty variable counts as unset;
    /// more than one source set is refused, naming them.
    pub fn resolve_source(
        flag: Option<&Path>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ConfigSource, ConfigError> {
        let mut set = Vec::new();
        if let Some(p) = flag {
            set.push(ConfigSource::Flag(p.to_path_buf()));
        }
        if let Some(p) = var(CONFIG_ENV).filter(|p| !p.is_empty()) {
            set.push(ConfigSource::EnvPath(PathBuf::from(p)));
        }
        if let Some(text) = var(CONFIG_TOML_ENV).filter(|t| !t.trim().is_empty()) {
            set.push(ConfigSource::EnvText(text));
        }
        match set.len() {
            0 => Err(ConfigError::NoFile),
            1 => Ok(set.remove(0)),
            _ => Err(ConfigError::SeveralSources(
                set.iter().map(ConfigSource::kind).collect(),
            )),
        }
    }

    /// Resolve the source from the flag and the process environment, then load it.
    pub fn load_configured(flag: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
        let source = Self::resolve_source(flag, |name| std::env::var(name).ok())?;
        Self::load_source(&source)
    }

    pub fn load_source(source: &ConfigSource) -> Result<LoadedConfig, ConfigError> {
        let (text, settings) = match source {
            ConfigSource::Flag(path) | ConfigSource::EnvPath(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                    path: path.to_path_buf(),
                    source: e,
                })?;
                let settings = Self::from_toml(&text).map_err(|e| match e {
                    ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                        path: path.to_path_buf(),
                        message,
                    },
                    other => other,
                })?;
                (text, settings)
            }
            ConfigSource::EnvText(text) => {
                let settings = Self::from_toml(text).map_err(|e| match e {
                    ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                        path: PathBuf::from(format!("({CONFIG_TOML_ENV})")),
                        message,
                    },
                    other => other,
                })?;
                (text.clone(), settings)
            }
        };
        use sha2::Digest;
        Ok(LoadedConfig {
            settings,
            source: source.kind(),
            sha256: hex::encode(sha2::Sha256::digest(text.as_bytes())),
        })
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

    fn vars(set: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            set.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_config_comes_from_exactly_one_of_the_flag_the_path_variable_and_the_text_variable() {
        let flag = Path::new("bot.toml");
        assert_eq!(
            Settings::resolve_source(Some(flag), vars(&[])).unwrap(),
            ConfigSource::Flag(flag.into())
        );
        assert_eq!(
            Settings::resolve_source(None, vars(&[(CONFIG_ENV, "/etc/bot.toml")])).unwrap(),
            ConfigSource::EnvPath("/etc/bot.toml".into())
        );
        assert_eq!(
            Settings::resolve_source(None, vars(&[(CONFIG_TOML_ENV, "listen = \"x\"")])).unwrap(),
            ConfigSource::EnvText("listen = \"x\"".into())
        );
        // Empty counts as unset, so a template can blank a variable the image sets.
        assert_eq!(
            Settings::resolve_source(None, vars(&[(CONFIG_ENV, ""), (CONFIG_TOML_ENV, "a = 1")]))
                .unwrap()
                .kind(),
            CONFIG_TOML_ENV
        );
        assert!(matches!(
            Settings::resolve_source(None, vars(&[])),
            Err(ConfigError::NoFile)
        ));
    }

    #[test]
    fn more_than_one_config_source_is_refused_naming_each() {
        let e = Settings::resolve_source(
            Some(Path::new("bot.toml")),
            vars(&[(CONFIG_TOML_ENV, "listen = \"x\"")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--config") && e.contains(CONFIG_TOML_ENV), "{e}");
        let e = Settings::resolve_source(
            None,
            vars(&[(CONFIG_ENV, "/etc/bot.toml"), (CONFIG_TOML_ENV, "a = 1")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("more than one config source")
                && e.contains(CONFIG_ENV)
                && e.contains(CONFIG_TOML_ENV),
            "{e}"
        );
    }

    #[test]
    fn config_text_from_the_environment_loads_with_the_hash_of_exactly_that_text() {
        let loaded = Settings::load_source(&ConfigSource::EnvText(GOOD.to_string())).unwrap();
        assert_eq!(loaded.source, CONFIG_TOML_ENV);
        assert_eq!(loaded.settings.accounts.len(), 2);
        use sha2::Digest;
        assert_eq!(
            loaded.sha256,
            hex::encode(sha2::Sha256::digest(GOOD.as_bytes()))
        );
        let other =
            Settings::load_source(&ConfigSource::EnvText(format!("{GOOD}\n# edited"))).unwrap();
        assert_ne!(other.sha256, loaded.sha256);
        let e = Settings::load_source(&ConfigSource::EnvText("listen = [".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(CONFIG_TOML_ENV), "{e}");
    }

    const EXAMPLE: &str = include_str!("../../examples/config.toml");

    #[test]
    fn the_shipped_example_config_loads() {
        let s = Settings::from_toml(EXAMPLE).unwrap();
        assert!(!s.accounts.is_empty());
    }

    /// The fields a table accepts, from serde's refusal of an unknown one.
    fn accepted_fields(doc: &toml::Table, table: Option<&str>) -> Vec<String> {
        let mut doc = doc.clone();
        let target = match table {
            None => &mut doc,
            Some(t) => match doc.get_mut(t) {
                Some(toml::Value::Table(t)) => t,
                Some(toml::Value::Array(a)) => match a.first_mut() {
                    Some(toml::Value::Table(t)) => t,
                    _ => panic!("[[{t}]] is empty"),
                },
                _ => panic!("no [{t}]"),
            },
        };
        target.insert("zz_not_a_key".into(), toml::Value::Integer(1));
        let e = err(&toml::to_string(&doc).unwrap());
        assert!(e.contains("zz_not_a_key"), "{e}");
        let expected = e.split_once("expected").map(|(_, r)| r).unwrap_or("");
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_example_config_shows_every_key_the_loader_accepts() {
        let doc: toml::Table = toml::from_str(EXAMPLE).unwrap();
        let top = accepted_fields(&doc, None);
        assert!(top.contains(&"accounts".to_string()), "{top:?}");
        for key in &top {
            assert!(doc.contains_key(key), "examples/config.toml lacks `{key}`");
            let is_table = matches!(doc.get(key), Some(toml::Value::Table(_)))
                || matches!(doc.get(key), Some(toml::Value::Array(a)) if a.first().is_some_and(toml::Value::is_table));
            if !is_table {
                continue;
            }
            for field in accepted_fields(&doc, Some(key)) {
                let present = match doc.get(key) {
                    Some(toml::Value::Table(t)) => t.contains_key(&field),
                    Some(toml::Value::Array(a)) => a
                        .iter()
                        .any(|t| t.as_table().is_some_and(|t| t.contains_key(&field))),
                    _ => false,
                };
                assert!(present, "examples/config.toml lacks `{key}.{field}`");
            }
        }
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
