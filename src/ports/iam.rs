//! `Iam`: IAM and STS in each configured account, and the error type every AWS port uses.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BoxError, error_chain};
use crate::domain::access_key::{AccessKeyFacts, AccessKeyId, KeyStatus, LastUse};
use crate::domain::preview::{RolePreview, WhoCanComeBack};
use crate::domain::request::Failure;
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::domain::user::UserArn;

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

/// What `GetUser` says: the user as IAM stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The canonical ARN: partition, account, path and name as IAM has them.
    pub arn: UserArn,
    pub created: Option<DateTime<Utc>>,
    /// The console password's last use, when IAM knows it.
    pub password_last_used: Option<DateTime<Utc>>,
}

/// What `GetAccessKeyLastUsed` says about a key: whose it is (a user of the account the call is
/// made in) and when it was last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub user_name: String,
    pub last_use: LastUse,
}

fn no_users(action: &'static str) -> IamError {
    IamError::new(
        action,
        IamErrorKind::Other,
        "this IAM adapter does not manage IAM users",
    )
}

/// IAM (and STS) in each configured account, through that account's credentials.
///
/// The user and access-key calls (README "Leaked access keys and IAM users") refuse by default,
/// so that a wrapper that does not forward them fails closed.
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

    /// The account an access key belongs to (`sts:GetAccessKeyInfo`), asked through the
    /// credentials of the configured account `via` (any account may ask about any key).
    async fn access_key_account(
        &self,
        via: &AccountId,
        key: &AccessKeyId,
    ) -> Result<AccountId, IamError> {
        let _ = (via, key);
        Err(no_users("GetAccessKeyInfo"))
    }
    /// The user a key of `account` belongs to and its last use (`iam:GetAccessKeyLastUsed`). As
    /// AWS: a key of another account is `NoSuchEntity` (moto finds it anyway, so the service
    /// confirms the key in `list_access_keys` of that user).
    async fn access_key_last_used(
        &self,
        account: &AccountId,
        key: &AccessKeyId,
    ) -> Result<KeyOwner, IamError> {
        let _ = (account, key);
        Err(no_users("GetAccessKeyLastUsed"))
    }
    /// The user's access keys (`iam:ListAccessKeys`; at most two); `last_use` is not read.
    async fn list_access_keys(&self, user: &UserArn) -> Result<Vec<AccessKeyFacts>, IamError> {
        let _ = user;
        Err(no_users("ListAccessKeys"))
    }
    /// Make one of the user's keys `Active` or `Inactive` (`iam:UpdateAccessKey`).
    async fn set_access_key_status(
        &self,
        user: &UserArn,
        key: &AccessKeyId,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        let _ = (user, key, status);
        Err(no_users("UpdateAccessKey"))
    }
    /// The user as IAM stores it (`iam:GetUser`), found by name whatever path was given.
    async fn get_user(&self, user: &UserArn) -> Result<UserInfo, IamError> {
        let _ = user;
        Err(no_users("GetUser"))
    }
    /// Whether the user has a console password (`iam:GetLoginProfile`; `NoSuchEntity` is no).
    async fn has_login_profile(&self, user: &UserArn) -> Result<bool, IamError> {
        let _ = user;
        Err(no_users("GetLoginProfile"))
    }
    /// The serial numbers of the user's MFA devices (`iam:ListMFADevices`).
    async fn list_mfa_devices(&self, user: &UserArn) -> Result<Vec<String>, IamError> {
        let _ = user;
        Err(no_users("ListMFADevices"))
    }
    /// The user's `AWSRevokeOlderSessions` document as JSON text (`iam:GetUserPolicy`, decoded
    /// once), if there is one. As for roles, a missing user reads like a missing policy.
    async fn get_user_revoke_policy(&self, user: &UserArn) -> Result<Option<String>, IamError> {
        let _ = user;
        Err(no_users("GetUserPolicy"))
    }
    /// Write the user's `AWSRevokeOlderSessions` (`iam:PutUserPolicy`).
    async fn put_user_revoke_policy(
        &self,
        user: &UserArn,
        document_json: &str,
    ) -> Result<(), IamError> {
        let _ = (user, document_json);
        Err(no_users("PutUserPolicy"))
    }
    /// Remove the user's `AWSRevokeOlderSessions` (`iam:DeleteUserPolicy`; clean-up only).
    async fn delete_user_revoke_policy(&self, user: &UserArn) -> Result<(), IamError> {
        let _ = user;
        Err(no_users("DeleteUserPolicy"))
    }
}
