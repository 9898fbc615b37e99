//! IAM (and STS) in memory, with misconfigurable account credentials.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::access_key::{AccessKeyFacts, AccessKeyId, KeyStatus};
use crate::domain::policy::{
    IAM_POLICY_ENCODING, INLINE_POLICY_QUOTA, POLICY_NAME, PolicyEncoding,
};
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::domain::user::UserArn;
use crate::ports::{
    Iam, IamError, IamErrorKind, KeyOwner, RoleDetails, RoleInfo, RoleList, UserInfo,
};

mod users;

/// IAM in memory: roles by account and name, each with its canonical ARN and inline policies.
/// Accounts can be given credentials that answer for another account, as a misconfiguration would.
#[derive(Default)]
pub struct MemoryIam {
    inner: Mutex<IamInner>,
    /// IAM users and their access keys (README "Leaked access keys and IAM users").
    users: Mutex<users::MemoryUsers>,
}

#[derive(Default)]
struct IamInner {
    roles: HashMap<String, MemoryRole>,
    /// account → the account its credentials really belong to (when misconfigured).
    credentials: HashMap<AccountId, AccountId>,
}

#[derive(Clone, Default)]
struct MemoryRole {
    arn: Option<RoleArn>,
    max_session_duration: i32,
    inline: HashMap<String, String>,
    instance_profiles: Vec<String>,
    trust_policy: Option<String>,
}

impl MemoryRole {
    /// What the inline policies other than `AWSRevokeOlderSessions` take of the quota.
    fn others_chars(&self) -> usize {
        self.inline
            .iter()
            .filter(|(k, _)| *k != POLICY_NAME)
            .map(|(_, v)| policy_chars(v))
            .sum()
    }
}

/// What a policy takes of the inline-policy quota: IAM does not count whitespace.
fn policy_chars(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// A document as the IAM adapter hands it on: IAM returns it URL-encoded, and it is decoded as
/// the adapter decodes it (README, "Identity Center").
fn as_returned(document: &str) -> String {
    IAM_POLICY_ENCODING.decode(&PolicyEncoding::UrlEncoded.encode(document))
}

pub(super) fn iam_err(action: &'static str, kind: IamErrorKind, msg: String) -> IamError {
    IamError::new(action, kind, msg)
}

impl MemoryIam {
    fn lock(&self, action: &'static str) -> Result<std::sync::MutexGuard<'_, IamInner>, IamError> {
        self.inner
            .lock()
            .map_err(|_| iam_err(action, IamErrorKind::Other, "memory IAM poisoned".into()))
    }

    /// A role as IAM would hold it: `arn` is its canonical ARN (partition, account, path, name).
    pub fn add_role(&self, arn: &RoleArn, instance_profiles: &[&str]) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.roles.insert(
                key(arn.account(), arn.name()),
                MemoryRole {
                    arn: Some(arn.clone()),
                    max_session_duration: 3600,
                    inline: HashMap::new(),
                    instance_profiles: instance_profiles.iter().map(|s| s.to_string()).collect(),
                    trust_policy: None,
                },
            );
        }
    }

    /// Change the role's `MaxSessionDuration` (as `UpdateRole` does).
    pub fn set_max_session_duration(&self, arn: &RoleArn, secs: i32) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(r) = inner.roles.get_mut(&key(arn.account(), arn.name()))
        {
            r.max_session_duration = secs;
        }
    }

    pub fn set_trust_policy(&self, arn: &RoleArn, document: &str) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(r) = inner.roles.get_mut(&key(arn.account(), arn.name()))
        {
            r.trust_policy = Some(document.to_string());
        }
    }

    /// Put any inline policy on a role (as the console or infrastructure code would).
    pub fn put_inline(&self, arn: &RoleArn, name: &str, document: &str) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(r) = inner.roles.get_mut(&key(arn.account(), arn.name()))
        {
            r.inline.insert(name.to_string(), document.to_string());
        }
    }

    pub fn delete_inline(&self, arn: &RoleArn, name: &str) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(r) = inner.roles.get_mut(&key(arn.account(), arn.name()))
        {
            r.inline.remove(name);
        }
    }

    /// Make the credentials used for `account` answer as `actually` (a misconfigured account).
    pub fn misconfigure(&self, account: &AccountId, actually: &AccountId) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.credentials.insert(account.clone(), actually.clone());
        }
    }

    pub fn policy(&self, arn: &RoleArn) -> Option<String> {
        self.inner
            .lock()
            .ok()?
            .roles
            .get(&key(arn.account(), arn.name()))?
            .inline
            .get(POLICY_NAME)
            .cloned()
    }

    /// IAM addresses roles by name in the account the credentials belong to.
    fn role<'a>(
        inner: &'a IamInner,
        role: &RoleArn,
        action: &'static str,
    ) -> Result<&'a MemoryRole, IamError> {
        let account = inner
            .credentials
            .get(role.account())
            .unwrap_or(role.account());
        inner.roles.get(&key(account, role.name())).ok_or_else(|| {
            iam_err(
                action,
                IamErrorKind::NoSuchEntity,
                format!(
                    "NoSuchEntity: The role with name {} cannot be found.",
                    role.name()
                ),
            )
        })
    }
}

