//! Access keys as a person pastes them (README "Leaked access keys and IAM users"): the id, and
//! what IAM says about a key (its status, age and last use).
//!
//! An access key id is 20 characters: a 4-character prefix that says what kind of key it is
//! (`AKIA` a user's long-term key, `ASIA` a temporary key from STS), then 16 characters of
//! base32 (`A`–`Z`, `2`–`7`). The id is not a secret (the secret access key is); it is still
//! shown only as the bot read it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct AccessKeyError(pub String);

/// What kind of key an id names, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKeyKind {
    /// `AKIA…`: an IAM user's long-term key.
    LongTerm,
    /// `ASIA…`: temporary credentials from STS (a role session or a user's session token).
    Temporary,
}

const LEN: usize = 20;
const PREFIX_LEN: usize = 4;

/// A syntactically valid access key id, `AKIA…` or `ASIA…`. Once parsed, it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccessKeyId(String);

impl AccessKeyId {
    pub fn parse(s: &str) -> Result<Self, AccessKeyError> {
        // What a person pasted is shown back shortened: it may be anything, even a secret key.
        let shown: String = s.chars().take(24).collect();
        let prefix = s.get(..PREFIX_LEN).unwrap_or_default();
        if !matches!(prefix, "AKIA" | "ASIA") {
            return Err(AccessKeyError(format!(
                "`{shown}` is not an access key id (they start with AKIA or ASIA)"
            )));
        }
        if s.chars().count() != LEN {
            return Err(AccessKeyError(format!(
                "`{shown}` is not an access key id: it has {} characters, an access key id has {LEN}",
                s.chars().count()
            )));
        }
        if let Some(bad) = s[PREFIX_LEN..]
            .chars()
            .find(|c| !(c.is_ascii_uppercase() || ('2'..='7').contains(c)))
        {
            return Err(AccessKeyError(format!(
                "`{shown}` is not an access key id: `{bad}` is not allowed (capital letters and the digits 2–7 only)"
            )));
        }
        Ok(AccessKeyId(s.to_string()))
    }

