//! Identifiers that arrive from Slack or that the bot hands out. Once parsed, a value is valid.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct IdError(pub String);

fn slack_id(s: &str, prefixes: &[char], what: &str) -> Result<String, IdError> {
    let ok = s.len() >= 3
        && s.len() <= 32
        && s.starts_with(prefixes)
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(s.to_string())
    } else {
        Err(IdError(format!(
            "`{s}` is not a Slack {what} id (expected {}… in capitals and digits)",
            prefixes
                .iter()
                .map(char::to_string)
                .collect::<Vec<_>>()
                .join("…/")
        )))
    }
}

macro_rules! slack_id_type {
    ($name:ident, $prefixes:expr, $what:expr) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                slack_id(s, $prefixes, $what).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slack_id_type!(SlackUserId, &['U', 'W'], "user");
slack_id_type!(SlackGroupId, &['S'], "user group");
slack_id_type!(ChannelId, &['C', 'G', 'D'], "channel");

/// Who caused an audit event: a person in Slack, the bot itself, or an operator on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    User(SlackUserId),
    Bot,
    /// The AWS identity that ran the CLI.
    Cli(String),
    /// A stored actor this version does not recognise (shown as text, never as a mention).
    Unknown(String),
}

const BOT_ACTOR: &str = "revoke-role-bot";
const CLI_PREFIX: &str = "cli:";

impl Actor {
    /// The stored form: the user id as is (the `by_actor` index looks people up by it).
    pub fn as_stored(&self) -> String {
        match self {
            Actor::User(u) => u.as_str().to_string(),
            Actor::Bot => BOT_ACTOR.to_string(),
            Actor::Cli(who) => format!("{CLI_PREFIX}{who}"),
            Actor::Unknown(s) => s.clone(),
        }
    }

    pub fn from_stored(s: &str) -> Actor {
        if s == BOT_ACTOR {
            return Actor::Bot;
        }
        if let Some(who) = s.strip_prefix(CLI_PREFIX) {
            return Actor::Cli(who.to_string());
        }
        match SlackUserId::parse(s) {
            Ok(u) => Actor::User(u),
            Err(_) => Actor::Unknown(s.to_string()),
        }
    }
}

impl From<SlackUserId> for Actor {
    fn from(u: SlackUserId) -> Self {
        Actor::User(u)
    }
}

/// An entry of the `requesters` / `approvers` lists: a person or a user group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    User(SlackUserId),
    Group(SlackGroupId),
}

impl Principal {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.starts_with('S') {
            SlackGroupId::parse(s).map(Principal::Group)
        } else {
            SlackUserId::parse(s).map(Principal::User).map_err(|_| {
                IdError(format!(
                    "`{s}` is neither a Slack user id (U…/W…) nor a user group id (S…)"
                ))
            })
        }
    }
}

/// Request ids are short, unguessable and safe to type: `rr-` and 8 characters with no look-alikes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

const ID_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const ID_LEN: usize = 8;

impl RequestId {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let tail: String = (0..ID_LEN)
            .map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char)
            .collect();
        RequestId(format!("rr-{tail}"))
    }

    pub fn parse(s: &str) -> Result<Self, IdError> {
        let lower = s.trim().to_ascii_lowercase();
        let tail = lower.strip_prefix("rr-").unwrap_or("");
        if tail.len() == ID_LEN && tail.bytes().all(|b| ID_ALPHABET.contains(&b)) {
            Ok(RequestId(lower))
        } else {
            Err(IdError(format!(
                "`{s}` is not a request id (they look like `rr-7f3k2q9x`)"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a word looks like an attempt at a request id (so the parser can say what is wrong).
    pub fn looks_like(s: &str) -> bool {
        s.to_ascii_lowercase().starts_with("rr-")
    }
}

impl TryFrom<String> for RequestId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<RequestId> for String {
    fn from(v: RequestId) -> String {
        v.0
    }
}
impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_accept_u_and_w_and_refuse_names() {
        assert!(SlackUserId::parse("U01ALICE").is_ok());
        assert!(SlackUserId::parse("W0123ABC").is_ok());
        assert!(SlackUserId::parse("alice").is_err());
        assert!(SlackUserId::parse("S01GROUP").is_err());
        assert!(SlackUserId::parse("U").is_err());
        assert!(SlackUserId::parse("U01alice").is_err());
    }

    #[test]
    fn principals_distinguish_users_and_groups() {
        assert_eq!(
            Principal::parse("S01ONCALL").unwrap(),
            Principal::Group(SlackGroupId::parse("S01ONCALL").unwrap())
        );
        assert!(matches!(
            Principal::parse("U01ALICE"),
            Ok(Principal::User(_))
        ));
        assert!(Principal::parse("@alice").is_err());
    }

    #[test]
    fn actors_round_trip_through_their_stored_form() {
        for a in [
            Actor::User(SlackUserId::parse("U01ALICE").unwrap()),
            Actor::Bot,
            Actor::Cli("arn:aws:iam::111111111111:user/ops".into()),
        ] {
            assert_eq!(Actor::from_stored(&a.as_stored()), a);
        }
        assert_eq!(
            Actor::from_stored("<!channel>"),
            Actor::Unknown("<!channel>".into())
        );
    }

    #[test]
    fn generated_request_ids_parse_back_and_differ() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert_eq!(RequestId::parse(a.as_str()).unwrap(), a);
        assert_eq!(a.as_str().len(), 11);
        assert!(!a.as_str().contains(['0', 'o', '1', 'l', 'i']));
    }

    #[test]
    fn request_id_parse_is_case_insensitive_and_strict() {
        assert_eq!(
            RequestId::parse("RR-7F3K2Q9X").unwrap().as_str(),
            "rr-7f3k2q9x"
        );
        assert!(RequestId::parse("rr-7f3k2q9").is_err());
        assert!(RequestId::parse("rr-7f3k2q90").is_err()); // 0 is ambiguous
        assert!(RequestId::parse("7f3k2q9x").is_err());
    }
}
