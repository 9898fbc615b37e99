//! `Iam`: IAM and STS in each configured account, and the error type every AWS port uses.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BoxError, error_chain};
use crate::domain::preview::{RolePreview, WhoCanComeBack};
use crate::domain::request::Failure;
use crate::domain::role_arn::{AccountId, RoleArn};

/// What went wrong with an IAM or STS call, in kinds the service can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamErrorKind {
    NoSuchEntity,
    AccessDenied,
    LimitExceeded,
    Unmodifiable,
    Throttled,
    Timeout,
    /// The account's credentials are not confirmed (README "Resilience"): the call was not made.
    AccountNotConfirmed,
    Other,
}

/// Why a call for an account was not made: its credentials are not confirmed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("account {account} is not confirmed: {why}")]
pub struct AccountNotConfirmed {
    pub account: AccountId,
    /// The account the credentials belong to, when that is what is wrong.
    pub belongs_to: Option<AccountId>,
    pub why: String,
}

#[derive(Debug, thiserror::Error)]
#[error("iam:{action} failed ({kind:?})")]
pub struct IamError {
    pub action: &'static str,
    pub kind: IamErrorKind,
    #[source]
    pub source: BoxError,
}

impl IamError {
    pub fn new(action: &'static str, kind: IamErrorKind, source: impl Into<BoxError>) -> Self {
        IamError {
            action,
            kind,
            source: source.into(),
        }
    }

    /// What a responder is told (AWS's own text stays in the log and the audit record).
    pub fn failure(&self) -> Failure {
        let action = self.action.to_string();
        match self.kind {
            IamErrorKind::NoSuchEntity => Failure::RoleNotFound,
            IamErrorKind::AccessDenied => Failure::AccessDenied { action },
            IamErrorKind::LimitExceeded => Failure::NoInlinePolicySpace,
            IamErrorKind::Unmodifiable => Failure::Unmodifiable,
            IamErrorKind::Throttled => Failure::Throttled,
            IamErrorKind::Timeout => Failure::Timeout { action },
            IamErrorKind::AccountNotConfirmed => {
                match self.source.downcast_ref::<AccountNotConfirmed>() {
                    Some(n) => Failure::AccountNotConfirmed {
                        account: n.account.to_string(),
                        belongs_to: n.belongs_to.as_ref().map(ToString::to_string),
                    },
                    None => Failure::Aws { action },
                }
            }
            IamErrorKind::Other => Failure::Aws { action },
        }
    }

    /// The whole error, for the log and the audit event.
    pub fn full(&self) -> String {
        error_chain(self)
    }
}

/// What `GetRole` says: the role as IAM stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// The canonical ARN: partition, account, path and name as IAM has them.
    pub arn: RoleArn,
    pub max_session_duration_secs: Option<i32>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_region: Option<String>,
    /// The trust policy (URL-decoded JSON).
    pub trust_policy: Option<String>,
}

/// The rest of the impact preview: reads that only need the role's name, run concurrently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDetails {
    pub instance_profiles: Vec<String>,
    /// Characters used by inline policies other than `AWSRevokeOlderSessions`.
    pub inline_policy_chars_used: usize,
    /// The current `AWSRevokeOlderSessions` document, if any.
    pub revoke_policy: Option<String>,
}

impl RoleInfo {
    /// The impact preview; `configured` are the accounts this bot works in (a principal elsewhere
    /// is flagged: revoking here does not stop it).
    pub fn preview(&self, details: &RoleDetails, configured: &[AccountId]) -> RolePreview {
        RolePreview {
            path: self.arn.path().to_string(),
            max_session_duration_secs: self.max_session_duration_secs,
            last_used_at: self.last_used_at,
            last_used_region: self.last_used_region.clone(),
            instance_profiles: details.instance_profiles.clone(),
            existing_cutoff: crate::domain::policy::read_existing(details.revoke_policy.as_deref())
                .into_policy()
                .and_then(|p| p.cutoff()),
            inline_policy_chars_used: details.inline_policy_chars_used,
            who_can_come_back: self
                .trust_policy
                .as_deref()
                .map(|t| WhoCanComeBack::read(t, configured)),
        }
    }
}

/// Roles of one account, as `ListRoles` returns them (for the request form's type-ahead).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleList {
    pub roles: Vec<RoleArn>,
    /// More roles matched than were returned.
    pub more: bool,
    /// `ListRoles` calls (pages) it took, for `revoke_role_bot_list_roles_calls_total`.
    pub pages: u32,
}

/// The most roles the form lists at once (Slack shows at most 100 options).
pub const ROLE_LIST_MAX: usize = 100;

/// IAM (and STS) in each configured account, through that account's credentials.
#[async_trait]
pub trait Iam: Send + Sync {
    /// Roles of `account` whose name contains `query` (ignoring case), at most `limit`, read page
    /// by page with `iam:ListRoles`. Adapters that cannot list roles refuse.
    async fn list_roles(
        &self,
        account: &AccountId,
        query: &str,
        limit: usize,
    ) -> Result<RoleList, IamError> {
        let _ = (account, query, limit);
        Err(IamError::new(
            "ListRoles",
            IamErrorKind::Other,
            "this IAM adapter does not list roles",
        ))
    }
    async fn get_role(&self, role: &RoleArn) -> Result<RoleInfo, IamError>;
    async fn role_details(&self, role: &RoleArn) -> Result<RoleDetails, IamError>;
    /// The current `AWSRevokeOlderSessions` document as JSON text, if the role has one.
    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError>;
    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError>;
    /// Remove the `AWSRevokeOlderSessions` inline policy (clean-up after its window).
    async fn delete_revoke_policy(&self, role: &RoleArn) -> Result<(), IamError>;
    /// The account the credentials used for `account` really belong to (`sts:GetCallerIdentity`).
    async fn credentials_account(&self, account: &AccountId) -> Result<AccountId, IamError>;
}
