//! Faults, load and scale-out: nothing lost, nothing duplicated, people told what happened.

use std::time::Duration;

use revoke_role_bot::domain::audit::{EventKind, verify_chain};
use revoke_role_bot::domain::ids::RequestId;
use revoke_role_bot::domain::request::{Request, State};
use revoke_role_bot::ports::AuditStore;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

/// Slack answers the next POST to `route` with `answer`, before the mocks of a lower `priority`
/// (a higher number) and the healthy workspace's.
async fn answer_once(app: &TestApp, route: &str, answer: ResponseTemplate, priority: u8) {
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(answer)
        .up_to_n_times(1)
        .with_priority(priority)
        .mount(&app.slack)
        .await;
}

#[tokio::test]
async fn slack_500_and_429_are_retried_and_retry_after_is_honoured() {
    let app = spawn_app().await;
    // A card's post is retried only after a 429 (Slack did nothing); a 5xx may have posted it
    // (tests/api/timeouts.rs). A reply is retried after a 503.
    answer_once(&app, "/chat.postMessage", slack_rate_limited("1"), 1).await;
    answer_once(&app, "/chat.postMessage", slack_rate_limited("1"), 2).await;
    answer_once(&app, "/respond/U0ALICE", ResponseTemplate::new(503), 1).await;
    let role = app.new_role("retried").await;
    app.command(ALICE, &format!("prod/{role} INC-40 leaked"))
        .await;
    let request = app.request_from_card(2).await; // the third attempt is the one that succeeded
    assert_eq!(app.slack_received("/chat.postMessage").await.len(), 3);
    let replies = app.wait_replies(ALICE, 2).await;
    assert!(
        replies[1]["text"]
            .as_str()
            .unwrap()
            .contains("waiting for approval"),
        "the reply came through on a retry"
    );
    assert!(request.card().is_some() || app.stored(request.id()).await.card().is_some());
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_not_waited_out_and_the_person_is_told() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(slack_rate_limited("600"))
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let role = app.new_role("throttled-slack").await;
    app.command(ALICE, &format!("prod/{role} INC-41 leaked"))
        .await;
    let replies = app.wait_replies(ALICE, 1).await;
    let text = replies[0]["text"].as_str().unwrap();
    assert!(text.contains("could not be posted"), "{text}");
    assert_eq!(app.slack_received("/chat.postMessage").await.len(), 1);
}

#[tokio::test]
async fn aws_down_at_the_click_refuses_cleanly_and_the_flow_completes_when_it_is_back() {
    let app = Spawn::new().proxied().start().await;
    let (role, request) = app.role_with_request("outage", "INC-42 leaked").await;

    app.proxies().cut();
    app.click(BOB, "approve", request.id()).await;
    let text = app.reply_text(BOB, 1).await;
    assert!(text.contains("could not be read"), "{}", text);
    assert!(
        app.revoke_policy(&role).await.is_none(),
        "nothing applied without its audit event"
    );

    app.proxies().restore();
    assert_eq!(app.stored(request.id()).await.state(), State::Pending);
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    app.assert_applied_once(request.id(), &role).await;
}

/// Bob approves while the call that takes the apply lease (the first after `approved` is
/// written) is held on its way to DynamoDB; returns once it has arrived.
async fn approve_with_the_lease_held(app: &TestApp, request: &Request) {
    let lease = format!("REQ#{}", request.id());
    let held = app
        .proxies()
        .dynamodb
        .hold(&[&lease, "lease_until"], Duration::from_secs(30), 500);
    app.click(BOB, "approve", request.id()).await;
    held.arrived().await;
}

#[tokio::test]
async fn aws_down_between_approval_and_policy_leaves_it_approved_and_recovery_finishes_it() {
    let app = Spawn::new().proxied().start().await;
    let (role, request) = app.role_with_request("half-done", "INC-43 leaked").await;
    // Hold the apply lease call while the outage starts.
    approve_with_the_lease_held(&app, &request).await;
    app.proxies().cut();
    // The held call fails with the connection, and the SDK's retries with the outage.
    app.drain().await;
    assert_eq!(app.stored(request.id()).await.state(), State::Approved);
    assert!(app.revoke_policy(&role).await.is_none());

    app.proxies().restore();
    app.app().recover().await.unwrap();
    let done = app.wait_state(request.id(), State::Applied).await;
    assert!(done.cutoff().is_some());
    app.assert_applied_once(request.id(), &role).await;
}

