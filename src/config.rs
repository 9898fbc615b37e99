//! Settings (SPEC §6): a TOML file for everything but secrets, which come only from the environment.
//! Read and validated once at start; a missing or bad key stops the process with the key's name.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::command::parse_duration;
use crate::domain::ids::{ChannelId, Principal};
use crate::domain::role_arn::{AccountId, ArnPattern, RoleArn, RoleSpec};

pub const CONFIG_ENV: &str = "REVOKE_ROLE_BOT_CONFIG";

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
    /// How often an applied revocation's deny is re-read until its window has passed (SPEC §11).
    pub drift_check_every: Duration,
    /// Remove the deny once its window has passed (SPEC §11; off by default).
    pub cleanup_after_window: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: Option<String>,
    pub partition: String,
    pub assume_role_arn: Option<RoleArn>,
    pub external_id: Option<String>,
}

/// Secrets and endpoints from the environment. Secrets never reach a log line.
#[derive(Clone)]
pub struct SlackSecrets {
    /// Needed to serve Slack over HTTP; not used in Socket Mode.
    pub signing_secret: Option<SecretString>,
    pub bot_token: SecretString,
    /// `xapp-…`: when set, the bot connects over Socket Mode instead of serving Slack over HTTP.
    pub app_token: Option<SecretString>,
    pub api_url: Option<String>,
    pub timeouts: SlackTimeouts,
}

/// How long the bot waits on Slack (SPEC §5). Not read from the environment: tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlackTimeouts {
    /// One try of a Web API or `response_url` call.
    pub http_try: Duration,
    /// A Socket Mode connection with no frame (nor pong) for this long is taken for dead.
    pub socket_silence: Duration,
}

