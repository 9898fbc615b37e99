//! The IAM adapter: one client per configured account, through an assumed role where configured.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use crate::config::Account;
use crate::domain::access_key::{AccessKeyFacts, AccessKeyId, KeyStatus, LastUse};
use crate::domain::policy::POLICY_NAME;
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::domain::user::UserArn;
use crate::ports::{
    Iam, IamError, IamErrorKind, KeyOwner, RoleDetails, RoleInfo, RoleList, UserInfo,
};

struct AccountClients {
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
}

pub struct AwsIam {
    clients: HashMap<AccountId, AccountClients>,
}

/// SDK config for an account: the base credentials, or an assumed role that the SDK refreshes
/// shortly before it expires.
pub async fn account_config(base: &SdkConfig, account: &Account) -> SdkConfig {
    match &account.assume_role_arn {
        None => base.clone(),
        Some(role) => {
            let mut b = AssumeRoleProvider::builder(role.to_string())
                .session_name("revoke-role-bot")
                .configure(base);
            if let Some(ext) = &account.external_id {
                b = b.external_id(ext);
            }
            let provider = b.build().await;
            base.to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build()
        }
    }
}

impl AwsIam {
    pub async fn new(base: &SdkConfig, accounts: &[Account]) -> Self {
        let mut clients = HashMap::new();
        for a in accounts {
            let config = account_config(base, a).await;
            clients.insert(
                a.id.clone(),
                AccountClients {
                    iam: aws_sdk_iam::Client::new(&config),
                    sts: aws_sdk_sts::Client::new(&config),
                },
            );
        }
        AwsIam { clients }
    }

    fn client(
        &self,
        account: &AccountId,
        action: &'static str,
    ) -> Result<&AccountClients, IamError> {
        self.clients.get(account).ok_or_else(|| {
            IamError::new(
                action,
                IamErrorKind::Other,
                format!("account {account} is not configured"),
            )
        })
    }

    fn iam(&self, role: &RoleArn, action: &'static str) -> Result<&aws_sdk_iam::Client, IamError> {
        Ok(&self.client(role.account(), action)?.iam)
    }
}

fn map_err<E, R>(action: &'static str, e: SdkError<E, R>) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    super::port_error(action, e, |code| match code {
        "NoSuchEntity" => Some(IamErrorKind::NoSuchEntity),
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            Some(IamErrorKind::AccessDenied)
        }
        "LimitExceeded" => Some(IamErrorKind::LimitExceeded),
        "UnmodifiableEntity" => Some(IamErrorKind::Unmodifiable),
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            Some(IamErrorKind::Throttled)
        }
        _ => None,
    })
}

/// IAM returns documents URL-encoded: decoded once, here (README, "Identity Center").
fn decode(doc: &str) -> String {
    crate::domain::policy::IAM_POLICY_ENCODING.decode(doc)
}

/// Pages of `ListRoles` read at most (1,000 roles each; IAM allows at most 5,000 per account).
const LIST_ROLES_MAX_PAGES: usize = 10;

#[async_trait]
impl Iam for AwsIam {
    async fn list_roles(
        &self,
        account: &AccountId,
        query: &str,
        limit: usize,
    ) -> Result<RoleList, IamError> {
        let iam = &self.client(account, "ListRoles")?.iam;
        let query = query.to_lowercase();
        let mut out = RoleList::default();
        let mut marker: Option<String> = None;
        for _ in 0..LIST_ROLES_MAX_PAGES {
            out.pages += 1;
            let page = iam
                .list_roles()
                .set_marker(marker.take())
                .max_items(1000)
                .send()
                .await
                .map_err(|e| map_err("ListRoles", e))?;
            for r in page.roles() {
                if !r.role_name().to_lowercase().contains(&query) {
                    continue;
                }
                // An ARN IAM returns that does not read is skipped, not guessed at.
                let Ok(arn) = RoleArn::parse(r.arn()) else {
                    continue;
                };
                if out.roles.len() == limit {
                    out.more = true;
                    return Ok(out);
                }
                out.roles.push(arn);
            }
            match (page.is_truncated(), page.marker()) {
                (true, Some(m)) => marker = Some(m.to_string()),
                _ => return Ok(out),
            }
        }
        out.more = true;
        Ok(out)
    }

