//! The `AWSRevokeOlderSessions` inline policy: typed document, cut-off rule, and comparison.

use std::fmt;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const POLICY_NAME: &str = "AWSRevokeOlderSessions";
/// IAM's limit on the summed size of a role's inline policies.
pub const INLINE_POLICY_QUOTA: usize = 10_240;

/// The instant before which sessions are denied, whole seconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cutoff(DateTime<Utc>);

impl TryFrom<String> for Cutoff {
    type Error = CutoffError;
    fn try_from(s: String) -> Result<Self, CutoffError> {
        Cutoff::parse(&s)
    }
}
impl From<Cutoff> for String {
    fn from(c: Cutoff) -> String {
        c.to_string()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a cut-off time (expected e.g. 2026-11-23T12:00:00Z)")]
pub struct CutoffError(pub String);

impl Cutoff {
    /// The moment of application rounded up to the whole second (SPEC §4).
    pub fn at_or_after(now: DateTime<Utc>) -> Self {
        let floor = now.trunc_subsecs(0);
        if floor == now {
            Cutoff(floor)
        } else {
            Cutoff(floor + chrono::Duration::seconds(1))
        }
    }

    pub fn parse(s: &str) -> Result<Self, CutoffError> {
        let t = DateTime::parse_from_rfc3339(s.trim()).map_err(|_| CutoffError(s.into()))?;
        Ok(Cutoff::at_or_after(t.with_timezone(&Utc)))
    }

    pub fn from_unix(secs: i64) -> Option<Self> {
        Utc.timestamp_opt(secs, 0).single().map(Cutoff)
    }

    pub fn time(&self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for Cutoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Statement")]
    statement: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Statement {
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

impl PolicyDocument {
    /// The document AWS's console writes for "Revoke active sessions", with our cut-off.
    pub fn revoke_older_sessions(cutoff: Cutoff) -> Self {
        PolicyDocument {
            version: "2012-10-17".into(),
            statement: vec![Statement {
                effect: "Deny".into(),
                action: vec!["*".into()],
                resource: vec!["*".into()],
                condition: Condition {
                    date_less_than: TokenIssueTime {
                        token_issue_time: cutoff.to_string(),
                    },
                },
            }],
        }
    }

    /// Compact JSON, exactly what is sent to IAM.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.to_json().as_bytes()))
    }
}

/// The latest `aws:TokenIssueTime` cut-off in an existing document, in whatever shape it was written
/// (the console writes `"Action": "*"`, others write lists). `None` if there is none we recognise.
pub fn existing_cutoff(document_json: &str) -> Option<Cutoff> {
    let v: serde_json::Value = serde_json::from_str(document_json).ok()?;
    let statements = match &v["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        obj @ serde_json::Value::Object(_) => vec![obj.clone()],
        _ => return None,
    };
    statements
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .filter_map(|s| s["Condition"]["DateLessThan"]["aws:TokenIssueTime"].as_str())
        .filter_map(|t| Cutoff::parse(t).ok())
        .max()
}

/// What applying a revocation does to the role's existing cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeOutcome {
    /// No cut-off was there; ours is now.
    Created,
    /// An earlier cut-off was there; ours replaces it.
    Extended,
    /// A cut-off at or after ours was already there and stays: a cut-off never moves backwards.
    AlreadyCovered,
}

/// Decide the cut-off to write: the later of ours and the existing one.
pub fn merge(ours: Cutoff, existing: Option<Cutoff>) -> (Cutoff, MergeOutcome) {
    match existing {
        None => (ours, MergeOutcome::Created),
        Some(e) if e >= ours => (e, MergeOutcome::AlreadyCovered),
        Some(_) => (ours, MergeOutcome::Extended),
    }
}

/// Compare what IAM returned (already URL-decoded) with what we wrote, as parsed JSON.
pub fn same_document(written: &PolicyDocument, read_back_json: &str) -> bool {
    let Ok(read) = serde_json::from_str::<serde_json::Value>(read_back_json) else {
        return false;
    };
    serde_json::to_value(written).is_ok_and(|w| w == read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn cutoff_rounds_up_to_the_whole_second() {
        assert_eq!(
            Cutoff::at_or_after(t("2026-11-23T12:00:00.001Z")).to_string(),
            "2026-11-23T12:00:01Z"
        );
        assert_eq!(
            Cutoff::at_or_after(t("2026-11-23T12:00:00Z")).to_string(),
            "2026-11-23T12:00:00Z"
        );
        assert_eq!(
            Cutoff::at_or_after(t("2026-11-23T23:59:59.5Z")).to_string(),
            "2026-11-24T00:00:00Z"
        );
    }

    #[test]
    fn document_matches_the_aws_form_exactly() {
        let c = Cutoff::parse("2026-11-23T12:00:00Z").unwrap();
        let doc = PolicyDocument::revoke_older_sessions(c);
        assert_eq!(
            doc.to_json(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:00Z"}}}]}"#
        );
        assert_eq!(doc.sha256().len(), 64);
    }

    #[test]
    fn existing_cutoff_reads_console_and_list_forms() {
        let console = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00.000Z"}}}}"#;
        assert_eq!(
            existing_cutoff(console).unwrap().to_string(),
            "2026-01-01T00:00:00Z"
        );
        let ours =
            PolicyDocument::revoke_older_sessions(Cutoff::parse("2026-02-02T02:02:02Z").unwrap())
                .to_json();
        assert_eq!(
            existing_cutoff(&ours).unwrap().to_string(),
            "2026-02-02T02:02:02Z"
        );
        assert_eq!(existing_cutoff("not json"), None);
        assert_eq!(
            existing_cutoff(r#"{"Statement":[{"Effect":"Allow"}]}"#),
            None
        );
    }

    #[test]
    fn a_cutoff_never_moves_backwards() {
        let early = Cutoff::parse("2026-01-01T00:00:00Z").unwrap();
        let late = Cutoff::parse("2026-06-01T00:00:00Z").unwrap();
        assert_eq!(merge(late, None), (late, MergeOutcome::Created));
        assert_eq!(merge(late, Some(early)), (late, MergeOutcome::Extended));
        assert_eq!(
            merge(early, Some(late)),
            (late, MergeOutcome::AlreadyCovered)
        );
        assert_eq!(
            merge(late, Some(late)),
            (late, MergeOutcome::AlreadyCovered)
        );
    }

    #[test]
    fn comparison_ignores_key_order_but_not_content() {
        let doc =
            PolicyDocument::revoke_older_sessions(Cutoff::parse("2026-11-23T12:00:00Z").unwrap());
        let reordered = r#"{"Statement":[{"Action":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:00Z"}},"Effect":"Deny","Resource":["*"]}],"Version":"2012-10-17"}"#;
        assert!(same_document(&doc, reordered));
        assert!(!same_document(
            &doc,
            &reordered.replace("12:00:00", "11:00:00")
        ));
        assert!(!same_document(&doc, "{"));
    }
}
