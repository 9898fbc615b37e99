//! `POST /slack/commands` and `POST /slack/interactions`: decode at the edge, hand domain types to the service.
//! Both answer without waiting on any network call.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::form::{self, FormPayload};

use crate::domain::ids::{ChannelId, RequestId, SlackUserId};
use crate::domain::request::{Action, CardRef};
use crate::metrics::{Endpoint, Outcome};
use crate::service::notice::Notice;
use crate::service::{App, ClickContext, CommandContext, ReapplyContext};
use crate::slack::messages::REAPPLY_ACTION;

#[derive(Deserialize)]
struct CommandForm {
    user_id: Option<String>,
    channel_id: Option<String>,
    text: Option<String>,
    response_url: Option<String>,
    trigger_id: Option<String>,
}

fn bad_request(what: &str) -> Response {
    tracing::info!(what, "malformed Slack request");
    (StatusCode::BAD_REQUEST, "malformed request").into_response()
}

/// An answer to a command or click (the immediate one, or through `response_url`): its blocks,
/// whose mrkdwn is `verbatim` (Slack links nothing in it the bot did not write as a link), and
/// their fallback text.
pub fn reply_json(notice: &Notice) -> serde_json::Value {
    serde_json::json!({
        "response_type": if notice.in_channel() { "in_channel" } else { "ephemeral" },
        "text": super::blocks::notice_text(notice).into_string(),
        "blocks": super::blocks::notice(notice),
    })
}

/// Decode a signed slash-command body into the service's context.
pub fn decode_command(body: &[u8]) -> Result<CommandContext, &'static str> {
    command_context(serde_urlencoded::from_bytes(body).map_err(|_| "form")?)
}

/// The same, from a Socket Mode envelope's payload (a JSON object with the same fields).
pub fn decode_command_json(payload: &serde_json::Value) -> Result<CommandContext, &'static str> {
    command_context(CommandForm::deserialize(payload).map_err(|_| "payload")?)
}

fn command_context(form: CommandForm) -> Result<CommandContext, &'static str> {
    let user =
        SlackUserId::parse(form.user_id.as_deref().unwrap_or_default()).map_err(|_| "user_id")?;
    let channel = ChannelId::parse(form.channel_id.as_deref().unwrap_or_default())
        .map_err(|_| "channel_id")?;
    let response_url = form
        .response_url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or("response_url")?;
    Ok(CommandContext {
        user,
        channel,
        text: form.text.unwrap_or_default(),
        response_url: response_url.into(),
        trigger_id: form.trigger_id.filter(|t| !t.is_empty() && t.len() <= 256),
    })
}

pub async fn command(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match decode_command(&body) {
        Ok(ctx) => {
            app.metrics().request(Endpoint::Commands, Outcome::Ok);
            Json(reply_json(&app.on_command(ctx))).into_response()
        }
        Err(what) => {
            app.metrics()
                .request(Endpoint::Commands, Outcome::BadRequest);
            bad_request(what)
        }
    }
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: Option<IdField>,
    #[serde(default)]
    actions: Vec<ActionField>,
    response_url: Option<String>,
    #[serde(default)]
    container: Value,
}

#[derive(Deserialize)]
struct IdField {
    id: String,
}

#[derive(Deserialize)]
struct ActionField {
    action_id: String,
    value: Option<String>,
}

/// The message a clicked button is on, when it is a channel message (not an ephemeral one) whose
/// channel and `ts` read as such (`container` of a `block_actions` payload). Anything else is no
/// card; it never makes the click itself unreadable.
fn container_card(container: &Value) -> Option<CardRef> {
    if container["type"] != "message" || container["is_ephemeral"] == true {
        return None;
    }
    let ts = container["message_ts"].as_str()?;
    let (secs, micros) = ts.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || !digits(micros) {
        return None;
    }
    let channel = ChannelId::parse(container["channel_id"].as_str()?).ok()?;
    Some(CardRef {
        channel,
        ts: ts.to_string(),
    })
}

/// What an interaction payload asks for, if it is one of our buttons.
#[derive(Debug)]
pub enum Interaction {
    Click(ClickContext),
    /// The Re-apply button under a drift note.
    Reapply(ReapplyContext),
    /// Valid, but nothing for us (another interaction type).
    Ignore,
}

pub fn decode_interaction(body: &[u8]) -> Result<Interaction, &'static str> {
    let form: InteractionForm = serde_urlencoded::from_bytes(body).map_err(|_| "form")?;
    interaction_from(serde_json::from_str(&form.payload).map_err(|_| "payload")?)
}

