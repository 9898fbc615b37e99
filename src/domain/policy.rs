//! The `AWSRevokeOlderSessions` deny: the typed document, reading what is already there, deciding
//! what to write (a cut-off never moves backwards, no statement is dropped), and checking what IAM
//! returns afterwards.
//!
//! Reading is strict on purpose. What AWS accepts for the deny is read in every form (statement
//! object or list, `Action`/`Resource` string or list, cut-off string, number or list, a date or a
//! date-time with or without fractional seconds and offset, the condition key in any case). A
//! statement that uses `aws:TokenIssueTime` in any other way is not guessed at: the whole document is
//! [`Existing::NotUnderstood`] and must not be overwritten.
//!
//! Case rules, from IAM's policy grammar and condition reference: element names (`Version`,
//! `Statement`, `Effect`, …), `Effect` values and condition operator names are case-sensitive (IAM
//! refuses `stringEquals` as an invalid condition type); condition key names are not
//! (`aws:tokenissuetime` is `aws:TokenIssueTime`). A deny written under `datelessthan` is therefore
//! not something IAM holds; if it ever is seen, it is reported as not understood rather than read.

use std::fmt;
use std::ops::Deref;

use chrono::{DateTime, NaiveDate, NaiveTime, SubsecRound, TimeZone, Utc};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const POLICY_NAME: &str = "AWSRevokeOlderSessions";
/// The `Sid` of the bot's statement in a permission set's inline policy (SPEC §10).
pub const REVOKE_SID: &str = "AWSRevokeOlderSessions";
/// IAM's limit on the summed size of a role's inline policies (characters, whitespace not counted).
pub const INLINE_POLICY_QUOTA: usize = 10_240;
/// `PutInlinePolicyToPermissionSet`'s limit on the inline policy's length.
pub const PERMISSION_SET_INLINE_POLICY_QUOTA: usize = 32_768;

