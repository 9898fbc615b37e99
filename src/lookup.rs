//! Audit lookups (SPEC §2 `status` / `audit`), shared by Slack and the command line.

use chrono::Utc;

use crate::config::Settings;
use crate::domain::audit::AuditEvent;
use crate::domain::command::{AuditQuery, AuditTarget, escape_slack_text};
use crate::domain::request::Request;
use crate::ports::{AuditStore, Page};
use crate::service::App;

#[allow(clippy::large_enum_variant)]
pub enum Found {
    One {
        request: Request,
        events: Vec<AuditEvent>,
    },
    Many {
        page: Page<Request>,
        what: String,
    },
}

pub async fn query(
    store: &dyn AuditStore,
    settings: &Settings,
    q: &AuditQuery,
) -> Result<Found, String> {
    let since = q
        .since
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| Utc::now() - d);
    let unavailable =
        |e: crate::ports::StoreError| format!("the audit trail could not be read ({e})");
    match &q.target {
        AuditTarget::Request(id) => {
            let request = store
                .get(id)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| format!("there is no request {id}"))?;
            let events = store.events_for(id).await.map_err(unavailable)?;
            Ok(Found::One { request, events })
        }
        AuditTarget::Role(spec) => {
            let role = settings.resolve_role(spec)?;
            let page = store
                .requests_by_role(&role, since, q.limit)
                .await
                .map_err(unavailable)?;
            Ok(Found::Many {
                page,
                what: format!("for `{role}`"),
            })
        }
        AuditTarget::User(user) => {
            let page = store
                .requests_by_user(user, since, q.limit)
                .await
                .map_err(unavailable)?;
            Ok(Found::Many {
                page,
                what: format!("involving {}", user.mention()),
            })
        }
        AuditTarget::Latest => {
            let page = store
                .latest_requests(since, q.limit)
                .await
                .map_err(unavailable)?;
            Ok(Found::Many {
                page,
                what: "(latest first)".into(),
            })
        }
    }
}

pub fn request_line(r: &Request) -> String {
    let approvers = if r.approvals.is_empty() {
        String::new()
    } else {
        format!(
            ", approved by {}",
            r.approvals
                .iter()
                .map(|u| u.mention())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let cutoff = r
        .cutoff
        .map(|c| format!(", cut-off {c}"))
        .unwrap_or_default();
    format!(
        "`{}` *{}* `{}` by {}{approvers}{cutoff}, {}: {}",
        r.id,
        r.state.as_str(),
        r.role,
        r.requester.mention(),
        r.created_at.format("%Y-%m-%d %H:%M UTC"),
        escape_slack_text(&r.reason)
    )
}

pub fn event_line(e: &AuditEvent) -> String {
    let d = &e.draft;
    let actor = if d.actor.starts_with(['U', 'W']) {
        format!("<@{}>", d.actor)
    } else {
        d.actor.clone()
    };
    let mut line = format!("#{} {} *{}* by {actor}", e.seq, d.at, d.kind.as_str());
    for (label, v) in [
        ("cut-off", &d.cutoff),
        ("detail", &d.detail),
        ("error", &d.error),
    ] {
        if let Some(v) = v {
            line.push_str(&format!(", {label}: {}", escape_slack_text(v)));
        }
    }
    if let Some(sha) = &d.policy_sha256 {
        line.push_str(&format!(", policy sha256 {}", &sha[..sha.len().min(12)]));
    }
    line
}

/// Sections for a Slack answer.
pub fn slack_sections(found: &Found, limit: u32) -> Vec<String> {
    match found {
        Found::One { request, events } => {
            let mut out = vec![format!(
                "*Request {}*\n{}",
                request.id,
                request_line(request)
            )];
            out.push(events.iter().map(event_line).collect::<Vec<_>>().join("\n"));
            out
        }
        Found::Many { page, what } => {
            if page.items.is_empty() {
                return vec![format!("No revocation requests {what}.")];
            }
            let mut out = vec![format!("*Revocation requests {what}*")];
            out.push(
                page.items
                    .iter()
                    .map(request_line)
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            if page.more {
                let how_many = match page.total {
                    Some(total) => format!("Showing {} of {total}", page.items.len()),
                    None => format!("Showing the latest {limit}; there are more"),
                };
                out.push(format!(
                    "_{how_many}. Narrow with `--since 7d`, a role, a request id or an @user, or raise `--limit` (up to 100)._"
                ));
            }
            out
        }
    }
}

pub async fn run(app: &App, q: &AuditQuery) -> Result<Vec<String>, String> {
    let found = query(app.store().as_ref(), app.settings(), q).await?;
    Ok(slack_sections(&found, q.limit))
}
