//! Block Kit for the approval card and for replies. Every text here is [`Mrkdwn`] or a plain-text
//! object: nothing unescaped reaches Slack.

use slack_morphism::prelude::*;

use super::card::view;
use super::messages::{self, Mrkdwn, Msg};
use crate::service::notice::{Card, Notice, ThreadNote};

/// Slack caps a section's text at 3,000 characters.
const SECTION_MAX: usize = 2900;

fn md(m: Mrkdwn) -> SlackBlockText {
    md_text(m).into()
}

fn md_text(m: Mrkdwn) -> SlackBlockMarkDownText {
    let text = m.into_string();
    let text = if text.chars().count() > SECTION_MAX {
        // Cut on a character boundary, and never inside an escape (`&lt;` cut to `&l` is harmless
        // text; a lone `<` cannot appear because escaping never produces one).
        text.chars().take(SECTION_MAX).collect::<String>() + "…"
    } else {
        text
    };
    SlackBlockMarkDownText::new(text)
}

fn section(m: Msg) -> SlackBlock {
    SlackSectionBlock::new().with_text(md(m.to_mrkdwn())).into()
}

fn button(label: &str, action: &str, id: &str) -> SlackBlockButtonElement {
    SlackBlockButtonElement::new(pt!(label))
        .with_action_id(SlackActionId(action.into()))
        .with_value(id.into())
}

pub fn card(card: &Card) -> Vec<SlackBlock> {
    let v = view(card);
    let mut blocks: Vec<SlackBlock> = vec![
        // plain_text: Slack shows it as typed, no markup.
        SlackHeaderBlock::new(pt!(v.title.chars().take(140).collect::<String>())).into(),
        SlackSectionBlock::new()
            .with_fields(
                v.fields
                    .into_iter()
                    .map(|(k, val)| {
                        md(Msg::new()
                            .lit("*")
                            .lit(k)
                            .lit("*\n")
                            .append(val)
                            .to_mrkdwn())
                    })
                    .collect(),
            )
            .into(),
    ];
    if v.buttons {
        blocks.push(section(
            Msg::new()
                .lit("*What will happen*\n")
                .append(v.what_happens),
        ));
        if !v.preview.is_empty() {
            let mut impact = Msg::new().lit("*Impact*");
            for l in v.preview {
                impact = impact.lit("\n• ").append(l);
            }
            blocks.push(section(impact));
        }
        if !v.who_can_come_back.is_empty() {
            blocks.extend(
                messages::pack(
                    Msg::new().lit("*Who can assume the role again*"),
                    v.who_can_come_back,
                )
                .into_iter()
                .map(section),
            );
        }
    }
    blocks.push(section(v.status));
    if v.buttons {
        let confirm = SlackBlockConfirmItem::new(
            pt!("Revoke these sessions?"),
            md(Msg::new()
                .lit("Every session of ")
                .code(card.request.target_name())
                .lit(" issued before now will be denied everything. This cannot be undone from Slack.")
                .to_mrkdwn()),
            pt!("Approve and revoke"),
            pt!("Not yet"),
        )
        .with_style("danger".into());
        blocks.push(
            SlackActionsBlock::new(vec![
                button("Approve", "approve", &v.id)
                    .with_style(SlackBlockButtonStyle::Danger)
                    .with_confirm(confirm)
                    .into(),
                button("Reject", "reject", &v.id).into(),
                button("Cancel", "cancel", &v.id).into(),
            ])
            .into(),
        );
    }
    let mut context = Msg::new()
        .lit("Request ")
        .code(v.id.clone())
        .lit(" · revoke-role-bot");
    if let Some(w) = v.witness {
        context = context.lit(" · ").append(w);
    }
    blocks.push(SlackContextBlock::new(vec![md_text(context.to_mrkdwn()).into()]).into());
    blocks
}

/// The fallback text of the card (notifications, screen readers).
pub fn card_text(card: &Card) -> Mrkdwn {
    let v = view(card);
    Msg::new()
        .text(v.title)
        .lit(": ")
        .append(v.status)
        .to_mrkdwn()
}

pub fn notice(n: &Notice) -> Vec<SlackBlock> {
    messages::sections(n)
        .into_iter()
        .take(45)
        .map(section)
        .collect()
}

/// A thread note that offers a button (drift: re-apply), as blocks: its text and the button.
/// `None` for notes that are text only.
pub fn thread_note(note: &ThreadNote) -> Option<Vec<SlackBlock>> {
    let (label, action, value) = messages::thread_note_button(note)?;
    Some(vec![
        section(messages::thread_note(note)),
        SlackActionsBlock::new(vec![button(label, action, &value).into()]).into(),
    ])
}
