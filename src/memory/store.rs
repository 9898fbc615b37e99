//! The audit store in memory: the same contract as DynamoDB (`tests/contract`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::audit::{
    AuditEvent, ChainHead, ChainSnapshot, EventDraft, GENESIS_HASH, StoredEvent, stored_time,
};
use crate::domain::chain::StoredKey;
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::request::{CardRef, Request};
use crate::domain::role_arn::RoleArn;
use crate::ports::{
    APPLY_LEASE, AuditStore, Page, StoreError, WATCH_LEASE, Watch, WatchUpdate, lease_end,
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
    /// Idempotency keys and the request each was written with.
    keys: HashMap<String, RequestId>,
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

    /// The request is approved and its apply lease is the one held until `held_until`.
    fn holds(inner: &StoreInner, id: &RequestId, held_until: DateTime<Utc>) -> bool {
        inner
            .requests
            .get(id)
            .is_some_and(|r| r.state() == crate::domain::request::State::Approved)
            && inner.leases.get(id) == Some(&held_until)
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
            && inner.keys.contains_key(k)
        {
            return Err(StoreError::Duplicate);
        }
        // Create-if-absent, as the DynamoDB store's condition on the request item.
        if inner.requests.contains_key(request.id()) {
            return Err(StoreError::Duplicate);
        }
        if let Some(k) = key {
            inner.keys.insert(k.to_string(), request.id().clone());
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
        let provisioning = current.provisioning().map(str::to_string);
        let next = match current.card() {
            Some(card) => next.clone().with_card(card.clone()),
            None => next.clone(),
        }
        .with_reminders(reminders)
        .with_provisioning(provisioning);
        if let Some(due) = crate::ports::first_watch_due(&next) {
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
            inner.leases.insert(id.clone(), lease_end(now, APPLY_LEASE));
        }
        Ok(approved && free)
    }

    async fn renew_claim(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        if !Self::holds(&inner, id, held_until) {
            return Ok(false);
        }
        inner.leases.insert(id.clone(), lease_end(now, APPLY_LEASE));
        Ok(true)
    }

    async fn set_provisioning(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        provisioning: &str,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        if !Self::holds(&inner, id, held_until) {
            return Ok(false);
        }
        if let Some(r) = inner.requests.remove(id) {
            let r = r.with_provisioning(Some(provisioning.to_string()));
            inner.requests.insert(id.clone(), r);
        }
        Ok(true)
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
        w.due = next_due;
        w.lease_until = Some(lease_end(now, WATCH_LEASE));
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
        let since = since.as_ref().map(stored_time);
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
            // The card and the reminder count are kept beside the request, as in DynamoDB.
            requests: inner.requests.values().cloned().collect(),
            keys: inner
                .keys
                .iter()
                .map(|(key, id)| StoredKey {
                    key: key.clone(),
                    request_id: id.to_string(),
                })
                .collect(),
            // Nothing but typed items can be held here.
            unaccounted: Vec::new(),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
