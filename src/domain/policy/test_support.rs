//! Test helpers: documents and readings shared by the policy module's tests, and a JSON strategy
//! for the "never panics" properties of every policy reader (this one and `trust`).

use proptest::prelude::*;
use serde_json::Value;

use super::{
    Cutoff, DocumentShape, Existing, ExistingPolicy, Plan, PolicyReadError, StatementProblem, plan,
    read_existing,
};

pub(super) const ALLOW_S3: &str = r#"{"Sid":"ReadLogs","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}"#;

pub(super) fn c(s: &str) -> Cutoff {
    Cutoff::parse(s).unwrap()
}

pub(super) fn understood(doc: &str) -> ExistingPolicy {
    match read_existing(Some(doc)) {
        Existing::Understood(p) => p,
        other => panic!("not understood: {other:?}\n{doc}"),
    }
}

pub(super) fn not_understood(doc: &str) -> PolicyReadError {
    match read_existing(Some(doc)) {
        Existing::NotUnderstood { reason, document } => {
            assert_eq!(document, doc, "the document is shown as it was");
            reason
        }
        other => panic!("understood but should not be: {other:?}\n{doc}"),
    }
}

pub(super) fn statement_problem(doc: &str) -> StatementProblem {
    match not_understood(doc) {
        PolicyReadError::Statement { problem, .. } => problem,
        other => panic!("expected a statement problem, got {other:?}"),
    }
}

pub(super) fn cutoff_of(doc: &str) -> Option<String> {
    understood(doc).cutoff().map(|c| c.to_string())
}

/// A role document with one console-form deny whose `aws:TokenIssueTime` value is the given JSON.
pub(super) fn deny_with(condition_value: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{{"DateLessThan":{{"aws:TokenIssueTime":{condition_value}}}}}}}]}}"#
    )
}

/// The cut-off most tests apply.
pub(super) const OURS: &str = "2026-11-23T12:00:00Z";

/// The plan for our cut-off `ours` (RFC 3339) over what is there.
pub(super) fn planned(existing: &ExistingPolicy, ours: &str, shape: DocumentShape) -> Plan {
    plan(existing, c(ours), shape).unwrap()
}

/// The plan for our cut-off `ours` (RFC 3339) over a document that must be understood.
pub(super) fn planned_over(doc: &str, ours: &str, shape: DocumentShape) -> Plan {
    planned(&understood(doc), ours, shape)
}

/// The plan for [`OURS`] as a role's policy where there is none yet.
pub(super) fn planned_over_nothing() -> Plan {
    planned(
        &ExistingPolicy::absent(),
        OURS,
        DocumentShape::RoleInlinePolicy,
    )
}

/// The statements of the document a plan would write.
pub(super) fn statements_of(p: &Plan) -> Vec<Value> {
    let v: Value = serde_json::from_str(p.json()).unwrap();
    match v["Statement"].clone() {
        Value::Array(statements) => statements,
        other => panic!("Statement is not a list: {other}"),
    }
}

/// Any JSON up to four levels deep, whose strings and object keys are drawn from the words a reader
/// looks for, so that the generated documents come near the shapes it reads.
pub(crate) fn arbitrary_json(
    strings: &'static [&'static str],
    keys: &'static [&'static str],
) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(strings).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(keys).prop_map(str::to_string),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
