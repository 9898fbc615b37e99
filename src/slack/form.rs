//! The request form in Slack: the modal `views.open` shows, the type-ahead's options
//! (`block_suggestion`), and the submission (`view_submission`) with its errors shown in the form.
//! Decoded here at the edge; the service decides (`service::modal`).

use serde::Deserialize;
use serde_json::{Value, json};
use slack_morphism::prelude::*;

use super::messages::{self, Msg};
use crate::domain::ids::{ChannelId, SlackUserId};
use crate::service::modal::{FormField, FormProblem, FormSubmission, RequestForm, RoleOptions};

pub const CALLBACK_ID: &str = "revoke_role_modal";
pub const ROLE_BLOCK: &str = "role";
pub const ROLE_ACTION: &str = "role";
pub const REASON_BLOCK: &str = "reason";
pub const REASON_ACTION: &str = "reason";

/// Slack caps an option's value at 150 characters.
const OPTION_VALUE_MAX: usize = 150;
/// What the type-ahead reads of what was typed (role names are at most 64 characters).
const QUERY_MAX: usize = 128;

/// The modal `/revoke-role` opens with no arguments.
pub fn view(form: &RequestForm) -> SlackView {
    let intro = Msg::new().lit(
        "Approving cuts off every session of the role issued before the moment of approval. A second authorized person must approve; the card is posted in this channel.",
    );
    let blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(
                SlackBlockMarkDownText::new(intro.to_mrkdwn().into_string())
                    .with_verbatim(true)
                    .into(),
            )
            .into(),
        SlackInputBlock::new(
            pt!("Role"),
            SlackBlockExternalSelectElement::new()
                .with_action_id(SlackActionId(ROLE_ACTION.into()))
                .with_placeholder(pt!("Type part of the role's name"))
                .with_min_query_length(0)
                .into(),
        )
        .with_block_id(SlackBlockId(ROLE_BLOCK.into()))
        .into(),
        SlackInputBlock::new(
            pt!("Reason"),
            SlackBlockPlainTextInputElement::new()
                .with_action_id(SlackActionId(REASON_ACTION.into()))
                .with_placeholder(pt!("e.g. INC-42: keys leaked in a public repository"))
                .with_min_length(crate::domain::command::REASON_MIN as u64)
                .with_max_length(crate::domain::command::REASON_MAX as u64)
                .into(),
        )
        .with_block_id(SlackBlockId(REASON_BLOCK.into()))
        .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(pt!("Revoke role sessions"), blocks)
            .with_submit(pt!("Ask for approval"))
            .with_close(pt!("Cancel"))
            .with_callback_id(SlackCallbackId(CALLBACK_ID.into()))
            .with_private_metadata(form.channel.to_string()),
    )
}

/// A form payload: the type-ahead asking for options, or a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormPayload {
    Suggest { user: SlackUserId, query: String },
    Submit(FormSubmission),
}

#[derive(Deserialize)]
struct IdField {
    id: String,
}

#[derive(Deserialize)]
struct Suggestion {
    user: Option<IdField>,
    action_id: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct Submission {
    user: Option<IdField>,
    view: Option<ViewField>,
}

#[derive(Deserialize)]
struct ViewField {
    id: Option<String>,
    callback_id: Option<String>,
    private_metadata: Option<String>,
    state: Option<Value>,
}

/// Read an interaction payload (already JSON): `Ok(None)` when it is not about the form.
pub fn decode(payload: &Value) -> Result<Option<FormPayload>, &'static str> {
    match payload["type"].as_str() {
        Some("block_suggestion") => {
            let s = Suggestion::deserialize(payload).map_err(|_| "payload")?;
            if s.action_id.as_deref() != Some(ROLE_ACTION) {
                return Ok(None);
            }
            let user = SlackUserId::parse(&s.user.ok_or("user")?.id).map_err(|_| "user")?;
            let query = s
                .value
                .unwrap_or_default()
                .chars()
                .take(QUERY_MAX)
                .collect();
            Ok(Some(FormPayload::Suggest { user, query }))
        }
        Some("view_submission") => {
            let s = Submission::deserialize(payload).map_err(|_| "payload")?;
            let view = s.view.ok_or("view")?;
            if view.callback_id.as_deref() != Some(CALLBACK_ID) {
                return Ok(None);
            }
            let user = SlackUserId::parse(&s.user.ok_or("user")?.id).map_err(|_| "user")?;
            let channel = ChannelId::parse(view.private_metadata.as_deref().unwrap_or_default())
                .map_err(|_| "private_metadata")?;
            let view_id = view
                .id
                .filter(|v| !v.is_empty() && v.len() <= 64)
                .ok_or("view.id")?;
            let state = view.state.unwrap_or(Value::Null);
            let values = &state["values"];
            let role = values[ROLE_BLOCK][ROLE_ACTION]["selected_option"]["value"]
                .as_str()
                .map(str::to_string);
            let reason = values[REASON_BLOCK][REASON_ACTION]["value"]
                .as_str()
                .map(str::to_string);
            Ok(Some(FormPayload::Submit(FormSubmission {
                user,
                channel,
                view_id,
                role,
                reason,
            })))
        }
        _ => Ok(None),
    }
}

/// The same, from a form-encoded HTTP body (`payload=<json>`).
pub fn decode_body(body: &[u8]) -> Result<Option<FormPayload>, &'static str> {
    #[derive(Deserialize)]
    struct Form {
        payload: String,
    }
    let form: Form = serde_urlencoded::from_bytes(body).map_err(|_| "form")?;
    let payload: Value = serde_json::from_str(&form.payload).map_err(|_| "payload")?;
    decode(&payload)
}

fn option(text: String, value: String) -> Value {
    json!({"text": {"type": "plain_text", "text": text, "emoji": true}, "value": value})
}

