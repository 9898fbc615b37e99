//! The audit store on DynamoDB (SPEC §7). One table, string keys `pk`/`sk`:
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | request | `REQ#<id>` | `REQ` | `kind`=request, `state`, `version`, `role_arn`, `requester`, `created_at`, `expires_at`, `open_state` (only while pending/approved), `data` (JSON), `card_channel`, `card_ts`; while applied and under drift watch: `watch_state`=watching, `watch_due`, `watch_lease_until`, `drift_reported` |
//! | event | `REQ#<id>` | `EVT#<seq, 20 digits>` | `kind`=event, `seq`, `prev_hash`, `hash`, `request_id`, `type`, `actor`, `at`, and each optional field |
//! | chain head | `CHAIN` | `HEAD` | `seq`, `hash` |
//! | idempotency key | `KEY#<key>` | `KEY` | `request_id` |
//!
//! Indexes: `by_role` (`role_arn`, `created_at`), `by_actor` (`actor`, `at`), `by_time` (`kind`, `created_at`),
//! `by_open_state` (`open_state`, `expires_at`), `by_watch` (`watch_state`, `watch_due`): the drift
//! watch's due checks (SPEC §11), sparse like `by_open_state` (the attributes go when the watch ends).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TransactWriteItem, Update,
};
use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;

use super::describe;
use crate::domain::audit::{
    AuditEvent, ChainHead, ChainSnapshot, EventDraft, EventKind, GENESIS_HASH, StoredEvent,
};
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::request::{CardRef, Request};
use crate::domain::role_arn::RoleArn;
use crate::ports::{AuditStore, Page, StoreError, WATCH_LEASE, Watch, WatchUpdate};

pub const INDEXES: [(&str, &str, &str); 5] = [
    ("by_role", "role_arn", "created_at"),
    ("by_actor", "actor", "at"),
    ("by_time", "kind", "created_at"),
    ("by_open_state", "open_state", "expires_at"),
    ("by_watch", "watch_state", "watch_due"),
];

/// `watch_state` while a request is under drift watch.
const WATCHING: &str = "watching";

/// How long a write keeps retrying a lost race on the chain head before reporting the store busy.
const CHAIN_BUDGET: Duration = Duration::from_secs(30);
pub use crate::ports::APPLY_LEASE;

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
    /// This process's last known chain head. Appends from one process take turns on it, so that
    /// they do not race each other for the head item and each usually needs one round trip.
    /// Correctness never rests on it: every append is conditional on the head in DynamoDB, and
    /// replicas still race (and retry) there.
    tail: tokio::sync::Mutex<Option<(u64, String)>>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    StoreError::unavailable(describe(&e))
}
fn get_s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}
fn get_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}
fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(format!("invalid DynamoDB request: {e}"))
}

fn request_pk(id: &RequestId) -> String {
    format!("REQ#{id}")
}

fn request_attributes(r: &Request) -> Result<Item, StoreError> {
    // The card's reference is not part of the request's data (it is stored beside it).
    let json = serde_json::to_string(r).map_err(|e| StoreError::unavailable(e.to_string()))?;
    let mut item = Item::from([
        ("state".to_string(), s(r.state().as_str())),
        ("version".to_string(), n(r.version())),
        ("data".to_string(), s(json)),
    ]);
    if r.state().is_open() {
        item.insert("open_state".into(), s(r.state().as_str()));
    }
    Ok(item)
}

fn request_from_item(item: &Item) -> Result<Request, StoreError> {
    let data = get_s(item, "data")
        .ok_or_else(|| StoreError::Corrupt("request item without data".into()))?;
    let mut r: Request = serde_json::from_str(data)
        .map_err(|e| StoreError::Corrupt(format!("unreadable request item: {e}")))?;
    if let (Some(channel), Some(ts)) = (get_s(item, "card_channel"), get_s(item, "card_ts"))
        && let Ok(channel) = crate::domain::ids::ChannelId::parse(channel)
    {
        r = r.with_card(CardRef {
            channel,
            ts: ts.to_string(),
        });
    }
    if let Some(sent) = get_n(item, "reminders") {
        r = r.with_reminders(sent.min(u32::MAX as u64) as u32);
    }
    Ok(r)
}

