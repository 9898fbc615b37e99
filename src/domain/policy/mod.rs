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

mod cutoff;
mod document;
mod encoding;
mod merge;
mod plan;
mod read;
mod strict_json;
mod verify;

pub use cutoff::{Cutoff, CutoffError};
pub use document::{PolicyDocument, PolicyJson, PolicyJsonError};
pub use encoding::{IAM_POLICY_ENCODING, PERMISSION_SET_POLICY_ENCODING, PolicyEncoding};
pub use merge::{MergeOutcome, merge};
pub use plan::{DocumentShape, Plan, plan};
pub use read::{
    Existing, ExistingPolicy, PolicyReadError, StatementProblem, TimeProblem, read_existing,
};
pub(crate) use strict_json::{parse_strict_json, short};
pub use verify::{Verification, verify};

pub const POLICY_NAME: &str = "AWSRevokeOlderSessions";
/// The `Sid` of the bot's statement in a permission set's inline policy (README "Identity Center permission sets").
pub const REVOKE_SID: &str = "AWSRevokeOlderSessions";
/// IAM's limit on the summed size of a role's inline policies (characters, whitespace not counted).
pub const INLINE_POLICY_QUOTA: usize = 10_240;
/// `PutInlinePolicyToPermissionSet`'s limit on the inline policy's length.
pub const PERMISSION_SET_INLINE_POLICY_QUOTA: usize = 32_768;

const CURRENT_VERSION: &str = "2012-10-17";
const TOKEN_ISSUE_TIME: &str = "aws:TokenIssueTime";

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod test_support;
