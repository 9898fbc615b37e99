//! Requests not signed by Slack get 401 with no detail; oversized bodies get 413; nothing reaches the service.

use chrono::Utc;

use crate::helpers::*;

async fn assert_nothing_happened(app: &TestApp) {
    app.drain().await;
    assert!(
        app.slack
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_bad_signature_gets_401_without_detail() {
    let app = spawn_app().await;
    let body = app.command_body(ALICE, "help", None);
    let mut headers = signed_headers(&body, Utc::now().timestamp());
    headers[1].1 = format!("v0={}", "0".repeat(64));
    let r = app.post_raw("/slack/commands", body, headers).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), "");
}

#[tokio::test]
async fn a_body_changed_after_signing_gets_401() {
    let app = spawn_app().await;
    let body = app.command_body(ALICE, "help", None);
    let headers = signed_headers(&body, Utc::now().timestamp());
    let tampered = body.replace("U0ALICE", "U0BOB");
    let r = app.post_raw("/slack/interactions", tampered, headers).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_stale_signature_gets_401() {
    let app = spawn_app().await;
    let body = app.command_body(ALICE, "prod/app INC-1", None);
    let headers = signed_headers(&body, Utc::now().timestamp() - 301);
    let r = app.post_raw("/slack/commands", body, headers).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), "");
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn a_missing_signature_gets_401() {
    let app = spawn_app().await;
    let body = app.command_body(ALICE, "prod/app INC-1", None);
    let r = app
        .post_raw(
            "/slack/commands",
            body,
            vec![("content-type", "application/x-www-form-urlencoded".into())],
        )
        .await;
    assert_eq!(r.status(), 401);
    let click = app.click_body(BOB, "approve", "rr-7f3k2q9x");
    let r = app.post_raw("/slack/interactions", click, vec![]).await;
    assert_eq!(r.status(), 401);
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn an_oversized_body_gets_413_signed_or_not() {
    let app = spawn_app().await;
    let body = format!(
        "{}&pad={}",
        app.command_body(ALICE, "help", None),
        "x".repeat(64 * 1024)
    );
    let r = app.post_signed("/slack/commands", body.clone()).await;
    assert_eq!(r.status(), 413);
    let r = app.post_raw("/slack/interactions", body, vec![]).await;
    assert_eq!(r.status(), 413);
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn health_answers_without_a_signature() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
}
