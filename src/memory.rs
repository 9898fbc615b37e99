//! In-process adapters: the audit store and IAM kept in memory, for `demo` and fast unit tests.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::audit::{AuditEvent, EventDraft, GENESIS_HASH};
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::policy::{INLINE_POLICY_QUOTA, POLICY_NAME, existing_cutoff};
use crate::domain::preview::RolePreview;
use crate::domain::request::{CardRef, Request};
use crate::domain::role_arn::RoleArn;
use crate::ports::{AuditStore, Iam, IamError, Page, StoreError};

#[derive(Default)]
struct StoreInner {
    requests: HashMap<RequestId, Request>,
    leases: HashMap<RequestId, DateTime<Utc>>,
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
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))
    }
}

fn append(inner: &mut StoreInner, event: EventDraft) {
    let (seq, prev) = inner
        .events
        .last()
        .map_or((1, GENESIS_HASH.to_string()), |e| {
            (e.seq + 1, e.hash.clone())
        });
    inner.events.push(event.seal(seq, &prev));
}

fn page(
    mut items: Vec<Request>,
    since: Option<DateTime<Utc>>,
    limit: u32,
    scanned: usize,
) -> Page<Request> {
    items.retain(|r| since.is_none_or(|s| r.created_at >= s));
    items.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let total = items.len();
    let more = total > limit as usize;
    items.truncate(limit as usize);
    Page {
        total: Some(total),
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
    ) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if let Some(k) = key
            && !inner.keys.insert(k.to_string())
        {
            return Err(StoreError::Duplicate);
        }
        inner.requests.insert(request.id.clone(), request.clone());
        append(&mut inner, event);
        Ok(())
    }

    async fn transition(&self, next: &Request, event: EventDraft) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let current = inner.requests.get(&next.id).ok_or(StoreError::Conflict)?;
        if current.version + 1 != next.version {
            return Err(StoreError::Conflict);
        }
        let mut next = next.clone();
        next.card = current.card.clone().or(next.card);
        inner.requests.insert(next.id.clone(), next);
        append(&mut inner, event);
        Ok(())
    }

    async fn record(&self, event: EventDraft) -> Result<(), StoreError> {
        append(&mut *self.lock()?, event);
        Ok(())
    }

    async fn set_card(&self, id: &RequestId, card: &CardRef) -> Result<(), StoreError> {
        if let Some(r) = self.lock()?.requests.get_mut(id) {
            r.card = Some(card.clone());
        }
        Ok(())
    }

    async fn claim(&self, id: &RequestId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        let approved = inner
            .requests
            .get(id)
            .is_some_and(|r| r.state == crate::domain::request::State::Approved);
        let free = inner.leases.get(id).is_none_or(|until| *until < now);
        if approved && free {
            inner
                .leases
                .insert(id.clone(), now + chrono::Duration::seconds(60));
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
            .filter(|r| r.state.is_open())
            .cloned()
            .collect())
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
            .filter(|r| r.role.to_string() == role.to_string())
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
        let inner = self.lock()?;
        let ids: HashSet<&RequestId> = inner
            .events
            .iter()
            .filter(|e| e.draft.actor == user.as_str())
            .map(|e| &e.draft.request_id)
            .collect();
        let items = inner
            .requests
            .values()
            .filter(|r| ids.contains(&r.id))
            .cloned()
            .collect();
        Ok(page(items, since, limit, inner.events.len()))
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

    async fn whole_chain(&self) -> Result<(Vec<AuditEvent>, u64), StoreError> {
        let inner = self.lock()?;
        Ok((
            inner.events.clone(),
            inner.events.last().map_or(0, |e| e.seq),
        ))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// IAM in memory: roles by ARN, each with its inline policies.
#[derive(Default)]
pub struct MemoryIam {
    roles: Mutex<HashMap<String, MemoryRole>>,
}

#[derive(Clone, Default)]
struct MemoryRole {
    path: String,
    max_session_duration: i32,
    inline: HashMap<String, String>,
    instance_profiles: Vec<String>,
}

impl MemoryIam {
    pub fn add_role(&self, arn: &RoleArn, instance_profiles: &[&str]) {
        if let Ok(mut roles) = self.roles.lock() {
            roles.insert(
                key(arn),
                MemoryRole {
                    path: arn.path().to_string(),
                    max_session_duration: 3600,
                    inline: HashMap::new(),
                    instance_profiles: instance_profiles.iter().map(|s| s.to_string()).collect(),
                },
            );
        }
    }

    pub fn policy(&self, arn: &RoleArn) -> Option<String> {
        self.roles
            .lock()
            .ok()?
            .get(&key(arn))?
            .inline
            .get(POLICY_NAME)
            .cloned()
    }
}

/// Role names are unique per account; the path is not part of identity.
fn key(arn: &RoleArn) -> String {
    format!("{}/{}", arn.account(), arn.name())
}

#[async_trait]
impl Iam for MemoryIam {
    async fn preview(&self, role: &RoleArn) -> Result<RolePreview, (&'static str, IamError)> {
        let roles = self
            .roles
            .lock()
            .map_err(|_| ("GetRole", IamError::Other("poisoned".into())))?;
        let r = roles.get(&key(role)).ok_or_else(|| {
            let msg = format!("The role with name {} cannot be found.", role.name());
            ("GetRole", IamError::NoSuchEntity(msg))
        })?;
        Ok(RolePreview {
            path: r.path.clone(),
            max_session_duration_secs: Some(r.max_session_duration),
            last_used_at: None,
            last_used_region: None,
            instance_profiles: r.instance_profiles.clone(),
            existing_cutoff: r.inline.get(POLICY_NAME).and_then(|d| existing_cutoff(d)),
            inline_policy_chars_used: r
                .inline
                .iter()
                .filter(|(k, _)| *k != POLICY_NAME)
                .map(|(_, v)| v.len())
                .sum(),
        })
    }

    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError> {
        let roles = self
            .roles
            .lock()
            .map_err(|_| IamError::Other("poisoned".into()))?;
        let r = roles
            .get(&key(role))
            .ok_or_else(|| IamError::NoSuchEntity(role.name().into()))?;
        Ok(r.inline.get(POLICY_NAME).cloned())
    }

    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError> {
        let mut roles = self
            .roles
            .lock()
            .map_err(|_| IamError::Other("poisoned".into()))?;
        let r = roles
            .get_mut(&key(role))
            .ok_or_else(|| IamError::NoSuchEntity(role.name().into()))?;
        let others: usize = r
            .inline
            .iter()
            .filter(|(k, _)| *k != POLICY_NAME)
            .map(|(_, v)| v.len())
            .sum();
        if others + document_json.len() > INLINE_POLICY_QUOTA {
            return Err(IamError::LimitExceeded(
                "Maximum policy size of 10240 bytes exceeded".into(),
            ));
        }
        r.inline
            .insert(POLICY_NAME.to_string(), document_json.to_string());
        Ok(())
    }
}