/// The same, from a Socket Mode envelope's payload.
pub fn decode_interaction_json(payload: &serde_json::Value) -> Result<Interaction, &'static str> {
    interaction_from(Payload::deserialize(payload).map_err(|_| "payload")?)
}

fn interaction_from(payload: Payload) -> Result<Interaction, &'static str> {
    if payload.kind != "block_actions" {
        return Ok(Interaction::Ignore);
    }
    let [action] = payload.actions.as_slice() else {
        return Err("actions");
    };
    // Re-apply (a drift note's button) opens a new request; it is not a step of this request's
    // state machine, so it is its own kind of interaction.
    let act = match action.action_id.as_str() {
        REAPPLY_ACTION => None,
        other => Some(Action::parse(other).ok_or("action_id")?),
    };
    let request_id =
        RequestId::parse(action.value.as_deref().unwrap_or_default()).map_err(|_| "value")?;
    let user = SlackUserId::parse(&payload.user.ok_or("user")?.id).map_err(|_| "user")?;
    let response_url = payload
        .response_url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or("response_url")?;
    let card = container_card(&payload.container);
    Ok(match act {
        Some(act) => Interaction::Click(ClickContext {
            user,
            action: act,
            request_id,
            response_url,
            card,
        }),
        None => Interaction::Reapply(ReapplyContext {
            user,
            request_id,
            response_url,
        }),
    })
}

/// The answer to a form payload: options for the type-ahead; for a submission, nothing (the form
/// closes and the request starts) or the problems, shown in the form.
pub async fn form_answer(app: &Arc<App>, payload: FormPayload) -> Value {
    match payload {
        FormPayload::Suggest { user, query } => {
            form::options_json(&app.role_options(&user, &query).await)
        }
        FormPayload::Submit(submission) => match app.on_form_submission(submission) {
            Ok(()) => Value::Null,
            Err(problems) => form::errors_json(&problems),
        },
    }
}

/// A Socket Mode envelope carrying a form payload: its acknowledgement, with the options or the
/// form's errors as its payload, still to be computed (the type-ahead may wait on IAM, so the
/// caller runs it beside the connection's other envelopes). `None` when the envelope is not
/// about the form.
pub fn form_envelope_ack(
    app: &Arc<App>,
    envelope: &Value,
) -> Option<impl Future<Output = Value> + Send + 'static> {
    if envelope["type"] != "interactive" {
        return None;
    }
    let id = envelope["envelope_id"].as_str()?.to_string();
    let payload = form::decode(&envelope["payload"]).ok()??;
    app.metrics().request(Endpoint::SocketMode, Outcome::Ok);
    let app = app.clone();
    Some(async move {
        match form_answer(&app, payload).await {
            Value::Null => serde_json::json!({"envelope_id": id}),
            answer => serde_json::json!({"envelope_id": id, "payload": answer}),
        }
    })
}

fn form_response(answer: Value) -> Response {
    match answer {
        // An empty 200 closes the form.
        Value::Null => StatusCode::OK.into_response(),
        v => Json(v).into_response(),
    }
}

/// `POST /slack/options`: the options load URL, where Slack asks for the type-ahead's options.
pub async fn options(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match form::decode_body(&body) {
        Ok(Some(payload)) => {
            app.metrics().request(Endpoint::Interactions, Outcome::Ok);
            form_response(form_answer(&app, payload).await)
        }
        Ok(None) => {
            app.metrics().request(Endpoint::Interactions, Outcome::Ok);
            Json(serde_json::json!({"options": []})).into_response()
        }
        Err(what) => {
            app.metrics()
                .request(Endpoint::Interactions, Outcome::BadRequest);
            bad_request(what)
        }
    }
}

