//! The audit store on DynamoDB (README "The audit table (DynamoDB)"). One table, string keys `pk`/`sk`:
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | request | `REQ#<id>` | `REQ` | `kind`=request, `state`, `version`, `role_arn`, `requester`, `created_at`, `expires_at`, `open_state` (only while pending/approved), `data` (JSON), `card_channel`, `card_ts`; while applied and under drift watch: `watch_state`=watching, `watch_due`, `watch_lease_until`, `drift_reported` |
//! | event | `REQ#<id>` | `EVT#<seq, 20 digits>` | `kind`=event, `seq`, `prev_hash`, `hash`, `request_id`, `type`, `actor`, `at`, and each optional field |
//! | chain head | `CHAIN` | `HEAD` | `seq`, `hash` |
//! | idempotency key | `KEY#<key>` | `KEY` | `request_id` |
//!
//! `audit verify` accounts for every item (`inventory.rs`): nothing else, and no other attribute,
//! may be in the table; which request attributes are bookkeeping is `inventory::BOOKKEEPING`.
//!
//! Indexes: `by_role` (`role_arn`, `created_at`), `by_actor` (`actor`, `at`), `by_time` (`kind`, `created_at`),
//! `by_open_state` (`open_state`, `expires_at`), `by_watch` (`watch_state`, `watch_due`): the drift
//! watch's due checks (README "Revocations that stay in force"), sparse like `by_open_state` (the attributes go when the watch ends).
//!
//! Apply bookkeeping on the request item, written only while it is approved: `lease_until` (the
//! apply lease, renewed while the work runs) and `provisioning_request_id` (the permission-set
//! provisioning started under that lease, which recovery resumes waiting on).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use rand::Rng;

use crate::domain::audit::{AuditEvent, EventDraft, GENESIS_HASH};
use crate::domain::request::Request;
use crate::ports::{Page, StoreError};

mod inventory;
mod items;
mod store;
mod table;

use items::*;
pub use table::{TableCheckError, check_table};

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
                item.insert("created_at".into(), s(stored_time(&request.created_at())));
                item.insert("expires_at".into(), s(stored_time(&request.expires_at())));
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
                if let Some(due) = crate::ports::first_watch_due(next) {
                    set.push_str(", watch_state = :ws, watch_due = :wd");
                    update = update
                        .expression_attribute_values(":ws", s(WATCHING))
                        .expression_attribute_values(":wd", s(stored_time(&due)));
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
            .query()
            .index_name(index)
            .expression_attribute_names("#h", hash_key)
            .expression_attribute_values(":h", s(hash_value))
            .scan_index_forward(false)
            .limit(limit as i32 + 1);
        q = match since {
            Some(t) => q
                .key_condition_expression("#h = :h AND created_at >= :since")
                .expression_attribute_values(":since", s(stored_time(&t))),
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
}
