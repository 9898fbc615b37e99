//! Audit lookups (SPEC §2 `status` / `audit`), shared by Slack and the command line. Returns data;
//! `slack::messages` and the CLI render it.

use super::App;
use super::notice::{Found, LookupError, LookupSubject, NotVerified};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::audit::{AuditEvent, chain_hash};
use crate::domain::command::{AuditQuery, AuditTarget};
use crate::domain::explain::unexplained;
use crate::domain::request::Request;
use crate::ports::{AuditStore, ShownEvent, StoreError, error_chain};

/// What a lookup can check without reading the whole table (README "Audit trail"): each event's
/// item (from the store), its hash against its content, and the request item against the events
/// that pass. The links between events and the rest of the table are `audit verify`'s.
pub fn check(request: &Request, shown: &[ShownEvent]) -> NotVerified {
    let events: Vec<Option<String>> = shown
        .iter()
        .map(|s| {
            let e = &s.event;
            s.item_problem.clone().or_else(|| {
                (chain_hash(e.seq, &e.prev_hash, &e.draft) != e.hash)
                    .then(|| "its content does not match its hash".to_string())
            })
        })
        .collect();
    let verified: Vec<&AuditEvent> = shown
        .iter()
        .zip(&events)
        .filter(|(_, why)| why.is_none())
        .map(|(s, _)| &s.event)
        .collect();
    NotVerified {
        request: unexplained(request, &verified),
        events,
    }
}

/// The events of `request` as shown, and what of it is not verified.
async fn checked(
    store: &dyn AuditStore,
    request: &Request,
) -> Result<(Vec<AuditEvent>, NotVerified), StoreError> {
    let shown = store.events_shown(request.id()).await?;
    let not_verified = check(request, &shown);
    Ok((shown.into_iter().map(|s| s.event).collect(), not_verified))
}

pub async fn query(
    store: &dyn AuditStore,
    settings: &Settings,
    clock: &dyn Clock,
    q: &AuditQuery,
) -> Result<Found, LookupError> {
    let since = q
        .since
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| clock.now() - d);
    let unavailable = |e: StoreError| {
        tracing::error!(error = %error_chain(&e), "audit lookup failed");
        LookupError::StoreUnavailable
    };
    let (page, about) = match &q.target {
        AuditTarget::Request(id) => {
            let request = store
                .get(id)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| LookupError::NoSuchRequest(id.clone()))?;
            let (events, not_verified) = checked(store, &request).await.map_err(unavailable)?;
            return Ok(Found::One {
                request: Box::new(request),
                events,
                not_verified,
            });
        }
        AuditTarget::Role(spec) => {
            let role = settings.resolve_role(spec)?;
            let page = store
                .requests_by_role(&role, since, q.limit)
                .await
                .map_err(unavailable)?;
            (page, LookupSubject::Role(role))
        }
        AuditTarget::User(user) => {
            let page = store
                .requests_by_user(user, since, q.limit)
                .await
                .map_err(unavailable)?;
            (page, LookupSubject::User(user.clone()))
        }
        AuditTarget::Latest => {
            let page = store
                .latest_requests(since, q.limit)
                .await
                .map_err(unavailable)?;
            (page, LookupSubject::Latest)
        }
    };
    let checks = futures_util::future::join_all(page.items.iter().map(|r| async move {
        checked(store, r)
            .await
            .map(|(_, nv)| nv.request.map(|why| (r.id().clone(), why)))
    }))
    .await;
    let mut not_verified = Vec::new();
    for c in checks {
        if let Some(marked) = c.map_err(unavailable)? {
            not_verified.push(marked);
        }
    }
    Ok(Found::Many {
        page,
        about,
        limit: q.limit,
        not_verified,
    })
}

impl App {
    pub async fn lookup(&self, q: &AuditQuery) -> Result<Found, LookupError> {
        query(self.store.as_ref(), &self.settings, self.clock.as_ref(), q).await
    }
}
