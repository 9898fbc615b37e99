//! Audit lookups (README "Using it in Slack" `status` / `audit`), shared by Slack and the command line. Returns data;
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

/// What a lookup can check without reading the whole table (README "The audit table (DynamoDB)"): each event's
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{EventDraft, EventKind, GENESIS_HASH};
    use crate::domain::ids::{ChannelId, SlackUserId};
    use crate::domain::request::{Action, Decision, NewRequest};
    use crate::domain::role_arn::RoleArn;

    fn pending() -> Request {
        Request::pending(
            NewRequest {
                role: RoleArn::parse("arn:aws:iam::111111111111:role/app").unwrap(),
                requester: SlackUserId::parse("U0ALICE").unwrap(),
                reason: "INC-1".into(),
                channel: ChannelId::parse("C0INC").unwrap(),
                approvals_required: 1,
                preview: None,
            },
            chrono::Utc::now(),
            chrono::Duration::minutes(30),
        )
    }

    fn shown(event: AuditEvent, item_problem: Option<&str>) -> ShownEvent {
        ShownEvent {
            event,
            item_problem: item_problem.map(str::to_string),
        }
    }

    #[test]
    fn a_lookup_marks_forged_items_and_a_request_its_verified_events_do_not_explain() {
        let r = pending();
        let requested = EventDraft::new(
            r.id().clone(),
            EventKind::Requested,
            "U0ALICE",
            r.created_at(),
        )
        .with_role_text(&r.target_arn())
        .with_reason("INC-1")
        .seal(1, GENESIS_HASH);
        let approved = match r.decide(
            Action::Approve,
            &SlackUserId::parse("U0MALLORY").unwrap(),
            true,
            chrono::Utc::now(),
        ) {
            Decision::Transition(t) => t,
            Decision::Refuse(why) => panic!("{why:?}"),
        };
        let forged = approved.event.clone().seal(2, &requested.hash);
        let honest = [shown(requested.clone(), None)];
        assert!(check(&r, &honest).is_empty());

        // A kind-less item "approved by U0MALLORY": marked, and not counted for the request.
        let nv = check(
            &r,
            &[
                shown(requested.clone(), None),
                shown(
                    forged.clone(),
                    Some("an event-like item without kind = event"),
                ),
            ],
        );
        assert_eq!(nv.event(0), None);
        assert!(nv.event(1).unwrap().contains("without kind"));
        assert_eq!(
            nv.request, None,
            "the request is what its verified events say"
        );

        // The request item edited to approved without its event: the request is marked.
        let nv = check(&approved.next, &honest);
        assert!(nv.request.unwrap().contains("state `approved`"));

        // An event whose content was edited after it was hashed.
        let mut edited = requested;
        edited.draft.actor = "U0MALLORY".into();
        let nv = check(&r, &[shown(edited, None)]);
        assert_eq!(nv.event(0), Some("its content does not match its hash"));
        assert!(nv.request.is_some());
    }
}