pub async fn interaction(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match form::decode_body(&body) {
        Ok(Some(payload)) => {
            app.metrics().request(Endpoint::Interactions, Outcome::Ok);
            return form_response(form_answer(&app, payload).await);
        }
        // Not the form (or not readable as one): the buttons' decoder decides.
        Ok(None) => {}
        Err("form" | "payload") => {}
        Err(what) => {
            app.metrics()
                .request(Endpoint::Interactions, Outcome::BadRequest);
            return bad_request(what);
        }
    }
    match decode_interaction(&body) {
        Ok(interaction) => {
            app.metrics().request(Endpoint::Interactions, Outcome::Ok);
            match interaction {
                Interaction::Click(ctx) => app.on_click(ctx),
                Interaction::Reapply(ctx) => app.on_reapply(ctx),
                Interaction::Ignore => {}
            }
            StatusCode::OK.into_response()
        }
        Err(what) => {
            app.metrics()
                .request(Endpoint::Interactions, Outcome::BadRequest);
            bad_request(what)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn form(payload: &serde_json::Value) -> Vec<u8> {
        serde_urlencoded::to_string([("payload", payload.to_string())])
            .unwrap()
            .into_bytes()
    }

    fn click(action_id: &str, value: &str) -> serde_json::Value {
        serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U0BOB"},
            "actions": [{"action_id": action_id, "value": value}],
            "response_url": "https://hooks.slack.com/actions/1",
        })
    }

    #[test]
    fn decodes_our_buttons() {
        let Interaction::Click(c) =
            decode_interaction(&form(&click("approve", "rr-7f3k2q9x"))).unwrap()
        else {
            panic!()
        };
        assert_eq!(c.action, Action::Approve);
        assert_eq!(c.request_id.as_str(), "rr-7f3k2q9x");
    }

    #[test]
    fn a_click_carries_the_message_its_button_is_on() {
        let mut payload = click("approve", "rr-7f3k2q9x");
        payload["container"] = serde_json::json!({"type": "message", "message_ts": "1700000000.000100",
            "channel_id": "C0INC", "is_ephemeral": false});
        let Interaction::Click(c) = decode_interaction(&form(&payload)).unwrap() else {
            panic!()
        };
        let card = c.card.expect("the card's place");
        assert_eq!(
            (card.channel.as_str(), card.ts.as_str()),
            ("C0INC", "1700000000.000100")
        );
        for bad in [
            serde_json::json!({"type": "message", "message_ts": "x.1", "channel_id": "C0INC"}),
            serde_json::json!({"type": "message", "message_ts": "1.2", "channel_id": "<!here>"}),
            serde_json::json!({"type": "message", "message_ts": "1.2", "channel_id": "C0INC", "is_ephemeral": true}),
            serde_json::json!({"type": "view", "view_id": "V1"}),
        ] {
            payload["container"] = bad.clone();
            let Interaction::Click(c) = decode_interaction(&form(&payload)).unwrap() else {
                panic!()
            };
            assert_eq!(c.card, None, "{bad}");
        }
    }

    #[test]
    fn decodes_the_reapply_button_as_its_own_interaction() {
        let Interaction::Reapply(r) =
            decode_interaction(&form(&click("reapply", "rr-7f3k2q9x"))).unwrap()
        else {
            panic!("not a re-apply")
        };
        assert_eq!(r.request_id.as_str(), "rr-7f3k2q9x");
        assert_eq!(r.user.as_str(), "U0BOB");
        assert_eq!(
            decode_interaction(&form(&click("reapply", "<!channel>"))).unwrap_err(),
            "value"
        );
        assert_eq!(
            decode_interaction(&form(&click("Reapply", "rr-7f3k2q9x"))).unwrap_err(),
            "action_id"
        );
    }

    #[test]
    fn refuses_forged_or_incomplete_payloads() {
        assert_eq!(
            decode_interaction(&form(&click("delete_everything", "rr-7f3k2q9x"))).unwrap_err(),
            "action_id"
        );
        assert_eq!(
            decode_interaction(&form(&click("approve", "rr-../../x"))).unwrap_err(),
            "value"
        );
        let mut no_user = click("approve", "rr-7f3k2q9x");
        no_user.as_object_mut().unwrap().remove("user");
        assert_eq!(decode_interaction(&form(&no_user)).unwrap_err(), "user");
        let mut two = click("approve", "rr-7f3k2q9x");
        two["actions"] = serde_json::json!([{"action_id":"approve","value":"rr-7f3k2q9x"},{"action_id":"approve","value":"rr-7f3k2q9x"}]);
        assert_eq!(decode_interaction(&form(&two)).unwrap_err(), "actions");
        assert_eq!(decode_interaction(b"payload=%7B").unwrap_err(), "payload");
        assert_eq!(decode_interaction(b"\xff\xfe").unwrap_err(), "form");
        assert!(matches!(
            decode_interaction(&form(&serde_json::json!({"type": "view_submission"}))),
            Ok(Interaction::Ignore)
        ));
    }

    #[test]
    fn decodes_commands_and_refuses_missing_fields() {
        let ok = b"user_id=U0ALICE&channel_id=C0INC&text=help&response_url=https%3A%2F%2Fx&trigger_id=1.2";
        let c = decode_command(ok).unwrap();
        assert_eq!(c.text, "help");
        assert_eq!(c.trigger_id.as_deref(), Some("1.2"));
        assert_eq!(
            decode_command(b"channel_id=C0INC&response_url=https%3A%2F%2Fx").unwrap_err(),
            "user_id"
        );
        assert_eq!(
            decode_command(b"user_id=alice&channel_id=C0INC").unwrap_err(),
            "user_id"
        );
        assert_eq!(
            decode_command(b"user_id=U0A&channel_id=C0INC&response_url=file%3A%2F%2Fx")
                .unwrap_err(),
            "response_url"
        );
    }

    #[test]
    fn huge_values_are_refused() {
        let huge = "x".repeat(60_000);
        assert_eq!(
            decode_interaction(&form(&click(&huge, "rr-7f3k2q9x"))).unwrap_err(),
            "action_id"
        );
        assert_eq!(
            decode_interaction(&form(&click("approve", &huge))).unwrap_err(),
            "value"
        );
        let mut big_user = click("approve", "rr-7f3k2q9x");
        big_user["user"]["id"] = serde_json::Value::from(format!("U{}", "A".repeat(60_000)));
        assert_eq!(decode_interaction(&form(&big_user)).unwrap_err(), "user");
        let body =
            format!("user_id=U0A&channel_id=C0INC&response_url=https%3A%2F%2Fx&trigger_id={huge}");
        assert_eq!(
            decode_command(body.as_bytes()).unwrap().trigger_id,
            None,
            "an absurd trigger id is not used as a key"
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_interaction(&bytes);
            let _ = decode_command(&bytes);
        }

        /// A real click payload with fields removed or given other values and types: the decoder
        /// either refuses it or returns exactly what the payload says, never a guess.
        #[test]
        fn mangled_click_payloads_are_refused_or_read_exactly(
            edits in proptest::collection::vec((0usize..6, 0usize..7), 0..4),
        ) {
            let mut payload = click("reject", "rr-7f3k2q9x");
            payload["channel"] = serde_json::json!({"id": "C0INC"});
            let replacements = [
                serde_json::Value::Null,
                serde_json::json!(7),
                serde_json::json!(true),
                serde_json::json!(""),
                serde_json::json!([]),
                serde_json::json!({}),
            ];
            let fields = ["/type", "/user/id", "/actions/0/action_id", "/actions/0/value", "/response_url", "/actions"];
            for (field, edit) in &edits {
                // A field already replaced by an earlier edit may be gone: then nothing to edit.
                let Some(target) = payload.pointer_mut(fields[*field]) else { continue };
                match replacements.get(*edit) {
                    Some(v) => *target = v.clone(),
                    None => {
                        let (parent, key) = fields[*field].rsplit_once('/').unwrap_or(("", ""));
                        if let Some(obj) = payload.pointer_mut(parent).and_then(|p| p.as_object_mut()) {
                            obj.remove(key);
                        }
                    }
                }
            }
            let decoded = decode_interaction(&form(&payload));
            let via_socket = decode_interaction_json(&payload);
            prop_assert_eq!(
                format!("{decoded:?}"),
                format!("{via_socket:?}"),
                "HTTP and Socket Mode read a payload the same way"
            );
            if let Ok(Interaction::Click(c)) = decoded {
                prop_assert_eq!(&payload["type"], "block_actions");
                prop_assert_eq!(c.user.as_str(), payload["user"]["id"].as_str().unwrap_or("-"));
                prop_assert_eq!(c.action, Action::Reject);
                prop_assert_eq!(&payload["actions"][0]["action_id"], "reject");
                prop_assert_eq!(c.request_id.as_str(), payload["actions"][0]["value"].as_str().unwrap_or("-"));
                prop_assert_eq!(c.response_url.as_str(), payload["response_url"].as_str().unwrap_or("-"));
            }
        }

        #[test]
        fn huge_or_odd_values_are_refused_not_accepted(action in "\\PC{0,50}", value in "\\PC{0,200}") {
            match decode_interaction(&form(&click(&action, &value))) {
                Ok(Interaction::Click(c)) => {
                    prop_assert!(["approve", "reject", "cancel"].contains(&action.as_str()));
                    prop_assert!(c.request_id.as_str().len() == 11);
                }
                Ok(Interaction::Reapply(r)) => {
                    prop_assert_eq!(action.as_str(), "reapply");
                    prop_assert!(r.request_id.as_str().len() == 11);
                }
                _ => {}
            }
        }
    }
}