const CURRENT_VERSION: &str = "2012-10-17";
const TOKEN_ISSUE_TIME: &str = "aws:TokenIssueTime";

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

    /// A cut-off a person typed (or the bot stored): rounded up to the whole second.
    pub fn parse(s: &str) -> Result<Self, CutoffError> {
        let t = DateTime::parse_from_rfc3339(s.trim()).map_err(|_| CutoffError(s.into()))?;
        Ok(Cutoff::at_or_after(t.with_timezone(&Utc)))
    }

    pub fn from_unix(secs: i64) -> Option<Self> {
        Utc.timestamp_opt(secs, 0).single().map(Cutoff)
    }

    /// A cut-off found in a document, rounded *down*: every session the rounded cut-off denies is
    /// denied by the real one, so "already covered" is never claimed for a cut-off that falls short
    /// of ours, and our whole-second cut-off that is later than the rounded one is later than the
    /// real one too.
    fn in_force(t: DateTime<Utc>) -> Self {
        Cutoff(t.trunc_subsecs(0))
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

// ---------------------------------------------------------------------------------------------
// The typed document
// ---------------------------------------------------------------------------------------------

/// A policy document the bot writes: its own deny statement, typed, and any other statement that was
/// already there, kept as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version", skip_serializing_if = "Option::is_none", default)]
    version: Option<String>,
    #[serde(rename = "Id", skip_serializing_if = "Option::is_none", default)]
    id: Option<Value>,
    #[serde(rename = "Statement")]
    statement: Vec<StatementEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum StatementEntry {
    Revoke(RevokeStatement),
    Kept(Value),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RevokeStatement {
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
    fn new(cutoff: Cutoff, sid: Option<&str>) -> Self {
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

// ---------------------------------------------------------------------------------------------
// Strict JSON: IAM refuses a key given twice in one element; serde_json would keep the last one
// silently, so a document with `"aws:TokenIssueTime"` twice could be read differently from IAM.
// ---------------------------------------------------------------------------------------------

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key {:?} appears twice in one object",
                    short(&key)
                )));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parse JSON, refusing a key that appears twice in one object (IAM's grammar forbids it).
pub(crate) fn parse_strict_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<StrictValue>(text)
        .map(|StrictValue(v)| v)
        .map_err(|e| e.to_string())
}

/// Untrusted text for an error message: at most 80 characters.
fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

fn short_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{:?}", short(s)),
        other => short(&other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading what is there
// ---------------------------------------------------------------------------------------------

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
    version: Option<String>,
    id: Option<Value>,
    statements: Vec<Seen>,
    cutoff: Option<Cutoff>,
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// A revoke-older-sessions deny that is the bot's to move forward: no `Sid`, or `Sid`
    /// `AWSRevokeOlderSessions`.
    Ours(Value),
    /// Anything else, kept as read. A revoke deny under another `Sid` is kept too (its cut-off still
    /// counts towards the one in force).
    Other(Value),
}

impl Seen {
    fn value(&self) -> &Value {
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

    fn others(&self) -> Vec<Value> {
        self.other_statements().cloned().collect()
    }
}

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

fn understand(v: Value) -> Result<ExistingPolicy, PolicyReadError> {
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

struct FoundDeny {
    cutoff: Cutoff,
    /// No `Sid`, or ours: the bot moves it forward. Any other `Sid` is someone else's and is kept.
    ours: bool,
}

/// `Ok(None)`: the statement has nothing to do with session cut-offs. `Ok(Some)`: a
/// revoke-older-sessions deny. `Err`: it uses `aws:TokenIssueTime` in a way the bot does not read.
fn classify(m: &Map<String, Value>) -> Result<Option<FoundDeny>, StatementProblem> {
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

/// A date condition value as IAM takes it: a W3C ISO 8601 date or date-time, or seconds since 1970
/// (as a string or a JSON number). Rounded down to the second (see [`Cutoff::in_force`]).
fn policy_time(v: &Value) -> Result<Cutoff, TimeProblem> {
    match v {
        Value::String(s) => {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                if s.len() == 4 {
                    return Err(TimeProblem::Ambiguous);
                }
                let secs: i64 = s.parse().map_err(|_| TimeProblem::OutOfRange)?;
                Cutoff::from_unix(secs).ok_or(TimeProblem::OutOfRange)
            } else {
                parse_w3c(s).map(Cutoff::in_force)
            }
        }
        Value::Number(n) => {
            let secs = n.as_i64().ok_or(TimeProblem::NotAStringOrNumber)?;
            if secs < 0 {
                return Err(TimeProblem::OutOfRange);
            }
            Cutoff::from_unix(secs).ok_or(TimeProblem::OutOfRange)
        }
        _ => Err(TimeProblem::NotAStringOrNumber),
    }
}

/// `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDThh:mm[:ss[.s…]]TZD` with `TZD` = `Z` or `±hh:mm`.
fn parse_w3c(s: &str) -> Result<DateTime<Utc>, TimeProblem> {
    let b = s.as_bytes();
    let digits = |from: usize, to: usize| -> Result<u32, TimeProblem> {
        let part = b.get(from..to).ok_or(TimeProblem::Malformed)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(TimeProblem::Malformed);
        }
        part.iter()
            .try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
            .ok_or(TimeProblem::Malformed)
    };
    let sep = |at: usize, c: u8| -> Result<(), TimeProblem> {
        if b.get(at) == Some(&c) {
            Ok(())
        } else {
            Err(TimeProblem::Malformed)
        }
    };
    // `YYYY-MM` alone is a valid W3C form, but too coarse to be a revocation anyone meant.
    if b.len() == 7 && digits(0, 4).is_ok() && sep(4, b'-').is_ok() && digits(5, 7).is_ok() {
        return Err(TimeProblem::TooCoarse);
    }
    let year = digits(0, 4)?;
    sep(4, b'-')?;
    let month = digits(5, 7)?;
    sep(7, b'-')?;
    let day = digits(8, 10)?;
    let year = i32::try_from(year).map_err(|_| TimeProblem::OutOfRange)?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(TimeProblem::Malformed)?;
    if b.len() == 10 {
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    sep(10, b'T')?;
    let hour = digits(11, 13)?;
    sep(13, b':')?;
    let minute = digits(14, 16)?;
    let mut at = 16;
    let mut second = 0;
    if b.get(at) == Some(&b':') {
        second = digits(at + 1, at + 3)?;
        at += 3;
        if b.get(at) == Some(&b'.') {
            let start = at + 1;
            at = start;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start {
                return Err(TimeProblem::Malformed);
            }
            // Fractions are dropped: the instant is rounded down to the second anyway, and offsets
            // are whole minutes, so dropping them before or after the offset gives the same second.
        }
    }
    let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or(TimeProblem::Malformed)?;
    let local = date.and_time(time);
    let offset_secs: i64 = match b.get(at) {
        None => return Err(TimeProblem::NoTimeZone),
        Some(b'Z') if b.len() == at + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == at + 6 => {
            let oh = digits(at + 1, at + 3)?;
            sep(at + 3, b':')?;
            let om = digits(at + 4, at + 6)?;
            if oh > 23 || om > 59 {
                return Err(TimeProblem::Malformed);
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'+' { secs } else { -secs }
        }
        Some(_) => return Err(TimeProblem::Malformed),
    };
    local
        .checked_sub_signed(chrono::Duration::seconds(offset_secs))
        .map(|t| t.and_utc())
        .ok_or(TimeProblem::OutOfRange)
}

// ---------------------------------------------------------------------------------------------
// Deciding what to write
// ---------------------------------------------------------------------------------------------

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
    json: PolicyJson,
    cutoff: Cutoff,
    outcome: MergeOutcome,
    version: Option<String>,
    id: Option<Value>,
    others: Vec<Value>,
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

// ---------------------------------------------------------------------------------------------
// Merging cut-offs
// ---------------------------------------------------------------------------------------------

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

/// Decide the cut-off to write: the later of ours and the existing one. [`plan`] uses it; callers
/// should use [`plan`].
pub fn merge(ours: Cutoff, existing: Option<Cutoff>) -> (Cutoff, MergeOutcome) {
    match existing {
        None => (ours, MergeOutcome::Created),
        Some(e) if e >= ours => (e, MergeOutcome::AlreadyCovered),
        Some(_) => (ours, MergeOutcome::Extended),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn c(s: &str) -> Cutoff {
        Cutoff::parse(s).unwrap()
    }

    fn understood(doc: &str) -> ExistingPolicy {
        match read_existing(Some(doc)) {
            Existing::Understood(p) => p,
            other => panic!("not understood: {other:?}\n{doc}"),
        }
    }

    fn not_understood(doc: &str) -> PolicyReadError {
        match read_existing(Some(doc)) {
            Existing::NotUnderstood { reason, document } => {
                assert_eq!(document, doc, "the document is shown as it was");
                reason
            }
            other => panic!("understood but should not be: {other:?}\n{doc}"),
        }
    }

    fn cutoff_of(doc: &str) -> Option<String> {
        understood(doc).cutoff().map(|c| c.to_string())
    }

    fn deny_with(condition_value: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{{"DateLessThan":{{"aws:TokenIssueTime":{condition_value}}}}}}}]}}"#
        )
    }

    const ALLOW_S3: &str = r#"{"Sid":"ReadLogs","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}"#;

    // ---- Cutoff and the typed document ----

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

    // ---- Reading every form AWS accepts ----

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
    fn the_old_reader_missed_the_list_form_and_the_new_one_does_not() {
        let list = deny_with(r#"["2099-01-01T00:00:00Z"]"#);
        let p = understood(&list);
        let planned = plan(
            &p,
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        assert_eq!(planned.outcome(), MergeOutcome::AlreadyCovered);
        assert_eq!(planned.cutoff().to_string(), "2099-01-01T00:00:00Z");
        assert!(!planned.needs_write());
        assert!(planned.json().contains("2099-01-01T00:00:00Z"));
    }

    #[test]
    fn a_date_alone_is_midnight_utc() {
        assert_eq!(
            cutoff_of(&deny_with(r#""2026-01-01""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn fractional_seconds_are_rounded_down() {
        // The console writes milliseconds. Rounding down: what we call the cut-off in force never
        // claims more than the document denies.
        assert_eq!(
            cutoff_of(&deny_with(r#""2024-10-10T09:43:48.085Z""#)).as_deref(),
            Some("2024-10-10T09:43:48Z")
        );
        assert_eq!(
            cutoff_of(&deny_with(r#""2024-10-10T09:43:48.999999999999Z""#)).as_deref(),
            Some("2024-10-10T09:43:48Z")
        );
    }

    #[test]
    fn a_fractional_existing_cutoff_is_extended_by_our_next_whole_second() {
        // Existing 12:00:00.5; ours 12:00:00 is *earlier* than it, so it is covered...
        let p = understood(&deny_with(r#""2026-01-01T12:00:00.500Z""#));
        let early = plan(
            &p,
            c("2026-01-01T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        assert_eq!(early.outcome(), MergeOutcome::AlreadyCovered);
        // ...and ours 12:00:01 is later than 12:00:00.5: written.
        let late = plan(
            &p,
            c("2026-01-01T12:00:01Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        assert_eq!(late.outcome(), MergeOutcome::Extended);
        assert!(late.json().contains("2026-01-01T12:00:01Z"));
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        assert_eq!(
            cutoff_of(&deny_with(r#""2026-01-01T02:30:00+02:30""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            cutoff_of(&deny_with(r#""2025-12-31T19:00:00.250-05:00""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            cutoff_of(&deny_with(r#""2026-01-01T12:00Z""#)).as_deref(),
            Some("2026-01-01T12:00:00Z"),
            "hours and minutes only"
        );
    }

    #[test]
    fn epoch_seconds_are_read_as_string_or_number() {
        assert_eq!(
            cutoff_of(&deny_with(r#""1767225600""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            cutoff_of(&deny_with("1767225600")).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn the_condition_key_is_read_in_any_case() {
        let doc = deny_with(r#""2026-03-03T00:00:00Z""#)
            .replace("aws:TokenIssueTime", "AWS:tokenissuetime");
        assert_eq!(cutoff_of(&doc).as_deref(), Some("2026-03-03T00:00:00Z"));
    }

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
        let planned = plan(
            &p,
            c("2026-01-01T00:00:00Z"),
            DocumentShape::PermissionSetInlinePolicy,
        )
        .unwrap();
        assert_eq!(planned.outcome(), MergeOutcome::AlreadyCovered);
    }

    // ---- What is not understood ----

    fn statement_problem(doc: &str) -> StatementProblem {
        match not_understood(doc) {
            PolicyReadError::Statement { problem, .. } => problem,
            other => panic!("expected a statement problem, got {other:?}"),
        }
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
    fn unreadable_times_are_not_understood() {
        for (value, problem) in [
            (r#""tomorrow""#, TimeProblem::Malformed),
            (r#""2026-13-01""#, TimeProblem::Malformed),
            (r#""2026-01-01T25:00:00Z""#, TimeProblem::Malformed),
            (r#""2026-01-01 00:00:00Z""#, TimeProblem::Malformed),
            (r#""2026-01-01T00:00:00""#, TimeProblem::NoTimeZone),
            (r#""2026-01-01T00:00:00.Z""#, TimeProblem::Malformed),
            (r#""2026-01-01T00:00:00+0200""#, TimeProblem::Malformed),
            (r#""2026""#, TimeProblem::Ambiguous),
            (r#""2026-01""#, TimeProblem::TooCoarse),
            ("true", TimeProblem::NotAStringOrNumber),
            ("1.5", TimeProblem::NotAStringOrNumber),
            ("-5", TimeProblem::OutOfRange),
            (r#""99999999999999999999999""#, TimeProblem::OutOfRange),
        ] {
            let doc = deny_with(value);
            match statement_problem(&doc) {
                StatementProblem::BadTime { problem: p, .. } => assert_eq!(p, problem, "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        assert_eq!(
            statement_problem(&deny_with("[]")),
            StatementProblem::NoValue
        );
        // One bad value in a list spoils the statement: the bot cannot tell the latest cut-off.
        assert!(matches!(
            statement_problem(&deny_with(r#"["2099-01-01T00:00:00Z","soon"]"#)),
            StatementProblem::BadTime { .. }
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

    // ---- Planning ----

    #[test]
    fn nothing_there_creates_exactly_the_console_document() {
        let p = plan(
            &ExistingPolicy::absent(),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        assert_eq!(p.outcome(), MergeOutcome::Created);
        assert!(p.needs_write());
        assert_eq!(
            p.json(),
            &PolicyDocument::revoke_older_sessions(c("2026-11-23T12:00:00Z"))
                .to_json()
                .unwrap()
        );
        assert_eq!(p.json_len(), p.json().as_str().chars().count());
    }

    #[test]
    fn an_earlier_console_deny_is_replaced_by_exactly_the_console_document() {
        let console = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00.000Z"}}}}"#;
        let p = plan(
            &understood(console),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        assert_eq!(p.outcome(), MergeOutcome::Extended);
        assert_eq!(p.cutoff(), c("2026-11-23T12:00:00Z"));
        assert_eq!(
            p.document(),
            &PolicyDocument::revoke_older_sessions(c("2026-11-23T12:00:00Z"))
        );
    }

    #[test]
    fn a_later_cutoff_is_kept_and_the_document_left_as_it_is() {
        let doc = deny_with(r#""2099-01-01T00:00:00.750Z""#);
        let p = plan(
            &understood(&doc),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
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
        let p = plan(
            &understood(&doc),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        assert_eq!(p.outcome(), MergeOutcome::AlreadyCovered);
    }

    #[test]
    fn a_role_document_with_an_extra_allow_keeps_it_in_order() {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{ALLOW_S3},{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}}}}}]}}"#
        );
        let p = plan(
            &understood(&doc),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        assert_eq!(p.outcome(), MergeOutcome::Extended);
        let v: Value = serde_json::from_str(p.json()).unwrap();
        let statements = v["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(
            statements[0],
            serde_json::from_str::<Value>(ALLOW_S3).unwrap()
        );
        assert_eq!(
            statements[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2026-11-23T12:00:00Z"
        );
        assert!(
            statements[1].get("Sid").is_none(),
            "a role's deny has the console's form"
        );
    }

    #[test]
    fn a_permission_set_policy_gets_one_sid_statement_after_the_others() {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{ALLOW_S3}]}}"#);
        let p = plan(
            &understood(&doc),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::PermissionSetInlinePolicy,
        )
        .unwrap();
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
        let p = plan(
            &existing,
            c("2026-11-23T12:00:00Z"),
            DocumentShape::PermissionSetInlinePolicy,
        )
        .unwrap();
        assert_eq!(p.outcome(), MergeOutcome::Extended);
        let v: Value = serde_json::from_str(p.json()).unwrap();
        let statements = v["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2, "{v}");
        assert_eq!(statements[0]["Sid"], "AWSRevokeOlderSessions");
        assert_eq!(
            statements[0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2026-11-23T12:00:00Z"
        );
        assert_eq!(statements[1]["Sid"], "ReadLogs");
    }

    #[test]
    fn the_version_of_kept_statements_is_kept() {
        let doc = format!(r#"{{"Version":"2008-10-17","Statement":[{ALLOW_S3}]}}"#);
        let p = plan(
            &understood(&doc),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::PermissionSetInlinePolicy,
        )
        .unwrap();
        assert!(
            p.json().starts_with(r#"{"Version":"2008-10-17""#),
            "{}",
            p.json()
        );
        let no_version = format!(r#"{{"Statement":[{ALLOW_S3}]}}"#);
        let p = plan(
            &understood(&no_version),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::PermissionSetInlinePolicy,
        )
        .unwrap();
        assert!(!p.json().contains("Version"), "{}", p.json());
    }

    // ---- Verifying ----

    #[test]
    fn verification_ignores_key_order_but_not_content() {
        let p = plan(
            &ExistingPolicy::absent(),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
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
        let p = plan(
            &ExistingPolicy::absent(),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::RoleInlinePolicy,
        )
        .unwrap();
        let console = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:00.000Z"}}}}"#;
        assert_eq!(verify(&p, console), Verification::Matches);
    }

    #[test]
    fn verification_notices_a_dropped_or_changed_other_statement() {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{ALLOW_S3}]}}"#);
        let p = plan(
            &understood(&doc),
            c("2026-11-23T12:00:00Z"),
            DocumentShape::PermissionSetInlinePolicy,
        )
        .unwrap();
        assert_eq!(verify(&p, p.json()), Verification::Matches);
        let only_deny = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSRevokeOlderSessions","Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00Z"}}}]}"#;
        assert_eq!(verify(&p, only_deny), Verification::Different);
        let changed = p.json().replace("logs/*", "secrets/*");
        assert_eq!(verify(&p, &changed), Verification::Different);
    }

    // ---- Superseded API still behaves ----

    #[test]
    fn a_cutoff_never_moves_backwards() {
        let early = c("2026-01-01T00:00:00Z");
        let late = c("2026-06-01T00:00:00Z");
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

    // ---- Properties ----

    /// Every way AWS lets the same cut-off be written, and how many whole seconds it is.
    fn time_forms() -> impl Strategy<Value = (Value, i64)> {
        // 2000-01-01 .. 2100-01-01, whole seconds.
        (
            946_684_800i64..4_102_444_800,
            0u8..6,
            0u32..1000,
            -14i32..=14,
        )
            .prop_map(|(secs, form, millis, offset_h)| {
                let at = Utc.timestamp_opt(secs, 0).single().unwrap();
                match form {
                    0 => (
                        Value::String(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                        secs,
                    ),
                    1 => (
                        Value::String(format!("{}.{millis:03}Z", at.format("%Y-%m-%dT%H:%M:%S"))),
                        secs,
                    ),
                    2 => {
                        let off = chrono::FixedOffset::east_opt(offset_h * 3600).unwrap();
                        (
                            Value::String(
                                at.with_timezone(&off)
                                    .format("%Y-%m-%dT%H:%M:%S%:z")
                                    .to_string(),
                            ),
                            secs,
                        )
                    }
                    3 => {
                        let day = at.date_naive();
                        (
                            Value::String(day.format("%Y-%m-%d").to_string()),
                            day.and_time(NaiveTime::MIN).and_utc().timestamp(),
                        )
                    }
                    4 => (Value::String(secs.to_string()), secs),
                    _ => (Value::from(secs), secs),
                }
            })
    }

    fn deny_statement() -> impl Strategy<Value = (Value, i64)> {
        (
            prop::collection::vec(time_forms(), 1..4),
            any::<bool>(),
            any::<bool>(),
            0u8..3,
            prop::sample::select(vec![
                "aws:TokenIssueTime",
                "aws:tokenissuetime",
                "AWS:TOKENISSUETIME",
            ]),
        )
            .prop_map(|(times, list, star_string, sid, key)| {
                let latest = times.iter().map(|(_, s)| *s).max().unwrap();
                let values = if list || times.len() > 1 {
                    Value::Array(times.into_iter().map(|(v, _)| v).collect())
                } else {
                    times.into_iter().next().unwrap().0
                };
                let star = if star_string {
                    Value::from("*")
                } else {
                    serde_json::json!(["*"])
                };
                let mut s = serde_json::json!({
                    "Effect": "Deny", "Action": star.clone(), "Resource": star,
                    "Condition": {"DateLessThan": {key: values}}
                });
                match sid {
                    0 => {}
                    1 => {
                        s["Sid"] = "AWSRevokeOlderSessions".into();
                    }
                    _ => {
                        s["Sid"] = "SomeoneElse".into();
                    }
                }
                (s, latest)
            })
    }

    fn other_statement() -> impl Strategy<Value = Value> {
        ("[a-z]{1,8}", any::<bool>()).prop_map(|(name, allow)| {
            serde_json::json!({
                "Sid": format!("S{name}"),
                "Effect": if allow { "Allow" } else { "Deny" },
                "Action": format!("s3:{name}"),
                "Resource": format!("arn:aws:s3:::{name}/*"),
            })
        })
    }

    fn existing_document() -> impl Strategy<Value = (String, Option<i64>, Vec<Value>)> {
        (
            prop::collection::vec(
                prop_oneof![
                    deny_statement().prop_map(|(s, t)| (s, Some(t))),
                    other_statement().prop_map(|s| (s, None)),
                ],
                0..5,
            ),
            any::<bool>(),
        )
            .prop_filter("Sids are unique in IAM", |(ss, _)| {
                let sids: Vec<&str> = ss.iter().filter_map(|(s, _)| s["Sid"].as_str()).collect();
                let mut dedup = sids.clone();
                dedup.sort_unstable();
                dedup.dedup();
                dedup.len() == sids.len()
            })
            .prop_map(|(statements, single_object)| {
                let latest = statements.iter().filter_map(|(_, t)| *t).max();
                let others: Vec<Value> = statements
                    .iter()
                    .filter(|(s, t)| {
                        t.is_none()
                            || s["Sid"]
                                .as_str()
                                .is_some_and(|sid| sid != "AWSRevokeOlderSessions")
                    })
                    .map(|(s, _)| s.clone())
                    .collect();
                let list: Vec<Value> = statements.into_iter().map(|(s, _)| s).collect();
                let statement = if single_object && list.len() == 1 {
                    list.into_iter().next().unwrap()
                } else {
                    Value::Array(list)
                };
                let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statement});
                (doc.to_string(), latest, others)
            })
    }

    proptest! {
        #[test]
        fn merging_never_yields_a_cutoff_earlier_than_any_in_the_input(
            (doc, latest, others) in existing_document(),
            ours_secs in 946_684_800i64..4_102_444_800,
            permission_set in any::<bool>(),
        ) {
            let shape = if permission_set { DocumentShape::PermissionSetInlinePolicy } else { DocumentShape::RoleInlinePolicy };
            let ours = Cutoff::from_unix(ours_secs).unwrap();
            let existing = understood(&doc);
            prop_assert_eq!(existing.cutoff().map(|c| c.time().timestamp()), latest);
            let p = plan(&existing, ours, shape).unwrap();
            prop_assert!(p.cutoff() >= ours);
            if let Some(l) = latest {
                prop_assert!(p.cutoff().time().timestamp() >= l);
            }
            // What would be written reads back as understood, with the same cut-off in force and the
            // other statements kept in order.
            let again = understood(p.json());
            prop_assert_eq!(again.cutoff(), Some(p.cutoff()));
            prop_assert_eq!(again.others(), others);
            prop_assert_eq!(verify(&p, p.json()), Verification::Matches);
            prop_assert_eq!(p.needs_write(), latest.is_none_or(|l| l < ours_secs));
        }

        #[test]
        fn reading_arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = read_existing(Some(&text));
        }

        #[test]
        fn reading_arbitrary_json_never_panics(v in arbitrary_json()) {
            let text = v.to_string();
            if let Existing::Understood(p) = read_existing(Some(&text)) {
                let ours = Cutoff::from_unix(1_767_225_600).unwrap();
                let planned = plan(&p, ours, DocumentShape::PermissionSetInlinePolicy).unwrap();
                prop_assert!(planned.cutoff() >= ours);
            }
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "*",
                "Deny",
                "Allow",
                "2026-01-01",
                "2099-01-01T00:00:00Z",
                "aws:TokenIssueTime",
                "DateLessThan",
                "AWSRevokeOlderSessions",
                "2012-10-17",
                "x"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "Version",
                        "Statement",
                        "Effect",
                        "Action",
                        "Resource",
                        "Condition",
                        "DateLessThan",
                        "aws:TokenIssueTime",
                        "aws:tokenissuetime",
                        "Sid",
                        "Id"
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
