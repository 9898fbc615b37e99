//! The approval card as a view: what each state shows, independent of Block Kit.

use super::messages::{self, Msg};
use crate::domain::policy::POLICY_NAME;
use crate::service::notice::Card;

pub struct CardView {
    pub title: String,
    pub fields: Vec<(&'static str, Msg)>,
    pub what_happens: Msg,
    pub preview: Vec<Msg>,
    pub status: Msg,
    /// `audit #<seq> <hash prefix>` once the request is closed.
    pub witness: Option<Msg>,
    pub buttons: bool,
    pub id: String,
}

pub fn view(card: &Card) -> CardView {
    let r = &card.request;
    let account = match &card.account_name {
        Some(n) => Msg::new().text(format!("{n} ({})", r.role().account())),
        None => Msg::new().text(r.role().account().to_string()),
    };
    let fields = vec![
        ("Role", Msg::new().code(r.role().to_string())),
        ("Account", account),
        ("Requested by", Msg::new().user(r.requester())),
        ("Reason", Msg::new().text(r.reason().to_string())),
        (
            "Expires",
            Msg::new().text(r.expires_at().format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        ),
        (
            "Approvals needed",
            Msg::new().text(r.approvals_required().to_string()),
        ),
    ];
    CardView {
        title: format!("Revoke active sessions of {}", r.role().name()),
        fields,
        what_happens: Msg::new()
            .lit("Approving attaches the inline policy `")
            .lit(POLICY_NAME)
            .lit("` to this role. It denies every action to every session issued before the moment of approval. People and services get working credentials again by assuming the role anew."),
        preview: r
            .preview()
            .map(|p| p.lines().into_iter().map(|l| Msg::new().text(l)).collect())
            .unwrap_or_default(),
        status: messages::status_line(r),
        witness: card.witness.as_ref().map(|w| {
            Msg::new()
                .lit("audit ")
                .text(format!("#{} {}", w.seq, w.hash_prefix))
        }),
        buttons: messages::has_buttons(r),
        id: r.id().to_string(),
    }
}

/// The card as plain lines (the demo prints this).
pub fn as_text(card: &Card) -> String {
    let v = view(card);
    let mut out = vec![format!("*{}*  ({})", v.title, v.id)];
    out.extend(
        v.fields
            .iter()
            .map(|(k, val)| format!("  {k}: {}", val.to_plain())),
    );
    if v.buttons {
        out.push(format!("  {}", v.what_happens.to_plain()));
        out.extend(v.preview.iter().map(|l| format!("  • {}", l.to_plain())));
    }
    out.push(format!("  {}", v.status.to_plain()));
    if let Some(w) = &v.witness {
        out.push(format!("  {}", w.to_plain()));
    }
    if v.buttons {
        out.push("  [Approve] [Reject] [Cancel]".into());
    }
    out.join("\n")
}
