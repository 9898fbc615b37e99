//! Reading what is there: every statement of an existing document, or the reason it cannot be
//! read. The statement-level rules live in [`statement`], the time forms in [`time`].

mod problem;
mod statement;
mod time;

use serde_json::Value;

pub use problem::{PolicyReadError, StatementProblem, TimeProblem};

use super::strict_json::{parse_strict_json, short, short_value};
use super::{CURRENT_VERSION, Cutoff};
use statement::classify;

/// What a role's `AWSRevokeOlderSessions` policy (or a permission set's inline policy) holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Existing {
    /// No such policy.
    Absent,
    /// Every statement was read; the bot may merge into it.
    Understood(ExistingPolicy),
    /// The bot cannot tell what this document does to sessions: it must not be overwritten. Show the
    /// reason and the document to a person.
    NotUnderstood {
        reason: PolicyReadError,
        document: String,
    },
}

impl Existing {
    /// The policy to merge into: empty when there is none, `None` when it must be left alone.
    pub fn into_policy(self) -> Option<ExistingPolicy> {
        match self {
            Existing::Absent => Some(ExistingPolicy::absent()),
            Existing::Understood(p) => Some(p),
            Existing::NotUnderstood { .. } => None,
        }
    }
}

/// A document the bot fully understood.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExistingPolicy {
    pub(super) version: Option<String>,
    pub(super) id: Option<Value>,
    pub(super) statements: Vec<Seen>,
    pub(super) cutoff: Option<Cutoff>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seen {
    /// A revoke-older-sessions deny that is the bot's to move forward: no `Sid`, or `Sid`
    /// `AWSRevokeOlderSessions`.
    Ours(Value),
    /// Anything else, kept as read. A revoke deny under another `Sid` is kept too (its cut-off still
    /// counts towards the one in force).
    Other(Value),
}

impl Seen {
    pub(super) fn value(&self) -> &Value {
        match self {
            Seen::Ours(v) | Seen::Other(v) => v,
        }
    }
}

impl ExistingPolicy {
    /// No policy at all.
    pub fn absent() -> Self {
        ExistingPolicy::default()
    }

    /// The cut-off in force: the latest in any revoke-older-sessions deny, rounded down to the second.
    pub fn cutoff(&self) -> Option<Cutoff> {
        self.cutoff
    }

    /// The statements that are not the bot's deny, in order, as read.
    pub fn other_statements(&self) -> impl Iterator<Item = &Value> {
        self.statements.iter().filter_map(|s| match s {
            Seen::Other(v) => Some(v),
            Seen::Ours(_) => None,
        })
    }

    /// How many statements the document has.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    pub(super) fn others(&self) -> Vec<Value> {
        self.other_statements().cloned().collect()
    }
}

/// Read an existing document (already URL-decoded). `None` means there is no such policy; so does
/// an empty text (how a permission set without an inline policy may answer), as it holds nothing to
/// keep.
pub fn read_existing(doc_json: Option<&str>) -> Existing {
    let Some(text) = doc_json.filter(|t| !t.trim().is_empty()) else {
        return Existing::Absent;
    };
    match parse_strict_json(text)
        .map_err(PolicyReadError::InvalidJson)
        .and_then(understand)
    {
        Ok(p) => Existing::Understood(p),
        Err(reason) => Existing::NotUnderstood {
            reason,
            document: text.to_string(),
        },
    }
}

