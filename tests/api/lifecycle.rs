//! The request lifecycle end to end: request, refusals, approval, policy in IAM, events in DynamoDB, card updates.

use chrono::Utc;
use revoke_role_bot::domain::audit::{EventKind, verify_chain};
use revoke_role_bot::domain::request::State;
use revoke_role_bot::ports::AuditStore;

use crate::helpers::*;

#[tokio::test]
async fn full_scenario_request_self_approval_refused_second_approver_applies_verified_policy() {
    let app = spawn_app().await;
    let role = unique("app-deployer");
    let arn = app.create_role(&role, None).await;

    let ack = app
        .command(
            ALICE,
            &format!("prod/{role} INC-4711 keys &lt;leaked&gt; &amp; rotated"),
        )
        .await;
    assert_eq!(ack["response_type"], "ephemeral");
    assert!(ack["text"].as_str().unwrap().contains(&role));

    let request = app.request_from_card(0).await;
    assert_eq!(request.state(), State::Pending);
    assert_eq!(request.target_arn(), arn);
    assert_eq!(
        request.reason(),
        "INC-4711 keys <leaked> & rotated",
        "stored as typed"
    );
    let card = &app.slack_received("/chat.postMessage").await[0];
    assert_eq!(card["channel"], CHANNEL);
    let card_text = card.to_string();
    // Escaped exactly once: Slack shows `keys <leaked> & rotated`.
    assert!(
        card_text.contains("keys &lt;leaked&gt; &amp; rotated"),
        "{card_text}"
    );
    assert!(
        !card_text.contains("&amp;lt;") && !card_text.contains("&amp;amp;"),
        "escaped twice: {card_text}"
    );
    let actions: Vec<&str> = card["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap()["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["approve", "reject", "cancel"]);
    assert!(
        card_text.contains("\"confirm\""),
        "approve asks for confirmation"
    );

    // The requester cannot approve their own request.
    app.click(ALICE, "approve", request.id()).await;
    let replies = app.wait_replies(ALICE, 2).await;
    let refusal = &replies[1];
    assert_eq!(refusal["response_type"], "ephemeral");
    assert!(
        refusal["text"].as_str().unwrap().contains("cannot approve"),
        "{refusal}"
    );
    app.drain().await;
    assert_eq!(app.stored(request.id()).await.state(), State::Pending);
    assert!(
        app.revoke_policy(&role).await.is_none(),
        "nothing applied on a refused click"
    );

    let before = Utc::now();
    app.click(BOB, "approve", request.id()).await;
    let done = app.wait_state(request.id(), State::Applied).await;
    let after = Utc::now();

    let cutoff = done.cutoff().expect("cut-off recorded");
    assert!(
        cutoff.time() >= before - chrono::Duration::seconds(1)
            && cutoff.time() <= after + chrono::Duration::seconds(1)
    );
    let policy = app
        .revoke_policy(&role)
        .await
        .expect("policy on the role in IAM");
    assert_eq!(
        policy,
        serde_json::json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],
            "Condition":{"DateLessThan":{"aws:TokenIssueTime": cutoff.to_string()}}}]})
    );

    let kinds = app.event_kinds(request.id()).await;
    assert_eq!(
        kinds,
        [
            EventKind::Requested,
            EventKind::ClickRefused,
            EventKind::Approved,
            EventKind::Applied
        ]
    );
    let events = app.events(request.id()).await;
    assert_eq!(events[2].draft.actor, BOB);
    assert_eq!(
        events[3].draft.cutoff.as_deref(),
        Some(cutoff.to_string().as_str())
    );
    assert_eq!(
        events[3].draft.policy_sha256.as_deref(),
        done.policy_sha256()
    );

    let updates = app.wait_slack("/chat.update", 2).await;
    let last = updates.last().unwrap().to_string();
    assert!(last.contains("Applied and verified"), "{last}");
    assert!(last.contains(&cutoff.to_string()));
    assert!(!last.contains("\"actions\""), "no buttons once decided");

    let (all, head) = app.store.whole_chain().await.unwrap();
    assert!(verify_chain(all, head).is_empty());
}