impl Default for SlackTimeouts {
    fn default() -> Self {
        SlackTimeouts {
            http_try: Duration::from_secs(10),
            socket_silence: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for SlackSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSecrets")
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("bot_token", &"[redacted]")
            .field("app_token", &self.app_token.as_ref().map(|_| "[redacted]"))
            .field("api_url", &self.api_url)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl SlackSecrets {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The secrets from named variables (`from_env` reads the process environment).
    pub fn from_vars(var: impl Fn(&'static str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &'static str| -> Result<Option<SecretString>, ConfigError> {
            match var(name) {
                Some(v) if !v.trim().is_empty() => Ok(Some(SecretString::from(v))),
                Some(_) => Err(ConfigError::Env {
                    name,
                    message: "is empty".into(),
                }),
                None => Ok(None),
            }
        };
        let api_url = var("SLACK_API_URL").filter(|s| !s.is_empty());
        if let Some(url) = &api_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::Env {
                name: "SLACK_API_URL",
                message: "must be an http(s) URL".into(),
            });
        }
        let bot_token = optional("SLACK_BOT_TOKEN")?.ok_or(ConfigError::Env {
            name: "SLACK_BOT_TOKEN",
            message: "is not set".into(),
        })?;
        let app_token = optional("SLACK_APP_TOKEN")?;
        if let Some(t) = &app_token
            && !secrecy::ExposeSecret::expose_secret(t).starts_with("xapp-")
        {
            return Err(ConfigError::Env {
                name: "SLACK_APP_TOKEN",
                message: "is not an app-level token (xapp-…) with connections:write".into(),
            });
        }
        // Socket Mode needs no signing secret: it is not read at all then, so an empty one in a
        // task definition does not stop the bot.
        let signing_secret =
            match app_token {
                Some(_) => None,
                None => Some(
                    optional("SLACK_SIGNING_SECRET")?.ok_or(ConfigError::Env {
                        name: "SLACK_SIGNING_SECRET",
                        message:
                            "is not set (it is needed unless SLACK_APP_TOKEN selects Socket Mode)"
                                .into(),
                    })?,
                ),
            };
        Ok(SlackSecrets {
            signing_secret,
            bot_token,
            app_token,
            api_url: api_url.map(|u| u.trim_end_matches('/').to_string()),
            timeouts: SlackTimeouts::default(),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    listen: Option<String>,
    audit: Option<RawAudit>,
    approval: Option<RawApproval>,
    access: Option<RawAccess>,
    roles: Option<RawRoles>,
    watch: Option<RawWatch>,
    accounts: Option<Vec<RawAccount>>,
    identity_center: Option<RawIdentityCenter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentityCenter {
    instance_arn: Option<String>,
    region: Option<String>,
    account: Option<String>,
    protect: Option<Vec<String>>,
}

/// `[identity_center]` (SPEC §10): where permission sets are administered.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    drift_check_every: Option<String>,
    cleanup_after_window: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    table: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    approvals_required: Option<i64>,
    expires_after: Option<String>,
    remind_after: Option<String>,
    escalate_after: Option<String>,
    escalate_to: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    requesters: Option<Vec<String>>,
    approvers: Option<Vec<String>>,
    channels: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoles {
    allow: Option<Vec<String>>,
    protect: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: Option<String>,
    name: Option<String>,
    partition: Option<String>,
    assume_role_arn: Option<String>,
    external_id: Option<String>,
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

        let approval = raw.approval.unwrap_or(RawApproval {
            approvals_required: None,
            expires_after: None,
            remind_after: None,
            escalate_after: None,
            escalate_to: None,
        });
        let duration = |key: &str, v: &Option<String>| -> Result<Option<Duration>, ConfigError> {
            v.as_deref()
                .map(|s| parse_duration(s).map_err(|e| key_err(key, e.0)))
                .transpose()
        };
        let remind_after = duration("approval.remind_after", &approval.remind_after)?
            .unwrap_or(Duration::from_secs(300));
        if remind_after < Duration::from_secs(1) {
            return Err(key_err("approval.remind_after", "must be at least 1s"));
        }
        let escalate_after = duration("approval.escalate_after", &approval.escalate_after)?;
        let escalate_to = approval
            .escalate_to
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|s| Principal::parse(s.trim()).map_err(|e| key_err("approval.escalate_to", e.0)))
            .collect::<Result<Vec<_>, _>>()?;
        if escalate_after.is_some() && escalate_to.is_empty() {
            return Err(key_err(
                "approval.escalate_to",
                "missing: `escalate_after` is set, so name who to escalate to (user ids or user groups)",
            ));
        }
        let (approvals_required, expires_after) = match Some(approval) {
            None => (1, Duration::from_secs(1800)),
            Some(a) => {
                let n = a.approvals_required.unwrap_or(1);
                if !(1..=10).contains(&n) {
                    return Err(key_err(
                        "approval.approvals_required",
                        format!("{n} is not between 1 and 10"),
                    ));
                }
                let exp = match a.expires_after {
                    None => Duration::from_secs(1800),
                    Some(s) => {
                        parse_duration(&s).map_err(|e| key_err("approval.expires_after", e.0))?
                    }
                };
                (n as u32, exp)
            }
        };

        let access = raw
            .access
            .ok_or_else(|| key_err("access", "missing: list `requesters` and `approvers`"))?;
        let principals = |key: &str,
                          list: Option<Vec<String>>|
         -> Result<Vec<Principal>, ConfigError> {
            let list = list.ok_or_else(|| key_err(key, "missing (an empty list means nobody)"))?;
            list.iter()
                .map(|s| Principal::parse(s.trim()).map_err(|e| key_err(key, e.0)))
                .collect()
        };
        let requesters = principals("access.requesters", access.requesters)?;
        let approvers = principals("access.approvers", access.approvers)?;
        let channels = access
            .channels
            .unwrap_or_default()
            .iter()
            .map(|c| ChannelId::parse(c.trim()).map_err(|e| key_err("access.channels", e.0)))
            .collect::<Result<Vec<_>, _>>()?;

        let roles = raw
            .roles
            .ok_or_else(|| key_err("roles.allow", "missing: which roles may be revoked"))?;
        let patterns = |key: &str, list: Vec<String>| -> Result<Vec<ArnPattern>, ConfigError> {
            list.iter()
                .map(|p| ArnPattern::parse(p).map_err(|e| key_err(key, e.0)))
                .collect()
        };
        let allow = patterns(
            "roles.allow",
            roles
                .allow
                .ok_or_else(|| key_err("roles.allow", "missing: which roles may be revoked"))?,
        )?;
        let protect = patterns("roles.protect", roles.protect.unwrap_or_default())?;

        let watch = raw.watch.unwrap_or(RawWatch {
            drift_check_every: None,
            cleanup_after_window: None,
        });
        let drift_check_every = duration("watch.drift_check_every", &watch.drift_check_every)?
            .unwrap_or(Duration::from_secs(300));
        let cleanup_after_window = watch.cleanup_after_window.unwrap_or(false);

        let raw_accounts = raw.accounts.unwrap_or_default();
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
            if !["aws", "aws-us-gov", "aws-cn"].contains(&partition.as_str()) {
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

        let identity_center = match raw.identity_center {
            None => None,
            Some(ic) => {
                let instance_arn = ic
                    .instance_arn
                    .filter(|a| !a.trim().is_empty())
                    .ok_or_else(|| key_err("identity_center.instance_arn", "missing"))?;
                let ok = instance_arn
                    .strip_prefix("arn:")
                    .and_then(|r| r.split_once(":sso:::instance/"))
                    .is_some_and(|(partition, id)| {
                        ["aws", "aws-us-gov", "aws-cn"].contains(&partition)
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
                let account = accounts
                    .iter()
                    .find(|a| a.id.as_str() == key || a.name.as_deref() == Some(key.as_str()))
                    .map(|a| a.id.clone())
                    .ok_or_else(|| {
                        key_err(
                            "identity_center.account",
                            format!("`{key}` is not a configured account (name or id)"),
                        )
                    })?;
                Some(IdentityCenter {
                    instance_arn,
                    region,
                    account,
                    protect: ic.protect.unwrap_or_default(),
                })
            }
        };

        Ok(Settings {
            listen,
            table,
            approvals_required,
            expires_after,
            remind_after,
            escalate_after,
            escalate_to,
            requesters,
            approvers,
            channels,
            allow,
            protect,
            accounts,
            identity_center,
            drift_check_every,
            cleanup_after_window,
        })
    }

    pub fn account(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// Turn what a person typed into a full ARN, using the configured accounts (SPEC §2).
    /// This is only what was typed: IAM's canonical ARN decides what is checked and written.
    pub fn resolve_role(&self, spec: &RoleSpec) -> Result<RoleArn, ResolveError> {
        let by_name_or_id = |key: &str| {
            self.accounts
                .iter()
                .find(|a| a.id.as_str() == key || a.name.as_deref() == Some(key))
        };
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
                let a =
                    by_name_or_id(account).ok_or_else(|| ResolveError::AccountNotConfigured {
                        account: account.clone(),
                        configured: self.account_names(),
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
        self.accounts
            .iter()
            .map(|a| match &a.name {
                Some(n) => format!("{n} ({})", a.id),
                None => a.id.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
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

    fn err(text: &str) -> String {
        Settings::from_toml(text).unwrap_err().to_string()
    }

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

    #[test]
    fn empty_lists_load_and_mean_nobody() {
        let s = Settings::from_toml(&GOOD.replace("[\"S01SECLEAD\"]", "[]")).unwrap();
        assert!(s.approvers.is_empty());
    }

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

    fn secrets(vars: &[(&'static str, &str)]) -> Result<SlackSecrets, ConfigError> {
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        SlackSecrets::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn socket_mode_needs_no_signing_secret() {
        use secrecy::ExposeSecret;
        let s = secrets(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_APP_TOKEN", "xapp-1")]).unwrap();
        assert!(s.signing_secret.is_none());
        assert_eq!(s.app_token.unwrap().expose_secret(), "xapp-1");
        // An empty one left in a task definition is not read either.
        let s = secrets(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_APP_TOKEN", "xapp-1"),
            ("SLACK_SIGNING_SECRET", ""),
        ])
        .unwrap();
        assert!(s.signing_secret.is_none());
        assert_eq!(s.timeouts, SlackTimeouts::default());
    }

    #[test]
    fn http_mode_needs_a_signing_secret() {
        let e = secrets(&[("SLACK_BOT_TOKEN", "xoxb-1")]).unwrap_err();
        assert!(e.to_string().contains("SLACK_SIGNING_SECRET"), "{e}");
        let e =
            secrets(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_SIGNING_SECRET", " ")]).unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
        let s = secrets(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_SIGNING_SECRET", "s")]).unwrap();
        assert!(s.signing_secret.is_some() && s.app_token.is_none());
        let e =
            secrets(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_APP_TOKEN", "xoxb-2")]).unwrap_err();
        assert!(e.to_string().contains("SLACK_APP_TOKEN"), "{e}");
    }
}
