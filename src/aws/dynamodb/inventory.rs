//! Every item of the table read as one of the kinds the bot writes (README "The audit table (DynamoDB)"), or
//! named as one it cannot account for: what `audit verify` and lookups rest on.

use std::collections::HashSet;

use crate::domain::audit::AuditEvent;
use crate::domain::chain::{StoredEvent, StoredKey, Unaccounted};
use crate::domain::request::Request;

use super::Item;
use super::items::{get_n, get_s, read_event, request_from_item, request_pk, stored_time};

/// The attributes of an event item (README "The audit table (DynamoDB)"), all covered by the event's hash.
pub(super) const EVENT_ATTRIBUTES: &[&str] = &[
    "pk",
    "sk",
    "kind",
    "seq",
    "prev_hash",
    "hash",
    "request_id",
    "type",
    "actor",
    "at",
    "event_role_arn",
    "reason",
    "cutoff",
    "policy_sha256",
    "error",
    "detail",
];

/// The attributes of a request item that its `data` holds or mirrors for the indexes: checked
/// against its events (`domain::explain`) and against `data`.
pub(super) const REQUEST_ATTRIBUTES: &[&str] = &[
    "pk",
    "sk",
    "kind",
    "state",
    "version",
    "data",
    "open_state",
    "role_arn",
    "requester",
    "created_at",
    "expires_at",
];

/// Bookkeeping beside a request: not part of the trail, never shown as part of it, and the only
/// other attributes a request item may carry. A new one must be added here and to the README.
pub(super) const BOOKKEEPING: &[&str] = &[
    // where the card was posted (`set_card`)
    "card_channel",
    "card_ts",
    // reminders counted (`claim_reminder`)
    "reminders",
    // the apply lease (`claim`, renewed while the work runs)
    "lease_until",
    // a permission set's provisioning under way (`set_provisioning`), so recovery resumes its wait
    "provisioning_request_id",
    // the drift watch (`claim_watch`, `update_watch`)
    "watch_state",
    "watch_due",
    "watch_lease_until",
    "drift_reported",
];

const HEAD_ATTRIBUTES: &[&str] = &["pk", "sk", "seq", "hash"];
const KEY_ATTRIBUTES: &[&str] = &["pk", "sk", "request_id"];

/// What one item is.
pub(super) enum Kind {
    Head,
    Event(Box<StoredEvent>),
    Request(Box<Request>),
    Key(StoredKey),
    Unaccounted(Unaccounted),
}

fn extra(item: &Item, allowed: &[&[&str]]) -> Option<String> {
    let allowed: HashSet<&str> = allowed.iter().flat_map(|a| a.iter().copied()).collect();
    let mut unknown: Vec<&str> = item
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    unknown.sort_unstable();
    (!unknown.is_empty()).then(|| format!("attribute(s) the bot never writes: {unknown:?}"))
}

/// Classify one item of the table.
pub(super) fn classify(item: &Item) -> Kind {
    let pk = get_s(item, "pk").unwrap_or_default().to_string();
    let sk = get_s(item, "sk").unwrap_or_default().to_string();
    let unaccounted = |why: String| {
        Kind::Unaccounted(Unaccounted {
            pk: pk.clone(),
            sk: sk.clone(),
            why,
        })
    };
    match (pk.as_str(), sk.as_str()) {
        ("CHAIN", "HEAD") => match extra(item, &[HEAD_ATTRIBUTES]) {
            Some(why) => unaccounted(why),
            None => Kind::Head,
        },
        (p, "KEY") if p.starts_with("KEY#") => {
            match (extra(item, &[KEY_ATTRIBUTES]), get_s(item, "request_id")) {
                (Some(why), _) => unaccounted(why),
                (None, None) => unaccounted("an idempotency key without request_id".into()),
                (None, Some(id)) => Kind::Key(StoredKey {
                    key: p["KEY#".len()..].to_string(),
                    request_id: id.to_string(),
                }),
            }
        }
        (p, "REQ") if p.starts_with("REQ#") => match request_item(item, p) {
            Ok(r) => Kind::Request(Box::new(r)),
            Err(why) => unaccounted(why),
        },
        (p, s) if p.starts_with("REQ#") && s.starts_with("EVT#") => match event_item(item) {
            Ok(e) => Kind::Event(Box::new(e)),
            Err(why) => unaccounted(why),
        },
        _ => unaccounted("no item of the bot has these keys".into()),
    }
}

/// An event item as the bot writes it, or why it is not one. Its content is checked by the chain.
pub(super) fn event_item(item: &Item) -> Result<StoredEvent, String> {
    if get_s(item, "kind") != Some("event") {
        return Err(
            "an event-like item without kind = event: the chain does not hold it, so it is not shown as verified"
                .into(),
        );
    }
    if let Some(why) = extra(item, &[EVENT_ATTRIBUTES]) {
        return Err(why);
    }
    let key_seq = get_s(item, "sk")
        .and_then(|sk| sk.strip_prefix("EVT#"))
        .filter(|n| n.len() == 20)
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| "its sort key is not EVT#<20 digits>".to_string())?;
    let event: AuditEvent =
        read_event(item).ok_or_else(|| "an event item that does not read".to_string())?;
    if get_s(item, "pk") != Some(request_pk(&event.draft.request_id).as_str()) {
        return Err(format!(
            "stored under another request's key than its own ({})",
            event.draft.request_id
        ));
    }
    Ok(StoredEvent { key_seq, event })
}

/// A request item as the bot writes it, or why it is not one: its mirrored attributes must say
/// what its `data` says. Whether its events explain it is the chain check's (`domain::explain`).
fn request_item(item: &Item, pk: &str) -> Result<Request, String> {
    if get_s(item, "kind") != Some("request") {
        return Err("a request item without kind = request".into());
    }
    if let Some(why) = extra(item, &[REQUEST_ATTRIBUTES, BOOKKEEPING]) {
        return Err(why);
    }
    let r = request_from_item(item).map_err(|e| e.to_string())?;
    let differs = |attr: &str| format!("its `{attr}` attribute is not what its data says");
    if pk != request_pk(r.id()) {
        return Err(differs("pk"));
    }
    if get_s(item, "state") != Some(r.state().as_str()) {
        return Err(differs("state"));
    }
    if get_n(item, "version") != Some(r.version()) {
        return Err(differs("version"));
    }
    if get_s(item, "role_arn") != Some(r.target_arn().as_str()) {
        return Err(differs("role_arn"));
    }
    if get_s(item, "requester") != Some(r.requester().as_str()) {
        return Err(differs("requester"));
    }
    if get_s(item, "created_at") != Some(stored_time(&r.created_at()).as_str()) {
        return Err(differs("created_at"));
    }
    if get_s(item, "expires_at") != Some(stored_time(&r.expires_at()).as_str()) {
        return Err(differs("expires_at"));
    }
    let open = r.state().is_open().then(|| r.state().as_str());
    if get_s(item, "open_state") != open {
        return Err(differs("open_state"));
    }
    if get_s(item, "watch_state").is_some_and(|w| w != "watching") {
        return Err("its `watch_state` is not one the bot writes".into());
    }
    Ok(r)
}
