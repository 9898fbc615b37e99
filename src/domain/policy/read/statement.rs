//! One statement: nothing to do with session cut-offs, a revoke-older-sessions deny, or a use of
//! `aws:TokenIssueTime` the bot does not read.

use serde_json::{Map, Value};

use super::StatementProblem;
use super::time::policy_time;
use crate::domain::policy::strict_json::{short, short_value};
use crate::domain::policy::{Cutoff, REVOKE_SID, TOKEN_ISSUE_TIME};

pub(super) struct FoundDeny {
    pub(super) cutoff: Cutoff,
    /// No `Sid`, or ours: the bot moves it forward. Any other `Sid` is someone else's and is kept.
    pub(super) ours: bool,
}

/// `Ok(None)`: the statement has nothing to do with session cut-offs. `Ok(Some)`: a
/// revoke-older-sessions deny. `Err`: it uses `aws:TokenIssueTime` in a way the bot does not read.
pub(super) fn classify(m: &Map<String, Value>) -> Result<Option<FoundDeny>, StatementProblem> {
    let sid = match m.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => return Err(StatementProblem::BadSid(short_value(other))),
    };
    let our_sid = sid == Some(REVOKE_SID);
    if !mentions_token_issue_time_in_map(m) {
        return if our_sid {
            Err(StatementProblem::OurSidOnOtherStatement)
        } else {
            Ok(None)
        };
    }
    match m.get("Effect") {
        Some(Value::String(e)) if e == "Deny" => {}
        Some(other) => return Err(StatementProblem::NotADeny(Some(short_value(other)))),
        None => return Err(StatementProblem::NotADeny(None)),
    }
    if let Some(k) = m.keys().find(|k| {
        !matches!(
            k.as_str(),
            "Sid" | "Effect" | "Action" | "Resource" | "Condition"
        )
    }) {
        return Err(StatementProblem::ExtraElement(short(k)));
    }
    let action = m.get("Action");
    if !action.is_some_and(is_every) {
        return Err(StatementProblem::NotEveryAction(
            action.map_or_else(|| "(none)".into(), short_value),
        ));
    }
    let resource = m.get("Resource");
    if !resource.is_some_and(is_every) {
        return Err(StatementProblem::NotEveryResource(
            resource.map_or_else(|| "(none)".into(), short_value),
        ));
    }
    let Some(Value::Object(condition)) = m.get("Condition") else {
        return Err(StatementProblem::MalformedCondition);
    };
    // Which operators hold the key? Only exactly `DateLessThan` is read.
    for (op, keys) in condition {
        let Value::Object(keys) = keys else {
            return Err(StatementProblem::MalformedCondition);
        };
        if op != "DateLessThan" && keys.keys().any(|k| is_token_issue_time(k)) {
            return Err(StatementProblem::OtherOperator(short(op)));
        }
    }
    let Some(Value::Object(date_less_than)) = condition.get("DateLessThan") else {
        return Err(StatementProblem::TokenIssueTimeElsewhere);
    };
    let mut tit = date_less_than
        .iter()
        .filter(|(k, _)| is_token_issue_time(k));
    let Some((_, values)) = tit.next() else {
        return Err(StatementProblem::TokenIssueTimeElsewhere);
    };
    if tit.next().is_some() {
        return Err(StatementProblem::KeyTwice);
    }
    let mut others: Vec<String> = condition
        .keys()
        .filter(|op| op.as_str() != "DateLessThan")
        .map(|op| format!("{:?}", short(op)))
        .collect();
    others.extend(
        date_less_than
            .keys()
            .filter(|k| !is_token_issue_time(k))
            .map(|k| format!("{:?}", short(k))),
    );
    if !others.is_empty() {
        others.truncate(5);
        return Err(StatementProblem::OtherConditions(others.join(", ")));
    }
    // Several values are ORed: the deny covers sessions issued before the latest of them.
    let values: Vec<&Value> = match values {
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let mut latest: Option<Cutoff> = None;
    for v in values {
        let t = policy_time(v).map_err(|problem| StatementProblem::BadTime {
            value: short_value(v),
            problem,
        })?;
        latest = latest.max(Some(t));
    }
    let cutoff = latest.ok_or(StatementProblem::NoValue)?;
    Ok(Some(FoundDeny {
        cutoff,
        ours: sid.is_none() || our_sid,
    }))
}

fn is_token_issue_time(k: &str) -> bool {
    k.eq_ignore_ascii_case(TOKEN_ISSUE_TIME)
}

fn mentions_token_issue_time_in_map(m: &Map<String, Value>) -> bool {
    m.iter()
        .any(|(k, v)| contains_token_issue_time(k) || mentions_token_issue_time(v))
}

