//! End to end (README "The request form, and who can come back"): `/revoke-role` with no arguments opens the request form through
//! `views.open`, the type-ahead is answered on the options load URL from moto's roles, and a
//! submitted form posts the same card as the one-line form; refusals show in the form, or (when
//! only IAM can tell) ephemerally in the channel.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

async fn mount_form_api(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path("/views.open"))
        // Refused as Slack refuses a view beyond Block Kit's limits (`slack::limits`).
        .respond_with(BlockKitChecked(ResponseTemplate::new(200).set_body_json(
            json!({
                "ok": true,
                "view": {
                    "id": "V0FORM", "team_id": "T0TEAM", "hash": "1.2", "type": "modal",
                    "title": {"type": "plain_text", "text": "Revoke role sessions"}, "blocks": []
                }
            }),
        )))
        .mount(&app.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.postEphemeral"))
        .respond_with(BlockKitChecked(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "message_ts": "1700000000.000200"}),
        )))
        .mount(&app.slack)
        .await;
}

fn payload_body(payload: Value) -> String {
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

fn suggestion(user: &str, typed: &str) -> String {
    payload_body(json!({
        "type": "block_suggestion",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "container": {"type": "view", "view_id": "V0FORM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "action_id": "role",
        "block_id": "role",
        "value": typed,
        "team": {"id": "T0TEAM"},
        "view": {"id": "V0FORM", "callback_id": "revoke_role_modal", "private_metadata": CHANNEL},
    }))
}

/// The block `id` of a view.
fn block<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == id)
        .unwrap_or_else(|| panic!("a {id} block in {view}"))
}

/// Alice submits the form (a view of its own) choosing `role` with `reason`; Slack's delivery is
/// answered with a 200.
async fn submit(app: &TestApp, role: Option<&str>, reason: &str) -> reqwest::Response {
    let body = submission(ALICE, &unique("V"), role, reason);
    let r = app.post_signed("/slack/interactions", body).await;
    assert_eq!(r.status(), 200);
    r
}

fn submission(user: &str, view: &str, role: Option<&str>, reason: &str) -> String {
    let mut values = json!({"reason": {"reason": {"type": "plain_text_input", "value": reason}}});
    values["role"] = match role {
        Some(r) => json!({"role": {"type": "external_select", "selected_option": {
            "text": {"type": "plain_text", "text": r}, "value": r}}}),
        None => json!({"role": {"type": "external_select", "selected_option": null}}),
    };
    payload_body(json!({
        "type": "view_submission",
        "team": {"id": "T0TEAM"},
        "user": {"id": user, "username": "someone"},
        "api_app_id": "A0APP",
        "trigger_id": "1.2.3",
        "view": {
            "id": view, "team_id": "T0TEAM", "type": "modal",
            "callback_id": "revoke_role_modal", "private_metadata": CHANNEL,
            "state": {"values": values}, "hash": "1.2",
        },
    }))
}

#[tokio::test]
async fn an_empty_command_opens_the_form_through_views_open() {
    let app = spawn_app().await;
    mount_form_api(&app).await;
    let body = app.command_body(ALICE, "", Some("trigger.form.1"));
    let r = app.post_signed("/slack/commands", body).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("Opening the request form")
    );
    let opened = app.wait_slack("/views.open", 1).await;
    let v = &opened[0];
    assert_eq!(v["trigger_id"], "trigger.form.1");
    let view = &v["view"];
    assert_eq!(view["type"], "modal");
    assert_eq!(view["callback_id"], "revoke_role_modal");
    assert_eq!(view["private_metadata"], CHANNEL);
    let role = block(view, "role");
    assert_eq!(role["type"], "input");
    assert_eq!(role["element"]["type"], "external_select");
    assert_eq!(role["element"]["action_id"], "role");
    assert_eq!(role["element"]["min_query_length"], 0);
    let reason = block(view, "reason");
    assert_eq!(reason["element"]["type"], "plain_text_input");
    assert_eq!(reason["element"]["min_length"], 3);
    assert_eq!(reason["element"]["max_length"], 500);
    assert!(reason.get("optional").is_none(), "the reason is required");
    // `help` still answers with the usage and opens nothing.
    let help = app.command(ALICE, "help").await;
    assert!(help["text"].as_str().unwrap().contains("*Usage*"));
    app.drain().await;
    assert_eq!(app.slack_received("/views.open").await.len(), 1);
}