fn watch_from_item(item: &Item) -> Result<Watch, StoreError> {
    let due = get_s(item, "watch_due")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| StoreError::Corrupt("a watched request without watch_due".into()))?;
    Ok(Watch {
        request: request_from_item(item)?,
        due: due.with_timezone(&Utc),
        drift: get_s(item, "drift_reported").map(str::to_string),
    })
}

fn event_item(e: &AuditEvent) -> Item {
    let d = &e.draft;
    let mut item = Item::from([
        ("pk".to_string(), s(request_pk(&d.request_id))),
        ("sk".to_string(), s(format!("EVT#{:020}", e.seq))),
        ("kind".to_string(), s("event")),
        ("seq".to_string(), n(e.seq)),
        ("prev_hash".to_string(), s(&e.prev_hash)),
        ("hash".to_string(), s(&e.hash)),
        ("request_id".to_string(), s(d.request_id.as_str())),
        ("type".to_string(), s(d.kind.as_str())),
        ("actor".to_string(), s(&d.actor)),
        ("at".to_string(), s(&d.at)),
    ]);
    for (k, v) in [
        ("event_role_arn", &d.role_arn),
        ("reason", &d.reason),
        ("cutoff", &d.cutoff),
        ("policy_sha256", &d.policy_sha256),
        ("error", &d.error),
        ("detail", &d.detail),
    ] {
        if let Some(v) = v {
            item.insert(k.to_string(), s(v));
        }
    }
    item
}

/// An event item that must read back; one that does not is reported, never skipped.
fn event_from_item(item: &Item) -> Result<AuditEvent, StoreError> {
    read_event(item).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "unreadable event item {} {}",
            get_s(item, "pk").unwrap_or("?"),
            get_s(item, "sk").unwrap_or("?")
        ))
    })
}

/// Rebuild an event from its attributes one by one, so that editing any of them breaks its hash.
fn read_event(item: &Item) -> Option<AuditEvent> {
    let opt = |k: &str| get_s(item, k).map(str::to_string);
    Some(AuditEvent {
        seq: get_n(item, "seq")?,
        prev_hash: opt("prev_hash").unwrap_or_default(),
        hash: opt("hash").unwrap_or_default(),
        draft: EventDraft {
            request_id: RequestId::parse(get_s(item, "request_id")?).ok()?,
            kind: EventKind::parse(get_s(item, "type")?)?,
            actor: opt("actor").unwrap_or_default(),
            at: opt("at").unwrap_or_default(),
            role_arn: opt("event_role_arn"),
            reason: opt("reason"),
            cutoff: opt("cutoff"),
            policy_sha256: opt("policy_sha256"),
            error: opt("error"),
            detail: opt("detail"),
        },
    })
}

/// What a transaction wrote besides the event and the chain head.
enum Guard<'a> {
    None,
    Create {
        request: &'a Request,
        key: Option<&'a str>,
    },
    Transition {
        next: &'a Request,
    },
}