#[tokio::test]
async fn a_process_killed_between_approved_and_applied_is_finished_after_restart() {
    let first = Spawn::new().proxied().process().await;
    let (role, request) = first.role_with_request("killed", "INC-44 leaked").await;
    approve_with_the_lease_held(&first, &request).await;
    first.process().kill().await;
    assert_eq!(first.stored(request.id()).await.state(), State::Approved);
    assert!(first.revoke_policy(&role).await.is_none());

    let second = Spawn::new().on(first.env()).process().await;
    second.wait_state(request.id(), State::Applied).await;
    second.drain().await;
    second.assert_applied_once(request.id(), &role).await;
}

#[tokio::test]
async fn two_processes_on_one_table_make_one_transition_for_simultaneous_clicks() {
    let a = Spawn::new()
        .config(approvers(&[BOB, CAROL]))
        .process()
        .await;
    let b = Spawn::new()
        .on(a.env())
        .config(approvers(&[BOB, CAROL]))
        .process()
        .await;
    let (role, request) = a.role_with_request("scaled", "INC-45 leaked").await;
    let clicks = (0..16).map(|i| {
        let (proc_, who) = if i % 2 == 0 { (&a, BOB) } else { (&b, CAROL) };
        let body = a.click_body(who, "approve", request.id().as_str());
        async move {
            proc_
                .post_signed("/slack/interactions", body)
                .await
                .status()
                .as_u16()
        }
    });
    assert!(
        futures::future::join_all(clicks)
            .await
            .iter()
            .all(|s| *s == 200)
    );
    a.wait_state(request.id(), State::Applied).await;
    eventually("all 16 clicks recorded", || async {
        (a.events(request.id()).await.len() >= 3 + 15).then_some(())
    })
    .await;
    a.drain().await;
    b.drain().await;
    a.assert_one_transition(request.id(), &role).await;
}