    async fn get_role(&self, role: &RoleArn) -> Result<RoleInfo, IamError> {
        let got = self
            .iam(role, "GetRole")?
            .get_role()
            .role_name(role.name())
            .send()
            .await
            .map_err(|e| map_err("GetRole", e))?;
        let r = got.role().ok_or_else(|| {
            IamError::new("GetRole", IamErrorKind::Other, "GetRole returned no role")
        })?;
        let arn = RoleArn::parse(r.arn()).map_err(|e| {
            IamError::new(
                "GetRole",
                IamErrorKind::Other,
                format!("GetRole returned an unreadable ARN: {}", e.0),
            )
        })?;
        let used = r.role_last_used();
        Ok(RoleInfo {
            arn,
            max_session_duration_secs: r.max_session_duration(),
            last_used_at: used
                .and_then(|u| u.last_used_date())
                .and_then(|d| chrono::DateTime::from_timestamp(d.secs(), 0)),
            last_used_region: used.and_then(|u| u.region()).map(str::to_string),
            trust_policy: r.assume_role_policy_document().map(decode),
        })
    }

    async fn role_details(&self, role: &RoleArn) -> Result<RoleDetails, IamError> {
        let iam = self.iam(role, "ListRolePolicies")?;
        let profiles = async {
            iam.list_instance_profiles_for_role()
                .role_name(role.name())
                .send()
                .await
                .map_err(|e| map_err("ListInstanceProfilesForRole", e))
        };
        let names = async {
            iam.list_role_policies()
                .role_name(role.name())
                .send()
                .await
                .map_err(|e| map_err("ListRolePolicies", e))
        };
        let (profiles, names) = tokio::join!(profiles, names);
        let mut details = RoleDetails {
            instance_profiles: profiles?
                .instance_profiles()
                .iter()
                .map(|p| p.instance_profile_name().to_string())
                .collect(),
            ..Default::default()
        };
        let names = names?;
        let docs =
            futures_util::future::join_all(names.policy_names().iter().map(|name| async move {
                iam.get_role_policy()
                    .role_name(role.name())
                    .policy_name(name)
                    .send()
                    .await
                    .map(|doc| (name.clone(), decode(doc.policy_document())))
                    .map_err(|e| map_err("GetRolePolicy", e))
            }))
            .await;
        for doc in docs {
            let (name, text) = doc?;
            if name == POLICY_NAME {
                details.revoke_policy = Some(text);
            } else {
                details.inline_policy_chars_used +=
                    text.chars().filter(|c| !c.is_whitespace()).count();
            }
        }
        Ok(details)
    }

    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError> {
        match self
            .iam(role, "GetRolePolicy")?
            .get_role_policy()
            .role_name(role.name())
            .policy_name(POLICY_NAME)
            .send()
            .await
        {
            Ok(out) => Ok(Some(decode(out.policy_document()))),
            Err(e) => match map_err("GetRolePolicy", e) {
                e if e.kind == IamErrorKind::NoSuchEntity => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError> {
        self.iam(role, "PutRolePolicy")?
            .put_role_policy()
            .role_name(role.name())
            .policy_name(POLICY_NAME)
            .policy_document(document_json)
            .send()
            .await
            .map_err(|e| map_err("PutRolePolicy", e))?;
        Ok(())
    }

    async fn delete_revoke_policy(&self, role: &RoleArn) -> Result<(), IamError> {
        self.iam(role, "DeleteRolePolicy")?
            .delete_role_policy()
            .role_name(role.name())
            .policy_name(POLICY_NAME)
            .send()
            .await
            .map_err(|e| map_err("DeleteRolePolicy", e))?;
        Ok(())
    }

    async fn credentials_account(&self, account: &AccountId) -> Result<AccountId, IamError> {
        let out = self
            .client(account, "GetCallerIdentity")?
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| map_err("GetCallerIdentity", e))?;
        AccountId::parse(out.account().unwrap_or_default()).map_err(|e| {
            IamError::new(
                "GetCallerIdentity",
                IamErrorKind::Other,
                format!("GetCallerIdentity returned no account: {}", e.0),
            )
        })
    }

    // IAM users and their keys: the `impl AwsIam` block at the end of this file.
    async fn access_key_account(
        &self,
        via: &AccountId,
        key: &AccessKeyId,
    ) -> Result<AccountId, IamError> {
        self.key_account(via, key).await
    }
    async fn access_key_last_used(
        &self,
        account: &AccountId,
        key: &AccessKeyId,
    ) -> Result<KeyOwner, IamError> {
        self.key_owner(account, key).await
    }
    async fn list_access_keys(&self, user: &UserArn) -> Result<Vec<AccessKeyFacts>, IamError> {
        self.user_keys(user).await
    }
    async fn set_access_key_status(
        &self,
        user: &UserArn,
        key: &AccessKeyId,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.update_key(user, key, status).await
    }
    async fn get_user(&self, user: &UserArn) -> Result<UserInfo, IamError> {
        self.user_info(user).await
    }
    async fn has_login_profile(&self, user: &UserArn) -> Result<bool, IamError> {
        self.login_profile(user).await
    }
    async fn list_mfa_devices(&self, user: &UserArn) -> Result<Vec<String>, IamError> {
        self.mfa_devices(user).await
    }
    async fn get_user_revoke_policy(&self, user: &UserArn) -> Result<Option<String>, IamError> {
        self.user_policy(user).await
    }
    async fn put_user_revoke_policy(
        &self,
        user: &UserArn,
        document_json: &str,
    ) -> Result<(), IamError> {
        self.put_user_policy(user, document_json).await
    }
    async fn delete_user_revoke_policy(&self, user: &UserArn) -> Result<(), IamError> {
        self.delete_user_policy(user).await
    }
}

/// IAM users and their access keys (README "Leaked access keys and IAM users").
impl AwsIam {
    fn user_iam(
        &self,
        user: &UserArn,
        action: &'static str,
    ) -> Result<&aws_sdk_iam::Client, IamError> {
        Ok(&self.client(user.account(), action)?.iam)
    }

    async fn key_account(&self, via: &AccountId, key: &AccessKeyId) -> Result<AccountId, IamError> {
        let out = self
            .client(via, "GetAccessKeyInfo")?
            .sts
            .get_access_key_info()
            .access_key_id(key.as_str())
            .send()
            .await
            .map_err(|e| map_err("GetAccessKeyInfo", e))?;
        AccountId::parse(out.account().unwrap_or_default()).map_err(|e| {
            IamError::new(
                "GetAccessKeyInfo",
                IamErrorKind::Other,
                format!("GetAccessKeyInfo returned no account: {}", e.0),
            )
        })
    }

    async fn key_owner(
        &self,
        account: &AccountId,
        key: &AccessKeyId,
    ) -> Result<KeyOwner, IamError> {
        let out = self
            .client(account, "GetAccessKeyLastUsed")?
            .iam
            .get_access_key_last_used()
            .access_key_id(key.as_str())
            .send()
            .await
            .map_err(|e| map_err("GetAccessKeyLastUsed", e))?;
        let user_name = out
            .user_name()
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                IamError::new(
                    "GetAccessKeyLastUsed",
                    IamErrorKind::NoSuchEntity,
                    format!("GetAccessKeyLastUsed named no user for {key}"),
                )
            })?;
        let used = out.access_key_last_used();
        Ok(KeyOwner {
            user_name,
            last_use: LastUse {
                when: used.and_then(|u| u.last_used_date()).and_then(time),
                service: LastUse::known(used.map(|u| u.service_name())),
                region: LastUse::known(used.map(|u| u.region())),
            },
        })
    }

