//! The approval card as a view: what each state shows, independent of Block Kit.

use crate::domain::command::escape_slack_text;
use crate::domain::policy::{MergeOutcome, POLICY_NAME};
use crate::domain::request::{Request, State};
use crate::ports::Card;

pub struct CardView {
    pub title: String,
    pub fields: Vec<(String, String)>,
    pub what_happens: String,
    pub preview: Vec<String>,
    pub status: String,
    pub buttons: bool,
    pub id: String,
}

pub fn view(card: &Card) -> CardView {
    let r = &card.request;
    let account = match &card.account_name {
        Some(n) => format!("{} ({})", escape_slack_text(n), r.role.account()),
        None => r.role.account().to_string(),
    };
    let fields = vec![
        ("Role".to_string(), format!("`{}`", r.role)),
        ("Account".to_string(), account),
        ("Requested by".to_string(), r.requester.mention()),
        ("Reason".to_string(), escape_slack_text(&r.reason)),
        (
            "Expires".to_string(),
            r.expires_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        (
            "Approvals needed".to_string(),
            r.approvals_required.to_string(),
        ),
    ];
    CardView {
        title: format!("Revoke active sessions of {}", r.role.name()),
        fields,
        what_happens: format!(
            "Approving attaches the inline policy `{POLICY_NAME}` to this role. It denies every action to every session issued before the moment of approval. People and services get working credentials again by assuming the role anew."
        ),
        preview: r.preview.as_ref().map(|p| p.lines()).unwrap_or_default(),
        status: status_line(r),
        buttons: r.state == State::Pending,
        id: r.id.to_string(),
    }
}

fn mentions(users: &[crate::domain::ids::SlackUserId]) -> String {
    users
        .iter()
        .map(|u| u.mention())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn status_line(r: &Request) -> String {
    let by = r
        .decided_by
        .as_ref()
        .map(|u| u.mention())
        .unwrap_or_default();
    match r.state {
        State::Pending if r.approvals.is_empty() => format!(
            ":hourglass_flowing_sand: Waiting for {} approval{} from someone other than {}.",
            r.approvals_required,
            if r.approvals_required == 1 { "" } else { "s" },
            r.requester.mention()
        ),
        State::Pending => format!(
            ":hourglass_flowing_sand: {} of {} approvals: {}",
            r.approvals.len(),
            r.approvals_required,
            mentions(&r.approvals)
        ),
        State::Approved => format!(
            ":white_check_mark: Approved by {}. Applying the policy…",
            mentions(&r.approvals)
        ),
        State::Applied => {
            let cutoff = r.cutoff.map(|c| c.to_string()).unwrap_or_default();
            let how = match r.outcome {
                Some(MergeOutcome::AlreadyCovered) => {
                    " (an existing, later cut-off was already in place and stays)"
                }
                Some(MergeOutcome::Extended) => " (replacing an earlier cut-off)",
                _ => "",
            };
            format!(
                ":lock: Applied and verified: sessions issued before *{cutoff}* are denied{how}. Approved by {}.",
                mentions(&r.approvals)
            )
        }
        State::Failed => format!(
            ":x: Failed: {}. Approved by {}; see `/revoke-role status {}`.",
            escape_slack_text(r.error.as_deref().unwrap_or("unknown error")),
            mentions(&r.approvals),
            r.id
        ),
        State::Rejected => format!(":no_entry_sign: Rejected by {by}. Nothing was changed."),
        State::Cancelled => {
            format!(":heavy_multiplication_x: Cancelled by {by}. Nothing was changed.")
        }
        State::Expired => {
            ":hourglass: Expired without enough approvals. Nothing was changed.".to_string()
        }
    }
}

/// The card as plain lines (the demo prints this; Slack gets it as fallback text).
pub fn as_text(card: &Card) -> String {
    let v = view(card);
    let mut out = vec![format!("*{}*  ({})", v.title, v.id)];
    out.extend(v.fields.iter().map(|(k, val)| format!("  {k}: {val}")));
    if v.status.is_empty() {
        return out.join("\n");
    }
    if v.buttons {
        out.push(format!("  {}", v.what_happens));
        out.extend(v.preview.iter().map(|l| format!("  • {l}")));
    }
    out.push(format!("  {}", v.status));
    if v.buttons {
        out.push("  [Approve] [Reject] [Cancel]".into());
    }
    out.join("\n")
}
