//! The `AuditStore` contract: one set of cases, each a function over `Arc<dyn AuditStore>`, run
//! against the in-memory store (tests/memory_contracts.rs, no emulator) and the DynamoDB store on
//! DynamoDB Local (tests/api/store_contract.rs), so that the two cannot drift.
//!
//! `store_contract!(make)` writes one `#[tokio::test]` per case; `make` is an async expression
//! that yields a fresh, empty store.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use revoke_role_bot::domain::audit::{EventDraft, EventKind, verify_chain};
use revoke_role_bot::domain::ids::{ChannelId, RequestId, SlackUserId};
use revoke_role_bot::domain::request::{
    Action, CardRef, Decision, Failure, NewRequest, Request, State,
};
use revoke_role_bot::domain::role_arn::RoleArn;
use revoke_role_bot::ports::{AuditStore, StoreError};

pub type Store = Arc<dyn AuditStore>;

/// How long a claim holds an approved request (the DynamoDB store's `APPLY_LEASE`).
const LEASE_SECS: i64 = 60;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).unwrap()
}

fn role(name: &str) -> RoleArn {
    RoleArn::parse(&format!("arn:aws:iam::123456789012:role/{name}")).unwrap()
}

/// A pending request for `role_name` by `requester`, made at `at`, needing `approvals` approvals.
fn pending(role_name: &str, requester: &str, at: DateTime<Utc>, approvals: u32) -> Request {
    Request::pending(
        NewRequest {
            role: role(role_name),
            requester: user(requester),
            reason: format!("INC-1 {role_name}"),
            channel: ChannelId::parse("C0INCIDENT").unwrap(),
            approvals_required: approvals,
            preview: None,
        },
        at,
        Duration::days(1),
    )
}

fn requested(r: &Request) -> EventDraft {
    EventDraft::new(
        r.id().clone(),
        EventKind::Requested,
        r.requester().as_str(),
        r.created_at(),
    )
    .with_role(r.role().expect("a role request"))
    .with_reason(r.reason())
}

/// Store a fresh request with its `requested` event.
async fn create(store: &Store, r: &Request) {
    store.create(r, requested(r), None).await.unwrap();
}

/// `by`'s approval of `r` at `at`: the next version and its event.
fn approval(r: &Request, by: &str, at: DateTime<Utc>) -> (Request, EventDraft) {
    match r.decide(Action::Approve, &user(by), true, at) {
        Decision::Transition(t) => (t.next, t.event),
        Decision::Refuse(why) => panic!("{by} may approve: {why:?}"),
    }
}

/// Store `r` and its approval by `by` at `at`; the approved request.
async fn approved(store: &Store, r: &Request, by: &str, at: DateTime<Utc>) -> Request {
    create(store, r).await;
    let (next, event) = approval(r, by, at);
    store.transition(&next, event).await.unwrap();
    next
}

fn ids(rs: &[Request]) -> Vec<RequestId> {
    rs.iter().map(|r| r.id().clone()).collect()
}

fn id_set(rs: &[Request]) -> HashSet<RequestId> {
    rs.iter().map(|r| r.id().clone()).collect()
}

async fn chain(store: &Store) -> (Vec<revoke_role_bot::domain::audit::AuditEvent>, u64) {
    let (mut events, head) = store.whole_chain().await.unwrap();
    events.sort_by_key(|e| e.seq);
    (events, head)
}

pub async fn a_created_request_reads_back_with_its_first_event(store: Store) {
    let r = pending("app-a", "U0ALICE", t0(), 1);
    assert_eq!(store.get(r.id()).await.unwrap(), None);
    create(&store, &r).await;
    assert_eq!(store.get(r.id()).await.unwrap(), Some(r.clone()));
    let events = store.events_for(r.id()).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].seq, 1);
    assert_eq!(events[0].draft, requested(&r));
    store.ping().await.unwrap();
}