#[tokio::test]
async fn reject_by_an_approver_closes_the_request_without_touching_iam() {
    let app = spawn_app().await;
    let (role, request) = app.role_with_request("reject-me", "INC-1 suspicious").await;

    app.click(CAROL, "reject", request.id()).await;
    let r = app.wait_state(request.id(), State::Rejected).await;
    assert_eq!(r.decided_by().as_ref().unwrap().as_str(), CAROL);
    let update = app.wait_slack("/chat.update", 1).await[0].to_string();
    assert!(update.contains("Rejected by <@U0CAROL>"), "{update}");

    // A late approval on the closed request is refused and changes nothing.
    app.click(BOB, "approve", request.id()).await;
    let text = app.reply_text(BOB, 1).await;
    assert!(text.contains("already rejected"));
    app.drain().await;
    assert!(app.revoke_policy(&role).await.is_none());
    assert_eq!(
        app.event_kinds(request.id()).await,
        [
            EventKind::Requested,
            EventKind::Rejected,
            EventKind::ClickRefused
        ]
    );
    assert_eq!(
        moto_calls().await.get(&format!("PutRolePolicy:{role}")),
        None
    );
}

#[tokio::test]
async fn cancel_only_by_the_requester() {
    let app = spawn_app().await;
    let (role, request) = app
        .role_with_request("cancel-me", "INC-2 false alarm")
        .await;

    app.click(BOB, "cancel", request.id()).await;
    let text = app.reply_text(BOB, 1).await;
    assert!(text.contains("Only the person who requested"));

    app.click(ALICE, "cancel", request.id()).await;
    app.wait_state(request.id(), State::Cancelled).await;
    let update = app.wait_slack("/chat.update", 1).await[0].to_string();
    assert!(update.contains("Cancelled by <@U0ALICE>"));
    assert!(app.revoke_policy(&role).await.is_none());
    assert_eq!(
        app.event_kinds(request.id()).await,
        [
            EventKind::Requested,
            EventKind::ClickRefused,
            EventKind::Cancelled
        ]
    );
}

#[tokio::test]
async fn an_unauthorized_approver_is_refused_and_recorded() {
    let app = spawn_app().await;
    let (role, request) = app.role_with_request("guarded", "INC-3 leaked").await;

    app.click(EVE, "approve", request.id()).await;
    let replies = app.wait_replies(EVE, 1).await;
    assert_eq!(replies[0]["response_type"], "ephemeral");
    assert!(
        replies[0]["text"]
            .as_str()
            .unwrap()
            .contains("not on the approvers list")
    );
    app.drain().await;
    assert_eq!(app.stored(request.id()).await.state(), State::Pending);
    let events = app.events(request.id()).await;
    assert_eq!(events.last().unwrap().draft.kind, EventKind::ClickRefused);
    assert_eq!(events.last().unwrap().draft.actor, EVE);
    assert!(
        app.slack_received("/chat.update").await.is_empty(),
        "the card does not change on a refused click"
    );
    assert!(app.revoke_policy(&role).await.is_none());
}

#[tokio::test]
async fn the_same_slash_command_delivered_twice_creates_one_request() {
    let app = spawn_app().await;
    let role = app.new_role("retried").await;
    let body = app.command_body(
        ALICE,
        &format!("prod/{role} INC-5 retry"),
        Some("retry.1.2"),
    );
    for _ in 0..2 {
        let r = app.post_signed("/slack/commands", body.clone()).await;
        assert_eq!(r.status(), 200);
    }
    app.request_from_card(0).await;
    app.drain().await;
    assert_eq!(app.slack_received("/chat.postMessage").await.len(), 1);
    let page = app.store.latest_requests(None, 100).await.unwrap();
    assert_eq!(
        page.items
            .iter()
            .filter(|r| r.target_name() == role)
            .count(),
        1
    );
}

#[tokio::test]
async fn two_requests_for_one_role_approved_at_once_both_apply_and_the_later_cutoff_stays() {
    let app = spawn_app().await;
    let role = app.new_role("contended-role").await;
    app.command(ALICE, &format!("prod/{role} INC-6 first"))
        .await;
    let first = app.request_from_card(0).await;
    app.command(BOB, &format!("prod/{role} INC-6 second")).await;
    let second = app.request_from_card(1).await;
    tokio::join!(
        app.click(BOB, "approve", first.id()),
        app.click(CAROL, "approve", second.id())
    );
    let a = app.wait_state(first.id(), State::Applied).await;
    let b = app.wait_state(second.id(), State::Applied).await;
    let latest = a.cutoff().max(b.cutoff()).unwrap();
    let policy = app.revoke_policy(&role).await.unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        latest.to_string()
    );
}
