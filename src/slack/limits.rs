//! Slack's documented Block Kit limits, and a checker that refuses what Slack refuses.
//!
//! The renderers (`blocks`, `form`) stay within these limits by construction; the checker is what
//! the tests' fake Slacks (the in-memory `RecordingSlack` and the integration tier's fake Web API)
//! run on every payload, answering `invalid_blocks` as Slack does, so that no test can pass with
//! a message Slack would refuse. Lengths are counted in characters, as Slack's reference states
//! them (docs.slack.dev, "Block Kit" reference: blocks, elements, composition objects, views).

use serde_json::Value;

/// Blocks in one message (`chat.postMessage`, `chat.update`, `response_url`, ephemeral).
pub const MESSAGE_BLOCKS: usize = 50;
/// Blocks in one modal.
pub const MODAL_BLOCKS: usize = 100;
/// Any text object's text.
pub const TEXT: usize = 3000;
/// A section's text.
pub const SECTION_TEXT: usize = 3000;
/// Each of a section's fields, and how many.
pub const SECTION_FIELD: usize = 2000;
pub const SECTION_FIELDS: usize = 10;
/// A header's plain text.
pub const HEADER_TEXT: usize = 150;
/// Elements of a context block, of an actions block.
pub const CONTEXT_ELEMENTS: usize = 10;
pub const ACTIONS_ELEMENTS: usize = 25;
/// A button's text, value and `action_id`; any `block_id`.
pub const BUTTON_TEXT: usize = 75;
pub const BUTTON_VALUE: usize = 2000;
pub const ACTION_ID: usize = 255;
pub const BLOCK_ID: usize = 255;
/// A confirmation dialog's title, text and buttons.
pub const CONFIRM_TITLE: usize = 100;
pub const CONFIRM_TEXT: usize = 300;
pub const CONFIRM_BUTTON: usize = 30;
/// A select's options: text, value, and how many.
pub const OPTION_TEXT: usize = 75;
pub const OPTION_VALUE: usize = 150;
pub const OPTIONS: usize = 100;
/// An input block's label and hint, an element's placeholder, a text input's lengths.
pub const INPUT_LABEL: usize = 2000;
pub const PLACEHOLDER: usize = 150;
pub const TEXT_INPUT_LENGTH: u64 = 3000;
/// A modal's title, submit and close texts; its metadata and callback id.
pub const MODAL_TITLE: usize = 24;
pub const PRIVATE_METADATA: usize = 3000;
pub const CALLBACK_ID: usize = 255;
/// A message's top-level `text` (Slack refuses longer ones with `msg_too_long`).
pub const MESSAGE_TEXT: usize = 40_000;

type Checked = Result<(), String>;

fn len(s: &str) -> usize {
    s.chars().count()
}

fn at_most(what: &str, s: &str, max: usize) -> Checked {
    let n = len(s);
    if n > max {
        return Err(format!("{what}: {n} characters, at most {max}"));
    }
    Ok(())
}

fn optional_str(what: &str, v: &Value, max: usize) -> Checked {
    match v {
        Value::Null => Ok(()),
        Value::String(s) => at_most(what, s, max),
        other => Err(format!("{what}: not a string: {other}")),
    }
}

/// A text object: `plain_text` (or also `mrkdwn` unless `plain_only`), 1 to `max` characters.
fn text_object(what: &str, t: &Value, max: usize, plain_only: bool) -> Checked {
    match t["type"].as_str() {
        Some("plain_text") => {}
        Some("mrkdwn") if !plain_only => {}
        other => return Err(format!("{what}: text object of type {other:?}")),
    }
    let Some(text) = t["text"].as_str() else {
        return Err(format!("{what}: text object without text"));
    };
    if text.is_empty() {
        return Err(format!("{what}: empty text"));
    }
    at_most(what, text, max.min(TEXT))
}

fn confirm(c: &Value) -> Checked {
    if c.is_null() {
        return Ok(());
    }
    text_object("confirm.title", &c["title"], CONFIRM_TITLE, true)?;
    text_object("confirm.text", &c["text"], CONFIRM_TEXT, false)?;
    text_object("confirm.confirm", &c["confirm"], CONFIRM_BUTTON, true)?;
    text_object("confirm.deny", &c["deny"], CONFIRM_BUTTON, true)
}

fn option(o: &Value) -> Checked {
    text_object("option.text", &o["text"], OPTION_TEXT, true)?;
    match o["value"].as_str() {
        Some(v) if !v.is_empty() => at_most("option.value", v, OPTION_VALUE),
        _ => Err("option without a value".into()),
    }
}

