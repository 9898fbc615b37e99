//! End to end (README "Revocations that stay in force"): an applied revocation whose deny is deleted in IAM is noticed by the
//! server's own watch loop, reported in the card's thread with a Re-apply button, recorded as a
//! `drift` event in DynamoDB, and the button opens a new request.

use aws_sdk_dynamodb::types::AttributeValue;
use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::policy::POLICY_NAME;
use revoke_role_bot::domain::request::State;

use crate::helpers::*;

#[tokio::test]
async fn a_deleted_deny_is_reported_in_the_thread_with_a_reapply_button_and_recorded() {
    let app = Spawn::new()
        .config(|c| c.replace("[access]", "[watch]\ndrift_check_every = \"1s\"\n[access]"))
        .start()
        .await;
    let (role, request) = app
        .role_with_request("app-drift", "INC-91 keys in a log")
        .await;
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    assert!(app.revoke_policy(&role).await.is_some());

    // Someone deletes the deny (the console, infrastructure code).
    app.iam
        .delete_role_policy()
        .role_name(&role)
        .policy_name(POLICY_NAME)
        .send()
        .await
        .expect("delete the deny in moto");

    let note = app.wait_thread_saying("Drift").await;
    let text = note["text"].as_str().unwrap();
    assert!(
        text.contains(&role) && text.contains(request.id().as_str()),
        "{text}"
    );
    assert_eq!(note["thread_ts"], "1700000000.000100");
    let button = note["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .map(|b| b["elements"][0].clone())
        .expect("a button under the drift note");
    assert_eq!(button["action_id"], "reapply");
    assert_eq!(button["value"], request.id().as_str());

    // In DynamoDB: the drift event in the chain, and the drift remembered beside the request.
    let drift = eventually("the drift event in DynamoDB", || async {
        app.events(request.id())
            .await
            .into_iter()
            .find(|e| e.draft.kind == EventKind::Drift)
    })
    .await;
    assert_eq!(drift.draft.detail.as_deref(), Some("gone"));
    let item = app
        .ddb
        .get_item()
        .table_name(&app.table)
        .key("pk", AttributeValue::S(format!("REQ#{}", request.id())))
        .key("sk", AttributeValue::S("REQ".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(item["watch_state"].as_s().unwrap(), "watching");
    assert_eq!(item["drift_reported"].as_s().unwrap(), "gone");

    // The button: a new request for the same role, by the person who clicked, awaiting approval.
    let cards_before = app.slack_received("/chat.postMessage").await.len();
    app.click(BOB, "reapply", request.id()).await;
    let again = app.request_from_card(cards_before).await;
    assert_ne!(again.id(), request.id());
    assert_eq!(again.state(), State::Pending);
    assert_eq!(again.role(), request.role());
    assert_eq!(again.requester().as_str(), BOB);
    assert_eq!(again.reason(), format!("re-apply {}: drift", request.id()));

    // Reported once, however many checks ran meanwhile.
    assert_eq!(app.thread_saying("Drift").await.len(), 1);
    assert_eq!(
        app.event_kinds(request.id())
            .await
            .iter()
            .filter(|k| **k == EventKind::Drift)
            .count(),
        1
    );
}
