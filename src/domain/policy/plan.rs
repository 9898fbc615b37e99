//! Deciding what to write: a cut-off never moves backwards, and no statement is dropped.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::document::{RevokeStatement, StatementEntry};
use super::read::Seen;
use super::{
    CURRENT_VERSION, Cutoff, ExistingPolicy, INLINE_POLICY_QUOTA, MergeOutcome,
    PERMISSION_SET_INLINE_POLICY_QUOTA, PolicyDocument, PolicyJson, PolicyJsonError, REVOKE_SID,
    merge,
};

/// Where the deny goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentShape {
    /// A role's `AWSRevokeOlderSessions` inline policy: the console's form, no `Sid`.
    RoleInlinePolicy,
    /// A permission set's inline policy: one statement with `Sid` `AWSRevokeOlderSessions` among
    /// whatever else the permission set grants or denies.
    PermissionSetInlinePolicy,
}

impl DocumentShape {
    fn sid(self) -> Option<&'static str> {
        match self {
            DocumentShape::RoleInlinePolicy => None,
            DocumentShape::PermissionSetInlinePolicy => Some(REVOKE_SID),
        }
    }

    /// The length limit for this document on its own (a role's limit is shared with its other inline
    /// policies; the caller adds those).
    pub fn quota(self) -> usize {
        match self {
            DocumentShape::RoleInlinePolicy => INLINE_POLICY_QUOTA,
            DocumentShape::PermissionSetInlinePolicy => PERMISSION_SET_INLINE_POLICY_QUOTA,
        }
    }
}

/// What to write and what will be in force afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    document: PolicyDocument,
    pub(super) json: PolicyJson,
    pub(super) cutoff: Cutoff,
    outcome: MergeOutcome,
    pub(super) version: Option<String>,
    pub(super) id: Option<Value>,
    pub(super) others: Vec<Value>,
}

impl Plan {
    /// The document in force after the plan. For [`MergeOutcome::AlreadyCovered`] it is the existing
    /// document, unchanged.
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// The exact text to send.
    pub fn json(&self) -> &PolicyJson {
        &self.json
    }

    pub fn json_len(&self) -> usize {
        self.json.json_len()
    }

    /// The cut-off in force afterwards: ours, or a later one that was already there.
    pub fn cutoff(&self) -> Cutoff {
        self.cutoff
    }

    pub fn outcome(&self) -> MergeOutcome {
        self.outcome
    }

    /// `false` when a cut-off at or after ours is already in force: the document stays as it is
    /// (re-writing it would only risk a concurrent writer's change).
    pub fn needs_write(&self) -> bool {
        self.outcome != MergeOutcome::AlreadyCovered
    }
}