fn element(e: &Value) -> Checked {
    optional_str("action_id", &e["action_id"], ACTION_ID)?;
    match e["type"].as_str() {
        Some("button") => {
            text_object("button.text", &e["text"], BUTTON_TEXT, true)?;
            optional_str("button.value", &e["value"], BUTTON_VALUE)?;
            optional_str("button.url", &e["url"], TEXT)?;
            confirm(&e["confirm"])
        }
        Some("external_select") | Some("static_select") => {
            if !e["placeholder"].is_null() {
                text_object("placeholder", &e["placeholder"], PLACEHOLDER, true)?;
            }
            if let Some(options) = e["options"].as_array() {
                if options.len() > OPTIONS {
                    return Err(format!("{} options, at most {OPTIONS}", options.len()));
                }
                options.iter().try_for_each(option)?;
            }
            confirm(&e["confirm"])
        }
        Some("plain_text_input") => {
            if !e["placeholder"].is_null() {
                text_object("placeholder", &e["placeholder"], PLACEHOLDER, true)?;
            }
            for k in ["min_length", "max_length"] {
                if e[k].as_u64().is_some_and(|n| n > TEXT_INPUT_LENGTH) {
                    return Err(format!("plain_text_input.{k} over {TEXT_INPUT_LENGTH}"));
                }
            }
            Ok(())
        }
        other => Err(format!("element of type {other:?}")),
    }
}

/// One block of the kinds the bot sends.
fn block(b: &Value) -> Checked {
    optional_str("block_id", &b["block_id"], BLOCK_ID)?;
    match b["type"].as_str() {
        Some("section") => {
            let text = &b["text"];
            let fields = b["fields"].as_array();
            if text.is_null() && fields.is_none_or(|f| f.is_empty()) {
                return Err("section without text or fields".into());
            }
            if !text.is_null() {
                text_object("section.text", text, SECTION_TEXT, false)?;
            }
            if let Some(fields) = fields {
                if fields.len() > SECTION_FIELDS {
                    return Err(format!("{} fields, at most {SECTION_FIELDS}", fields.len()));
                }
                for f in fields {
                    text_object("section.field", f, SECTION_FIELD, false)?;
                }
            }
            if !b["accessory"].is_null() {
                element(&b["accessory"])?;
            }
            Ok(())
        }
        Some("header") => text_object("header.text", &b["text"], HEADER_TEXT, true),
        Some("context") => {
            let elements = b["elements"].as_array().ok_or("context without elements")?;
            if elements.is_empty() || elements.len() > CONTEXT_ELEMENTS {
                return Err(format!(
                    "context with {} elements, 1 to {CONTEXT_ELEMENTS}",
                    elements.len()
                ));
            }
            elements
                .iter()
                .try_for_each(|e| text_object("context", e, TEXT, false))
        }
        Some("actions") => {
            let elements = b["elements"].as_array().ok_or("actions without elements")?;
            if elements.is_empty() || elements.len() > ACTIONS_ELEMENTS {
                return Err(format!(
                    "actions with {} elements, 1 to {ACTIONS_ELEMENTS}",
                    elements.len()
                ));
            }
            elements.iter().try_for_each(element)
        }
        Some("input") => {
            text_object("input.label", &b["label"], INPUT_LABEL, true)?;
            if !b["hint"].is_null() {
                text_object("input.hint", &b["hint"], INPUT_LABEL, true)?;
            }
            element(&b["element"])
        }
        Some("divider") => Ok(()),
        other => Err(format!("block of type {other:?}")),
    }
}

fn blocks_within(blocks: &Value, max: usize) -> Checked {
    let list = blocks.as_array().ok_or("blocks: not a list")?;
    if list.len() > max {
        return Err(format!("{} blocks, at most {max}", list.len()));
    }
    list.iter().try_for_each(block)
}

/// A message's blocks, as Slack checks them: `Err` says why Slack would answer `invalid_blocks`.
pub fn validate_blocks(blocks: &Value) -> Result<(), String> {
    blocks_within(blocks, MESSAGE_BLOCKS)
}

/// A whole message body (`chat.postMessage`, `chat.update`, `chat.postEphemeral`, a
/// `response_url` payload): its blocks, if any, and its top-level text.
pub fn validate_message(body: &Value) -> Result<(), String> {
    if !body["blocks"].is_null() {
        validate_blocks(&body["blocks"])?;
    }
    optional_str("text", &body["text"], MESSAGE_TEXT)
}

/// A modal view (`views.open`).
pub fn validate_view(view: &Value) -> Result<(), String> {
    if view["type"] != "modal" {
        return Err("view: not a modal".into());
    }
    text_object("view.title", &view["title"], MODAL_TITLE, true)?;
    for k in ["submit", "close"] {
        if !view[k].is_null() {
            text_object(k, &view[k], MODAL_TITLE, true)?;
        }
    }
    optional_str(
        "private_metadata",
        &view["private_metadata"],
        PRIVATE_METADATA,
    )?;
    optional_str("callback_id", &view["callback_id"], CALLBACK_ID)?;
    blocks_within(&view["blocks"], MODAL_BLOCKS)
}

