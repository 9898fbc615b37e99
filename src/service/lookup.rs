//! Audit lookups (SPEC §2 `status` / `audit`), shared by Slack and the command line. Returns data;
//! `slack::messages` and the CLI render it.

use super::App;
use super::notice::{Found, LookupError, LookupSubject};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::command::{AuditQuery, AuditTarget};
use crate::ports::{AuditStore, StoreError, error_chain};

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
            let events = store.events_for(id).await.map_err(unavailable)?;
            return Ok(Found::One {
                request: Box::new(request),
                events,
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
    Ok(Found::Many {
        page,
        about,
        limit: q.limit,
    })
}

impl App {
    pub async fn lookup(&self, q: &AuditQuery) -> Result<Found, LookupError> {
        query(self.store.as_ref(), &self.settings, self.clock.as_ref(), q).await
    }
}