    async fn user_keys(&self, user: &UserArn) -> Result<Vec<AccessKeyFacts>, IamError> {
        let iam = self.user_iam(user, "ListAccessKeys")?;
        let mut keys = Vec::new();
        let mut marker: Option<String> = None;
        // IAM allows two keys a user; a few pages are plenty, and the loop always ends.
        for _ in 0..LIST_ACCESS_KEYS_MAX_PAGES {
            let page = iam
                .list_access_keys()
                .user_name(user.name())
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| map_err("ListAccessKeys", e))?;
            for k in page.access_key_metadata() {
                keys.push(key_facts(k)?);
            }
            match (page.is_truncated(), page.marker()) {
                (true, Some(m)) => marker = Some(m.to_string()),
                _ => return Ok(keys),
            }
        }
        Err(IamError::new(
            "ListAccessKeys",
            IamErrorKind::Other,
            format!(
                "ListAccessKeys of {user} did not end within {LIST_ACCESS_KEYS_MAX_PAGES} pages"
            ),
        ))
    }

    async fn update_key(
        &self,
        user: &UserArn,
        key: &AccessKeyId,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        let status = match status {
            KeyStatus::Active => aws_sdk_iam::types::StatusType::Active,
            KeyStatus::Inactive => aws_sdk_iam::types::StatusType::Inactive,
        };
        self.user_iam(user, "UpdateAccessKey")?
            .update_access_key()
            .user_name(user.name())
            .access_key_id(key.as_str())
            .status(status)
            .send()
            .await
            .map_err(|e| map_err("UpdateAccessKey", e))?;
        Ok(())
    }

    async fn user_info(&self, user: &UserArn) -> Result<UserInfo, IamError> {
        let out = self
            .user_iam(user, "GetUser")?
            .get_user()
            .user_name(user.name())
            .send()
            .await
            .map_err(|e| map_err("GetUser", e))?;
        let u = out.user().ok_or_else(|| {
            IamError::new("GetUser", IamErrorKind::Other, "GetUser returned no user")
        })?;
        let arn = UserArn::parse(u.arn()).map_err(|e| {
            IamError::new(
                "GetUser",
                IamErrorKind::Other,
                format!("GetUser returned an unreadable ARN: {}", e.0),
            )
        })?;
        Ok(UserInfo {
            arn,
            created: time(u.create_date()),
            password_last_used: u.password_last_used().and_then(time),
        })
    }

    async fn login_profile(&self, user: &UserArn) -> Result<bool, IamError> {
        match self
            .user_iam(user, "GetLoginProfile")?
            .get_login_profile()
            .user_name(user.name())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match map_err("GetLoginProfile", e) {
                e if e.kind == IamErrorKind::NoSuchEntity => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn mfa_devices(&self, user: &UserArn) -> Result<Vec<String>, IamError> {
        let out = self
            .user_iam(user, "ListMFADevices")?
            .list_mfa_devices()
            .user_name(user.name())
            .send()
            .await
            .map_err(|e| map_err("ListMFADevices", e))?;
        Ok(out
            .mfa_devices()
            .iter()
            .map(|d| d.serial_number().to_string())
            .collect())
    }

    async fn user_policy(&self, user: &UserArn) -> Result<Option<String>, IamError> {
        match self
            .user_iam(user, "GetUserPolicy")?
            .get_user_policy()
            .user_name(user.name())
            .policy_name(POLICY_NAME)
            .send()
            .await
        {
            Ok(out) => Ok(Some(decode(out.policy_document()))),
            Err(e) => match map_err("GetUserPolicy", e) {
                e if e.kind == IamErrorKind::NoSuchEntity => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn put_user_policy(&self, user: &UserArn, document_json: &str) -> Result<(), IamError> {
        self.user_iam(user, "PutUserPolicy")?
            .put_user_policy()
            .user_name(user.name())
            .policy_name(POLICY_NAME)
            .policy_document(document_json)
            .send()
            .await
            .map_err(|e| map_err("PutUserPolicy", e))?;
        Ok(())
    }

    async fn delete_user_policy(&self, user: &UserArn) -> Result<(), IamError> {
        self.user_iam(user, "DeleteUserPolicy")?
            .delete_user_policy()
            .user_name(user.name())
            .policy_name(POLICY_NAME)
            .send()
            .await
            .map_err(|e| map_err("DeleteUserPolicy", e))?;
        Ok(())
    }
}

/// Pages of `ListAccessKeys` read at most (a user has at most two keys).
const LIST_ACCESS_KEYS_MAX_PAGES: usize = 5;

fn time(d: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(d.secs(), d.subsec_nanos())
}

fn key_facts(k: &aws_sdk_iam::types::AccessKeyMetadata) -> Result<AccessKeyFacts, IamError> {
    let unreadable = |what: String| {
        IamError::new(
            "ListAccessKeys",
            IamErrorKind::Other,
            format!("ListAccessKeys returned {what}"),
        )
    };
    let id = AccessKeyId::parse(k.access_key_id().unwrap_or_default())
        .map_err(|e| unreadable(format!("an unreadable key id: {}", e.0)))?;
    let status = KeyStatus::parse(k.status().map(|s| s.as_str()).unwrap_or_default())
        .map_err(|e| unreadable(e.0))?;
    Ok(AccessKeyFacts {
        id,
        status,
        created: k.create_date().and_then(time),
        last_use: None,
    })
}
