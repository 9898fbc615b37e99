//! Identity Center in memory, with a scripted provisioning outcome. As sso-admin: the inline
//! policy comes back as the plain JSON that was put, and a provisioning is `IN_PROGRESS` when it
//! is accepted, then reports what the script says under its request id.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::iam::iam_err;
use crate::domain::policy::{PERMISSION_SET_POLICY_ENCODING, PolicyEncoding};
use crate::domain::role_arn::AccountId;
use crate::ports::{
    IamError, IamErrorKind, IdentityCenter, PermissionSetInfo, Provisioning, ProvisioningStarted,
};

/// Identity Center in memory: permission sets with their inline policies, the accounts they are
/// provisioned to, and a scripted provisioning outcome.
#[derive(Default)]
pub struct MemoryIdentityCenter {
    inner: Mutex<IcInner>,
}

#[derive(Default)]
struct IcInner {
    sets: Vec<MemoryPermissionSet>,
    /// What the status checks of the next provisioning report, in order (the last one stays;
    /// `Succeeded` when there is none).
    script: VecDeque<Provisioning>,
    /// Each provisioning's answers still to come, by request id.
    requests: HashMap<String, VecDeque<Provisioning>>,
    provisioned: u32,
    status_checks: u32,
    /// The instance's `OwnerAccountId`; [`MemoryIdentityCenter::DEFAULT_OWNER`] when not set.
    owner: Option<AccountId>,
}

struct MemoryPermissionSet {
    info: PermissionSetInfo,
    accounts: Vec<AccountId>,
    inline: Option<String>,
}

impl MemoryIdentityCenter {
    fn lock(&self, action: &'static str) -> Result<std::sync::MutexGuard<'_, IcInner>, IamError> {
        self.inner.lock().map_err(|_| {
            iam_err(
                action,
                IamErrorKind::Other,
                "memory Identity Center poisoned".into(),
            )
        })
    }

    /// The instance's owner (the organization's management account) unless `set_owner` says
    /// otherwise: an account no test configures.
    pub const DEFAULT_OWNER: &'static str = "999999999999";

    /// The instance is owned by `account` (the organization's management account).
    pub fn set_owner(&self, account: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.owner = AccountId::parse(account).ok();
        }
    }

    /// A permission set `name` with id `ps-<id>` on instance `ssoins-memory`.
    pub fn add_permission_set(
        &self,
        name: &str,
        id: &str,
        session: &str,
        accounts: &[&str],
    ) -> String {
        let arn = format!("arn:aws:sso:::permissionSet/ssoins-memory/ps-{id}");
        if let Ok(mut inner) = self.inner.lock() {
            inner.sets.push(MemoryPermissionSet {
                info: PermissionSetInfo {
                    arn: arn.clone(),
                    name: name.to_string(),
                    session_duration: Some(session.to_string()),
                },
                accounts: accounts
                    .iter()
                    .filter_map(|a| AccountId::parse(a).ok())
                    .collect(),
                inline: None,
            });
        }
        arn
    }

    pub fn set_inline(&self, arn: &str, document: Option<&str>) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(s) = inner.sets.iter_mut().find(|s| s.info.arn == arn)
        {
            s.inline = document.map(str::to_string);
        }
    }

    pub fn inline(&self, arn: &str) -> Option<String> {
        self.inner
            .lock()
            .ok()?
            .sets
            .iter()
            .find(|s| s.info.arn == arn)?
            .inline
            .clone()
    }

    /// The status checks of the next provisioning answer these states, in order; the last one
    /// stays (a provisioning that ended stays ended). Unscripted, the first check succeeds.
    pub fn script(&self, states: Vec<Provisioning>) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.script = states.into();
        }
    }

    /// How many `ProvisionPermissionSet` calls were made.
    pub fn provisioned(&self) -> u32 {
        self.inner.lock().map(|i| i.provisioned).unwrap_or(0)
    }

    /// How many `DescribePermissionSetProvisioningStatus` calls were made.
    pub fn status_checks(&self) -> u32 {
        self.inner.lock().map(|i| i.status_checks).unwrap_or(0)
    }
}

