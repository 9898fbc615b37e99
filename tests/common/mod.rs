//! What the fast tier (tests/service) and the integration tier (tests/api) share: the people and
//! the channel, the base configuration, and reading the audit trail. Each tier's `main.rs` pulls
//! this file in with `#[path]`.

#![allow(dead_code)]

use revoke_role_bot::domain::audit::{AuditEvent, EventKind};

pub const ALICE: &str = "U0ALICE";
pub const BOB: &str = "U0BOB";
pub const CAROL: &str = "U0CAROL";
pub const EVE: &str = "U0EVE";
pub const CHANNEL: &str = "C0INCIDENT";

/// The ids as a TOML list's items: `"U0ALICE", "U0BOB"`.
pub fn quoted(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The audit table `table`; Alice and Bob may ask, `approvers` may approve; any role may be
/// revoked but the `break-glass-*` ones; one account, `account`, named `prod`.
pub fn base_config(table: &str, account: &str, approvers: &[&str]) -> String {
    let approvers = quoted(approvers);
    format!(
        r#"
listen = "127.0.0.1:0"
[audit]
table = "{table}"
[access]
requesters = ["{ALICE}", "{BOB}"]
approvers = [{approvers}]
[roles]
allow = ["arn:aws:iam::*:role/*"]
protect = ["arn:aws:iam::*:role/break-glass-*"]
[[accounts]]
id = "{account}"
name = "prod"
"#
    )
}

/// The kinds of `events`, in their order.
pub fn kinds(events: Vec<AuditEvent>) -> Vec<EventKind> {
    events.into_iter().map(|e| e.draft.kind).collect()
}