pub(super) fn understand(v: Value) -> Result<ExistingPolicy, PolicyReadError> {
    let Value::Object(top) = v else {
        return Err(PolicyReadError::NotAnObject);
    };
    if let Some(k) = top
        .keys()
        .find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
    {
        return Err(PolicyReadError::UnknownElement(short(k)));
    }
    let version = match top.get("Version") {
        None => None,
        Some(Value::String(s)) if s == CURRENT_VERSION || s == "2008-10-17" => Some(s.clone()),
        Some(other) => return Err(PolicyReadError::UnsupportedVersion(short_value(other))),
    };
    let id = top.get("Id").cloned();
    let statements = match top.get("Statement") {
        None => return Err(PolicyReadError::NoStatement),
        Some(Value::Array(a)) => a.clone(),
        Some(obj @ Value::Object(_)) => vec![obj.clone()],
        Some(_) => return Err(PolicyReadError::StatementNotAList),
    };

    let mut seen = Vec::with_capacity(statements.len());
    let mut cutoff: Option<Cutoff> = None;
    for (i, s) in statements.into_iter().enumerate() {
        let fail = |sid: Option<String>, problem| PolicyReadError::Statement {
            index: i + 1,
            sid,
            problem,
        };
        let Value::Object(m) = &s else {
            return Err(fail(None, StatementProblem::NotAnObject));
        };
        let sid = m.get("Sid").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        match classify(m) {
            Ok(None) => seen.push(Seen::Other(s)),
            Ok(Some(found)) => {
                cutoff = cutoff.max(Some(found.cutoff));
                if found.ours {
                    seen.push(Seen::Ours(s));
                } else {
                    seen.push(Seen::Other(s));
                }
            }
            Err(problem) => return Err(fail(sid, problem)),
        }
    }
    Ok(ExistingPolicy {
        version,
        id,
        statements: seen,
        cutoff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::test_support::*;
    use crate::domain::policy::{DocumentShape, MergeOutcome, PolicyDocument};

    #[test]
    fn the_console_form_with_a_single_statement_object_and_strings_is_read() {
        let console = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00.000Z"}}}}"#;
        assert_eq!(cutoff_of(console).as_deref(), Some("2026-01-01T00:00:00Z"));
        let pretty = r#"{
          "Version": "2012-10-17",
          "Statement": {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2014-05-07T23:47:00Z"}}
          }
        }"#;
        assert_eq!(cutoff_of(pretty).as_deref(), Some("2014-05-07T23:47:00Z"));
    }

    #[test]
    fn our_own_document_reads_back_as_its_cutoff() {
        let ours = PolicyDocument::revoke_older_sessions(c("2026-02-02T02:02:02Z"))
            .to_json()
            .unwrap();
        assert_eq!(cutoff_of(&ours).as_deref(), Some("2026-02-02T02:02:02Z"));
        let p = understood(&ours);
        assert_eq!(p.statement_count(), 1);
        assert_eq!(p.other_statements().count(), 0);
    }

    #[test]
    fn a_document_without_a_deny_is_understood_with_no_cutoff() {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{ALLOW_S3}]}}"#);
        let p = understood(&doc);
        assert_eq!(p.cutoff(), None);
        assert_eq!(p.other_statements().count(), 1);
        assert_eq!(read_existing(None), Existing::Absent);
        assert_eq!(
            read_existing(None).into_policy(),
            Some(ExistingPolicy::absent())
        );
    }

    #[test]
    fn a_deny_under_another_sid_counts_but_stays_as_it_is() {
        let theirs = r#"{"Sid":"Incident42","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00Z"}}}"#;
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{theirs}]}}"#);
        let p = understood(&doc);
        assert_eq!(
            p.cutoff().map(|c| c.to_string()).as_deref(),
            Some("2099-01-01T00:00:00Z")
        );
        assert_eq!(p.other_statements().count(), 1, "someone else's statement");
        let planned = planned(
            &p,
            "2026-01-01T00:00:00Z",
            DocumentShape::PermissionSetInlinePolicy,
        );
        assert_eq!(planned.outcome(), MergeOutcome::AlreadyCovered);
    }

    #[test]
    fn non_json_and_odd_top_levels_are_not_understood() {
        assert!(matches!(
            not_understood("not json"),
            PolicyReadError::InvalidJson(_)
        ));
        assert_eq!(
            read_existing(Some(" \n")),
            Existing::Absent,
            "nothing to keep"
        );
        assert!(matches!(not_understood("[]"), PolicyReadError::NotAnObject));
        assert!(matches!(
            not_understood(r#"{"Version":"2012-10-17"}"#),
            PolicyReadError::NoStatement
        ));
        assert!(matches!(
            not_understood(r#"{"Statement":"x"}"#),
            PolicyReadError::StatementNotAList
        ));
        assert!(matches!(
            not_understood(r#"{"statement":[]}"#),
            PolicyReadError::UnknownElement(k) if k == "statement"
        ));
        assert!(matches!(
            not_understood(r#"{"Version":"2099-01-01","Statement":[]}"#),
            PolicyReadError::UnsupportedVersion(_)
        ));
        assert!(matches!(
            statement_problem(r#"{"Statement":["Deny"]}"#),
            StatementProblem::NotAnObject
        ));
    }

    #[test]
    fn a_key_given_twice_is_not_understood() {
        // serde_json alone would keep the second value and read 2026; IAM refuses such a document.
        let doc = r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00Z","aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}}}"#;
        let reason = not_understood(doc);
        assert!(matches!(reason, PolicyReadError::InvalidJson(_)));
        assert!(reason.to_string().contains("appears twice"), "{reason}");
        let cased = r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00Z","aws:tokenissuetime":"2026-01-01T00:00:00Z"}}}}"#;
        assert_eq!(statement_problem(cased), StatementProblem::KeyTwice);
    }

    #[test]
    fn reasons_read_as_sentences_and_quote_untrusted_text_escaped() {
        let doc = deny_with("\"2026-01-01T00:00:00\"")
            .replace(r#""Effect""#, r#""Sid":"Evil\u0007\nSid","Effect""#);
        let text = not_understood(&doc).to_string();
        assert_eq!(
            text,
            "statement 1 (Sid \"Evil\\u{7}\\nSid\"): its cut-off \"2026-01-01T00:00:00\" cannot be read as a time: it has a time of day but no time zone (Z or ±hh:mm)"
        );
        let long = format!(r#"{{"{}":1}}"#, "x".repeat(500));
        assert!(not_understood(&long).to_string().len() < 200);
    }
}
