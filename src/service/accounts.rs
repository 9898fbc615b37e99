//! Each configured account's credentials, confirmed or not (README "Resilience"): one account that
//! cannot be reached, or whose credentials belong to another account, never stops the bot. The
//! bot starts, serves the other accounts, shows each account's state in `/readyz`, `/metrics` and
//! `check-config`, re-checks every `ACCOUNT_RECHECK_INTERVAL`, and refuses anything in an account
//! that is not confirmed: every IAM call goes through [`GatedIam`], which lets through only calls
//! for a confirmed account, so nothing is ever read from or written to a wrong account.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::access_key::{AccessKeyFacts, AccessKeyId, KeyStatus};
use crate::domain::user::UserArn;
use crate::ports::{KeyOwner, UserInfo};
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::App;
use crate::config::Account;
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::metrics::Metrics;
use crate::ports::{
    AccountNotConfirmed, Iam, IamError, IamErrorKind, RoleDetails, RoleInfo, RoleList, StoreError,
};

/// How often every account's credentials are checked again.
pub const ACCOUNT_RECHECK_INTERVAL: Duration = Duration::from_secs(60);

/// How long one account's check may take (an `AssumeRole` and a `GetCallerIdentity`).
pub const ACCOUNT_CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// What the bot knows about one account's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    /// Not checked yet: the first call for the account checks it.
    Unchecked,
    /// `sts:GetCallerIdentity` through the account's credentials names this account.
    Confirmed,
    /// No credentials for the account, or STS did not answer; `why` is AWS's error (for the log,
    /// `/readyz` and `check-config`, never for Slack).
    Unreachable { why: String },
    /// The credentials belong to `actual`: nothing is ever read or written with them.
    WrongAccount { actual: AccountId },
}

impl AccountState {
    /// The label value in `/metrics`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountState::Unchecked => "unchecked",
            AccountState::Confirmed => "confirmed",
            AccountState::Unreachable { .. } => "unreachable",
            AccountState::WrongAccount { .. } => "wrong_account",
        }
    }

    /// One line for `/readyz`, the log and `check-config`.
    pub fn describe(&self) -> String {
        match self {
            AccountState::Unchecked => "not checked yet".into(),
            AccountState::Confirmed => "confirmed".into(),
            AccountState::Unreachable { why } => format!("unreachable: {why}"),
            AccountState::WrongAccount { actual } => format!(
                "wrong account: the credentials belong to account {actual}; nothing is written there until `assume_role_arn` names a role in this account"
            ),
        }
    }
}

/// One account's last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStatus {
    pub account: Account,
    pub state: AccountState,
    /// When it was last checked (the application's clock); `None` before the first check.
    pub checked_at: Option<DateTime<Utc>>,
}

/// Every configured account's state, shared by the gate, `/readyz` and `/metrics`.
pub struct AccountStates {
    accounts: RwLock<BTreeMap<AccountId, AccountStatus>>,
    metrics: Arc<Metrics>,
}

