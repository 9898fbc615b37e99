//! Requests that must be refused, with a clear reason, and leave nothing applied.

use revoke_role_bot::domain::audit::{AuditEvent, EventKind};
use revoke_role_bot::ports::AuditStore;

use crate::helpers::*;

async fn refused_with(app: &TestApp, user: &str, text: &str, says: &str) {
    let ack = app.command(user, text).await;
    assert_eq!(ack["response_type"], "ephemeral");
    let replies = app.wait_replies(user, 1).await;
    let reply = replies.last().unwrap();
    assert_eq!(reply["response_type"], "ephemeral");
    assert!(
        reply["text"].as_str().unwrap().contains(says),
        "expected `{says}` in {reply}"
    );
    app.drain().await;
    assert!(
        app.slack_received("/chat.postMessage").await.is_empty(),
        "no card for a refused request"
    );
}

/// `refused_with`, and the refusal recorded as the audit chain's last event, which it returns.
async fn refused_and_recorded(app: &TestApp, user: &str, text: &str, says: &str) -> AuditEvent {
    refused_with(app, user, text, says).await;
    let (mut events, _) = app.store.whole_chain().await.unwrap();
    events.sort_by_key(|e| e.seq);
    let last = events.pop().expect("the refusal is recorded");
    assert_eq!(last.draft.kind, EventKind::RequestRefused);
    last
}

#[tokio::test]
async fn an_unauthorized_requester_is_refused_and_recorded() {
    let app = spawn_app().await;
    let role = app.new_role("target").await;
    let e = refused_and_recorded(
        &app,
        EVE,
        &format!("prod/{role} INC-9 let me in"),
        "not on the requesters list",
    )
    .await;
    assert_eq!(e.draft.actor, EVE);
    assert!(app.revoke_policy(&role).await.is_none());
}

#[tokio::test]
async fn an_empty_requesters_list_means_nobody() {
    let app = Spawn::new().config(requesters(&[])).start().await;
    let role = app.new_role("target").await;
    refused_with(
        &app,
        ALICE,
        &format!("prod/{role} INC-9"),
        "not on the requesters list",
    )
    .await;
}

#[tokio::test]
async fn a_protected_role_is_refused() {
    let app = spawn_app().await;
    let role = app.new_role("break-glass").await;
    refused_and_recorded(
        &app,
        ALICE,
        &format!("prod/{role} INC-9"),
        "protected by the bot's configuration",
    )
    .await;
    assert!(app.revoke_policy(&role).await.is_none());
}

#[tokio::test]
async fn service_linked_and_identity_center_roles_are_refused_with_their_reason() {
    let app = spawn_app().await;
    let linked = unique("AWSServiceRoleForThing");
    app.create_role(&linked, Some("/aws-service-role/thing.amazonaws.com/"))
        .await;
    // Named without its path: the path IAM reports still reveals it.
    refused_with(
        &app,
        ALICE,
        &format!("prod/{linked} INC-9"),
        "service-linked role",
    )
    .await;

    let sso = unique("AWSReservedSSO_Admin");
    app.create_role(&sso, Some("/aws-reserved/sso.amazonaws.com/"))
        .await;
    let ack = app.command(ALICE, &format!("prod/{sso} INC-9")).await;
    assert_eq!(ack["response_type"], "ephemeral");
    let replies = app.wait_replies(ALICE, 2).await;
    let text = replies[1]["text"].as_str().unwrap();
    assert!(
        text.contains("IAM Identity Center") && text.contains("permission set"),
        "{text}"
    );
}

#[tokio::test]
async fn a_malformed_arn_is_answered_at_once_with_what_is_wrong() {
    let app = spawn_app().await;
    let ack = app
        .command(ALICE, "arn:aws:iam::12345:role/app INC-9")
        .await;
    assert_eq!(ack["response_type"], "ephemeral");
    let text = ack["text"].as_str().unwrap();
    assert!(text.contains("12 digits"), "{text}");
    assert!(text.contains("Usage"));
    app.drain().await;
    assert!(app.replies_to(ALICE).await.is_empty());
    assert!(
        app.store.whole_chain().await.unwrap().0.is_empty(),
        "nothing to record: nothing was asked"
    );
}

#[tokio::test]
async fn a_role_that_does_not_exist_is_refused() {
    let app = spawn_app().await;
    let role = unique("ghost");
    refused_and_recorded(
        &app,
        ALICE,
        &format!("prod/{role} INC-9"),
        "does not exist in account 123456789012",
    )
    .await;
}

#[tokio::test]
async fn an_unconfigured_account_is_refused() {
    let app = spawn_app().await;
    refused_with(
        &app,
        ALICE,
        "arn:aws:iam::999999999999:role/app INC-9",
        "not configured",
    )
    .await;
}

#[tokio::test]
async fn help_and_empty_commands_answer_with_usage() {
    let app = spawn_app().await;
    for text in ["", "help"] {
        let ack = app.command(ALICE, text).await;
        assert!(
            ack["text"]
                .as_str()
                .unwrap()
                .contains("/revoke-role <role> <reason>")
        );
    }
    let ack = app.command(ALICE, "prod/app").await;
    assert!(ack["text"].as_str().unwrap().contains("reason is required"));
}
