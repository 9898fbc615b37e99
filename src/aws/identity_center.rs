//! The Identity Center adapter (sso-admin) on the configured instance, through the credentials of
//! the account that administers it.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssoadmin::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssoadmin::types::{
    InstanceMetadata, PermissionSetProvisioningStatus, ProvisionTargetType, StatusValues,
};

use crate::domain::permission_set::is_permission_set_arn;
use crate::domain::policy::PERMISSION_SET_POLICY_ENCODING;
use crate::domain::role_arn::AccountId;
use crate::ports::{
    IamError, IamErrorKind, IdentityCenter, PermissionSetInfo, Provisioning, ProvisioningStarted,
};

pub struct AwsIdentityCenter {
    client: aws_sdk_ssoadmin::Client,
    instance_arn: String,
}

impl AwsIdentityCenter {
    /// `config` carries the administering account's credentials; `region` is Identity Center's.
    pub fn new(config: &SdkConfig, region: &str, instance_arn: &str) -> Self {
        let config = config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        AwsIdentityCenter {
            client: aws_sdk_ssoadmin::Client::new(&config),
            instance_arn: instance_arn.to_string(),
        }
    }
}

impl AwsIdentityCenter {
    /// The configured instance as `ListInstances` lists it (paginated).
    async fn instance(&self) -> Result<InstanceMetadata, IamError> {
        let instances: Vec<InstanceMetadata> = self
            .client
            .list_instances()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_err("ListInstances", e))?;
        instances
            .into_iter()
            .find(|i| i.instance_arn() == Some(self.instance_arn.as_str()))
            .ok_or_else(|| {
                IamError::new(
                    "ListInstances",
                    IamErrorKind::NoSuchEntity,
                    format!(
                        "instance {} is not among this account's instances",
                        self.instance_arn
                    ),
                )
            })
    }
}

fn map_err<E, R>(action: &'static str, e: SdkError<E, R>) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    super::port_error(action, e, |code| match code {
        "ResourceNotFoundException" => Some(IamErrorKind::NoSuchEntity),
        "AccessDeniedException" => Some(IamErrorKind::AccessDenied),
        "ThrottlingException" => Some(IamErrorKind::Throttled),
        "ServiceQuotaExceededException" => Some(IamErrorKind::LimitExceeded),
        _ => None,
    })
}

fn status(s: &PermissionSetProvisioningStatus) -> Provisioning {
    match s.status() {
        Some(StatusValues::Succeeded) => Provisioning::Succeeded,
        Some(StatusValues::Failed) => Provisioning::Failed {
            reason: s.failure_reason().unwrap_or("no reason given").to_string(),
        },
        _ => Provisioning::InProgress,
    }
}

/// The status AWS returned, or an error naming the call when it returned none.
fn returned<'a>(
    action: &'static str,
    s: Option<&'a PermissionSetProvisioningStatus>,
) -> Result<&'a PermissionSetProvisioningStatus, IamError> {
    s.ok_or_else(|| {
        IamError::new(
            action,
            IamErrorKind::Other,
            "no provisioning status returned",
        )
    })
}

#[async_trait]
impl IdentityCenter for AwsIdentityCenter {
    async fn check_instance(&self) -> Result<(), IamError> {
        self.instance().await.map(|_| ())
    }

    async fn instance_owner(&self) -> Result<AccountId, IamError> {
        let instance = self.instance().await?;
        let owner = instance.owner_account_id().unwrap_or_default();
        AccountId::parse(owner).map_err(|_| {
            IamError::new(
                "ListInstances",
                IamErrorKind::Other,
                format!(
                    "instance {} has no OwnerAccountId that is an account id ({owner:?})",
                    self.instance_arn
                ),
            )
        })
    }