pub async fn an_idempotency_key_creates_once(store: Store) {
    let first = pending("app-a", "U0ALICE", t0(), 1);
    let redelivery = pending("app-a", "U0ALICE", t0(), 1);
    store
        .create(&first, requested(&first), Some("trigger-1"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create(&redelivery, requested(&redelivery), Some("trigger-1"))
            .await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(
        store.get(redelivery.id()).await.unwrap(),
        None,
        "nothing of a duplicate is stored"
    );
    assert!(store.events_for(redelivery.id()).await.unwrap().is_empty());
    assert_eq!(chain(&store).await.1, 1);
    // Another key is another request.
    store
        .create(&redelivery, requested(&redelivery), Some("trigger-2"))
        .await
        .unwrap();
    assert_eq!(chain(&store).await.1, 2);
}

pub async fn a_request_id_is_created_only_if_absent(store: Store) {
    let r = pending("app-a", "U0ALICE", t0(), 1);
    create(&store, &r).await;
    let (next, event) = approval(&r, "U0BOB", t0());
    store.transition(&next, event).await.unwrap();
    assert!(
        matches!(
            store.create(&r, requested(&r), Some("another-key")).await,
            Err(StoreError::Duplicate)
        ),
        "a second create of the same id must not overwrite it"
    );
    assert_eq!(
        store.get(r.id()).await.unwrap().unwrap().state(),
        State::Approved
    );
    assert_eq!(store.events_for(r.id()).await.unwrap().len(), 2);
    // The key of the refused create stays free.
    let other = pending("app-b", "U0ALICE", t0(), 1);
    store
        .create(&other, requested(&other), Some("another-key"))
        .await
        .unwrap();
}

pub async fn a_transition_from_a_stale_version_conflicts(store: Store) {
    let r = pending("app-a", "U0ALICE", t0(), 2);
    create(&store, &r).await;
    let (bob, bob_event) = approval(&r, "U0BOB", t0());
    let (carol, carol_event) = approval(&r, "U0CAROL", t0());
    store.transition(&bob, bob_event).await.unwrap();
    assert!(
        matches!(
            store.transition(&carol, carol_event.clone()).await,
            Err(StoreError::Conflict)
        ),
        "Carol decided on version 1, which is gone"
    );
    assert_eq!(store.get(r.id()).await.unwrap(), Some(bob.clone()));
    assert_eq!(
        store.events_for(r.id()).await.unwrap().len(),
        2,
        "no event for a lost race"
    );
    // Re-read and decide again: the transition goes through.
    let (both, event) = approval(&bob, "U0CAROL", t0());
    store.transition(&both, event).await.unwrap();
    let stored = store.get(r.id()).await.unwrap().unwrap();
    assert_eq!((stored.state(), stored.version()), (State::Approved, 3));
    // A version that skips one conflicts too, and so does an unknown request.
    let skipping = pending("app-c", "U0ALICE", t0(), 2);
    create(&store, &skipping).await;
    let (v2, _) = approval(&skipping, "U0BOB", t0());
    let (v3, event) = approval(&v2, "U0CAROL", t0());
    assert!(matches!(
        store.transition(&v3, event).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get(skipping.id()).await.unwrap(),
        Some(skipping.clone())
    );
    let unknown = pending("app-b", "U0ALICE", t0(), 1);
    let (next, event) = approval(&unknown, "U0BOB", t0());
    assert!(matches!(
        store.transition(&next, event).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get(unknown.id()).await.unwrap(), None);
}

pub async fn events_chain_across_requests_and_records(store: Store) {
    let a = pending("app-a", "U0ALICE", t0(), 1);
    let b = pending("app-b", "U0BOB", t0(), 1);
    create(&store, &a).await;
    let refused = RequestId::generate();
    store
        .record(EventDraft::new(
            refused.clone(),
            EventKind::RequestRefused,
            "U0EVE",
            t0(),
        ))
        .await
        .unwrap();
    create(&store, &b).await;
    let (next, event) = approval(&a, "U0BOB", t0());
    store.transition(&next, event).await.unwrap();

    let (events, head) = chain(&store).await;
    assert_eq!(head, 4);
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(verify_chain(events.clone(), head).is_empty());
    assert_eq!(
        events.iter().map(|e| e.draft.kind).collect::<Vec<_>>(),
        [
            EventKind::Requested,
            EventKind::RequestRefused,
            EventKind::Requested,
            EventKind::Approved
        ]
    );
    let for_a = store.events_for(a.id()).await.unwrap();
    assert_eq!(for_a.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 4]);
    assert_eq!(for_a[1], events[3]);
    let for_refused = store.events_for(&refused).await.unwrap();
    assert_eq!(for_refused.len(), 1);
    assert_eq!(for_refused[0].draft.actor, "U0EVE");
    assert_eq!(store.get(&refused).await.unwrap(), None);
}

pub async fn an_empty_store_has_an_empty_chain(store: Store) {
    let (events, head) = chain(&store).await;
    assert!(events.is_empty());
    assert_eq!(head, 0);
    assert!(store.open_requests().await.unwrap().is_empty());
    let page = store.latest_requests(None, 10).await.unwrap();
    assert!(page.items.is_empty() && !page.more);
}

pub async fn the_card_is_kept_apart_from_transitions(store: Store) {
    let r = pending("app-a", "U0ALICE", t0(), 1);
    create(&store, &r).await;
    let card = CardRef {
        channel: ChannelId::parse("C0INCIDENT").unwrap(),
        ts: "1700000000.000100".into(),
    };
    store.set_card(r.id(), &card).await.unwrap();
    assert_eq!(
        store.get(r.id()).await.unwrap().unwrap().card(),
        Some(&card)
    );
    assert_eq!(
        store.events_for(r.id()).await.unwrap().len(),
        1,
        "remembering the card is not an event"
    );
    // A transition decided on a copy read before the card was stored keeps the card, and one
    // that names another card does not replace it.
    let (next, event) = approval(&r, "U0BOB", t0());
    let next = next.with_card(CardRef {
        channel: ChannelId::parse("C0OTHER").unwrap(),
        ts: "1.2".into(),
    });
    store.transition(&next, event).await.unwrap();
    let stored = store.get(r.id()).await.unwrap().unwrap();
    assert_eq!(stored.card(), Some(&card));
    assert_eq!(stored.state(), State::Approved);
    // A card for a request that does not exist is an error, not a new request.
    let unknown = RequestId::generate();
    assert!(
        store
            .set_card(&unknown, stored.card().unwrap())
            .await
            .is_err()
    );
    assert_eq!(store.get(&unknown).await.unwrap(), None);
}

pub async fn a_claim_holds_an_approved_request_for_the_lease(store: Store) {
    let r = pending("app-a", "U0ALICE", t0(), 1);
    create(&store, &r).await;
    assert!(
        !store.claim(r.id(), t0()).await.unwrap(),
        "a pending request cannot be claimed"
    );
    assert!(
        !store.claim(&RequestId::generate(), t0()).await.unwrap(),
        "nor an unknown one"
    );
    let (next, event) = approval(&r, "U0BOB", t0());
    store.transition(&next, event).await.unwrap();

    let at = t0() + Duration::minutes(1);
    assert!(store.claim(r.id(), at).await.unwrap());
    assert!(!store.claim(r.id(), at).await.unwrap(), "held");
    let secs = Duration::seconds;
    assert!(
        !store
            .claim(r.id(), at + secs(LEASE_SECS - 1))
            .await
            .unwrap(),
        "held until the lease runs out"
    );
    assert!(
        store
            .claim(r.id(), at + secs(LEASE_SECS + 1))
            .await
            .unwrap(),
        "free once the lease has run out"
    );
    let later = at + secs(LEASE_SECS + 1);
    assert!(
        !store
            .claim(r.id(), later + secs(LEASE_SECS - 1))
            .await
            .unwrap()
    );

    // Claims leave the request as it was, and a finished request cannot be claimed.
    assert_eq!(store.get(r.id()).await.unwrap(), Some(next.clone()));
    let done = next
        .failed(Failure::RoleNotFound, "NoSuchEntity", later)
        .expect("an approved request can fail");
    store.transition(&done.next, done.event).await.unwrap();
    assert!(
        !store
            .claim(r.id(), later + secs(10 * LEASE_SECS))
            .await
            .unwrap()
    );
}

/// The worker holding the lease renews it (conditioned on the lease it holds) and stores the
/// provisioning it started under it; once the lease ran out and another worker took it, neither
/// works any more. The provisioning reads back beside the request and survives its outcome.
pub async fn a_held_lease_is_renewed_and_a_lost_one_is_not(store: Store) {
    let r = pending("app-renew", "U0ALICE", t0(), 1);
    create(&store, &r).await;
    let secs = Duration::seconds;
    assert!(
        !store.renew_claim(r.id(), t0(), t0()).await.unwrap(),
        "a pending request has no lease to renew"
    );
    let (next, event) = approval(&r, "U0BOB", t0());
    store.transition(&next, event).await.unwrap();

    let at = t0() + Duration::minutes(1);
    assert!(store.claim(r.id(), at).await.unwrap());
    let held = at + secs(LEASE_SECS);
    // Renewed 50 s in: held until 110 s in, so another claim 70 s in finds it held.
    let renewed_at = at + secs(50);
    assert!(store.renew_claim(r.id(), held, renewed_at).await.unwrap());
    assert!(
        !store.claim(r.id(), at + secs(70)).await.unwrap(),
        "renewed"
    );
    let held = renewed_at + secs(LEASE_SECS);
    assert!(
        !store
            .renew_claim(r.id(), at + secs(LEASE_SECS), renewed_at)
            .await
            .unwrap(),
        "a renewal names the lease it holds"
    );
    assert!(
        store
            .set_provisioning(r.id(), held, "prov-1")
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(r.id()).await.unwrap().unwrap().provisioning(),
        Some("prov-1")
    );

    // Not renewed in time: another worker takes it, and the first can neither renew nor store.
    let taken_at = held + secs(1);
    assert!(store.claim(r.id(), taken_at).await.unwrap());
    assert!(!store.renew_claim(r.id(), held, taken_at).await.unwrap());
    assert!(
        !store
            .set_provisioning(r.id(), held, "prov-2")
            .await
            .unwrap()
    );
    let theirs = taken_at + secs(LEASE_SECS);
    assert!(
        store
            .set_provisioning(r.id(), theirs, "prov-3")
            .await
            .unwrap()
    );
    let stored = store.get(r.id()).await.unwrap().unwrap();
    assert_eq!(stored.provisioning(), Some("prov-3"));
    assert_eq!(stored.state(), State::Approved);

    // A finished request has no lease to renew; its provisioning is still there.
    let done = stored
        .failed(Failure::RoleNotFound, "NoSuchEntity", taken_at)
        .expect("an approved request can fail");
    store.transition(&done.next, done.event).await.unwrap();
    assert!(!store.renew_claim(r.id(), theirs, taken_at).await.unwrap());
    assert!(
        !store
            .set_provisioning(r.id(), theirs, "prov-4")
            .await
            .unwrap()
    );
    let finished = store.get(r.id()).await.unwrap().unwrap();
    assert_eq!(
        (finished.state(), finished.provisioning()),
        (State::Failed, Some("prov-3"))
    );
}

pub async fn open_requests_are_the_pending_and_the_approved(store: Store) {
    let waiting = pending("app-a", "U0ALICE", t0(), 1);
    create(&store, &waiting).await;
    let approved_one = approved(&store, &pending("app-b", "U0ALICE", t0(), 1), "U0BOB", t0()).await;
    let rejected = pending("app-c", "U0ALICE", t0(), 1);
    create(&store, &rejected).await;
    let Decision::Transition(t) = rejected.decide(Action::Reject, &user("U0CAROL"), true, t0())
    else {
        panic!("Carol may reject");
    };
    store.transition(&t.next, t.event).await.unwrap();

    let open = store.open_requests().await.unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(
        id_set(&open),
        id_set(&[waiting.clone(), approved_one.clone()])
    );
    assert!(open.contains(&waiting) && open.contains(&approved_one));
}

/// Requests made a minute apart from `t0`: three on `app-busy` (by Alice, Bob, Alice) and one on
/// `app-quiet` (by Bob), oldest first.
async fn history(store: &Store) -> Vec<Request> {
    let mut out = Vec::new();
    for (i, (name, by)) in [
        ("app-busy", "U0ALICE"),
        ("app-busy", "U0BOB"),
        ("app-quiet", "U0BOB"),
        ("app-busy", "U0ALICE"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = pending(name, by, t0() + Duration::minutes(i as i64), 1);
        create(store, &r).await;
        out.push(r);
    }
    out
}

pub async fn requests_by_role_are_newest_first_with_since_and_limit(store: Store) {
    let h = history(&store).await;
    let busy = role("app-busy");

    let all = store.requests_by_role(&busy, None, 10).await.unwrap();
    assert_eq!(
        ids(&all.items),
        ids(&[h[3].clone(), h[1].clone(), h[0].clone()])
    );
    assert!(!all.more);
    assert_eq!(all.total, None, "counted only when more matched than fit");

    let two = store.requests_by_role(&busy, None, 2).await.unwrap();
    assert_eq!(ids(&two.items), ids(&[h[3].clone(), h[1].clone()]));
    assert!(two.more);
    assert_eq!(two.total, Some(3));

    // `since` is inclusive, on the time the request was made.
    let since = t0() + Duration::minutes(1);
    let recent = store
        .requests_by_role(&busy, Some(since), 10)
        .await
        .unwrap();
    assert_eq!(ids(&recent.items), ids(&[h[3].clone(), h[1].clone()]));
    assert!(!recent.more);
    let one = store.requests_by_role(&busy, Some(since), 1).await.unwrap();
    assert_eq!(ids(&one.items), ids(&[h[3].clone()]));
    assert_eq!((one.more, one.total), (true, Some(2)));

    let none = store
        .requests_by_role(&role("app-none"), None, 10)
        .await
        .unwrap();
    assert!(none.items.is_empty() && !none.more);
}

pub async fn latest_requests_are_newest_first_with_since_and_limit(store: Store) {
    let h = history(&store).await;
    let all = store.latest_requests(None, 10).await.unwrap();
    assert_eq!(
        ids(&all.items),
        ids(&[h[3].clone(), h[2].clone(), h[1].clone(), h[0].clone()])
    );
    assert_eq!((all.more, all.total), (false, None));
    let three = store.latest_requests(None, 3).await.unwrap();
    assert_eq!(
        ids(&three.items),
        ids(&[h[3].clone(), h[2].clone(), h[1].clone()])
    );
    assert_eq!((three.more, three.total), (true, Some(4)));
    let since = store
        .latest_requests(Some(t0() + Duration::minutes(2)), 10)
        .await
        .unwrap();
    assert_eq!(ids(&since.items), ids(&[h[3].clone(), h[2].clone()]));
    let after_all = store
        .latest_requests(Some(t0() + Duration::hours(1)), 10)
        .await
        .unwrap();
    assert!(after_all.items.is_empty() && !after_all.more);
}

pub async fn requests_by_user_are_those_they_acted_on(store: Store) {
    let h = history(&store).await;
    // Carol approves Alice's oldest request an hour later; Eve is refused once.
    let late = t0() + Duration::hours(1);
    let (next, event) = approval(&h[0], "U0CAROL", late);
    store.transition(&next, event).await.unwrap();
    store
        .record(EventDraft::new(
            RequestId::generate(),
            EventKind::RequestRefused,
            "U0EVE",
            t0(),
        ))
        .await
        .unwrap();

    let alice = store
        .requests_by_user(&user("U0ALICE"), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&alice.items), ids(&[h[3].clone(), h[0].clone()]));
    assert!(!alice.more);
    let carol = store
        .requests_by_user(&user("U0CAROL"), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&carol.items), ids(&[h[0].clone()]));
    assert_eq!(carol.items[0].state(), State::Approved);
    let bob = store
        .requests_by_user(&user("U0BOB"), None, 1)
        .await
        .unwrap();
    assert_eq!(ids(&bob.items), ids(&[h[2].clone()]), "their latest first");
    assert!(bob.more);
    // Refused attempts have no request to show.
    let eve = store
        .requests_by_user(&user("U0EVE"), None, 10)
        .await
        .unwrap();
    assert!(eve.items.is_empty());

    // `since` is on the time they acted, not on when the request was made: Carol's approval
    // an hour later counts, Alice's requests from before do not.
    let since = t0() + Duration::minutes(30);
    let carol_since = store
        .requests_by_user(&user("U0CAROL"), Some(since), 10)
        .await
        .unwrap();
    assert_eq!(ids(&carol_since.items), ids(&[h[0].clone()]));
    let alice_since = store
        .requests_by_user(&user("U0ALICE"), Some(since), 10)
        .await
        .unwrap();
    assert!(
        alice_since.items.is_empty(),
        "{:?}",
        ids(&alice_since.items)
    );
    let alice_recent = store
        .requests_by_user(&user("U0ALICE"), Some(t0() + Duration::minutes(3)), 10)
        .await
        .unwrap();
    assert_eq!(ids(&alice_recent.items), ids(&[h[3].clone()]));
}

/// The drift watch (README "Revocations that stay in force"): an applied request is listed once its check is due, each check is
/// claimed once (the due time moves, and a lease holds it), reported drift is remembered until
/// cleared, and a finished watch is gone.
pub async fn an_applied_request_is_watched_until_its_watch_is_finished(store: Store) {
    use revoke_role_bot::domain::policy::MergeOutcome;
    use revoke_role_bot::domain::request::Written;
    use revoke_role_bot::ports::WatchUpdate;

    let secs = Duration::seconds;
    let waiting = pending("app-w", "U0ALICE", t0(), 1);
    create(&store, &waiting).await;
    let r = approved(&store, &pending("app-x", "U0ALICE", t0(), 1), "U0BOB", t0()).await;
    let cutoff = r.cutoff().unwrap();
    assert!(
        store
            .watch_list(t0() + secs(3600))
            .await
            .unwrap()
            .is_empty(),
        "pending and approved requests are not watched"
    );
    let done = r
        .applied(
            Written {
                outcome: MergeOutcome::Created,
                in_force: cutoff,
                policy_sha256: "0".repeat(64),
                verified: true,
                session_secs_at_apply: None,
            },
            t0() + secs(1),
        )
        .unwrap();
    store.transition(&done.next, done.event).await.unwrap();

    // Due from the cut-off in force.
    let at = cutoff.time();
    assert!(store.watch_list(at - secs(1)).await.unwrap().is_empty());
    let listed = store.watch_list(at).await.unwrap();
    assert_eq!(
        ids(&listed.iter().map(|w| w.request.clone()).collect::<Vec<_>>()),
        [r.id().clone()]
    );
    assert_eq!(listed[0].drift, None);

    // One claim per due check.
    let w = store
        .claim_watch(r.id(), at, at + secs(60))
        .await
        .unwrap()
        .expect("due");
    assert_eq!(w.request.id(), r.id());
    assert_eq!(w.due, at + secs(60));
    assert!(
        store
            .claim_watch(r.id(), at, at + secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.watch_list(at + secs(30)).await.unwrap().is_empty());
    assert!(
        store
            .claim_watch(&RequestId::generate(), at, at)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .claim_watch(waiting.id(), at, at)
            .await
            .unwrap()
            .is_none()
    );

    // Drift is remembered once, and read back by the next claim.
    assert!(
        store
            .update_watch(r.id(), WatchUpdate::Drifted("gone".into()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_watch(r.id(), WatchUpdate::Drifted("gone".into()))
            .await
            .unwrap()
    );
    let w = store
        .claim_watch(r.id(), at + secs(60), at + secs(120))
        .await
        .unwrap()
        .expect("due");
    assert_eq!(w.drift.as_deref(), Some("gone"));
    assert!(
        store
            .update_watch(r.id(), WatchUpdate::InForce)
            .await
            .unwrap()
    );
    let w = store
        .claim_watch(r.id(), at + secs(120), at + secs(120))
        .await
        .unwrap()
        .expect("due");
    assert_eq!(w.drift, None);

    // A claim not given back holds the check for the lease, even when it is due.
    assert!(
        store
            .claim_watch(r.id(), at + secs(150), at + secs(150))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .claim_watch(r.id(), at + secs(120 + LEASE_SECS + 1), at + secs(400))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .update_watch(r.id(), WatchUpdate::Checked)
            .await
            .unwrap()
    );

    // Finished: never listed or claimed again; the request itself is unchanged.
    assert!(
        store
            .update_watch(r.id(), WatchUpdate::Finished)
            .await
            .unwrap()
    );
    assert!(
        store
            .watch_list(at + secs(86_400))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_watch(r.id(), at + secs(86_400), at + secs(86_400))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.get(r.id()).await.unwrap().unwrap().state(),
        State::Applied
    );
}

/// `audit verify` accounts for every item the normal lifecycle writes (README "The audit table (DynamoDB)"):
/// requests in each state with their cards, reminder counts, leases and watch state, idempotency
/// keys, refusals; and a lookup shows every event as verified.
pub async fn every_item_the_lifecycle_writes_is_accounted_for(store: Store) {
    use revoke_role_bot::domain::audit::verify_snapshot;
    use revoke_role_bot::domain::policy::MergeOutcome;
    use revoke_role_bot::domain::request::Written;
    use revoke_role_bot::ports::WatchUpdate;

    let secs = Duration::seconds;
    // Pending, with a card, a reminder and an idempotency key.
    let waiting = pending("acct-wait", "U0ALICE", t0(), 2);
    store
        .create(&waiting, requested(&waiting), Some("trigger#1.2.3"))
        .await
        .unwrap();
    let card = CardRef {
        channel: ChannelId::parse("C0INCIDENT").unwrap(),
        ts: "1700000000.000100".into(),
    };
    store.set_card(waiting.id(), &card).await.unwrap();
    assert!(store.claim_reminder(waiting.id(), 0).await.unwrap());
    let (one, event) = approval(&waiting, "U0BOB", t0());
    store.transition(&one, event).await.unwrap();
    // Approved and claimed (a lease), then applied and under watch with drift remembered.
    let r = approved(
        &store,
        &pending("acct-x", "U0ALICE", t0(), 1),
        "U0BOB",
        t0(),
    )
    .await;
    assert!(store.claim(r.id(), t0() + secs(1)).await.unwrap());
    let done = r
        .applied(
            Written {
                outcome: MergeOutcome::Created,
                in_force: r.cutoff().unwrap(),
                policy_sha256: "0".repeat(64),
                verified: true,
                session_secs_at_apply: None,
            },
            t0() + secs(2),
        )
        .unwrap();
    store.transition(&done.next, done.event).await.unwrap();
    let at = r.cutoff().unwrap().time();
    assert!(
        store
            .claim_watch(r.id(), at, at + secs(60))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .update_watch(r.id(), WatchUpdate::Drifted("gone".into()))
            .await
            .unwrap()
    );
    // Rejected; and a refusal of no request.
    let rejected = pending("acct-no", "U0ALICE", t0(), 1);
    create(&store, &rejected).await;
    let no = match rejected.decide(Action::Reject, &user("U0CAROL"), true, t0()) {
        Decision::Transition(t) => t,
        Decision::Refuse(why) => panic!("{why:?}"),
    };
    store.transition(&no.next, no.event).await.unwrap();
    store
        .record(
            EventDraft::new(
                RequestId::generate(),
                EventKind::RequestRefused,
                "U0EVE",
                t0(),
            )
            .with_detail("not_a_requester".into()),
        )
        .await
        .unwrap();

    let snapshot = store.chain_snapshot().await.unwrap();
    assert_eq!(verify_snapshot(&snapshot, &[]), vec![]);
    assert_eq!(snapshot.requests.len(), 3);
    assert_eq!(snapshot.keys.len(), 1);
    assert!(snapshot.unaccounted.is_empty());
    for id in [waiting.id(), r.id(), rejected.id()] {
        let shown = store.events_shown(id).await.unwrap();
        let events = store.events_for(id).await.unwrap();
        assert_eq!(
            shown.iter().map(|s| s.event.clone()).collect::<Vec<_>>(),
            events
        );
        assert!(shown.iter().all(|s| s.item_problem.is_none()), "{shown:?}");
    }
}

/// One `#[tokio::test]` per case over the stores `make` (an async expression) yields.
#[macro_export]
macro_rules! store_contract {
    ($make:expr) => {
        $crate::contract_cases!(store, $make;
            a_created_request_reads_back_with_its_first_event,
            an_idempotency_key_creates_once,
            a_request_id_is_created_only_if_absent,
            a_transition_from_a_stale_version_conflicts,
            events_chain_across_requests_and_records,
            an_empty_store_has_an_empty_chain,
            the_card_is_kept_apart_from_transitions,
            a_claim_holds_an_approved_request_for_the_lease,
            a_held_lease_is_renewed_and_a_lost_one_is_not,
            open_requests_are_the_pending_and_the_approved,
            requests_by_role_are_newest_first_with_since_and_limit,
            latest_requests_are_newest_first_with_since_and_limit,
            requests_by_user_are_those_they_acted_on,
            an_applied_request_is_watched_until_its_watch_is_finished,
            every_item_the_lifecycle_writes_is_accounted_for,
        );
    };
}