fn key(account: &AccountId, name: &str) -> String {
    format!("{account}/{name}")
}

#[async_trait]
impl Iam for MemoryIam {
    async fn list_roles(
        &self,
        account: &AccountId,
        query: &str,
        limit: usize,
    ) -> Result<RoleList, IamError> {
        let inner = self.lock("ListRoles")?;
        // As IAM: the roles of the account the credentials belong to.
        let actual = inner.credentials.get(account).unwrap_or(account);
        let query = query.to_lowercase();
        let in_account: Vec<RoleArn> = inner
            .roles
            .values()
            .filter_map(|r| r.arn.clone())
            .filter(|a| a.account() == actual)
            .collect();
        // As IAM: pages of at most 1,000 roles are read until `limit` matches; an empty account
        // still takes one call.
        let pages = u32::try_from(in_account.len().div_ceil(1_000).clamp(1, 10)).unwrap_or(10);
        let mut roles: Vec<RoleArn> = in_account
            .into_iter()
            .filter(|a| a.name().to_lowercase().contains(&query))
            .collect();
        roles.sort_by(|a, b| a.name().cmp(b.name()));
        let more = roles.len() > limit;
        roles.truncate(limit);
        Ok(RoleList { roles, more, pages })
    }

    async fn get_role(&self, role: &RoleArn) -> Result<RoleInfo, IamError> {
        let inner = self.lock("GetRole")?;
        let r = Self::role(&inner, role, "GetRole")?;
        Ok(RoleInfo {
            arn: r.arn.clone().unwrap_or_else(|| role.clone()),
            max_session_duration_secs: Some(r.max_session_duration),
            last_used_at: None,
            last_used_region: None,
            trust_policy: r.trust_policy.as_deref().map(as_returned),
        })
    }

    async fn role_details(&self, role: &RoleArn) -> Result<RoleDetails, IamError> {
        let inner = self.lock("ListRolePolicies")?;
        let r = Self::role(&inner, role, "ListRolePolicies")?;
        Ok(RoleDetails {
            instance_profiles: r.instance_profiles.clone(),
            inline_policy_chars_used: r.others_chars(),
            revoke_policy: r.inline.get(POLICY_NAME).map(|d| as_returned(d)),
        })
    }

    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError> {
        let inner = self.lock("GetRolePolicy")?;
        // As IAM: a missing role reads like a missing policy (both are `NoSuchEntity`).
        Ok(Self::role(&inner, role, "GetRolePolicy")
            .ok()
            .and_then(|r| r.inline.get(POLICY_NAME).map(|d| as_returned(d))))
    }

    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError> {
        let mut inner = self.lock("PutRolePolicy")?;
        let account = inner
            .credentials
            .get(role.account())
            .unwrap_or(role.account())
            .clone();
        let r = inner
            .roles
            .get_mut(&key(&account, role.name()))
            .ok_or_else(|| {
                iam_err(
                    "PutRolePolicy",
                    IamErrorKind::NoSuchEntity,
                    format!("NoSuchEntity: {}", role.name()),
                )
            })?;
        if r.others_chars() + policy_chars(document_json) > INLINE_POLICY_QUOTA {
            return Err(iam_err(
                "PutRolePolicy",
                IamErrorKind::LimitExceeded,
                "LimitExceeded: Maximum policy size of 10240 bytes exceeded".into(),
            ));
        }
        if document_json.trim().is_empty() {
            return Err(iam_err(
                "PutRolePolicy",
                IamErrorKind::Other,
                "MalformedPolicyDocument: empty".into(),
            ));
        }
        r.inline
            .insert(POLICY_NAME.to_string(), document_json.to_string());
        Ok(())
    }