fn mentions_token_issue_time(v: &Value) -> bool {
    match v {
        Value::String(s) => contains_token_issue_time(s),
        Value::Array(a) => a.iter().any(mentions_token_issue_time),
        Value::Object(m) => mentions_token_issue_time_in_map(m),
        _ => false,
    }
}

fn contains_token_issue_time(s: &str) -> bool {
    s.to_ascii_lowercase().contains("aws:tokenissuetime")
}

/// `"*"` or a non-empty list of only `"*"`.
fn is_every(v: &Value) -> bool {
    match v {
        Value::String(s) => s == "*",
        Value::Array(a) => !a.is_empty() && a.iter().all(|x| x.as_str() == Some("*")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::PolicyReadError;
    use crate::domain::policy::test_support::{
        cutoff_of, deny_with, not_understood, statement_problem,
    };

    #[test]
    fn a_cutoff_as_a_string_is_read() {
        assert_eq!(
            cutoff_of(&deny_with(r#""2026-02-02T02:02:02Z""#)).as_deref(),
            Some("2026-02-02T02:02:02Z")
        );
    }

    #[test]
    fn a_cutoff_as_a_list_is_read_and_the_latest_value_counts() {
        assert_eq!(
            cutoff_of(&deny_with(r#"["2099-01-01T00:00:00Z"]"#)).as_deref(),
            Some("2099-01-01T00:00:00Z")
        );
        // Values in one condition are ORed: sessions before the latest are denied.
        assert_eq!(
            cutoff_of(&deny_with(
                r#"["2026-01-01T00:00:00Z","2099-01-01T00:00:00Z","2027-01-01T00:00:00Z"]"#
            ))
            .as_deref(),
            Some("2099-01-01T00:00:00Z")
        );
    }

    #[test]
    fn the_condition_key_is_read_in_any_case() {
        let doc = deny_with(r#""2026-03-03T00:00:00Z""#)
            .replace("aws:TokenIssueTime", "AWS:tokenissuetime");
        assert_eq!(cutoff_of(&doc).as_deref(), Some("2026-03-03T00:00:00Z"));
    }

    #[test]
    fn a_deny_with_token_issue_time_among_other_conditions_is_not_understood() {
        let doc = r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
        let reason = not_understood(doc);
        assert!(matches!(
            &reason,
            PolicyReadError::Statement { index: 1, problem: StatementProblem::OtherConditions(o), .. } if o.contains("IpAddress")
        ));
        assert!(reason.to_string().starts_with("statement 1: "), "{reason}");
        let same_operator = r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00Z","aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}"#;
        assert!(matches!(
            statement_problem(same_operator),
            StatementProblem::OtherConditions(o) if o.contains("aws:CurrentTime")
        ));
    }

    #[test]
    fn other_operators_on_token_issue_time_are_not_understood() {
        for op in [
            "ForAnyValue:DateLessThan",
            "DateLessThanEquals",
            "DateLessThanIfExists",
            "datelessthan",
            "DateGreaterThan",
        ] {
            let doc = deny_with(r#""2099-01-01T00:00:00Z""#)
                .replace("\"DateLessThan\"", &format!("{op:?}"));
            assert_eq!(
                statement_problem(&doc),
                StatementProblem::OtherOperator(op.into()),
                "{op}"
            );
        }
    }

    #[test]
    fn a_partial_or_allowing_statement_with_token_issue_time_is_not_understood() {
        let base = deny_with(r#""2099-01-01T00:00:00Z""#);
        assert!(matches!(
            statement_problem(&base.replace(r#""Action":["*"]"#, r#""Action":["s3:*"]"#)),
            StatementProblem::NotEveryAction(_)
        ));
        assert!(matches!(
            statement_problem(&base.replace(r#""Action":["*"]"#, r#""NotAction":["iam:*"]"#)),
            StatementProblem::ExtraElement(k) if k == "NotAction"
        ));
        assert!(matches!(
            statement_problem(&base.replace(
                r#""Resource":["*"]"#,
                r#""Resource":["*","arn:aws:s3:::x"]"#
            )),
            StatementProblem::NotEveryResource(_)
        ));
        assert!(matches!(
            statement_problem(&base.replace("Deny", "Allow")),
            StatementProblem::NotADeny(Some(_))
        ));
        assert!(matches!(
            statement_problem(&base.replace("\"Deny\"", "\"deny\"")),
            StatementProblem::NotADeny(Some(_))
        ));
        // The key used as a policy variable somewhere else.
        let elsewhere = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:TokenIssueTime}"}]}"#;
        assert!(matches!(
            statement_problem(elsewhere),
            StatementProblem::NotADeny(_)
        ));
    }

    #[test]
    fn our_sid_on_a_statement_that_is_not_the_deny_is_not_understood() {
        let doc = r#"{"Statement":[{"Sid":"AWSRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            statement_problem(doc),
            StatementProblem::OurSidOnOtherStatement
        );
    }
}