/// The answer to a `block_suggestion`: up to 100 roles (value: the role ARN), protected ones marked.
pub fn options_json(o: &RoleOptions) -> Value {
    let options: Vec<Value> = match o {
        RoleOptions::Roles {
            options,
            more,
            unavailable,
        } => {
            let mut out: Vec<Value> = options
                .iter()
                .map(|o| {
                    let arn = o.role.to_string();
                    let value = if arn.len() <= OPTION_VALUE_MAX {
                        arn
                    } else {
                        // A very long path: the account id and name resolve to the same role.
                        format!("{}/{}", o.role.account(), o.role.name())
                    };
                    option(messages::role_option_text(o), value)
                })
                .collect();
            // Slack shows at most 100 options: notes replace the last roles when needed.
            let mut notes: Vec<Value> = unavailable
                .iter()
                .map(|a| {
                    option(
                        format!("⚠ roles of {a} could not be listed")
                            .chars()
                            .take(75)
                            .collect(),
                        "!unavailable".into(),
                    )
                })
                .take(5)
                .collect();
            if *more {
                notes.push(option(
                    "… more roles match: type more of the name".into(),
                    "!more".into(),
                ));
            }
            out.truncate(100 - notes.len());
            out.extend(notes);
            out
        }
        RoleOptions::NotARequester => vec![option(
            "You are not on the requesters list".into(),
            "!not-a-requester".into(),
        )],
        RoleOptions::MembershipUnknown => vec![option(
            "Slack could not confirm you may ask; try again".into(),
            "!membership-unknown".into(),
        )],
    };
    json!({ "options": options })
}

/// The answer to a refused submission: each problem under its field, in the form.
pub fn errors_json(problems: &[(FormField, FormProblem)]) -> Value {
    let mut errors = serde_json::Map::new();
    for (field, problem) in problems {
        let block = match field {
            FormField::Role => ROLE_BLOCK,
            FormField::Reason => REASON_BLOCK,
        };
        // The first problem of each field is shown; plain text, as Slack shows errors.
        if !errors.contains_key(block) {
            let text: String = messages::form_problem(problem)
                .to_plain()
                .chars()
                .take(500)
                .collect();
            errors.insert(block.to_string(), Value::String(text));
        }
    }
    json!({"response_action": "errors", "errors": errors})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(role: Option<&str>, reason: &str) -> Value {
        let mut values =
            json!({"reason": {"reason": {"type": "plain_text_input", "value": reason}}});
        if let Some(r) = role {
            values["role"] = json!({"role": {"type": "external_select", "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": r}}});
        }
        json!({
            "type": "view_submission",
            "user": {"id": "U0ALICE"},
            "view": {"id": "V0FORM", "callback_id": CALLBACK_ID, "private_metadata": "C0INC", "state": {"values": values}},
        })
    }

    #[test]
    fn a_submission_is_read_exactly() {
        let Ok(Some(FormPayload::Submit(s))) = decode(&submission(
            Some("arn:aws:iam::111111111111:role/app"),
            "INC-1 <!here>",
        )) else {
            panic!()
        };
        assert_eq!(
            s.role.as_deref(),
            Some("arn:aws:iam::111111111111:role/app")
        );
        assert_eq!(s.reason.as_deref(), Some("INC-1 <!here>"));
        assert_eq!(s.channel.as_str(), "C0INC");
        assert_eq!(s.view_id, "V0FORM");
        let Ok(Some(FormPayload::Submit(s))) = decode(&submission(None, "x")) else {
            panic!()
        };
        assert_eq!(s.role, None);
    }

    #[test]
    fn other_views_and_forged_metadata_are_not_ours() {
        let mut other = submission(None, "x");
        other["view"]["callback_id"] = json!("someone_else");
        assert_eq!(decode(&other), Ok(None));
        let mut forged = submission(None, "x");
        forged["view"]["private_metadata"] = json!("<!channel>");
        assert_eq!(decode(&forged), Err("private_metadata"));
        let mut no_user = submission(None, "x");
        no_user.as_object_mut().unwrap().remove("user");
        assert_eq!(decode(&no_user), Err("user"));
        assert_eq!(decode(&json!({"type": "block_actions"})), Ok(None));
    }

    #[test]
    fn a_suggestion_is_read_and_its_query_bounded() {
        let p = json!({"type": "block_suggestion", "user": {"id": "U0ALICE"}, "action_id": "role", "block_id": "role", "value": "x".repeat(1000)});
        let Ok(Some(FormPayload::Suggest { user, query })) = decode(&p) else {
            panic!()
        };
        assert_eq!(user.as_str(), "U0ALICE");
        assert_eq!(query.len(), QUERY_MAX);
        let other = json!({"type": "block_suggestion", "user": {"id": "U0ALICE"}, "action_id": "colour", "value": ""});
        assert_eq!(decode(&other), Ok(None));
    }

    #[test]
    fn the_view_has_the_role_select_and_a_bounded_reason() {
        let v = serde_json::to_value(view(&RequestForm {
            channel: ChannelId::parse("C0INC").unwrap(),
            trigger_expires: tokio::time::Instant::now(),
        }))
        .unwrap();
        assert_eq!(v["type"], "modal");
        assert_eq!(v["callback_id"], CALLBACK_ID);
        assert_eq!(v["private_metadata"], "C0INC");
        assert_eq!(v["blocks"][1]["element"]["type"], "external_select");
        assert_eq!(v["blocks"][1]["element"]["action_id"], "role");
        assert_eq!(v["blocks"][1]["element"]["min_query_length"], 0);
        assert_eq!(v["blocks"][2]["element"]["min_length"], 3);
        assert_eq!(v["blocks"][2]["element"]["max_length"], 500);
    }
}
