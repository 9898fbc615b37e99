//! Secrets and endpoints from the environment (README "Configuration"), and how long the bot waits on Slack.

use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;

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

/// How long the bot waits on Slack (README "Using it in Slack"). Not read from the environment: tests shorten them.
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

#[cfg(test)]
mod tests {
    use super::*;

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
