//! Checking what IAM returns after the write against the plan.

use serde_json::Value;

use super::read::understand;
use super::{Cutoff, Plan, parse_strict_json};

/// What IAM returned after the write, compared with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// What was written is there: the same JSON, or the same other statements and a deny with the
    /// same cut-off in another form.
    Matches,
    /// The same other statements, and a later cut-off (a concurrent revocation): it covers ours.
    LaterCutoffInForce(Cutoff),
    /// The same other statements, but an earlier cut-off: a concurrent writer moved it back, or IAM
    /// has not caught up yet.
    EarlierCutoff(Cutoff),
    /// Something else: not JSON, not understood, other statements changed, or no deny at all.
    Different,
}

/// Compare the document read back (URL-decoded) with the plan, as parsed JSON: key order and
/// whitespace do not matter (moto re-sorts keys).
pub fn verify(written: &Plan, read_back_json: &str) -> Verification {
    let Ok(read) = parse_strict_json(read_back_json) else {
        return Verification::Different;
    };
    if serde_json::from_str::<Value>(written.json.as_str()).is_ok_and(|w| w == read) {
        return Verification::Matches;
    }
    let Ok(found) = understand(read) else {
        return Verification::Different;
    };
    if found.version != written.version
        || found.id != written.id
        || found.others() != written.others
    {
        return Verification::Different;
    }
    match found.cutoff {
        None => Verification::Different,
        Some(c) if c > written.cutoff => Verification::LaterCutoffInForce(c),
        Some(c) if c < written.cutoff => Verification::EarlierCutoff(c),
        Some(_) => Verification::Matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::DocumentShape;
    use crate::domain::policy::test_support::*;

    #[test]
    fn verification_ignores_key_order_but_not_content() {
        let p = planned_over_nothing();
        let reordered = r#"{"Statement":[{"Action":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:00Z"}},"Effect":"Deny","Resource":["*"]}],"Version":"2012-10-17"}"#;
        assert_eq!(verify(&p, reordered), Verification::Matches);
        assert_eq!(
            verify(&p, &reordered.replace("12:00:00", "11:00:00")),
            Verification::EarlierCutoff(c("2026-11-23T11:00:00Z"))
        );
        assert_eq!(
            verify(&p, &reordered.replace("2026-11-23T12", "2026-11-24T12")),
            Verification::LaterCutoffInForce(c("2026-11-24T12:00:00Z"))
        );
        assert_eq!(verify(&p, "{"), Verification::Different);
        assert_eq!(
            verify(&p, r#"{"Version":"2012-10-17","Statement":[]}"#),
            Verification::Different,
            "the deny is gone"
        );
    }

    #[test]
    fn verification_accepts_the_same_cutoff_in_the_console_form() {
        let p = planned_over_nothing();
        let console = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:00.000Z"}}}}"#;
        assert_eq!(verify(&p, console), Verification::Matches);
    }

    #[test]
    fn verification_notices_a_dropped_or_changed_other_statement() {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{ALLOW_S3}]}}"#);
        let p = planned_over(&doc, OURS, DocumentShape::PermissionSetInlinePolicy);
        assert_eq!(verify(&p, p.json()), Verification::Matches);
        let only_deny = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSRevokeOlderSessions","Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00Z"}}}]}"#;
        assert_eq!(verify(&p, only_deny), Verification::Different);
        let changed = p.json().replace("logs/*", "secrets/*");
        assert_eq!(verify(&p, &changed), Verification::Different);
    }
}