    async fn delete_revoke_policy(&self, role: &RoleArn) -> Result<(), IamError> {
        let mut inner = self.lock("DeleteRolePolicy")?;
        let account = inner
            .credentials
            .get(role.account())
            .unwrap_or(role.account())
            .clone();
        let removed = inner
            .roles
            .get_mut(&key(&account, role.name()))
            .and_then(|r| r.inline.remove(POLICY_NAME));
        match removed {
            Some(_) => Ok(()),
            None => Err(iam_err(
                "DeleteRolePolicy",
                IamErrorKind::NoSuchEntity,
                format!("NoSuchEntity: The role policy with name {POLICY_NAME} cannot be found."),
            )),
        }
    }

    async fn credentials_account(&self, account: &AccountId) -> Result<AccountId, IamError> {
        let inner = self.lock("GetCallerIdentity")?;
        Ok(inner.credentials.get(account).unwrap_or(account).clone())
    }

    // IAM users and their keys: `users.rs`.
    async fn access_key_account(
        &self,
        via: &AccountId,
        key: &AccessKeyId,
    ) -> Result<AccountId, IamError> {
        let _ = via;
        users::account_of_key(key)
    }
    async fn access_key_last_used(
        &self,
        account: &AccountId,
        key: &AccessKeyId,
    ) -> Result<KeyOwner, IamError> {
        let account = self.credentials_account(account).await?;
        self.users("GetAccessKeyLastUsed")?.key_owner(&account, key)
    }
    async fn list_access_keys(&self, user: &UserArn) -> Result<Vec<AccessKeyFacts>, IamError> {
        let account = self.credentials_account(user.account()).await?;
        self.users("ListAccessKeys")?.list_keys(&account, user)
    }
    async fn set_access_key_status(
        &self,
        user: &UserArn,
        key: &AccessKeyId,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        let account = self.credentials_account(user.account()).await?;
        self.users("UpdateAccessKey")?
            .set_status(&account, user, key, status)
    }
    async fn get_user(&self, user: &UserArn) -> Result<UserInfo, IamError> {
        let account = self.credentials_account(user.account()).await?;
        self.users("GetUser")?.user_info(&account, user)
    }
    async fn has_login_profile(&self, user: &UserArn) -> Result<bool, IamError> {
        let account = self.credentials_account(user.account()).await?;
        Ok(self.users("GetLoginProfile")?.has_password(&account, user))
    }
    async fn list_mfa_devices(&self, user: &UserArn) -> Result<Vec<String>, IamError> {
        let account = self.credentials_account(user.account()).await?;
        self.users("ListMFADevices")?.mfa_devices(&account, user)
    }
    async fn get_user_revoke_policy(&self, user: &UserArn) -> Result<Option<String>, IamError> {
        let account = self.credentials_account(user.account()).await?;
        Ok(self
            .users("GetUserPolicy")?
            .inline(&account, user, POLICY_NAME))
    }
    async fn put_user_revoke_policy(
        &self,
        user: &UserArn,
        document_json: &str,
    ) -> Result<(), IamError> {
        let account = self.credentials_account(user.account()).await?;
        self.users("PutUserPolicy")?
            .put_inline(&account, user, POLICY_NAME, document_json)
    }
    async fn delete_user_revoke_policy(&self, user: &UserArn) -> Result<(), IamError> {
        let account = self.credentials_account(user.account()).await?;
        self.users("DeleteUserPolicy")?
            .delete_inline(&account, user, POLICY_NAME)
    }
}
