//! The IAM adapter: one client per configured account, through an assumed role where configured.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use percent_encoding::percent_decode_str;

use super::describe;
use crate::config::Account;
use crate::domain::policy::{POLICY_NAME, existing_cutoff};
use crate::domain::preview::RolePreview;
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::ports::{Iam, IamError};

pub struct AwsIam {
    clients: HashMap<AccountId, aws_sdk_iam::Client>,
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
            clients.insert(
                a.id.clone(),
                aws_sdk_iam::Client::new(&account_config(base, a).await),
            );
        }
        AwsIam { clients }
    }

    fn client(&self, role: &RoleArn) -> Result<&aws_sdk_iam::Client, IamError> {
        self.clients
            .get(role.account())
            .ok_or_else(|| IamError::Other(format!("account {} is not configured", role.account())))
    }
}

fn map_err<E, R>(e: SdkError<E, R>) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    // Code and message are what a person needs; the full context only when there is no code.
    let full = match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        _ => describe(&e),
    };
    match e.code() {
        Some("NoSuchEntity") => IamError::NoSuchEntity(full),
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            IamError::AccessDenied(full)
        }
        Some("LimitExceeded") => IamError::LimitExceeded(full),
        Some("UnmodifiableEntity") => IamError::Unmodifiable(full),
        Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
            IamError::Throttled(full)
        }
        _ => IamError::Other(full),
    }
}

fn decode(doc: &str) -> String {
    percent_decode_str(doc).decode_utf8_lossy().into_owned()
}

#[async_trait]
impl Iam for AwsIam {
    async fn preview(&self, role: &RoleArn) -> Result<RolePreview, (&'static str, IamError)> {
        let iam = self.client(role).map_err(|e| ("GetRole", e))?;
        let got = iam
            .get_role()
            .role_name(role.name())
            .send()
            .await
            .map_err(|e| ("GetRole", map_err(e)))?;
        let r = got.role();
        let mut preview = RolePreview {
            path: r
                .map(|r| r.path().to_string())
                .unwrap_or_else(|| "/".into()),
            max_session_duration_secs: r.and_then(|r| r.max_session_duration()),
            ..Default::default()
        };
        if let Some(used) = r.and_then(|r| r.role_last_used()) {
            preview.last_used_at = used
                .last_used_date()
                .and_then(|d| chrono::DateTime::from_timestamp(d.secs(), 0));
            preview.last_used_region = used.region().map(str::to_string);
        }
        let profiles = iam
            .list_instance_profiles_for_role()
            .role_name(role.name())
            .send()
            .await
            .map_err(|e| ("ListInstanceProfilesForRole", map_err(e)))?;
        preview.instance_profiles = profiles
            .instance_profiles()
            .iter()
            .map(|p| p.instance_profile_name().to_string())
            .collect();
        let names = iam
            .list_role_policies()
            .role_name(role.name())
            .send()
            .await
            .map_err(|e| ("ListRolePolicies", map_err(e)))?;
        for name in names.policy_names() {
            let doc = iam
                .get_role_policy()
                .role_name(role.name())
                .policy_name(name)
                .send()
                .await
                .map_err(|e| ("GetRolePolicy", map_err(e)))?;
            let text = decode(doc.policy_document());
            if name == POLICY_NAME {
                preview.existing_cutoff = existing_cutoff(&text);
            } else {
                preview.inline_policy_chars_used +=
                    text.chars().filter(|c| !c.is_whitespace()).count();
            }
        }
        Ok(preview)
    }

    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError> {
        let iam = self.client(role)?;
        match iam
            .get_role_policy()
            .role_name(role.name())
            .policy_name(POLICY_NAME)
            .send()
            .await
        {
            Ok(out) => Ok(Some(decode(out.policy_document()))),
            Err(e) => match map_err(e) {
                IamError::NoSuchEntity(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError> {
        self.client(role)?
            .put_role_policy()
            .role_name(role.name())
            .policy_name(POLICY_NAME)
            .policy_document(document_json)
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
