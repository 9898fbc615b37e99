//! Faults, load and scale-out: nothing lost, nothing duplicated, people told what happened.

use std::sync::Arc;
use std::time::Duration;

use revoke_role_bot::config::Settings;
use revoke_role_bot::domain::audit::{EventKind, verify_chain};
use revoke_role_bot::domain::ids::RequestId;
use revoke_role_bot::domain::request::State;
use revoke_role_bot::ports::AuditStore;
use revoke_role_bot::startup::Application;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::support::*;

#[tokio::test]
async fn slack_500_and_429_are_retried_and_retry_after_is_honoured() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"ok": false, "error": "ratelimited"})),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&app.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/respond/U0ALICE"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let role = unique("retried");
    app.create_role(&role, None).await;
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
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "600")
                .set_body_json(json!({"ok": false, "error": "ratelimited"})),
        )
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let role = unique("throttled-slack");
    app.create_role(&role, None).await;
    app.command(ALICE, &format!("prod/{role} INC-41 leaked"))
        .await;
    let replies = app.wait_replies(ALICE, 1).await;
    let text = replies[0]["text"].as_str().unwrap();
    assert!(text.contains("could not be posted"), "{text}");
    assert_eq!(app.slack_received("/chat.postMessage").await.len(), 1);
}

async fn app_through(
    cut: &Cuttable,
    slack: &MockServer,
    table: &str,
) -> Arc<revoke_role_bot::service::App> {
    let secrets = test_secrets(slack.uri());
    let server = Application::build_with(
        Settings::from_toml(&base_config(table)).unwrap(),
        secrets,
        cut.aws_config().await,
    )
    .await
    .unwrap();
    let app = server.app();
    tokio::spawn(server.run_until_stopped());
    app
}

/// `user`'s approving click on request `id`, as the HTTP edge hands it to the service.
fn approval(t: &TestApp, user: &str, id: &RequestId) -> revoke_role_bot::service::ClickContext {
    revoke_role_bot::service::ClickContext {
        user: revoke_role_bot::domain::ids::SlackUserId::parse(user).unwrap(),
        action: revoke_role_bot::domain::request::Action::Approve,
        request_id: id.clone(),
        response_url: format!("{}/respond/{user}", t.slack.uri()),
    }
}