/// Sizes come from LOAD_COMMANDS / LOAD_APPROVALS; the test command keeps them small, the benchmark
/// command runs 10,000 and 1,000.
#[tokio::test]
async fn load_many_commands_and_approvals_lose_nothing_and_duplicate_nothing() {
    let commands: usize = std::env::var("LOAD_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let approvals: usize = std::env::var("LOAD_APPROVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    // Commands that create a request (LOAD_REQUESTS, default twice the approvals; each approval takes
    // one of them, spread evenly); the rest are `help`.
    let requests: usize = std::env::var("LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(approvals * 2);
    assert!(requests >= approvals && commands >= requests);
    let app = spawn_app().await;
    let roles: Vec<String> = (0..4).map(|i| unique(&format!("load{i}"))).collect();
    for r in &roles {
        app.create_role(r, None).await;
    }
    let started = std::time::Instant::now();
    let sends = (0..commands).map(|i| {
        let text = if i < requests {
            format!("prod/{} INC-load-{i}", roles[i % roles.len()])
        } else {
            "help".into()
        };
        let body = app.command_body(ALICE, &text, None);
        let app = &app;
        async move {
            app.post_signed("/slack/commands", body)
                .await
                .status()
                .as_u16()
        }
    });
    use futures::StreamExt;
    let statuses: Vec<u16> = futures::stream::iter(sends)
        .buffer_unordered(64)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every command acknowledged"
    );
    let cards = eventually_long(&format!("{requests} cards"), || async {
        let cards = app.slack_received("/chat.postMessage").await;
        (cards.len() >= requests).then_some(cards)
    })
    .await;
    let ids: Vec<RequestId> = cards.iter().map(request_id_on).collect();
    let to_approve: Vec<&RequestId> = ids
        .iter()
        .step_by(requests / approvals)
        .take(approvals)
        .collect();
    futures::stream::iter(to_approve.iter().map(|id| app.click(BOB, "approve", id)))
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    for id in &to_approve {
        eventually_long(&format!("{id} applied"), || async {
            app.store
                .get(id)
                .await
                .ok()
                .flatten()
                .filter(|r| r.state() == State::Applied)
        })
        .await;
    }
    println!(
        "load: {commands} signed commands ({requests} requests) and {approvals} approvals through the server in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let (events, head) = app.store.whole_chain().await.unwrap();
    assert!(
        verify_chain(events.clone(), head).is_empty(),
        "audit verify passes"
    );
    let count = |k: EventKind| events.iter().filter(|e| e.draft.kind == k).count();
    assert_eq!(
        count(EventKind::Requested),
        requests,
        "one request per command, none lost or doubled"
    );
    assert_eq!(count(EventKind::Approved), approvals);
    assert_eq!(count(EventKind::Applied), approvals);
    assert_eq!(count(EventKind::Failed), 0);
    assert_eq!(events.len() as u64, head);
    let calls = moto_calls().await;
    let writes: u64 = roles
        .iter()
        .map(|r| {
            calls
                .get(&format!("PutRolePolicy:{r}"))
                .copied()
                .unwrap_or(0)
        })
        .sum();
    // Each request's cut-off is decided at its approval; a write is skipped where a later one
    // is already in force. So at least one write per role, never more than two per approval,
    // and on every role the latest cut-off of its applied requests is the one in force.
    assert!(
        writes as usize >= roles.len() && (writes as usize) < approvals * 2,
        "{writes} policy writes for {approvals} approvals on {} roles",
        roles.len()
    );
    for role in &roles {
        let mut latest = None;
        for id in &to_approve {
            let r = app.stored(id).await;
            if r.role().is_some_and(|arn| arn.name() == role.as_str()) {
                latest = latest.max(r.cutoff());
            }
        }
        let policy = app
            .revoke_policy(role)
            .await
            .expect("a policy on each role");
        assert_eq!(
            revoke_role_bot::domain::policy::read_existing(Some(&policy.to_string()))
                .into_policy()
                .and_then(|p| p.cutoff()),
            latest,
            "{role}: the latest cut-off is in force"
        );
    }
    let stored = app.store.latest_requests(None, 1).await.unwrap();
    assert_eq!(stored.total.unwrap_or(1), requests);
    println!(
        "load: audit verify passed over {} events (chain head {head}): {} requested, {} approved, {} applied, \
         0 failed; {writes} PutRolePolicy calls for {approvals} approvals",
        events.len(),
        count(EventKind::Requested),
        count(EventKind::Approved),
        count(EventKind::Applied),
    );
}

#[tokio::test]
async fn sigterm_lets_background_work_finish_and_exits_cleanly() {
    let bot = Spawn::new().process().await;
    // The card post is slow: SIGTERM arrives while the request is being handled in the background.
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)).set_body_json(json!({
            "ok": true, "channel": CHANNEL, "ts": "1700000000.000100", "message": {"ts": "1700000000.000100", "text": "card"}
        })))
        .with_priority(1)
        .mount(&bot.slack)
        .await;
    let role = bot.new_role("draining").await;
    bot.command(ALICE, &format!("prod/{role} INC-46 leaked"))
        .await;
    bot.wait_slack("/chat.postMessage", 1).await;
    let status = bot.process().terminate().await;
    assert!(status.success(), "{status:?}");
    // The work in flight finished before the exit: the card reference is stored and the requester told.
    let request = bot.request_from_card(0).await;
    assert!(bot.stored(request.id()).await.card().is_some());
    assert!(bot.replies_to(ALICE).await.iter().any(|r| {
        r["text"]
            .as_str()
            .unwrap_or("")
            .contains("waiting for approval")
    }));
}

/// Issue 8, item 8: an SDK retry of a `TransactWriteItems` that did commit (its answer was lost)
/// carries the same `ClientRequestToken`, so DynamoDB answers it as done instead of failing its
/// conditions; without the token the approving click would read as a lost race and be refused as
/// "already approved", leaving the policy to the next recovery pass. (The Rust SDK also fills the
/// token itself when the caller does not; the bot sets one per attempt explicitly.)
#[tokio::test]
async fn a_committed_transaction_whose_answer_is_lost_is_not_mistaken_for_a_lost_race() {
    let app = Spawn::new().proxied().start().await;
    let (role, request) = app.role_with_request("lost-answer", "INC-43 leaked").await;
    let lost = app
        .proxies()
        .dynamodb
        .lose_response(&["TransactItems", "\"approved\""]);
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    assert!(
        lost.seen(),
        "the approving transaction's answer was lost once"
    );
    assert!(
        lost.body().contains("\"ClientRequestToken\""),
        "the transaction carries an idempotency token: {}",
        lost.body()
    );
    app.assert_applied_once(request.id(), &role).await;
    let refused = app.slack_received(&format!("/respond/{BOB}")).await;
    assert!(refused.is_empty(), "Bob was not refused: {refused:?}");
}