    async fn find_permission_set(
        &self,
        name_or_arn: &str,
    ) -> Result<Option<PermissionSetInfo>, IamError> {
        let describe = |arn: String| async move {
            match self
                .client
                .describe_permission_set()
                .instance_arn(&self.instance_arn)
                .permission_set_arn(&arn)
                .send()
                .await
            {
                Ok(out) => Ok(out.permission_set().map(|p| PermissionSetInfo {
                    arn: p.permission_set_arn().unwrap_or(&arn).to_string(),
                    name: p.name().unwrap_or_default().to_string(),
                    session_duration: p.session_duration().map(str::to_string),
                })),
                Err(e) => match map_err("DescribePermissionSet", e) {
                    e if e.kind == IamErrorKind::NoSuchEntity => Ok(None),
                    e => Err(e),
                },
            }
        };
        if is_permission_set_arn(name_or_arn) {
            return describe(name_or_arn.to_string()).await;
        }
        let arns: Vec<String> = self
            .client
            .list_permission_sets()
            .instance_arn(&self.instance_arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_err("ListPermissionSets", e))?;
        for chunk in arns.chunks(10) {
            let found = futures_util::future::join_all(chunk.iter().cloned().map(describe)).await;
            for f in found {
                if let Some(info) = f?
                    && info.name == name_or_arn
                {
                    return Ok(Some(info));
                }
            }
        }
        Ok(None)
    }

    async fn provisioned_accounts(&self, permission_set: &str) -> Result<Vec<AccountId>, IamError> {
        let ids: Vec<String> = self
            .client
            .list_accounts_for_provisioned_permission_set()
            .instance_arn(&self.instance_arn)
            .permission_set_arn(permission_set)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_err("ListAccountsForProvisionedPermissionSet", e))?;
        Ok(ids
            .iter()
            .filter_map(|id| AccountId::parse(id).ok())
            .collect())
    }

    async fn get_inline_policy(&self, permission_set: &str) -> Result<Option<String>, IamError> {
        let out = self
            .client
            .get_inline_policy_for_permission_set()
            .instance_arn(&self.instance_arn)
            .permission_set_arn(permission_set)
            .send()
            .await
            .map_err(|e| map_err("GetInlinePolicyForPermissionSet", e))?;
        Ok(out
            .inline_policy()
            .filter(|p| !p.trim().is_empty())
            .map(|p| PERMISSION_SET_POLICY_ENCODING.decode(p)))
    }

    async fn put_inline_policy(
        &self,
        permission_set: &str,
        document_json: &str,
    ) -> Result<(), IamError> {
        self.client
            .put_inline_policy_to_permission_set()
            .instance_arn(&self.instance_arn)
            .permission_set_arn(permission_set)
            .inline_policy(document_json)
            .send()
            .await
            .map_err(|e| map_err("PutInlinePolicyToPermissionSet", e))?;
        Ok(())
    }

    async fn provision(&self, permission_set: &str) -> Result<ProvisioningStarted, IamError> {
        let out = self
            .client
            .provision_permission_set()
            .instance_arn(&self.instance_arn)
            .permission_set_arn(permission_set)
            .target_type(ProvisionTargetType::AllProvisionedAccounts)
            .send()
            .await
            .map_err(|e| map_err("ProvisionPermissionSet", e))?;
        let started = returned(
            "ProvisionPermissionSet",
            out.permission_set_provisioning_status(),
        )?;
        match started.request_id() {
            Some(id) if !id.is_empty() => Ok(ProvisioningStarted {
                request_id: id.to_string(),
                status: status(started),
            }),
            _ => Err(IamError::new(
                "ProvisionPermissionSet",
                IamErrorKind::Other,
                "no provisioning request id returned",
            )),
        }
    }

    async fn provisioning_status(&self, request_id: &str) -> Result<Provisioning, IamError> {
        let out = self
            .client
            .describe_permission_set_provisioning_status()
            .instance_arn(&self.instance_arn)
            .provision_permission_set_request_id(request_id)
            .send()
            .await
            .map_err(|e| map_err("DescribePermissionSetProvisioningStatus", e))?;
        Ok(status(returned(
            "DescribePermissionSetProvisioningStatus",
            out.permission_set_provisioning_status(),
        )?))
    }
}