#[tokio::test]
async fn the_options_url_lists_moto_roles_and_marks_protected_ones() {
    let app = spawn_app().await;
    let tag = unique("frm");
    let plain = app.create_role(&format!("{tag}-app"), None).await;
    let guarded = app.create_role(&format!("break-glass-{tag}"), None).await;
    let r = app
        .post_signed("/slack/options", suggestion(ALICE, &tag.to_uppercase()))
        .await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let options = answer["options"].as_array().unwrap();
    assert_eq!(options.len(), 2, "{answer}");
    let value = |arn: &str| {
        options
            .iter()
            .find(|o| o["value"] == arn)
            .unwrap_or_else(|| panic!("{arn} in {answer}"))
            .clone()
    };
    assert_eq!(
        value(&plain)["text"]["text"],
        format!("prod/{tag}-app").as_str()
    );
    assert_eq!(value(&guarded)["text"]["type"], "plain_text");
    assert_eq!(
        value(&guarded)["text"]["text"],
        format!("🔒 prod/break-glass-{tag} (protected: roles.protect)").as_str()
    );
    // Someone not on the requesters list learns no role names.
    let r = app
        .post_signed("/slack/options", suggestion(EVE, &tag))
        .await;
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["options"][0]["value"], "!not-a-requester",
        "{answer}"
    );
    assert_eq!(answer["options"].as_array().unwrap().len(), 1);
    // Unsigned, the options URL answers nothing.
    let r = app
        .post_raw(
            "/slack/options",
            suggestion(ALICE, &tag),
            vec![("content-type", "application/x-www-form-urlencoded".into())],
        )
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_submitted_form_posts_the_card() {
    let app = spawn_app().await;
    mount_form_api(&app).await;
    let role = unique("frm-card");
    let arn = app.create_role(&role, None).await;
    let r = submit(&app, Some(&arn), "INC-77 keys in a gist").await;
    assert!(
        r.text().await.unwrap().is_empty(),
        "an empty answer closes the form"
    );
    let cards = app.wait_slack("/chat.postMessage", 1).await;
    let card = cards
        .iter()
        .find(|c| c.to_string().contains(&role))
        .expect("the card for the chosen role");
    assert_eq!(card["channel"], CHANNEL);
    let id = request_id_on(card);
    let stored = app.stored(&id).await;
    assert_eq!(stored.reason(), "INC-77 keys in a gist");
    assert_eq!(stored.requester().as_str(), ALICE);
    assert_eq!(stored.role().unwrap().to_string(), arn);
}

#[tokio::test]
async fn a_refused_submission_shows_the_error_in_the_form() {
    let app = spawn_app().await;
    mount_form_api(&app).await;
    let guarded = app.create_role(&unique("break-glass-frm"), None).await;
    let r = submit(&app, Some(&guarded), "INC-78 leaked").await;
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["response_action"], "errors");
    let error = answer["errors"]["role"].as_str().unwrap();
    assert!(
        error.contains("is protected by the bot's configuration"),
        "{answer}"
    );
    assert!(error.contains(&guarded), "{answer}");
    // Nothing chosen and a reason too short: both fields say so.
    let r = submit(&app, None, "x").await;
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["errors"]["role"], "Choose a role from the list.");
    assert!(
        answer["errors"]["reason"]
            .as_str()
            .unwrap()
            .contains("3–500 characters"),
        "{answer}"
    );
    // A role only IAM can refuse (it does not exist): the form closes and the refusal arrives
    // ephemerally, in the channel the command came from.
    let ghost = format!("arn:aws:iam::{ACCOUNT}:role/{}", unique("frm-ghost"));
    submit(&app, Some(&ghost), "INC-79 leaked").await;
    let told = app.wait_slack("/chat.postEphemeral", 1).await;
    assert_eq!(told[0]["channel"], CHANNEL);
    assert_eq!(told[0]["user"], ALICE);
    assert!(
        told[0]["text"].as_str().unwrap().contains("does not exist"),
        "{}",
        told[0]
    );
    app.drain().await;
    assert!(
        app.slack_received("/chat.postMessage").await.is_empty(),
        "no card"
    );
}