impl DynamoStore {
    pub fn new(config: &aws_config::SdkConfig, table: &str) -> Self {
        DynamoStore {
            tail: tokio::sync::Mutex::new(None),
            client: Client::new(config),
            table: table.to_string(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn head(&self) -> Result<(u64, String), StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("CHAIN"))
            .key("sk", s("HEAD"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item() {
            // A head that does not read is tampering or corruption: never restart the chain over it.
            Some(item) => match (get_n(item, "seq"), get_s(item, "hash")) {
                (Some(seq), Some(hash)) if seq > 0 && hash.len() == 64 => {
                    Ok((seq, hash.to_string()))
                }
                _ => Err(StoreError::Corrupt(
                    "the chain head item (CHAIN/HEAD) is unreadable".into(),
                )),
            },
            None => Ok((0, GENESIS_HASH.to_string())),
        }
    }

    fn guard_items(&self, guard: &Guard<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
        match guard {
            Guard::None => Ok(vec![]),
            Guard::Create { request, key } => {
                let mut item = request_attributes(request)?;
                item.insert("pk".into(), s(request_pk(request.id())));
                item.insert("sk".into(), s("REQ"));
                item.insert("kind".into(), s("request"));
                item.insert("role_arn".into(), s(request.target_arn()));
                item.insert("requester".into(), s(request.requester().as_str()));
                item.insert("created_at".into(), s(ts(&request.created_at())));
                item.insert("expires_at".into(), s(ts(&request.expires_at())));
                let mut out = vec![
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(item))
                                .condition_expression("attribute_not_exists(pk)")
                                .build()
                                .map_err(build_err)?,
                        )
                        .build(),
                ];
                if let Some(k) = key {
                    out.push(
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(&self.table)
                                    .item("pk", s(format!("KEY#{k}")))
                                    .item("sk", s("KEY"))
                                    .item("request_id", s(request.id().as_str()))
                                    .condition_expression("attribute_not_exists(pk)")
                                    .build()
                                    .map_err(build_err)?,
                            )
                            .build(),
                    );
                }
                Ok(out)
            }
            Guard::Transition { next } => {
                let attrs = request_attributes(next)?;
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(request_pk(next.id())))
                    .key("sk", s("REQ"))
                    .condition_expression("#v = :expected")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_names("#s", "state")
                    .expression_attribute_names("#d", "data")
                    .expression_attribute_values(":expected", n(next.version().saturating_sub(1)))
                    .expression_attribute_values(":v", n(next.version()))
                    .expression_attribute_values(":s", attrs["state"].clone())
                    .expression_attribute_values(":d", attrs["data"].clone());
                let mut set = "SET #v = :v, #s = :s, #d = :d".to_string();
                update = update.expression_attribute_names("#o", "open_state");
                if let Some(open) = attrs.get("open_state") {
                    set.push_str(", #o = :o");
                    update = update.expression_attribute_values(":o", open.clone());
                }
                // The drift watch starts with the `applied` transition, in the same write.
                if next.state() == crate::domain::request::State::Applied
                    && let Some(due) = crate::ports::first_watch_due(next)
                {
                    set.push_str(", watch_state = :ws, watch_due = :wd");
                    update = update
                        .expression_attribute_values(":ws", s(WATCHING))
                        .expression_attribute_values(":wd", s(ts(&due)));
                }
                let remove = if attrs.contains_key("open_state") {
                    ""
                } else {
                    " REMOVE #o"
                };
                update = update.update_expression(format!("{set}{remove}"));
                Ok(vec![
                    TransactWriteItem::builder()
                        .update(update.build().map_err(build_err)?)
                        .build(),
                ])
            }
        }
    }

    /// Append `draft` to the chain in one transaction with `guard`. A lost race on the chain head is
    /// retried here; a failed guard is the caller's to handle.
    async fn append(&self, guard: Guard<'_>, draft: EventDraft) -> Result<AuditEvent, StoreError> {
        let guards = self.guard_items(&guard)?;
        let deadline = tokio::time::Instant::now() + CHAIN_BUDGET;
        let mut attempt: u64 = 0;
        let mut tail = self.tail.lock().await;
        loop {
            attempt += 1;
            let (seq, prev) = match tail.take() {
                Some(known) => known,
                None => self.head().await?,
            };
            let event = draft.clone().seal(seq + 1, &prev);
            // One token per distinct transaction: an SDK retry of a transaction that did commit
            // then succeeds instead of failing its conditions and looking like a lost race.
            let token: String = {
                let mut rng = rand::rng();
                (0..32)
                    .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
                    .collect()
            };
            let head = if seq == 0 {
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .item("pk", s("CHAIN"))
                            .item("sk", s("HEAD"))
                            .item("seq", n(event.seq))
                            .item("hash", s(&event.hash))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .map_err(build_err)?,
                    )
                    .build()
            } else {
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .key("pk", s("CHAIN"))
                            .key("sk", s("HEAD"))
                            .update_expression("SET seq = :n, #h = :h")
                            .condition_expression("seq = :old")
                            .expression_attribute_names("#h", "hash")
                            .expression_attribute_values(":n", n(event.seq))
                            .expression_attribute_values(":h", s(&event.hash))
                            .expression_attribute_values(":old", n(seq))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build()
            };
            let put_event = TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(event_item(&event)))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(build_err)?,
                )
                .build();
            let mut items = guards.clone();
            items.push(put_event);
            items.push(head);
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .client_request_token(token)
                .send()
                .await
            {
                Ok(_) => {
                    *tail = Some((event.seq, event.hash.clone()));
                    return Ok(event);
                }
                Err(e) => {
                    let reasons: Vec<Option<String>> = match e.as_service_error() {
                        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                            .cancellation_reasons()
                            .iter()
                            .map(|r| r.code().map(str::to_string))
                            .collect(),
                        Some(other) if other.code() == Some("TransactionConflictException") => {
                            vec![]
                        }
                        _ => return Err(unavailable(e)),
                    };
                    let failed = |i: usize| {
                        reasons.get(i).and_then(|c| c.as_deref()) == Some("ConditionalCheckFailed")
                    };
                    match guard {
                        Guard::Create { key: Some(_), .. } if failed(1) => {
                            return Err(StoreError::Duplicate);
                        }
                        Guard::Create { .. } if failed(0) => return Err(StoreError::Duplicate),
                        Guard::Transition { .. } if failed(0) => return Err(StoreError::Conflict),
                        _ => {}
                    }
                    // The chain head moved (or a transaction was in flight): back off a little and retry.
                    if tokio::time::Instant::now() > deadline {
                        return Err(StoreError::unavailable(
                            "the audit chain stayed contended for 30 s; giving up",
                        ));
                    }
                    let jitter = rand::rng().random_range(0..(5 + attempt * 3).min(100));
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
            }
        }
    }

    async fn query_requests(
        &self,
        index: &str,
        hash_key: &str,
        hash_value: &str,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#h", hash_key)
            .expression_attribute_values(":h", s(hash_value))
            .scan_index_forward(false)
            .limit(limit as i32 + 1);
        q = match since {
            Some(t) => q
                .key_condition_expression("#h = :h AND created_at >= :since")
                .expression_attribute_values(":since", s(ts(&t))),
            None => q.key_condition_expression("#h = :h"),
        };
        let counter = q.clone();
        let out = q.send().await.map_err(unavailable)?;
        let mut items = out
            .items()
            .iter()
            .map(request_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let mut scanned = out.scanned_count() as usize;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let mut total = None;
        if more {
            // Count every match from the same index, so the answer can say how many there are.
            let pages = counter
                .set_limit(None)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(unavailable)?;
            let count: usize = pages.iter().map(|p| p.count() as usize).sum();
            scanned += pages
                .iter()
                .map(|p| p.scanned_count() as usize)
                .sum::<usize>();
            total = Some(count);
        }
        Ok(Page {
            items,
            more,
            scanned,
            total,
        })
    }

    /// `create-table`: the table and its indexes, if missing (local development and tests).
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        if self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok()
        {
            return Ok(false);
        }
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build_err)
        };
        let mut attrs = HashSet::new();
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?);
        attrs.insert("pk");
        attrs.insert("sk");
        for (name, h, r) in INDEXES {
            attrs.insert(h);
            attrs.insert(r);
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .key_schema(key(h, KeyType::Hash)?)
                    .key_schema(key(r, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(build_err)?,
            );
        }
        for a in attrs {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(a)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build_err)?,
            );
        }
        req.send().await.map_err(unavailable)?;
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(120))
            .await
            .map_err(|e| {
                StoreError::unavailable(format!(
                    "table {} did not become ACTIVE: {}",
                    self.table,
                    describe(&e)
                ))
            })?;
        Ok(true)
    }
}

