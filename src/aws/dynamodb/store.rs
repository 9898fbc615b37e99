//! The `AuditStore` port on DynamoDB.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::audit::{AuditEvent, ChainHead, ChainSnapshot, EventDraft};
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::request::{CardRef, Request};
use crate::domain::role_arn::RoleArn;
use crate::ports::{
    AuditStore, Page, ShownEvent, StoreError, WATCH_LEASE, Watch, WatchUpdate, lease_end,
};

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use super::items::*;
use super::*;

#[async_trait]
impl AuditStore for DynamoStore {
    async fn create(
        &self,
        request: &Request,
        event: EventDraft,
        key: Option<&str>,
    ) -> Result<AuditEvent, StoreError> {
        self.append(Guard::Create { request, key }, event).await
    }

    async fn transition(
        &self,
        next: &Request,
        event: EventDraft,
    ) -> Result<AuditEvent, StoreError> {
        self.append(Guard::Transition { next }, event).await
    }

    async fn record(&self, event: EventDraft) -> Result<AuditEvent, StoreError> {
        self.append(Guard::None, event).await
    }

    async fn set_card(&self, id: &RequestId, card: &CardRef) -> Result<(), StoreError> {
        self.update_request(id)
            .update_expression("SET card_channel = :c, card_ts = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":c", s(card.channel.as_str()))
            .expression_attribute_values(":t", s(&card.ts))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn claim_reminder(&self, id: &RequestId, sent: u32) -> Result<bool, StoreError> {
        let mut update = self
            .update_request(id)
            .update_expression("SET reminders = :next")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":next", n(sent as u64 + 1));
        update = if sent == 0 {
            update.condition_expression("#s = :pending AND attribute_not_exists(reminders)")
        } else {
            update
                .condition_expression("#s = :pending AND reminders = :sent")
                .expression_attribute_values(":sent", n(sent as u64))
        };
        let sent = update.send().await;
        let made = unless_condition_failed(sent)?;
        Ok(made.is_some())
    }

    async fn claim(&self, id: &RequestId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let until = lease_end(now, APPLY_LEASE);
        let out = self
            .update_request(id)
            .update_expression("SET lease_until = :until")
            .condition_expression(
                "#s = :approved AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            )
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":approved", s("approved"))
            .expression_attribute_values(":until", s(stored_time(&until)))
            .expression_attribute_values(":now", s(stored_time(&now)))
            .send()
            .await;
        let made = unless_condition_failed(out)?;
        Ok(made.is_some())
    }

    async fn renew_claim(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let until = lease_end(now, APPLY_LEASE);
        let out = self
            .update_request(id)
            .update_expression("SET lease_until = :until")
            .condition_expression("#s = :approved AND lease_until = :held")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":approved", s("approved"))
            .expression_attribute_values(":until", s(stored_time(&until)))
            .expression_attribute_values(":held", s(stored_time(&held_until)))
            .send()
            .await;
        let made = unless_condition_failed(out)?;
        Ok(made.is_some())
    }

