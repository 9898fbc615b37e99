//! Identity Center in memory, with a scripted provisioning outcome.

use std::sync::Mutex;

use async_trait::async_trait;

use super::iam::iam_err;
use crate::domain::role_arn::AccountId;
use crate::ports::{IamError, IamErrorKind, IdentityCenter, PermissionSetInfo, Provisioning};

/// Identity Center in memory: permission sets with their inline policies, the accounts they are
/// provisioned to, and a scripted provisioning outcome.
#[derive(Default)]
pub struct MemoryIdentityCenter {
    inner: Mutex<IcInner>,
}

#[derive(Default)]
struct IcInner {
    sets: Vec<MemoryPermissionSet>,
    /// What the next provisionings report, in order (then `Succeeded`).
    script: std::collections::VecDeque<Provisioning>,
    provisioned: u32,
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

    /// The next provisioning answers go through these states.
    pub fn script(&self, states: Vec<Provisioning>) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.script = states.into();
        }
    }

    pub fn provisioned(&self) -> u32 {
        self.inner.lock().map(|i| i.provisioned).unwrap_or(0)
    }

    fn next(inner: &mut IcInner) -> Provisioning {
        inner.script.pop_front().unwrap_or(Provisioning::Succeeded)
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
        Ok(set.inline.clone())
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

    async fn provision(&self, _permission_set: &str) -> Result<Provisioning, IamError> {
        let mut inner = self.lock("ProvisionPermissionSet")?;
        inner.provisioned += 1;
        Ok(Self::next(&mut inner))
    }

    async fn provisioning_status(&self, _request_id: &str) -> Result<Provisioning, IamError> {
        let mut inner = self.lock("DescribePermissionSetProvisioningStatus")?;
        Ok(Self::next(&mut inner))
    }
}
