//! Reading the trust policy's JSON: string lists, conditions and their operators, action patterns.

use serde_json::Value;

use super::entry::ConditionText;
use crate::domain::role_arn::glob_match;

/// `"x"` or `["x", "y"]`.
pub(super) fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(a) if !a.is_empty() => a.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

pub(super) fn conditions(v: &Value) -> Option<Vec<ConditionText>> {
    let Value::Object(ops) = v else {
        return None;
    };
    let mut out = Vec::new();
    for (op, keys) in ops {
        let Value::Object(keys) = keys else {
            return None;
        };
        for (key, values) in keys {
            out.push(ConditionText {
                operator: op.clone(),
                key: key.clone(),
                values: condition_values(values)?,
            });
        }
    }
    Some(out)
}

fn condition_values(v: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        _ => None,
    };
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    }
}

/// IAM action matching: case-insensitive, `*` any run, `?` any one character.
pub(super) fn action_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    glob_match(&p, &a, '*', Some('?'))
}

/// Strip `ForAnyValue:` and `…IfExists`: the operator that decides whether the condition narrows
/// who gets in. `ForAllValues:` is not narrowing (it holds when the key is absent).
fn base_operator(op: &str) -> Option<&str> {
    if op.starts_with("ForAllValues:") {
        return None;
    }
    let op = op.strip_prefix("ForAnyValue:").unwrap_or(op);
    Some(op.strip_suffix("IfExists").unwrap_or(op))
}

pub(super) fn is_positive(op: &str) -> bool {
    matches!(
        base_operator(op),
        Some("StringEquals" | "StringLike" | "StringEqualsIgnoreCase")
    )
}

pub(super) fn is_like(op: &str) -> bool {
    base_operator(op) == Some("StringLike")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_patterns_match_like_iam() {
        assert!(action_matches("*", "sts:AssumeRole"));
        assert!(action_matches("sts:Assume*", "sts:AssumeRoleWithSAML"));
        assert!(action_matches("sts:AssumeRol?", "sts:AssumeRole"));
        assert!(!action_matches("sts:AssumeRol?", "sts:AssumeRoleWithSAML"));
        assert!(!action_matches("sts:AssumeRole", "sts:AssumeRoleWithSAML"));
        assert!(action_matches("*:*Role*", "sts:AssumeRoleWithWebIdentity"));
        assert!(!action_matches("iam:*", "sts:AssumeRole"));
    }
}
