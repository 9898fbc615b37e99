//! The IAM adapter: one client per configured account, through an assumed role where configured.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use crate::config::Account;
use crate::domain::policy::POLICY_NAME;
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::ports::{Iam, IamError, IamErrorKind, RoleDetails, RoleInfo, RoleList};

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
}