impl AccountStates {
    pub fn new(accounts: &[Account], metrics: Arc<Metrics>) -> Self {
        for a in accounts {
            metrics.account_state(a.id.as_str(), AccountState::Unchecked.as_str());
        }
        AccountStates {
            metrics,
            accounts: RwLock::new(
                accounts
                    .iter()
                    .map(|a| {
                        (
                            a.id.clone(),
                            AccountStatus {
                                account: a.clone(),
                                state: AccountState::Unchecked,
                                checked_at: None,
                            },
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// The state of a configured account; `None` for an account that is not configured.
    pub fn state(&self, account: &AccountId) -> Option<AccountState> {
        let map = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        map.get(account).map(|s| s.state.clone())
    }

    /// Every account, in id order.
    pub fn all(&self) -> Vec<AccountStatus> {
        let map = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }

    fn set(&self, account: &AccountId, state: AccountState, at: DateTime<Utc>) {
        let mut map = self.accounts.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get_mut(account) {
            if s.state != state {
                match &state {
                    AccountState::Confirmed => {
                        info!(account = %s.account.label(), "account confirmed")
                    }
                    other => {
                        warn!(account = %s.account.label(), state = %other.describe(), "account not confirmed")
                    }
                }
            }
            self.metrics.account_state(account.as_str(), state.as_str());
            s.state = state;
            s.checked_at = Some(at);
        }
    }
}

/// Ask STS whose credentials the bot holds for `account`.
pub async fn check_account(iam: &dyn Iam, account: &AccountId) -> AccountState {
    match tokio::time::timeout(ACCOUNT_CHECK_TIMEOUT, iam.credentials_account(account)).await {
        Ok(Ok(actual)) if &actual == account => AccountState::Confirmed,
        Ok(Ok(actual)) => AccountState::WrongAccount { actual },
        Ok(Err(e)) => {
            tracing::debug!(%account, error = %e.full(), "account check failed");
            AccountState::Unreachable {
                why: shortened(&e.full()),
            }
        }
        Err(_) => AccountState::Unreachable {
            why: format!(
                "sts:GetCallerIdentity did not answer within {} s",
                ACCOUNT_CHECK_TIMEOUT.as_secs()
            ),
        },
    }
}

/// At most `WHY_MAX` characters of an error: the SDK's full chain ends in a debug dump that
/// `/readyz` does not need (the debug log has it whole).
fn shortened(why: &str) -> String {
    const WHY_MAX: usize = 300;
    match why.char_indices().nth(WHY_MAX) {
        Some((i, _)) => format!("{}…", &why[..i]),
        None => why.to_string(),
    }
}

/// The IAM port, letting through only calls for a confirmed account. An unchecked or unreachable
/// account is checked (again) on the call; a wrong one is refused until a re-check confirms it.
pub struct GatedIam {
    inner: Arc<dyn Iam>,
    states: Arc<AccountStates>,
    clock: Arc<dyn crate::clock::Clock>,
}

impl GatedIam {
    pub fn new(
        inner: Arc<dyn Iam>,
        states: Arc<AccountStates>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Self {
        GatedIam {
            inner,
            states,
            clock,
        }
    }

    /// Check `account` now and record the result.
    pub async fn check(&self, account: &AccountId) -> AccountState {
        let state = check_account(self.inner.as_ref(), account).await;
        self.states.set(account, state.clone(), self.clock.now());
        state
    }

    async fn admit(&self, account: &AccountId, action: &'static str) -> Result<(), IamError> {
        let state = match self.states.state(account) {
            // Not configured: the adapter itself refuses, naming the account.
            None => return Ok(()),
            // An unreachable account is asked again at once: the role may trust the bot by now,
            // or the last check met a passing STS failure. A wrong account waits for the
            // periodic check, since only a new configuration or role fixes it.
            Some(AccountState::Unchecked | AccountState::Unreachable { .. }) => {
                self.check(account).await
            }
            Some(state) => state,
        };
        let refusal = |belongs_to: Option<AccountId>, why: String| {
            Err(IamError::new(
                action,
                IamErrorKind::AccountNotConfirmed,
                AccountNotConfirmed {
                    account: account.clone(),
                    belongs_to,
                    why,
                },
            ))
        };
        match state {
            AccountState::Confirmed => Ok(()),
            AccountState::WrongAccount { actual } => {
                let why = AccountState::WrongAccount {
                    actual: actual.clone(),
                }
                .describe();
                refusal(Some(actual), why)
            }
            other => refusal(None, other.describe()),
        }
    }
}

#[async_trait]
impl Iam for GatedIam {
    async fn list_roles(
        &self,
        account: &AccountId,
        query: &str,
        limit: usize,
    ) -> Result<RoleList, IamError> {
        self.admit(account, "ListRoles").await?;
        self.inner.list_roles(account, query, limit).await
    }
    async fn get_role(&self, role: &RoleArn) -> Result<RoleInfo, IamError> {
        self.admit(role.account(), "GetRole").await?;
        self.inner.get_role(role).await
    }
    async fn role_details(&self, role: &RoleArn) -> Result<RoleDetails, IamError> {
        self.admit(role.account(), "ListRolePolicies").await?;
        self.inner.role_details(role).await
    }
    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError> {
        self.admit(role.account(), "GetRolePolicy").await?;
        self.inner.get_revoke_policy(role).await
    }
    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError> {
        self.admit(role.account(), "PutRolePolicy").await?;
        self.inner.put_revoke_policy(role, document_json).await
    }
    async fn delete_revoke_policy(&self, role: &RoleArn) -> Result<(), IamError> {
        self.admit(role.account(), "DeleteRolePolicy").await?;
        self.inner.delete_revoke_policy(role).await
    }
    /// The check itself is never gated.
    async fn credentials_account(&self, account: &AccountId) -> Result<AccountId, IamError> {
        self.inner.credentials_account(account).await
    }
    async fn access_key_account(
        &self,
        via: &AccountId,
        key: &AccessKeyId,
    ) -> Result<AccountId, IamError> {
        self.admit(via, "GetAccessKeyInfo").await?;
        self.inner.access_key_account(via, key).await
    }
    async fn access_key_last_used(
        &self,
        account: &AccountId,
        key: &AccessKeyId,
    ) -> Result<KeyOwner, IamError> {
        self.admit(account, "GetAccessKeyLastUsed").await?;
        self.inner.access_key_last_used(account, key).await
    }
    async fn list_access_keys(&self, user: &UserArn) -> Result<Vec<AccessKeyFacts>, IamError> {
        self.admit(user.account(), "ListAccessKeys").await?;
        self.inner.list_access_keys(user).await
    }
    async fn set_access_key_status(
        &self,
        user: &UserArn,
        key: &AccessKeyId,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.admit(user.account(), "UpdateAccessKey").await?;
        self.inner.set_access_key_status(user, key, status).await
    }
    async fn get_user(&self, user: &UserArn) -> Result<UserInfo, IamError> {
        self.admit(user.account(), "GetUser").await?;
        self.inner.get_user(user).await
    }
    async fn has_login_profile(&self, user: &UserArn) -> Result<bool, IamError> {
        self.admit(user.account(), "GetLoginProfile").await?;
        self.inner.has_login_profile(user).await
    }
    async fn list_mfa_devices(&self, user: &UserArn) -> Result<Vec<String>, IamError> {
        self.admit(user.account(), "ListMFADevices").await?;
        self.inner.list_mfa_devices(user).await
    }
    async fn get_user_revoke_policy(&self, user: &UserArn) -> Result<Option<String>, IamError> {
        self.admit(user.account(), "GetUserPolicy").await?;
        self.inner.get_user_revoke_policy(user).await
    }
    async fn put_user_revoke_policy(
        &self,
        user: &UserArn,
        document_json: &str,
    ) -> Result<(), IamError> {
        self.admit(user.account(), "PutUserPolicy").await?;
        self.inner.put_user_revoke_policy(user, document_json).await
    }
    async fn delete_user_revoke_policy(&self, user: &UserArn) -> Result<(), IamError> {
        self.admit(user.account(), "DeleteUserPolicy").await?;
        self.inner.delete_user_revoke_policy(user).await
    }
}

impl App {
    /// Every account's state.
    pub fn account_states(&self) -> Vec<AccountStatus> {
        self.accounts.all()
    }

    /// Check every configured account now (at start, and every `ACCOUNT_RECHECK_INTERVAL`),
    /// all at once; returns how many are confirmed. Never fails: an account that cannot be
    /// confirmed is marked and refused, and the bot serves the others.
    pub async fn check_accounts(&self) -> usize {
        let checks = self
            .settings
            .accounts
            .iter()
            .map(|a| self.gate.check(&a.id));
        futures_util::future::join_all(checks)
            .await
            .iter()
            .filter(|s| **s == AccountState::Confirmed)
            .count()
    }

    /// Re-check every account every `interval` until the application stops.
    pub fn watch_accounts(self: &Arc<Self>, interval: Duration) {
        self.every("accounts", interval, |app| async move {
            app.check_accounts().await;
            Ok::<usize, StoreError>(0)
        });
    }
}