#[tokio::test]
async fn aws_down_at_the_click_refuses_cleanly_and_the_flow_completes_when_it_is_back() {
    let t = spawn_app().await; // for moto access, table and fake Slack
    let cut = Cuttable::to_moto().await;
    let app = app_through(&cut, &t.slack, &t.table).await;
    let role = unique("outage");
    t.create_role(&role, None).await;
    let ctx = |user: &str, text: String| revoke_role_bot::service::CommandContext {
        user: revoke_role_bot::domain::ids::SlackUserId::parse(user).unwrap(),
        channel: revoke_role_bot::domain::ids::ChannelId::parse(CHANNEL).unwrap(),
        text,
        response_url: format!("{}/respond/{user}", t.slack.uri()).into(),
        trigger_id: Some(unique("trigger")),
    };
    app.on_command(ctx(ALICE, format!("prod/{role} INC-42 leaked")));
    let request = t.request_from_card(0).await;

    cut.cut();
    app.on_click(approval(&t, BOB, request.id()));
    let replies = t.wait_replies(BOB, 1).await;
    assert!(
        replies[0]["text"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{}",
        replies[0]
    );
    assert!(
        t.revoke_policy(&role).await.is_none(),
        "nothing applied without its audit event"
    );

    cut.restore();
    assert_eq!(t.stored(request.id()).await.state(), State::Pending);
    app.on_click(approval(&t, BOB, request.id()));
    t.wait_state(request.id(), State::Applied).await;
    t.assert_applied_once(request.id(), &role).await;
}

#[tokio::test]
async fn aws_down_between_approval_and_policy_leaves_it_approved_and_recovery_finishes_it() {
    let t = spawn_app().await;
    let cut = Cuttable::to_moto().await;
    let app = app_through(&cut, &t.slack, &t.table).await;
    let role = unique("half-done");
    t.create_role(&role, None).await;
    let body = t.command_body(ALICE, &format!("prod/{role} INC-43 leaked"), None);
    let decoded = revoke_role_bot::slack::handlers::decode_command(body.as_bytes()).unwrap();
    app.on_command(decoded);
    let request = t.request_from_card(0).await;
    // Hold the apply lease call (the first after `approved`) in moto while the outage starts.
    let hold = format!("body:REQ#{}|lease_until", request.id());
    let faults =
        inject_faults(json!({ hold.clone(): {"delay": 2, "status": 500, "times": 1} })).await;
    app.on_click(approval(&t, BOB, request.id()));
    eventually("the lease call held in moto", || async {
        moto_calls()
            .await
            .contains_key(&format!("fault:{hold}"))
            .then_some(())
    })
    .await;
    cut.cut();
    // Long enough for the held call to fail and the SDK's retries (3 attempts) to give up.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(t.stored(request.id()).await.state(), State::Approved);
    assert!(t.revoke_policy(&role).await.is_none());

    faults.clear().await;
    cut.restore();
    app.recover().await.unwrap();
    let done = t.wait_state(request.id(), State::Applied).await;
    assert!(done.cutoff().is_some());
    t.assert_applied_once(request.id(), &role).await;
}

#[tokio::test]
async fn a_process_killed_between_approved_and_applied_is_finished_after_restart() {
    let t = spawn_app().await;
    let role = unique("killed");
    t.create_role(&role, None).await;
    let mut first = BotProcess::start(&t.table, &t.slack.uri(), &moto_endpoint()).await;
    assert_eq!(
        first
            .post_signed(
                "/slack/commands",
                t.command_body(ALICE, &format!("prod/{role} INC-44 leaked"), None)
            )
            .await,
        200
    );
    let request = t.request_from_card(0).await;
    // The apply lease is the first thing after `approved` is written: hold that call in moto.
    let hold = format!("body:REQ#{}|lease_until", request.id());
    let faults =
        inject_faults(json!({ hold.clone(): {"delay": 10, "status": 500, "times": 1} })).await;
    assert_eq!(
        first
            .post_signed(
                "/slack/interactions",
                t.click_body(BOB, "approve", request.id().as_str())
            )
            .await,
        200
    );
    eventually("the lease call held in moto", || async {
        moto_calls()
            .await
            .contains_key(&format!("fault:{hold}"))
            .then_some(())
    })
    .await;
    first.kill().await;
    faults.clear().await;
    assert_eq!(t.stored(request.id()).await.state(), State::Approved);
    assert!(t.revoke_policy(&role).await.is_none());

    let _second = BotProcess::start(&t.table, &t.slack.uri(), &moto_endpoint()).await;
    t.wait_state(request.id(), State::Applied).await;
    settle().await;
    t.assert_applied_once(request.id(), &role).await;
}

#[tokio::test]
async fn two_processes_on_one_table_make_one_transition_for_simultaneous_clicks() {
    let t = spawn_app_with(|c| {
        c.replace(
            r#"approvers = ["U0ALICE", "U0BOB", "U0CAROL"]"#,
            r#"approvers = ["U0BOB", "U0CAROL"]"#,
        )
    })
    .await;
    let role = unique("scaled");
    t.create_role(&role, None).await;
    let a = BotProcess::start(&t.table, &t.slack.uri(), &moto_endpoint()).await;
    let b = BotProcess::start(&t.table, &t.slack.uri(), &moto_endpoint()).await;
    a.post_signed(
        "/slack/commands",
        t.command_body(ALICE, &format!("prod/{role} INC-45 leaked"), None),
    )
    .await;
    let request = t.request_from_card(0).await;
    let clicks = (0..16).map(|i| {
        let (proc_, who) = if i % 2 == 0 { (&a, BOB) } else { (&b, CAROL) };
        let body = t.click_body(who, "approve", request.id().as_str());
        async move { proc_.post_signed("/slack/interactions", body).await }
    });
    assert!(
        futures::future::join_all(clicks)
            .await
            .iter()
            .all(|s| *s == 200)
    );
    t.wait_state(request.id(), State::Applied).await;
    eventually("all 16 clicks recorded", || async {
        (t.events(request.id()).await.len() >= 3 + 15).then_some(())
    })
    .await;
    settle().await;
    let kinds = t.event_kinds(request.id()).await;
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Approved).count(),
        1
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Applied).count(),
        1
    );
    assert_eq!(
        moto_calls().await.get(&format!("PutRolePolicy:{role}")),
        Some(&1)
    );
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
    let cards = app.wait_slack_long("/chat.postMessage", requests).await;
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
    // One write per approval, plus a rewrite where two approvals of one role interleaved and the
    // earlier cut-off landed last (the read-back catches it and writes the later one again).
    assert!(
        writes as usize >= approvals && (writes as usize) < approvals * 2,
        "{writes} policy writes for {approvals} approvals"
    );
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
    let t = spawn_app().await;
    // The card post is slow: SIGTERM arrives while the request is being handled in the background.
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)).set_body_json(json!({
            "ok": true, "channel": CHANNEL, "ts": "1700000000.000100", "message": {"ts": "1700000000.000100", "text": "card"}
        })))
        .with_priority(1)
        .mount(&t.slack)
        .await;
    let role = unique("draining");
    t.create_role(&role, None).await;
    let mut bot = BotProcess::start(&t.table, &t.slack.uri(), &moto_endpoint()).await;
    assert_eq!(
        bot.post_signed(
            "/slack/commands",
            t.command_body(ALICE, &format!("prod/{role} INC-46 leaked"), None)
        )
        .await,
        200
    );
    t.wait_slack("/chat.postMessage", 1).await;
    let status = bot.terminate().await;
    assert!(status.success(), "{status:?}");
    // The work in flight finished before the exit: the card reference is stored and the requester told.
    let request = t.request_from_card(0).await;
    assert!(t.stored(request.id()).await.card().is_some());
    assert!(t.replies_to(ALICE).await.iter().any(|r| {
        r["text"]
            .as_str()
            .unwrap_or("")
            .contains("waiting for approval")
    }));
}
