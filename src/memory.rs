//! In-process adapters: the audit store and IAM kept in memory, for `demo` and fast unit tests.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::audit::{
    AuditEvent, ChainHead, ChainSnapshot, EventDraft, GENESIS_HASH, StoredEvent,
};
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::policy::{INLINE_POLICY_QUOTA, POLICY_NAME};
use crate::domain::request::{CardRef, Request};
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::ports::{
    AuditStore, Iam, IamError, IamErrorKind, IdentityCenter, Page, PermissionSetInfo, Provisioning,
    RoleDetails, RoleInfo, RoleList, StoreError, Watch, WatchUpdate,
};

/// A drift watch, kept beside the request as the DynamoDB store keeps its attributes.
struct WatchEntry {
    due: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
    drift: Option<String>,
}

#[derive(Default)]
struct StoreInner {
    requests: HashMap<RequestId, Request>,
    leases: HashMap<RequestId, DateTime<Utc>>,
    watches: HashMap<RequestId, WatchEntry>,
    events: Vec<AuditEvent>,
    keys: HashSet<String>,
}

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<StoreInner>,
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, StoreInner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::unavailable("memory store poisoned"))
    }
}

fn append(inner: &mut StoreInner, event: EventDraft) -> AuditEvent {
    let (seq, prev) = inner
        .events
        .last()
        .map_or((1, GENESIS_HASH.to_string()), |e| {
            (e.seq + 1, e.hash.clone())
        });
    let sealed = event.seal(seq, &prev);
    inner.events.push(sealed.clone());
    sealed
}

