//! Block Kit for the approval card and for replies. Every text here is [`Mrkdwn`] or a plain-text
//! object: nothing unescaped reaches Slack.

use slack_morphism::prelude::*;

use super::card::view;
use super::limits;
use super::messages::{self, Mrkdwn, Msg};
use super::mrkdwn::plain_within;
use crate::service::notice::{Card, Notice, ThreadNote};

/// The top-level `text` of a message with blocks: only the notification's fallback.
pub const FALLBACK_TEXT_MAX: usize = 3000;

/// A mrkdwn text object within `max` characters. `verbatim`: Slack turns nothing in the text into
/// a link or a mention on its own (a bare URL in a reason stays text); the mentions the bot
/// built itself (`<@U…>`, `<!subteam^…>`) are manual parsing strings and still work.
fn md_text(m: &Msg, max: usize) -> SlackBlockMarkDownText {
    SlackBlockMarkDownText::new(m.to_mrkdwn_within(max).into_string()).with_verbatim(true)
}

fn md(m: &Msg, max: usize) -> SlackBlockText {
    md_text(m, max).into()
}

fn section(m: &Msg) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(md(m, limits::SECTION_TEXT))
        .into()
}

fn button(label: &str, action: &str, id: &str) -> SlackBlockButtonElement {
    SlackBlockButtonElement::new(pt!(plain_within(label, limits::BUTTON_TEXT)))
        .with_action_id(SlackActionId(action.into()))
        .with_value(id.chars().take(limits::BUTTON_VALUE).collect())
}

/// Sections in a message beside the card's fixed blocks (header, fields, what happens, impact,
/// status, buttons, context) and the one that says more is in `status`.
const WHO_CAN_COME_BACK_SECTIONS: usize = limits::MESSAGE_BLOCKS - 8;

fn buttons(card: &Card, id: &str) -> SlackBlock {
    let confirm = SlackBlockConfirmItem::new(
        pt!("Revoke these sessions?"),
        SlackBlockPlainText::new(plain_within(
            &Msg::new()
                .lit("Every session of ")
                .code(card.request.target_name())
                .lit(" issued before now will be denied everything. This cannot be undone from Slack.")
                .to_plain(),
            limits::CONFIRM_TEXT,
        ))
        .into(),
        pt!("Approve and revoke"),
        pt!("Not yet"),
    )
    .with_style("danger".into());
    SlackActionsBlock::new(vec![
        button("Approve", "approve", id)
            .with_style(SlackBlockButtonStyle::Danger)
            .with_confirm(confirm)
            .into(),
        button("Reject", "reject", id).into(),
        button("Cancel", "cancel", id).into(),
    ])
    .into()
}

fn context(m: Msg) -> SlackBlock {
    SlackContextBlock::new(vec![md_text(&m, limits::TEXT).into()]).into()
}

pub fn card(card: &Card) -> Vec<SlackBlock> {
    if card.minimal {
        return minimal_card(card);
    }
    let v = view(card);
    let mut blocks: Vec<SlackBlock> = vec![
        // plain_text: Slack shows it as typed, no markup.
        SlackHeaderBlock::new(pt!(plain_within(&v.title, limits::HEADER_TEXT))).into(),
        SlackSectionBlock::new()
            .with_fields(
                v.fields
                    .into_iter()
                    .take(limits::SECTION_FIELDS)
                    .map(|(k, val)| {
                        md(
                            &Msg::new().lit("*").lit(k).lit("*\n").append(val),
                            limits::SECTION_FIELD,
                        )
                    })
                    .collect(),
            )
            .into(),
    ];
    if v.buttons {
        blocks.push(section(
            &Msg::new()
                .lit("*What will happen*\n")
                .append(v.what_happens),
        ));
        if !v.preview.is_empty() {
            let mut impact = Msg::new().lit("*Impact*");
            for l in v.preview {
                impact = impact.lit("\n• ").append(l);
            }
            blocks.push(section(&impact));
        }
        if !v.who_can_come_back.is_empty() {
            let mut packed = messages::pack(
                Msg::new().lit("*Who can assume the role again*"),
                v.who_can_come_back,
            );
            if packed.len() > WHO_CAN_COME_BACK_SECTIONS {
                packed.truncate(WHO_CAN_COME_BACK_SECTIONS - 1);
                packed.push(more_in_status(&v.id));
            }
            blocks.extend(packed.iter().map(section));
        }
    }
    blocks.push(section(&v.status));
    if v.buttons {
        blocks.push(buttons(card, &v.id));
    }
    let mut ctx = Msg::new()
        .lit("Request ")
        .code(v.id.clone())
        .lit(" · revoke-role-bot");
    if let Some(w) = v.witness {
        ctx = ctx.lit(" · ").append(w);
    }
    blocks.push(context(ctx));
    blocks
}

fn more_in_status(id: &str) -> Msg {
    Msg::new()
        .lit("… more in ")
        .code(format!("/revoke-role status {id}"))
}

/// The card Slack is sent when it refused the full one: the request, who asked, its state and
/// the buttons, in text the bot wrote (README, "Slack"). No request is left without a way to
/// approve it.
pub fn minimal_card(card: &Card) -> Vec<SlackBlock> {
    let r = &card.request;
    let id = r.id().to_string();
    let mut blocks = vec![section(
        &Msg::new()
            .lit("*Revocation request* ")
            .code(id.clone())
            .lit(" by ")
            .user(r.requester())
            .lit(": ")
            .bold(r.state().as_str())
            .lit(". Slack refused the full card; ")
            .code(format!("/revoke-role status {id}"))
            .lit(" shows the role, the reason and the impact."),
    )];
    if messages::has_buttons(r) {
        blocks.push(buttons(card, &id));
    }
    blocks
}

/// The fallback text of the card (notifications, screen readers).
pub fn card_text(card: &Card) -> Mrkdwn {
    let v = view(card);
    Msg::new()
        .text(v.title)
        .lit(": ")
        .append(v.status)
        .to_mrkdwn_within(FALLBACK_TEXT_MAX)
}

pub fn notice(n: &Notice) -> Vec<SlackBlock> {
    let mut sections = messages::sections(n);
    if sections.len() > limits::MESSAGE_BLOCKS {
        sections.truncate(limits::MESSAGE_BLOCKS - 1);
        sections.push(Msg::new().lit(
            "_… more: narrow the lookup (`--since 7d`, a role, a request id, an @user) or use the CLI's `audit`._",
        ));
    }
    sections.iter().map(section).collect()
}

/// The fallback text of a notice (the message's top-level `text`).
pub fn notice_text(n: &Notice) -> Mrkdwn {
    messages::notice(n).to_mrkdwn_within(FALLBACK_TEXT_MAX)
}

/// A thread note (or direct message) as blocks: its text, and its button if it offers one (drift:
/// re-apply).
pub fn thread_note(note: &ThreadNote) -> Vec<SlackBlock> {
    let mut blocks = vec![section(&messages::thread_note(note))];
    if let Some((label, action, value)) = messages::thread_note_button(note) {
        blocks.push(SlackActionsBlock::new(vec![button(label, action, &value).into()]).into());
    }
    blocks
}

/// The fallback text of a thread note.
pub fn thread_note_text(note: &ThreadNote) -> Mrkdwn {
    messages::thread_note(note).to_mrkdwn_within(FALLBACK_TEXT_MAX)
}
