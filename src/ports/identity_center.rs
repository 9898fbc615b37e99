//! `IdentityCenter`: permission sets on the configured instance.

use async_trait::async_trait;

use super::IamError;
use crate::domain::role_arn::AccountId;

/// A permission set as `DescribePermissionSet` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSetInfo {
    pub arn: String,
    pub name: String,
    /// ISO 8601, e.g. `PT8H`.
    pub session_duration: Option<String>,
}

/// Where a `ProvisionPermissionSet` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioning {
    InProgress,
    Succeeded,
    /// AWS's reason, as it said it (untrusted text).
    Failed {
        reason: String,
    },
}

/// A provisioning AWS accepted: its request id (to ask for its status again, after a restart too)
/// and where it stood when it was accepted (AWS answers `IN_PROGRESS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningStarted {
    pub request_id: String,
    pub status: Provisioning,
}

/// IAM Identity Center (sso-admin) on the configured instance, through the credentials of the
/// account that administers it. Errors use `IamError` (an AWS call, its action and kind).
#[async_trait]
pub trait IdentityCenter: Send + Sync {
    /// The instance is there and the credentials can read it (`ListInstances`).
    async fn check_instance(&self) -> Result<(), IamError>;
    /// The account that owns the configured instance: `OwnerAccountId` in `ListInstances`, the
    /// organization's management account for an organization instance (README, "Identity
    /// Center permission sets"). `NoSuchEntity` when the instance is not among the answer.
    async fn instance_owner(&self) -> Result<AccountId, IamError>;
    /// The permission set with this name or ARN (`ListPermissionSets` + `DescribePermissionSet`).
    async fn find_permission_set(
        &self,
        name_or_arn: &str,
    ) -> Result<Option<PermissionSetInfo>, IamError>;
    /// `ListAccountsForProvisionedPermissionSet`.
    async fn provisioned_accounts(&self, permission_set: &str) -> Result<Vec<AccountId>, IamError>;
    /// `GetInlinePolicyForPermissionSet` (plain JSON, never percent-decoded); `None` when there
    /// is none.
    async fn get_inline_policy(&self, permission_set: &str) -> Result<Option<String>, IamError>;
    async fn put_inline_policy(
        &self,
        permission_set: &str,
        document_json: &str,
    ) -> Result<(), IamError>;
    /// `ProvisionPermissionSet` to every account it is provisioned to.
    async fn provision(&self, permission_set: &str) -> Result<ProvisioningStarted, IamError>;
    /// `DescribePermissionSetProvisioningStatus` of a request id `provision` returned;
    /// `NoSuchEntity` for an id AWS does not know.
    async fn provisioning_status(&self, request_id: &str) -> Result<Provisioning, IamError>;
}
