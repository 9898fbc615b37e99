//! Items and attributes: requests, events and their DynamoDB form.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::super::describe;
pub(super) use crate::domain::audit::stored_time;
use crate::domain::audit::{AuditEvent, EventDraft, EventKind};
use crate::domain::ids::RequestId;
use crate::domain::request::{CardRef, Request};
use crate::ports::{StoreError, Watch};

use super::Item;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(super) fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    StoreError::unavailable(describe(&e))
}
pub(super) fn get_s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}
pub(super) fn get_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}
pub(super) fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(format!("invalid DynamoDB request: {e}"))
}

pub(super) fn request_pk(id: &RequestId) -> String {
    format!("REQ#{id}")
}

pub(super) fn request_attributes(r: &Request) -> Result<Item, StoreError> {
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

pub(super) fn request_from_item(item: &Item) -> Result<Request, StoreError> {
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
    if let Some(provisioning) = get_s(item, "provisioning_request_id") {
        r = r.with_provisioning(Some(provisioning.to_string()));
    }
    Ok(r)
}

pub(super) fn watch_from_item(item: &Item) -> Result<Watch, StoreError> {
    let due = get_s(item, "watch_due")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| StoreError::Corrupt("a watched request without watch_due".into()))?;
    Ok(Watch {
        request: request_from_item(item)?,
        due: due.with_timezone(&Utc),
        drift: get_s(item, "drift_reported").map(str::to_string),
    })
}

pub(super) fn event_item(e: &AuditEvent) -> Item {
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
pub(super) fn event_from_item(item: &Item) -> Result<AuditEvent, StoreError> {
    read_event(item).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "unreadable event item {} {}",
            get_s(item, "pk").unwrap_or("?"),
            get_s(item, "sk").unwrap_or("?")
        ))
    })
}

/// Rebuild an event from its attributes one by one, so that editing any of them breaks its hash.
pub(super) fn read_event(item: &Item) -> Option<AuditEvent> {
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