/// `check-config`: the table exists with the expected keys and every index the lookups need.
pub async fn check_table(config: &aws_config::SdkConfig, table: &str) -> Result<String, String> {
    let client = Client::new(config);
    let out = client.describe_table().table_name(table).send().await.map_err(|e| {
        if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) {
            format!("dynamodb: table {table} does not exist; deploy deploy/bot.yaml (or run `revoke-role-bot create-table` locally)")
        } else {
            format!("dynamodb: cannot describe table {table}: {}", describe(&e))
        }
    })?;
    let t = out
        .table()
        .ok_or_else(|| format!("dynamodb: table {table}: empty description"))?;
    let keys = |schema: &[KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect()
    };
    let expect = |h: &str, r: &str| {
        vec![
            (h.to_string(), "HASH".to_string()),
            (r.to_string(), "RANGE".to_string()),
        ]
    };
    if keys(t.key_schema()) != expect("pk", "sk") {
        return Err(format!(
            "dynamodb: table {table} must have keys pk (HASH) and sk (RANGE), has {:?}",
            keys(t.key_schema())
        ));
    }
    for (name, h, r) in INDEXES {
        match t
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(name))
        {
            None => {
                return Err(format!(
                    "dynamodb: table {table} has no index {name} ({h}, {r}); see the README's table layout"
                ));
            }
            Some(i) if keys(i.key_schema()) != expect(h, r) => {
                return Err(format!(
                    "dynamodb: index {name} must have keys {h} (HASH) and {r} (RANGE)"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(format!(
        "dynamodb: table {table} and its {} indexes are as expected",
        INDEXES.len()
    ))
}

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
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(request_pk(id)))
            .key("sk", s("REQ"))
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
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(request_pk(id)))
            .key("sk", s("REQ"))
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
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn claim(&self, id: &RequestId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let until =
            now + chrono::Duration::from_std(APPLY_LEASE).unwrap_or(chrono::Duration::minutes(1));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(request_pk(id)))
            .key("sk", s("REQ"))
            .update_expression("SET lease_until = :until")
            .condition_expression(
                "#s = :approved AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            )
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":approved", s("approved"))
            .expression_attribute_values(":until", s(ts(&until)))
            .expression_attribute_values(":now", s(ts(&now)))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
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
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
            .expression_attribute_values(":pk", s(request_pk(id)))
            .expression_attribute_values(":evt", s("EVT#"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(unavailable)?;
        items.iter().map(event_from_item).collect()
    }

    async fn open_requests(&self) -> Result<Vec<Request>, StoreError> {
        let mut out = Vec::new();
        for state in ["approved", "pending"] {
            let items = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by_open_state")
                .key_condition_expression("open_state = :s")
                .expression_attribute_values(":s", s(state))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(unavailable)?;
            for item in &items {
                out.push(request_from_item(item)?);
            }
        }
        Ok(out)
    }

    async fn watch_list(&self, now: DateTime<Utc>) -> Result<Vec<Watch>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_watch")
            .key_condition_expression("watch_state = :w AND watch_due <= :now")
            .expression_attribute_values(":w", s(WATCHING))
            .expression_attribute_values(":now", s(ts(&now)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(unavailable)?;
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
        let until =
            now + chrono::Duration::from_std(WATCH_LEASE).unwrap_or(chrono::Duration::minutes(1));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(request_pk(id)))
            .key("sk", s("REQ"))
            .update_expression("SET watch_due = :next, watch_lease_until = :until")
            .condition_expression(
                "watch_state = :w AND watch_due <= :now \
                 AND (attribute_not_exists(watch_lease_until) OR watch_lease_until < :now)",
            )
            .expression_attribute_values(":w", s(WATCHING))
            .expression_attribute_values(":now", s(ts(&now)))
            .expression_attribute_values(":next", s(ts(&next_due)))
            .expression_attribute_values(":until", s(ts(&until)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => out.attributes().map(watch_from_item).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn update_watch(&self, id: &RequestId, update: WatchUpdate) -> Result<bool, StoreError> {
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(request_pk(id)))
            .key("sk", s("REQ"));
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
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
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
                .client
                .query()
                .table_name(&self.table)
                .index_name("by_actor")
                .expression_attribute_values(":a", s(user.as_str()))
                .scan_index_forward(false)
                .set_exclusive_start_key(start);
            q = match since {
                Some(t) => q
                    .key_condition_expression("actor = :a AND #at >= :since")
                    .expression_attribute_names("#at", "at")
                    .expression_attribute_values(":since", s(ts(&t))),
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
        let items = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("kind = :e")
            .expression_attribute_values(":e", s("event"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(unavailable)?;
        let mut events = Vec::with_capacity(items.len());
        for item in &items {
            let key_seq = get_s(item, "sk")
                .and_then(|sk| sk.strip_prefix("EVT#"))
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    StoreError::Corrupt("an event item's sort key is not EVT#<seq>".into())
                })?;
            events.push(StoredEvent {
                key_seq,
                event: event_from_item(item)?,
            });
        }
        Ok(ChainSnapshot {
            events,
            head: (head_seq > 0).then_some(ChainHead {
                seq: head_seq,
                hash: head_hash,
            }),
        })
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
