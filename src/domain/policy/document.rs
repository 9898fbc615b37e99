//! The typed document the bot writes, and its rendered JSON.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{CURRENT_VERSION, Cutoff};

/// A policy document the bot writes: its own deny statement, typed, and any other statement that was
/// already there, kept as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version", skip_serializing_if = "Option::is_none", default)]
    pub(super) version: Option<String>,
    #[serde(rename = "Id", skip_serializing_if = "Option::is_none", default)]
    pub(super) id: Option<Value>,
    #[serde(rename = "Statement")]
    pub(super) statement: Vec<StatementEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum StatementEntry {
    Revoke(RevokeStatement),
    Kept(Value),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RevokeStatement {
    #[serde(rename = "Sid", skip_serializing_if = "Option::is_none", default)]
    sid: Option<String>,
    #[serde(rename = "Effect")]
    effect: String,
    #[serde(rename = "Action")]
    action: Vec<String>,
    #[serde(rename = "Resource")]
    resource: Vec<String>,
    #[serde(rename = "Condition")]
    condition: Condition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Condition {
    #[serde(rename = "DateLessThan")]
    date_less_than: TokenIssueTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TokenIssueTime {
    #[serde(rename = "aws:TokenIssueTime")]
    token_issue_time: String,
}

impl RevokeStatement {
    pub(super) fn new(cutoff: Cutoff, sid: Option<&str>) -> Self {
        RevokeStatement {
            sid: sid.map(str::to_string),
            effect: "Deny".into(),
            action: vec!["*".into()],
            resource: vec!["*".into()],
            condition: Condition {
                date_less_than: TokenIssueTime {
                    token_issue_time: cutoff.to_string(),
                },
            },
        }
    }
}

/// Rendering a document failed. Serializing strings and JSON values into memory cannot fail in
/// practice; the error exists so that a failure could never turn into an empty policy being sent.
#[derive(Debug, thiserror::Error)]
pub enum PolicyJsonError {
    #[error("the policy document could not be rendered as JSON")]
    Serialize(#[source] serde_json::Error),
    #[error("the policy document has no statement")]
    Empty,
}

impl PolicyDocument {
    /// The document AWS's console writes for "Revoke active sessions", with our cut-off.
    pub fn revoke_older_sessions(cutoff: Cutoff) -> Self {
        PolicyDocument {
            version: Some(CURRENT_VERSION.into()),
            id: None,
            statement: vec![StatementEntry::Revoke(RevokeStatement::new(cutoff, None))],
        }
    }

    /// Compact JSON, exactly what is sent to IAM. Never empty: a document without a statement is an
    /// error, not a policy.
    pub fn to_json(&self) -> Result<PolicyJson, PolicyJsonError> {
        if self.statement.is_empty() {
            return Err(PolicyJsonError::Empty);
        }
        serde_json::to_string(self)
            .map(PolicyJson)
            .map_err(PolicyJsonError::Serialize)
    }

    pub fn to_pretty_json(&self) -> Result<String, PolicyJsonError> {
        if self.statement.is_empty() {
            return Err(PolicyJsonError::Empty);
        }
        serde_json::to_string_pretty(self).map_err(PolicyJsonError::Serialize)
    }

    /// SHA-256 of [`Self::to_json`], hex.
    pub fn sha256(&self) -> Result<String, PolicyJsonError> {
        self.to_json().map(|j| j.sha256())
    }

    /// Length of [`Self::to_json`] in characters, for inline-policy quota checks.
    pub fn json_len(&self) -> Result<usize, PolicyJsonError> {
        self.to_json().map(|j| j.json_len())
    }
}

/// A rendered, non-empty policy document: the exact text to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyJson(String);

impl PolicyJson {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Characters, as IAM counts them for its quotas. IAM does not count whitespace; compact JSON has
    /// none outside strings, so this is never below IAM's figure.
    pub fn json_len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl Deref for PolicyJson {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<PolicyJson> for String {
    fn from(j: PolicyJson) -> String {
        j.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_matches_the_aws_form_exactly() {
        let c = Cutoff::parse("2026-11-23T12:00:00Z").unwrap();
        let doc = PolicyDocument::revoke_older_sessions(c);
        assert_eq!(
            doc.to_json().unwrap().as_str(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:00Z"}}}]}"#
        );
        assert_eq!(doc.sha256().unwrap().len(), 64);
        assert_eq!(doc.json_len().unwrap(), doc.to_json().unwrap().len());
        assert!(doc.to_pretty_json().unwrap().contains('\n'));
    }

    #[test]
    fn a_document_without_statements_is_never_rendered() {
        let empty = PolicyDocument {
            version: Some(CURRENT_VERSION.into()),
            id: None,
            statement: vec![],
        };
        assert!(matches!(empty.to_json(), Err(PolicyJsonError::Empty)));
        assert!(matches!(
            empty.to_pretty_json(),
            Err(PolicyJsonError::Empty)
        ));
        assert!(empty.sha256().is_err());
    }

    #[test]
    fn json_len_counts_characters_not_bytes() {
        let json = PolicyJson("{\"Sid\":\"é\"}".into());
        assert_eq!(json.json_len(), 11);
        assert_eq!(json.len(), 12, "the str it derefs to counts bytes");
    }
}