    async fn set_provisioning(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        provisioning: &str,
    ) -> Result<bool, StoreError> {
        let out = self
            .update_request(id)
            .update_expression("SET provisioning_request_id = :p")
            .condition_expression("#s = :approved AND lease_until = :held")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":approved", s("approved"))
            .expression_attribute_values(":p", s(provisioning))
            .expression_attribute_values(":held", s(stored_time(&held_until)))
            .send()
            .await;
        let made = unless_condition_failed(out)?;
        Ok(made.is_some())
    }

    async fn get(&self, id: &RequestId) -> Result<Option<Request>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(request_pk(id)))
            .key("sk", s("REQ"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(request_from_item).transpose()
    }

    async fn events_for(&self, id: &RequestId) -> Result<Vec<AuditEvent>, StoreError> {
        // Only chain events: an event-like item without `kind` = event is not one (README
        // "Audit trail"), so nothing the bot does or shows rests on it.
        self.event_items(id)
            .await?
            .iter()
            .filter(|item| get_s(item, "kind") == Some("event"))
            .map(event_from_item)
            .collect()
    }

    async fn events_shown(&self, id: &RequestId) -> Result<Vec<ShownEvent>, StoreError> {
        let items = self.event_items(id).await?;
        let (head, _) = self.head().await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let shown = match inventory::event_item(item) {
                Ok(stored) if stored.key_seq != stored.event.seq => ShownEvent {
                    event: stored.event,
                    item_problem: Some("stored under another sequence number's sort key".into()),
                },
                Ok(stored) if stored.event.seq > head => ShownEvent {
                    event: stored.event,
                    item_problem: Some(format!("it lies past the chain head (#{head})")),
                },
                Ok(stored) => ShownEvent {
                    event: stored.event,
                    item_problem: None,
                },
                // Shown (a lookup hides nothing), marked with why it is not verified.
                Err(why) => match read_event(item) {
                    Some(event) => ShownEvent {
                        event,
                        item_problem: Some(why),
                    },
                    None => {
                        return Err(event_from_item(item).err().unwrap_or_else(|| {
                            StoreError::Corrupt("an event item that does not read".into())
                        }));
                    }
                },
            };
            out.push(shown);
        }
        Ok(out)
    }

    async fn open_requests(&self) -> Result<Vec<Request>, StoreError> {
        let mut out = Vec::new();
        for state in ["approved", "pending"] {
            let q = self
                .query()
                .index_name("by_open_state")
                .key_condition_expression("open_state = :s")
                .expression_attribute_values(":s", s(state));
            let items = all_items(q).await?;
            for item in &items {
                out.push(request_from_item(item)?);
            }
        }
        Ok(out)
    }

    async fn watch_list(&self, now: DateTime<Utc>) -> Result<Vec<Watch>, StoreError> {
        let q = self
            .query()
            .index_name("by_watch")
            .key_condition_expression("watch_state = :w AND watch_due <= :now")
            .expression_attribute_values(":w", s(WATCHING))
            .expression_attribute_values(":now", s(stored_time(&now)));
        let items = all_items(q).await?;
        items.iter().map(watch_from_item).collect()
    }

    async fn claim_watch(
        &self,
        id: &RequestId,
        now: DateTime<Utc>,
        next_due: DateTime<Utc>,
    ) -> Result<Option<Watch>, StoreError> {
        // The index is eventually consistent: the condition on the item itself decides, and the
        // item as it is now (not as the index showed it) is what the check works from.
        let until = lease_end(now, WATCH_LEASE);
        let out = self
            .update_request(id)
            .update_expression("SET watch_due = :next, watch_lease_until = :until")
            .condition_expression(
                "watch_state = :w AND watch_due <= :now \
                 AND (attribute_not_exists(watch_lease_until) OR watch_lease_until < :now)",
            )
            .expression_attribute_values(":w", s(WATCHING))
            .expression_attribute_values(":now", s(stored_time(&now)))
            .expression_attribute_values(":next", s(stored_time(&next_due)))
            .expression_attribute_values(":until", s(stored_time(&until)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        unless_condition_failed(out)?.map_or(Ok(None), |out| {
            out.attributes().map(watch_from_item).transpose()
        })
    }

    async fn update_watch(&self, id: &RequestId, update: WatchUpdate) -> Result<bool, StoreError> {
        let req = self.update_request(id);
        let req = match update {
            WatchUpdate::Checked => req
                .update_expression("REMOVE watch_lease_until")
                .condition_expression("watch_state = :w")
                .expression_attribute_values(":w", s(WATCHING)),
            WatchUpdate::Drifted(code) => req
                .update_expression("SET drift_reported = :d REMOVE watch_lease_until")
                .condition_expression("watch_state = :w AND attribute_not_exists(drift_reported)")
                .expression_attribute_values(":w", s(WATCHING))
                .expression_attribute_values(":d", s(code)),
            WatchUpdate::InForce => req
                .update_expression("REMOVE drift_reported, watch_lease_until")
                .condition_expression("watch_state = :w")
                .expression_attribute_values(":w", s(WATCHING)),
            // Leaving `by_watch` (a sparse index): the attributes go.
            WatchUpdate::Finished => req
                .update_expression(
                    "REMOVE watch_state, watch_due, watch_lease_until, drift_reported",
                )
                .condition_expression("attribute_exists(pk)"),
        };
        let sent = req.send().await;
        let made = unless_condition_failed(sent)?;
        Ok(made.is_some())
    }

    async fn requests_by_role(
        &self,
        role: &RoleArn,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        self.query_requests("by_role", "role_arn", &role.to_string(), since, limit)
            .await
    }

    async fn requests_by_user(
        &self,
        user: &SlackUserId,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        // Every event this person caused, newest first; the distinct requests they belong to.
        let mut ids: Vec<RequestId> = Vec::new();
        let mut scanned = 0;
        let mut start = None;
        loop {
            let mut q = self
                .query()
                .index_name("by_actor")
                .expression_attribute_values(":a", s(user.as_str()))
                .scan_index_forward(false)
                .set_exclusive_start_key(start);
            q = match since {
                Some(t) => q
                    .key_condition_expression("actor = :a AND #at >= :since")
                    .expression_attribute_names("#at", "at")
                    .expression_attribute_values(":since", s(stored_time(&t))),
                None => q.key_condition_expression("actor = :a"),
            };
            let out = q.send().await.map_err(unavailable)?;
            scanned += out.scanned_count() as usize;
            for id in out.items().iter().filter_map(|i| get_s(i, "request_id")) {
                if let Ok(id) = RequestId::parse(id)
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() || ids.len() > limit as usize {
                break;
            }
        }
        let more = ids.len() > limit as usize || start.is_some();
        let mut items = Vec::new();
        for id in ids.iter().take(limit as usize) {
            // Refused requests have events but no request item.
            if let Some(r) = self.get(id).await? {
                scanned += 1;
                items.push(r);
            }
        }
        items.sort_by_key(|r| std::cmp::Reverse(r.created_at()));
        Ok(Page {
            items,
            more,
            scanned,
            total: None,
        })
    }

    async fn latest_requests(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        self.query_requests("by_time", "kind", "request", since, limit)
            .await
    }

    async fn chain_snapshot(&self) -> Result<ChainSnapshot, StoreError> {
        let (head_seq, head_hash) = self.head().await?;
        // Every item, not only events: whatever the table holds is accounted for or named.
        let items: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(unavailable)?;
        let mut snapshot = ChainSnapshot {
            head: (head_seq > 0).then_some(ChainHead {
                seq: head_seq,
                hash: head_hash,
            }),
            ..ChainSnapshot::default()
        };
        for item in &items {
            match inventory::classify(item) {
                inventory::Kind::Head => {}
                inventory::Kind::Event(e) => snapshot.events.push(*e),
                inventory::Kind::Request(r) => snapshot.requests.push(*r),
                inventory::Kind::Key(k) => snapshot.keys.push(k),
                inventory::Kind::Unaccounted(u) => snapshot.unaccounted.push(u),
            }
        }
        Ok(snapshot)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// A conditional update's answer: `None` when its condition did not hold (someone else got there
/// first), the output when it was made, an error when the store could not be reached.
fn unless_condition_failed<T, R>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            R,
        >,
    >,
) -> Result<Option<T>, StoreError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(unavailable(e)),
    }
}

/// Every item a query matches, page after page.
async fn all_items(q: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    q.into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(unavailable)
}

impl DynamoStore {
    /// Every item under one request's key whose sort key says it is an event.
    async fn event_items(&self, id: &RequestId) -> Result<Vec<Item>, StoreError> {
        let q = self
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
            .expression_attribute_values(":pk", s(request_pk(id)))
            .expression_attribute_values(":evt", s("EVT#"))
            .consistent_read(true);
        all_items(q).await
    }

    /// A `Query` on the table.
    pub(super) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.table)
    }

    /// An `UpdateItem` on one request's item.
    fn update_request(
        &self,
        id: &RequestId,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(request_pk(id)))
            .key("sk", s("REQ"))
    }
}