/// Merge our cut-off into what is there. Every statement that is not the bot's deny is kept, in
/// order; the bot's deny (no `Sid`, or `Sid` `AWSRevokeOlderSessions`) is replaced in place of the
/// first one by a single deny at the later of the two cut-offs; a revoke deny under another `Sid` is
/// kept as it is.
pub fn plan(
    existing: &ExistingPolicy,
    ours: Cutoff,
    shape: DocumentShape,
) -> Result<Plan, PolicyJsonError> {
    let (cutoff, outcome) = merge(ours, existing.cutoff);
    let others = existing.others();
    let document = match outcome {
        MergeOutcome::AlreadyCovered => PolicyDocument {
            version: existing.version.clone(),
            id: existing.id.clone(),
            statement: existing
                .statements
                .iter()
                .map(|s| StatementEntry::Kept(s.value().clone()))
                .collect(),
        },
        MergeOutcome::Created | MergeOutcome::Extended => {
            let deny = RevokeStatement::new(cutoff, shape.sid());
            let mut statement = Vec::with_capacity(existing.statements.len() + 1);
            let mut placed = false;
            for s in &existing.statements {
                match s {
                    Seen::Ours(_) if !placed => {
                        statement.push(StatementEntry::Revoke(deny.clone()));
                        placed = true;
                    }
                    Seen::Ours(_) => {}
                    Seen::Other(v) => statement.push(StatementEntry::Kept(v.clone())),
                }
            }
            if !placed {
                statement.push(StatementEntry::Revoke(deny));
            }
            // Another statement may rely on the policy language version it was written for.
            let version = if others.is_empty() {
                Some(CURRENT_VERSION.to_string())
            } else {
                existing.version.clone()
            };
            PolicyDocument {
                version,
                id: existing.id.clone(),
                statement,
            }
        }
    };
    let json = document.to_json()?;
    Ok(Plan {
        version: document.version.clone(),
        id: document.id.clone(),
        document,
        json,
        cutoff,
        outcome,
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::test_support::*;

    #[test]
    fn nothing_there_creates_exactly_the_console_document() {
        let p = planned_over_nothing();
        assert_eq!(p.outcome(), MergeOutcome::Created);
        assert!(p.needs_write());
        assert_eq!(
            p.json(),
            &PolicyDocument::revoke_older_sessions(c(OURS))
                .to_json()
                .unwrap()
        );
        assert_eq!(p.json_len(), p.json().as_str().chars().count());
    }

    #[test]
    fn an_earlier_console_deny_is_replaced_by_exactly_the_console_document() {
        let console = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00.000Z"}}}}"#;
        let p = planned_over(console, OURS, DocumentShape::RoleInlinePolicy);
        assert_eq!(p.outcome(), MergeOutcome::Extended);
        assert_eq!(p.cutoff(), c(OURS));
        assert_eq!(
            p.document(),
            &PolicyDocument::revoke_older_sessions(c(OURS))
        );
    }

    #[test]
    fn the_old_reader_missed_the_list_form_and_the_new_one_does_not() {
        let list = deny_with(r#"["2099-01-01T00:00:00Z"]"#);
        let p = understood(&list);
        let planned = planned(&p, OURS, DocumentShape::RoleInlinePolicy);
        assert_eq!(planned.outcome(), MergeOutcome::AlreadyCovered);
        assert_eq!(planned.cutoff().to_string(), "2099-01-01T00:00:00Z");
        assert!(!planned.needs_write());
        assert!(planned.json().contains("2099-01-01T00:00:00Z"));
    }

    #[test]
    fn a_fractional_existing_cutoff_is_extended_by_our_next_whole_second() {
        // Existing 12:00:00.5; ours 12:00:00 is *earlier* than it, so it is covered...
        let p = understood(&deny_with(r#""2026-01-01T12:00:00.500Z""#));
        let early = planned(&p, "2026-01-01T12:00:00Z", DocumentShape::RoleInlinePolicy);
        assert_eq!(early.outcome(), MergeOutcome::AlreadyCovered);
        // ...and ours 12:00:01 is later than 12:00:00.5: written.
        let late = planned(&p, "2026-01-01T12:00:01Z", DocumentShape::RoleInlinePolicy);
        assert_eq!(late.outcome(), MergeOutcome::Extended);
        assert!(late.json().contains("2026-01-01T12:00:01Z"));
    }

    #[test]
    fn a_later_cutoff_is_kept_and_the_document_left_as_it_is() {
        let doc = deny_with(r#""2099-01-01T00:00:00.750Z""#);
        let p = planned_over(&doc, OURS, DocumentShape::RoleInlinePolicy);
        assert_eq!(p.outcome(), MergeOutcome::AlreadyCovered);
        assert!(!p.needs_write());
        assert_eq!(p.cutoff().to_string(), "2099-01-01T00:00:00Z");
        let written: Value = serde_json::from_str(p.json()).unwrap();
        let original: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(written, original, "not even the milliseconds are rewritten");
    }

    #[test]
    fn the_same_cutoff_is_already_covered() {
        let doc = deny_with(r#""2026-11-23T12:00:00Z""#);
        let p = planned_over(&doc, OURS, DocumentShape::RoleInlinePolicy);
        assert_eq!(p.outcome(), MergeOutcome::AlreadyCovered);
    }

    #[test]
    fn a_role_document_with_an_extra_allow_keeps_it_in_order() {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{ALLOW_S3},{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}}}}}]}}"#
        );
        let p = planned_over(&doc, OURS, DocumentShape::RoleInlinePolicy);
        assert_eq!(p.outcome(), MergeOutcome::Extended);
        let statements = statements_of(&p);
        assert_eq!(statements.len(), 2);
        assert_eq!(
            statements[0],
            serde_json::from_str::<Value>(ALLOW_S3).unwrap()
        );
        assert_eq!(
            statements[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            OURS
        );
        assert!(
            statements[1].get("Sid").is_none(),
            "a role's deny has the console's form"
        );
    }

    #[test]
    fn a_permission_set_policy_gets_one_sid_statement_after_the_others() {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{ALLOW_S3}]}}"#);
        let p = planned_over(&doc, OURS, DocumentShape::PermissionSetInlinePolicy);
        assert_eq!(p.outcome(), MergeOutcome::Created);
        let v: Value = serde_json::from_str(p.json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    serde_json::from_str::<Value>(ALLOW_S3).unwrap(),
                    {"Sid": "AWSRevokeOlderSessions", "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
                     "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-11-23T12:00:00Z"}}}
                ]
            })
        );
        assert!(p.json_len() <= DocumentShape::PermissionSetInlinePolicy.quota());
    }

    #[test]
    fn a_permission_set_deny_is_moved_forward_in_place_and_duplicates_merged() {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Sid":"AWSRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}}}}},
                {ALLOW_S3},
                {{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{{"DateLessThan":{{"aws:tokenissuetime":["2026-02-01"]}}}}}}
            ]}}"#
        );
        let existing = understood(&doc);
        assert_eq!(
            existing.cutoff().map(|c| c.to_string()).as_deref(),
            Some("2026-02-01T00:00:00Z")
        );
        let p = planned(&existing, OURS, DocumentShape::PermissionSetInlinePolicy);
        assert_eq!(p.outcome(), MergeOutcome::Extended);
        let statements = statements_of(&p);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[0]["Sid"], "AWSRevokeOlderSessions");
        assert_eq!(
            statements[0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            OURS
        );
        assert_eq!(statements[1]["Sid"], "ReadLogs");
    }

    #[test]
    fn the_version_of_kept_statements_is_kept() {
        let doc = format!(r#"{{"Version":"2008-10-17","Statement":[{ALLOW_S3}]}}"#);
        let p = planned_over(&doc, OURS, DocumentShape::PermissionSetInlinePolicy);
        assert!(
            p.json().starts_with(r#"{"Version":"2008-10-17""#),
            "{}",
            p.json()
        );
        let no_version = format!(r#"{{"Statement":[{ALLOW_S3}]}}"#);
        let p = planned_over(&no_version, OURS, DocumentShape::PermissionSetInlinePolicy);
        assert!(!p.json().contains("Version"), "{}", p.json());
    }
}