    /// Whether a word is meant as an access key id, pasted whole or not quite (so the grammar
    /// can say what is wrong with it): `AKIA`/`ASIA`, then capitals and digits, 16 to 128 in all
    /// (IAM's own bounds for the parameter). No role or user name looks like that by accident.
    pub fn looks_like(s: &str) -> bool {
        (s.starts_with("AKIA") || s.starts_with("ASIA"))
            && (16..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }

    pub fn kind(&self) -> AccessKeyKind {
        if self.0.starts_with("AKIA") {
            AccessKeyKind::LongTerm
        } else {
            AccessKeyKind::Temporary
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccessKeyId {
    type Error = AccessKeyError;
    fn try_from(s: String) -> Result<Self, AccessKeyError> {
        Self::parse(&s)
    }
}
impl From<AccessKeyId> for String {
    fn from(v: AccessKeyId) -> String {
        v.0
    }
}
impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key's status: IAM knows exactly these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    /// IAM's spelling (`Active`, `Inactive`), as the API takes and returns it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }

    /// IAM's spelling; anything else is refused (an unknown status is never guessed at).
    pub fn parse(s: &str) -> Result<Self, AccessKeyError> {
        match s {
            "Active" => Ok(KeyStatus::Active),
            "Inactive" => Ok(KeyStatus::Inactive),
            other => Err(AccessKeyError(format!(
                "`{}` is not an access key status (Active or Inactive)",
                other.chars().take(24).collect::<String>()
            ))),
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key's last use, as `GetAccessKeyLastUsed` reports it. IAM answers `N/A` for the service and
/// region of a key never used; those are `None` here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUse {
    pub when: Option<DateTime<Utc>>,
    pub service: Option<String>,
    pub region: Option<String>,
}

impl LastUse {
    /// IAM's `N/A` (and an empty value) mean "never": no value.
    pub fn known(value: Option<&str>) -> Option<String> {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "N/A")
            .map(str::to_string)
    }

    pub fn never(&self) -> bool {
        self.when.is_none()
    }
}

/// One key of a user, as `ListAccessKeys` (and `GetAccessKeyLastUsed`) describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyFacts {
    pub id: AccessKeyId,
    pub status: KeyStatus,
    pub created: Option<DateTime<Utc>>,
    /// `None` when not read: `ListAccessKeys` does not say, `GetAccessKeyLastUsed` does.
    #[serde(default)]
    pub last_use: Option<LastUse>,
}

impl AccessKeyFacts {
    /// The key's age at `now`, when IAM said when it was made.
    pub fn age(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.created.map(|c| now - c)
    }
}

/// A key the bot changed, and what it was before (for the card, the thread and the audit trail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChange {
    pub id: AccessKeyId,
    pub before: KeyStatus,
    pub after: KeyStatus,
}

impl KeyChange {
    /// `AKIA… Active → Inactive`, for an audit event's detail.
    pub fn detail(&self) -> String {
        format!("{} {} → {}", self.id, self.before, self.after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LONG: &str = "AKIAIOSFODNN7EXAMPLE";

    #[test]
    fn long_term_and_temporary_ids_parse() {
        let k = AccessKeyId::parse(LONG).unwrap();
        assert_eq!(k.kind(), AccessKeyKind::LongTerm);
        assert_eq!(k.as_str(), LONG);
        let t = AccessKeyId::parse("ASIAY34FZKBOKMUTVV7A").unwrap();
        assert_eq!(t.kind(), AccessKeyKind::Temporary);
    }

    #[test]
    fn malformed_ids_say_what_is_wrong() {
        for (bad, says) in [
            ("AKIAIOSFODNN7EXAMPL", "19 characters"),
            ("AKIAIOSFODNN7EXAMPLEX", "21 characters"),
            ("akiaiosfodnn7example", "start with AKIA or ASIA"),
            ("AKIAIOSFODNN7EXAMPLe", "`e` is not allowed"),
            ("AKIAIOSFODNN0EXAMPLE", "`0` is not allowed"),
            ("AKIAIOSFODNN8EXAMPLE", "`8` is not allowed"),
            ("AIDAIOSFODNN7EXAMPLE", "start with AKIA or ASIA"),
            ("AROAIOSFODNN7EXAMPLE", "start with AKIA or ASIA"),
            ("", "start with AKIA or ASIA"),
            ("AKIA", "4 characters"),
            ("AKIAIOSFODNN7EXAMPLÉ", "`É` is not allowed"),
        ] {
            let e = AccessKeyId::parse(bad).unwrap_err().0;
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn what_was_pasted_is_shown_back_shortened() {
        let secret = format!("AKIA{}", "x".repeat(100));
        let e = AccessKeyId::parse(&secret).unwrap_err().0;
        assert!(!e.contains(&"x".repeat(30)), "{e}");
    }

    #[test]
    fn looks_like_spots_attempts_at_a_key() {
        assert!(AccessKeyId::looks_like(LONG));
        assert!(AccessKeyId::looks_like("AKIAIOSFODNN7EXAMPL"));
        assert!(AccessKeyId::looks_like("ASIAIOSFODNN0EXAMPLE1"));
        assert!(!AccessKeyId::looks_like("akiaiosfodnn7example"));
        assert!(!AccessKeyId::looks_like("AKIAProcessorRoleForEtl"));
        assert!(!AccessKeyId::looks_like("app-deployer"));
        assert!(!AccessKeyId::looks_like("AKIA"));
        assert!(!AccessKeyId::looks_like("Akiñ"));
    }

    #[test]
    fn key_status_is_exactly_iams_two_values() {
        assert_eq!(KeyStatus::parse("Active").unwrap(), KeyStatus::Active);
        assert_eq!(KeyStatus::parse("Inactive").unwrap(), KeyStatus::Inactive);
        for bad in ["active", "INACTIVE", "Expired", ""] {
            assert!(KeyStatus::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_string(&KeyStatus::Inactive).unwrap(),
            r#""Inactive""#
        );
    }

    #[test]
    fn last_use_reads_na_as_never() {
        assert_eq!(LastUse::known(Some("N/A")), None);
        assert_eq!(LastUse::known(Some("")), None);
        assert_eq!(LastUse::known(None), None);
        assert_eq!(LastUse::known(Some("s3")), Some("s3".into()));
        assert!(LastUse::default().never());
    }

    #[test]
    fn a_key_change_names_the_key_and_both_statuses() {
        let c = KeyChange {
            id: AccessKeyId::parse(LONG).unwrap(),
            before: KeyStatus::Active,
            after: KeyStatus::Inactive,
        };
        assert_eq!(c.detail(), "AKIAIOSFODNN7EXAMPLE Active → Inactive");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"id":"AKIAIOSFODNN7EXAMPLE","before":"Active","after":"Inactive"}"#
        );
        assert_eq!(serde_json::from_str::<KeyChange>(&json).unwrap(), c);
    }

    #[test]
    fn a_stored_id_is_checked_when_read() {
        assert!(serde_json::from_str::<AccessKeyId>(r#""AKIA123""#).is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics_and_accepts_only_twenty_base32_characters(s in "\\PC{0,40}") {
            if let Ok(k) = AccessKeyId::parse(&s) {
                prop_assert_eq!(k.as_str().len(), 20);
                prop_assert!(k.as_str().starts_with("AKIA") || k.as_str().starts_with("ASIA"));
                prop_assert!(k.as_str().bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
            }
        }

        #[test]
        fn hostile_text_after_a_prefix_never_panics(p in "(AKIA|ASIA)", s in "\\PC{0,30}") {
            let _ = AccessKeyId::parse(&format!("{p}{s}"));
            let _ = AccessKeyId::looks_like(&format!("{p}{s}"));
        }

        #[test]
        fn valid_ids_round_trip(p in "(AKIA|ASIA)", s in "[A-Z2-7]{16}") {
            let id = format!("{p}{s}");
            let k = AccessKeyId::parse(&id).unwrap();
            prop_assert_eq!(k.to_string(), id.clone());
            let json = serde_json::to_string(&k).unwrap();
            prop_assert_eq!(serde_json::from_str::<AccessKeyId>(&json).unwrap(), k);
        }
    }
}
