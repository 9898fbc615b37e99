//! Block Kit for the approval card and for replies.

use slack_morphism::prelude::*;

use super::card::view;
use crate::ports::{Card, Reply};

/// Slack caps a section's text at 3,000 characters.
const SECTION_MAX: usize = 2900;

fn section(text: String) -> SlackBlock {
    let text = if text.chars().count() > SECTION_MAX {
        text.chars().take(SECTION_MAX).collect::<String>() + "…"
    } else {
        text
    };
    SlackSectionBlock::new().with_text(md!(text)).into()
}

fn button(label: &str, action: &str, id: &str) -> SlackBlockButtonElement {
    SlackBlockButtonElement::new(pt!(label))
        .with_action_id(SlackActionId(action.into()))
        .with_value(id.into())
}

pub fn card(card: &Card) -> Vec<SlackBlock> {
    let v = view(card);
    let mut blocks: Vec<SlackBlock> = vec![
        SlackHeaderBlock::new(pt!(v.title.chars().take(140).collect::<String>())).into(),
        SlackSectionBlock::new()
            .with_fields(
                v.fields
                    .iter()
                    .map(|(k, val)| md!(format!("*{k}*\n{val}")))
                    .collect(),
            )
            .into(),
    ];
    if v.buttons {
        blocks.push(section(format!("*What will happen*\n{}", v.what_happens)));
        if !v.preview.is_empty() {
            blocks.push(section(format!(
                "*Impact*\n{}",
                v.preview
                    .iter()
                    .map(|l| format!("• {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )));
        }
    }
    blocks.push(section(v.status));
    if v.buttons {
        let confirm = SlackBlockConfirmItem::new(
            pt!("Revoke these sessions?"),
            md!(format!(
                "Every session of `{}` issued before now will be denied everything. This cannot be undone from Slack.",
                card.request.role.name()
            )),
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
    blocks.push(
        SlackContextBlock::new(vec![md!(format!("Request `{}` · revoke-role-bot", v.id))]).into(),
    );
    blocks
}

pub fn reply(reply: &Reply) -> Vec<SlackBlock> {
    reply
        .sections
        .iter()
        .take(45)
        .map(|s| section(s.clone()))
        .collect()
}
