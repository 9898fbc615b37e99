//! Running it: readiness and metrics (Socket Mode is in `socket_mode.rs`).

use revoke_role_bot::domain::request::State;

use crate::helpers::*;

#[tokio::test]
async fn readyz_fails_while_dynamodb_is_down_and_recovers_when_it_is_back() {
    let app = Spawn::new().proxied().start().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.proxies().dynamodb.cut();
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the process is still up"
    );

    app.proxies().dynamodb.restore();
    eventually("ready again", || async {
        (app.get("/readyz").await.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn metrics_count_a_completed_flow() {
    let app = spawn_app().await;
    let (_, request) = app.role_with_request("metered", "INC-31 leaked").await;
    app.click(ALICE, "approve", request.id()).await;
    app.wait_replies(ALICE, 2).await;
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    let unsigned = app.post_raw("/slack/commands", "x=1".into(), vec![]).await;
    assert_eq!(unsigned.status(), 401);

    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for line in [
        "revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"ok\"} 1",
        "revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"unauthorized\"} 1",
        "revoke_role_bot_requests_total{endpoint=\"interactions\",outcome=\"ok\"} 2",
        "revoke_role_bot_events_total{kind=\"requested\"} 1",
        "revoke_role_bot_events_total{kind=\"click_refused\"} 1",
        "revoke_role_bot_events_total{kind=\"approved\"} 1",
        "revoke_role_bot_events_total{kind=\"applied\"} 1",
        "revoke_role_bot_approval_to_policy_seconds_count 1",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
}