fn no_such_set(action: &'static str) -> IamError {
    iam_err(
        action,
        IamErrorKind::NoSuchEntity,
        "ResourceNotFoundException: no such permission set".into(),
    )
}

#[async_trait]
impl IdentityCenter for MemoryIdentityCenter {
    async fn check_instance(&self) -> Result<(), IamError> {
        Ok(())
    }

    async fn instance_owner(&self) -> Result<AccountId, IamError> {
        let inner = self.lock("ListInstances")?;
        match &inner.owner {
            Some(owner) => Ok(owner.clone()),
            None => AccountId::parse(Self::DEFAULT_OWNER)
                .map_err(|e| iam_err("ListInstances", IamErrorKind::Other, e.to_string())),
        }
    }

    async fn find_permission_set(
        &self,
        name_or_arn: &str,
    ) -> Result<Option<PermissionSetInfo>, IamError> {
        let inner = self.lock("DescribePermissionSet")?;
        Ok(inner
            .sets
            .iter()
            .find(|s| s.info.arn == name_or_arn || s.info.name == name_or_arn)
            .map(|s| s.info.clone()))
    }

    async fn provisioned_accounts(&self, permission_set: &str) -> Result<Vec<AccountId>, IamError> {
        let inner = self.lock("ListAccountsForProvisionedPermissionSet")?;
        Ok(inner
            .sets
            .iter()
            .find(|s| s.info.arn == permission_set)
            .map(|s| s.accounts.clone())
            .unwrap_or_default())
    }

    async fn get_inline_policy(&self, permission_set: &str) -> Result<Option<String>, IamError> {
        let inner = self.lock("GetInlinePolicyForPermissionSet")?;
        let set = inner
            .sets
            .iter()
            .find(|s| s.info.arn == permission_set)
            .ok_or_else(|| no_such_set("GetInlinePolicyForPermissionSet"))?;
        // sso-admin returns the document as it was put, and the adapter decodes it as such.
        Ok(set.inline.as_deref().map(|doc| {
            PERMISSION_SET_POLICY_ENCODING.decode(&PolicyEncoding::PlainJson.encode(doc))
        }))
    }

    async fn put_inline_policy(
        &self,
        permission_set: &str,
        document_json: &str,
    ) -> Result<(), IamError> {
        let mut inner = self.lock("PutInlinePolicyToPermissionSet")?;
        let set = inner
            .sets
            .iter_mut()
            .find(|s| s.info.arn == permission_set)
            .ok_or_else(|| no_such_set("PutInlinePolicyToPermissionSet"))?;
        set.inline = Some(document_json.to_string());
        Ok(())
    }

    async fn provision(&self, permission_set: &str) -> Result<ProvisioningStarted, IamError> {
        let mut inner = self.lock("ProvisionPermissionSet")?;
        if !inner.sets.iter().any(|s| s.info.arn == permission_set) {
            return Err(no_such_set("ProvisionPermissionSet"));
        }
        inner.provisioned += 1;
        let request_id = format!("memory-provisioning-{}", inner.provisioned);
        let script = std::mem::take(&mut inner.script);
        inner.requests.insert(request_id.clone(), script);
        Ok(ProvisioningStarted {
            request_id,
            status: Provisioning::InProgress,
        })
    }

    async fn provisioning_status(&self, request_id: &str) -> Result<Provisioning, IamError> {
        let mut inner = self.lock("DescribePermissionSetProvisioningStatus")?;
        inner.status_checks += 1;
        let answers = inner.requests.get_mut(request_id).ok_or_else(|| {
            iam_err(
                "DescribePermissionSetProvisioningStatus",
                IamErrorKind::NoSuchEntity,
                "ResourceNotFoundException: no such provisioning request".into(),
            )
        })?;
        Ok(match answers.len() {
            0 => Provisioning::Succeeded,
            1 => answers[0].clone(),
            _ => answers.pop_front().unwrap_or(Provisioning::Succeeded),
        })
    }
}
