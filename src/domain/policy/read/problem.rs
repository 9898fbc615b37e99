//! Why a document was not understood, in sentences for a person.

use crate::domain::policy::strict_json::short;

/// Why a document was not understood. Texts are for a person; values quoted from the document are
/// shortened and shown with Rust's string escaping (control characters visible), and still need
/// escaping for wherever they are shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyReadError {
    #[error("the policy is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the policy is not a JSON object")]
    NotAnObject,
    #[error("the policy has an element {0:?}, which IAM policies do not have")]
    UnknownElement(String),
    #[error("the policy's Version is {0}, not \"2012-10-17\" or \"2008-10-17\"")]
    UnsupportedVersion(String),
    #[error("the policy has no Statement")]
    NoStatement,
    #[error("the policy's Statement is neither a statement nor a list of statements")]
    StatementNotAList,
    #[error("statement {index}{}: {problem}", sid_text(.sid))]
    Statement {
        /// 1-based.
        index: usize,
        sid: Option<String>,
        problem: StatementProblem,
    },
}

fn sid_text(sid: &Option<String>) -> String {
    sid.as_deref()
        .map_or_else(String::new, |s| format!(" (Sid {:?})", short(s)))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementProblem {
    #[error("it is not a JSON object")]
    NotAnObject,
    #[error(
        "it has the Sid \"AWSRevokeOlderSessions\" but is not a deny of every action before a \
         cut-off time"
    )]
    OurSidOnOtherStatement,
    #[error("it uses aws:TokenIssueTime but its Effect is {}, not \"Deny\"", .0.as_deref().unwrap_or("missing"))]
    NotADeny(Option<String>),
    #[error(
        "it uses aws:TokenIssueTime together with {0:?}; a revoke-older-sessions deny has only Sid, \
         Effect, Action, Resource and Condition"
    )]
    ExtraElement(String),
    #[error("its Sid is {0}, not a string")]
    BadSid(String),
    #[error("it uses aws:TokenIssueTime but denies the actions {0}, not every action (\"*\")")]
    NotEveryAction(String),
    #[error(
        "it uses aws:TokenIssueTime but denies on the resources {0}, not every resource (\"*\")"
    )]
    NotEveryResource(String),
    #[error(
        "it uses aws:TokenIssueTime under the condition operator {0:?}; the bot only reads \
         \"DateLessThan\""
    )]
    OtherOperator(String),
    #[error(
        "its aws:TokenIssueTime deny also depends on {0}, so its cut-off does not apply to every session"
    )]
    OtherConditions(String),
    #[error("it names aws:TokenIssueTime more than once (keys differing only in case)")]
    KeyTwice,
    #[error("it mentions aws:TokenIssueTime outside a DateLessThan condition on that key")]
    TokenIssueTimeElsewhere,
    #[error("its Condition is not a map of operators to keys and values")]
    MalformedCondition,
    #[error("its aws:TokenIssueTime condition has no value")]
    NoValue,
    #[error("its cut-off {value} cannot be read as a time: {problem}")]
    BadTime { value: String, problem: TimeProblem },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeProblem {
    #[error("it is neither a string nor a whole number")]
    NotAStringOrNumber,
    #[error(
        "four digits alone could be a year or seconds since 1970, and the bot does not guess which"
    )]
    Ambiguous,
    #[error("a year or month alone is not read; write at least a date (2026-01-01)")]
    TooCoarse,
    #[error("it has a time of day but no time zone (Z or ±hh:mm)")]
    NoTimeZone,
    #[error(
        "it is not an ISO 8601 date or date-time (e.g. 2026-01-01 or 2026-01-01T12:00:00Z) nor seconds since 1970"
    )]
    Malformed,
    #[error("it is outside the range of dates the bot handles")]
    OutOfRange,
}