/// Newest first, made at or after `since`, at most `limit`; counted in all only when more
/// matched than fit (as the DynamoDB store does).
fn page(
    mut items: Vec<Request>,
    since: Option<DateTime<Utc>>,
    limit: u32,
    scanned: usize,
) -> Page<Request> {
    items.retain(|r| since.is_none_or(|s| r.created_at() >= s));
    items.sort_by_key(|r| std::cmp::Reverse(r.created_at()));
    let total = items.len();
    let more = total > limit as usize;
    items.truncate(limit as usize);
    Page {
        total: more.then_some(total),
        items,
        more,
        scanned,
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn create(
        &self,
        request: &Request,
        event: EventDraft,
        key: Option<&str>,
    ) -> Result<AuditEvent, StoreError> {
        let mut inner = self.lock()?;
        if let Some(k) = key
            && inner.keys.contains(k)
        {
            return Err(StoreError::Duplicate);
        }
        // Create-if-absent, as the DynamoDB store's condition on the request item.
        if inner.requests.contains_key(request.id()) {
            return Err(StoreError::Duplicate);
        }
        if let Some(k) = key {
            inner.keys.insert(k.to_string());
        }
        inner.requests.insert(request.id().clone(), request.clone());
        Ok(append(&mut inner, event))
    }

    async fn transition(
        &self,
        next: &Request,
        event: EventDraft,
    ) -> Result<AuditEvent, StoreError> {
        let mut inner = self.lock()?;
        let current = inner.requests.get(next.id()).ok_or(StoreError::Conflict)?;
        if current.version() + 1 != next.version() {
            return Err(StoreError::Conflict);
        }
        let reminders = current.reminders();
        let next = match current.card() {
            Some(card) => next.clone().with_card(card.clone()),
            None => next.clone(),
        }
        .with_reminders(reminders);
        if next.state() == crate::domain::request::State::Applied
            && let Some(due) = crate::ports::first_watch_due(&next)
        {
            inner.watches.insert(
                next.id().clone(),
                WatchEntry {
                    due,
                    lease_until: None,
                    drift: None,
                },
            );
        }
        inner.requests.insert(next.id().clone(), next);
        Ok(append(&mut inner, event))
    }

    async fn record(&self, event: EventDraft) -> Result<AuditEvent, StoreError> {
        Ok(append(&mut *self.lock()?, event))
    }

    async fn set_card(&self, id: &RequestId, card: &CardRef) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let r = inner.requests.remove(id).ok_or_else(|| {
            StoreError::unavailable(format!("no request {id} to attach a card to"))
        })?;
        inner.requests.insert(id.clone(), r.with_card(card.clone()));
        Ok(())
    }

    async fn claim_reminder(&self, id: &RequestId, sent: u32) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        match inner.requests.remove(id) {
            Some(r)
                if r.state() == crate::domain::request::State::Pending && r.reminders() == sent =>
            {
                inner
                    .requests
                    .insert(id.clone(), r.with_reminders(sent + 1));
                Ok(true)
            }
            Some(r) => {
                inner.requests.insert(id.clone(), r);
                Ok(false)
            }
            None => Ok(false),
        }
    }

    async fn claim(&self, id: &RequestId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        let approved = inner
            .requests
            .get(id)
            .is_some_and(|r| r.state() == crate::domain::request::State::Approved);
        let free = inner.leases.get(id).is_none_or(|until| *until < now);
        if approved && free {
            let lease = chrono::Duration::from_std(crate::ports::APPLY_LEASE)
                .unwrap_or(chrono::Duration::seconds(60));
            inner.leases.insert(id.clone(), now + lease);
        }
        Ok(approved && free)
    }

    async fn get(&self, id: &RequestId) -> Result<Option<Request>, StoreError> {
        Ok(self.lock()?.requests.get(id).cloned())
    }

    async fn events_for(&self, id: &RequestId) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .lock()?
            .events
            .iter()
            .filter(|e| &e.draft.request_id == id)
            .cloned()
            .collect())
    }

    async fn open_requests(&self) -> Result<Vec<Request>, StoreError> {
        Ok(self
            .lock()?
            .requests
            .values()
            .filter(|r| r.state().is_open())
            .cloned()
            .collect())
    }

    async fn watch_list(&self, now: DateTime<Utc>) -> Result<Vec<Watch>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .watches
            .iter()
            .filter(|(_, w)| w.due <= now)
            .filter_map(|(id, w)| {
                Some(Watch {
                    request: inner.requests.get(id)?.clone(),
                    due: w.due,
                    drift: w.drift.clone(),
                })
            })
            .collect())
    }

    async fn claim_watch(
        &self,
        id: &RequestId,
        now: DateTime<Utc>,
        next_due: DateTime<Utc>,
    ) -> Result<Option<Watch>, StoreError> {
        let mut inner = self.lock()?;
        let Some(request) = inner.requests.get(id).cloned() else {
            return Ok(None);
        };
        let Some(w) = inner.watches.get_mut(id) else {
            return Ok(None);
        };
        if w.due > now || w.lease_until.is_some_and(|until| until >= now) {
            return Ok(None);
        }
        let lease = chrono::Duration::from_std(crate::ports::WATCH_LEASE)
            .unwrap_or(chrono::Duration::seconds(60));
        w.due = next_due;
        w.lease_until = Some(now + lease);
        Ok(Some(Watch {
            request,
            due: w.due,
            drift: w.drift.clone(),
        }))
    }

    async fn update_watch(&self, id: &RequestId, update: WatchUpdate) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        if update == WatchUpdate::Finished {
            inner.watches.remove(id);
            return Ok(true);
        }
        let Some(w) = inner.watches.get_mut(id) else {
            return Ok(false);
        };
        w.lease_until = None;
        match update {
            WatchUpdate::Drifted(_) if w.drift.is_some() => return Ok(false),
            WatchUpdate::Drifted(code) => w.drift = Some(code),
            WatchUpdate::InForce => w.drift = None,
            WatchUpdate::Checked | WatchUpdate::Finished => {}
        }
        Ok(true)
    }

    async fn requests_by_role(
        &self,
        role: &RoleArn,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        let inner = self.lock()?;
        let items = inner
            .requests
            .values()
            .filter(|r| r.target_arn() == role.to_string())
            .cloned()
            .collect();
        Ok(page(items, since, limit, inner.requests.len()))
    }

    async fn requests_by_user(
        &self,
        user: &SlackUserId,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        // As the DynamoDB store: the person's events at or after `since`, newest first; the
        // distinct requests they belong to, up to `limit`; refused attempts have none.
        let inner = self.lock()?;
        let since = since.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let mut mine: Vec<&AuditEvent> = inner
            .events
            .iter()
            .filter(|e| e.draft.actor == user.as_str())
            .filter(|e| since.as_ref().is_none_or(|s| e.draft.at >= *s))
            .collect();
        mine.sort_by(|a, b| (&b.draft.at, b.seq).cmp(&(&a.draft.at, a.seq)));
        let mut ids: Vec<&RequestId> = Vec::new();
        for e in &mine {
            if !ids.contains(&&e.draft.request_id) {
                ids.push(&e.draft.request_id);
            }
        }
        let more = ids.len() > limit as usize;
        let mut items: Vec<Request> = ids
            .iter()
            .take(limit as usize)
            .filter_map(|id| inner.requests.get(*id).cloned())
            .collect();
        items.sort_by_key(|r| std::cmp::Reverse(r.created_at()));
        Ok(Page {
            items,
            more,
            scanned: mine.len(),
            total: None,
        })
    }

    async fn latest_requests(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        let inner = self.lock()?;
        Ok(page(
            inner.requests.values().cloned().collect(),
            since,
            limit,
            inner.requests.len(),
        ))
    }

    async fn chain_snapshot(&self) -> Result<ChainSnapshot, StoreError> {
        let inner = self.lock()?;
        Ok(ChainSnapshot {
            events: inner
                .events
                .iter()
                .map(|e| StoredEvent {
                    key_seq: e.seq,
                    event: e.clone(),
                })
                .collect(),
            head: inner.events.last().map(|e| ChainHead {
                seq: e.seq,
                hash: e.hash.clone(),
            }),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// IAM in memory: roles by account and name, each with its canonical ARN and inline policies.
/// Accounts can be given credentials that answer for another account, as a misconfiguration would.
#[derive(Default)]
pub struct MemoryIam {
    inner: Mutex<IamInner>,
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

fn iam_err(action: &'static str, kind: IamErrorKind, msg: String) -> IamError {
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
        let mut roles: Vec<RoleArn> = inner
            .roles
            .values()
            .filter_map(|r| r.arn.clone())
            .filter(|a| a.account() == actual && a.name().to_lowercase().contains(&query))
            .collect();
        roles.sort_by(|a, b| a.name().cmp(b.name()));
        let more = roles.len() > limit;
        roles.truncate(limit);
        Ok(RoleList { roles, more })
    }

    async fn get_role(&self, role: &RoleArn) -> Result<RoleInfo, IamError> {
        let inner = self.lock("GetRole")?;
        let r = Self::role(&inner, role, "GetRole")?;
        Ok(RoleInfo {
            arn: r.arn.clone().unwrap_or_else(|| role.clone()),
            max_session_duration_secs: Some(r.max_session_duration),
            last_used_at: None,
            last_used_region: None,
            trust_policy: r.trust_policy.clone(),
        })
    }

    async fn role_details(&self, role: &RoleArn) -> Result<RoleDetails, IamError> {
        let inner = self.lock("ListRolePolicies")?;
        let r = Self::role(&inner, role, "ListRolePolicies")?;
        Ok(RoleDetails {
            instance_profiles: r.instance_profiles.clone(),
            inline_policy_chars_used: r
                .inline
                .iter()
                .filter(|(k, _)| *k != POLICY_NAME)
                .map(|(_, v)| v.len())
                .sum(),
            revoke_policy: r.inline.get(POLICY_NAME).cloned(),
        })
    }

    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError> {
        let inner = self.lock("GetRolePolicy")?;
        let r = Self::role(&inner, role, "GetRolePolicy")?;
        Ok(r.inline.get(POLICY_NAME).cloned())
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
        let others: usize = r
            .inline
            .iter()
            .filter(|(k, _)| *k != POLICY_NAME)
            .map(|(_, v)| v.len())
            .sum();
        if others + document_json.len() > INLINE_POLICY_QUOTA {
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
}

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
        Ok(inner
            .sets
            .iter()
            .find(|s| s.info.arn == permission_set)
            .and_then(|s| s.inline.clone()))
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
            .ok_or_else(|| {
                iam_err(
                    "PutInlinePolicyToPermissionSet",
                    IamErrorKind::NoSuchEntity,
                    "ResourceNotFoundException: no such permission set".into(),
                )
            })?;
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
