//! `audit` (the trail of a role, request or user, as a person reads it) and `audit verify` (the
//! hash chain against witnesses).

use anyhow::{Context, bail};

use crate::clock::SystemClock;

use super::AuditArgs;
use crate::config::Settings;
use crate::domain::audit::{Witness, verify_snapshot};
use crate::domain::command::{AuditQuery, AuditTarget, parse_duration};
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::role_arn::RoleSpec;
use crate::ports::AuditStore;
use crate::service::lookup::query;
use crate::service::notice::Found;
use crate::slack::messages::{self, printable};

pub(super) async fn verify(store: &dyn AuditStore, witnesses: &[Witness]) -> anyhow::Result<()> {
    let snapshot = store
        .chain_snapshot()
        .await
        .map_err(|e| anyhow::anyhow!(crate::ports::error_chain(&e)))?;
    let count = snapshot.events.len();
    let head = snapshot.head.as_ref().map_or(0, |h| h.seq);
    let breaks = verify_snapshot(&snapshot, witnesses);
    if breaks.is_empty() {
        println!(
            "ok: {count} events, chain intact up to #{head}{}",
            if witnesses.is_empty() {
                String::new()
            } else {
                format!(", {} witness(es) agree", witnesses.len())
            }
        );
        return Ok(());
    }
    for b in &breaks {
        println!("BROKEN: {b}");
    }
    bail!(
        "the audit chain is broken in {} place(s); the first: {}",
        breaks.len(),
        breaks[0]
    )
}

/// One event as JSON; one that is not verified carries `"not_verified": <why>`.
fn event_json(
    e: &crate::domain::audit::AuditEvent,
    not_verified: Option<&str>,
) -> anyhow::Result<String> {
    let mut v = serde_json::to_value(e)?;
    if let (Some(why), Some(obj)) = (not_verified, v.as_object_mut()) {
        obj.insert("not_verified".into(), serde_json::Value::String(why.into()));
    }
    Ok(serde_json::to_string(&v)?)
}

pub(super) async fn audit(
    store: &dyn AuditStore,
    s: &Settings,
    a: &AuditArgs,
) -> anyhow::Result<()> {
    let target = if let Some(r) = &a.role {
        AuditTarget::Role(RoleSpec::parse(r)?)
    } else if let Some(r) = &a.request {
        AuditTarget::Request(RequestId::parse(r)?)
    } else if let Some(u) = &a.user {
        AuditTarget::User(SlackUserId::parse(u)?)
    } else {
        AuditTarget::Latest
    };
    let since = a.since.as_deref().map(parse_duration).transpose()?;
    if !(1..=1000).contains(&a.limit) {
        bail!("--limit takes 1 to 1000");
    }
    let q = AuditQuery {
        target,
        since,
        limit: a.limit,
    };
    let found = query(store, s, &SystemClock, &q)
        .await
        .map_err(|e| anyhow::anyhow!(messages::lookup_error(&e).to_plain()))
        .context("audit lookup")?;
    match found {
        Found::One {
            request,
            events,
            not_verified,
        } => {
            if a.json {
                for (i, e) in events.iter().enumerate() {
                    println!("{}", event_json(e, not_verified.event(i))?);
                }
            } else {
                if let Some(why) = &not_verified.request {
                    println!("NOT VERIFIED ({}):", printable(why));
                }
                // Reasons, roles and AWS errors are untrusted: control characters are shown, not obeyed.
                println!(
                    "{}  {}  {}  by {}  reason: {}",
                    request.id(),
                    request.state().as_str(),
                    printable(&request.target_arn()),
                    request.requester(),
                    printable(request.reason())
                );
                for (i, e) in events.iter().enumerate() {
                    let d = &e.draft;
                    if let Some(why) = not_verified.event(i) {
                        println!("  NOT VERIFIED ({}):", printable(why));
                    }
                    println!(
                        "  #{:<6} {}  {:<18} {:<12} {}",
                        e.seq,
                        printable(&d.at),
                        d.kind.as_str(),
                        printable(&d.actor),
                        printable(
                            &[d.cutoff.as_deref(), d.detail.as_deref(), d.error.as_deref()]
                                .iter()
                                .flatten()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join("  ")
                        )
                    );
                }
            }
        }
        Found::Many {
            page, not_verified, ..
        } => {
            for r in &page.items {
                let why = not_verified
                    .iter()
                    .find(|(id, _)| id == r.id())
                    .map(|(_, why)| why.as_str());
                if a.json {
                    let shown = store.events_shown(r.id()).await?;
                    let nv = crate::service::lookup::check(r, &shown);
                    for (i, e) in shown.iter().enumerate() {
                        println!("{}", event_json(&e.event, nv.event(i))?);
                    }
                } else {
                    if let Some(why) = why {
                        println!("NOT VERIFIED ({}):", printable(why));
                    }
                    println!(
                        "{}  {:<9} {}  by {}  approvers {}  cut-off {}  {}",
                        r.id(),
                        r.state().as_str(),
                        printable(&r.target_arn()),
                        r.requester(),
                        r.approvals()
                            .iter()
                            .map(|u| u.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        r.cutoff()
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "-".into()),
                        r.created_at().format("%Y-%m-%d %H:%M:%SZ")
                    );
                }
            }
            if page.more {
                let how_many = match page.total {
                    Some(total) => format!("showing {} of {total}", page.items.len()),
                    None => format!("showing the latest {}; there are more", a.limit),
                };
                eprintln!("{how_many}: narrow with --since, --role, --user or raise --limit");
            }
        }
    }
    Ok(())
}