/// The answer to a `block_suggestion` (the type-ahead's options).
pub fn validate_options(answer: &Value) -> Result<(), String> {
    let options = answer["options"].as_array().ok_or("no options list")?;
    if options.len() > OPTIONS {
        return Err(format!("{} options, at most {OPTIONS}", options.len()));
    }
    options.iter().try_for_each(option)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn md(text: String) -> Value {
        json!({"type": "mrkdwn", "text": text})
    }

    fn section(text: String) -> Value {
        json!({"type": "section", "text": md(text)})
    }

    #[test]
    fn a_section_field_over_2000_characters_is_refused_and_2000_is_not() {
        let fields = |n: usize| json!([{"type": "section", "fields": [md("x".repeat(n))]}]);
        assert_eq!(validate_blocks(&fields(2000)), Ok(()));
        let err = validate_blocks(&fields(2001)).unwrap_err();
        assert!(err.contains("section.field"), "{err}");
        // Characters, not bytes.
        assert_eq!(
            validate_blocks(&json!([{"type": "section", "fields": [md("é".repeat(2000))]}])),
            Ok(())
        );
        let eleven: Vec<Value> = (0..11).map(|_| md("x".into())).collect();
        assert!(validate_blocks(&json!([{"type": "section", "fields": eleven}])).is_err());
    }

    #[test]
    fn section_text_header_and_block_count_are_bounded() {
        assert_eq!(validate_blocks(&json!([section("x".repeat(3000))])), Ok(()));
        assert!(validate_blocks(&json!([section("x".repeat(3001))])).is_err());
        assert!(validate_blocks(&json!([section(String::new())])).is_err());
        let header = |n: usize| json!([{"type": "header", "text": {"type": "plain_text", "text": "h".repeat(n)}}]);
        assert_eq!(validate_blocks(&header(150)), Ok(()));
        assert!(validate_blocks(&header(151)).is_err());
        assert!(
            validate_blocks(&json!([{"type": "header", "text": md("h".into())}])).is_err(),
            "a header is plain text only"
        );
        let many = |n: usize| Value::Array((0..n).map(|_| section("x".into())).collect());
        assert_eq!(validate_blocks(&many(50)), Ok(()));
        assert!(validate_blocks(&many(51)).is_err());
        assert_eq!(
            validate_view(
                &json!({"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": many(100)})
            ),
            Ok(())
        );
        assert!(
            validate_view(&json!({"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": many(101)}))
                .is_err()
        );
    }

    #[test]
    fn buttons_confirm_dialogs_context_and_options_are_bounded() {
        let button = |text: &str, value: String| {
            json!([{"type": "actions", "elements": [{"type": "button", "action_id": "approve",
                "text": {"type": "plain_text", "text": text}, "value": value}]}])
        };
        assert_eq!(
            validate_blocks(&button("Approve", "v".repeat(2000))),
            Ok(())
        );
        assert!(validate_blocks(&button("Approve", "v".repeat(2001))).is_err());
        assert!(validate_blocks(&button(&"b".repeat(76), "v".into())).is_err());
        let confirm = |text: usize| {
            json!([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "A"},
                "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "plain_text", "text": "t".repeat(text)},
                            "confirm": {"type": "plain_text", "text": "Yes"}, "deny": {"type": "plain_text", "text": "No"}}}]}])
        };
        assert_eq!(validate_blocks(&confirm(300)), Ok(()));
        assert!(validate_blocks(&confirm(301)).is_err());
        let context = |n: usize| json!([{"type": "context", "elements": (0..n).map(|_| md("c".into())).collect::<Vec<_>>()}]);
        assert_eq!(validate_blocks(&context(10)), Ok(()));
        assert!(validate_blocks(&context(11)).is_err());
        let options = |text: usize, value: usize| json!({"options": [{"text": {"type": "plain_text", "text": "o".repeat(text)}, "value": "v".repeat(value)}]});
        assert_eq!(validate_options(&options(75, 150)), Ok(()));
        assert!(validate_options(&options(76, 150)).is_err());
        assert!(validate_options(&options(75, 151)).is_err());
        assert!(validate_blocks(&json!([{"type": "video"}])).is_err());
    }

    #[test]
    fn a_message_is_checked_with_its_top_level_text() {
        assert_eq!(
            validate_message(&json!({"text": "hi", "blocks": [section("x".into())]})),
            Ok(())
        );
        assert!(validate_message(&json!({"text": "x".repeat(40_001)})).is_err());
        assert!(
            validate_message(&json!({"text": "hi", "blocks": [section("x".repeat(3001))]}))
                .is_err()
        );
    }
}
