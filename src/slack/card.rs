//! The approval card as a view: what each state shows, independent of Block Kit.

use super::messages::{self, Msg};
use crate::domain::permission_set::PermissionSetTarget;
use crate::domain::policy::POLICY_NAME;
use crate::domain::preview::human_secs;
use crate::domain::request::Target;
use crate::domain::role_arn::RoleArn;

/// Identity Center's limit on a permission set's inline policy.
const PERMISSION_SET_INLINE_POLICY_QUOTA: usize = 32_768;
use crate::service::notice::Card;

pub struct CardView {
    pub title: String,
    pub fields: Vec<(&'static str, Msg)>,
    pub what_happens: Msg,
    pub preview: Vec<Msg>,
    /// Who can assume the role again, short: the principals by kind, then every warning.
    pub who_can_come_back: Vec<Msg>,
    pub status: Msg,
    /// `audit #<seq> <hash prefix>` once the request is closed.
    pub witness: Option<Msg>,
    pub buttons: bool,
    pub id: String,
}

pub fn view(card: &Card) -> CardView {
    let r = &card.request;
    let (title, mut fields, what_happens, preview) = match r.target() {
        Target::Role(role) => role_parts(card, role),
        Target::PermissionSet(ps) => permission_set_parts(ps),
        Target::User(u) => user_parts(u),
    };
    fields.extend([
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
    ]);
    CardView {
        title,
        fields,
        what_happens,
        preview,
        who_can_come_back: r
            .preview()
            .and_then(|p| p.who_can_come_back.as_ref())
            .map(messages::who_can_come_back_short)
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

type Parts = (String, Vec<(&'static str, Msg)>, Msg, Vec<Msg>);

fn role_parts(card: &Card, role: &RoleArn) -> Parts {
    let account = match &card.account_name {
        Some(n) => Msg::new().text(format!("{n} ({})", role.account())),
        None => Msg::new().text(role.account().to_string()),
    };
    (
        format!("Revoke active sessions of {}", role.name()),
        vec![("Role", Msg::new().code(role.to_string())), ("Account", account)],
        Msg::new()
            .lit("Approving attaches the inline policy `")
            .lit(POLICY_NAME)
            .lit("` to this role. It denies every action to every session issued before the moment of approval. People and services get working credentials again by assuming the role anew."),
        card.request
            .preview()
            .map(|p| p.lines().into_iter().map(|l| Msg::new().text(l)).collect())
            .unwrap_or_default(),
    )
}

/// A user request's card, until the leaked-key card is built (README "Leaked access keys and
/// IAM users").
fn user_parts(u: &crate::domain::request::UserTarget) -> Parts {
    (
        format!("Revoke the access keys of {}", u.arn.name()),
        vec![
            ("User", Msg::new().code(u.arn.to_string())),
            ("Account", Msg::new().text(u.arn.account().to_string())),
        ],
        Msg::new()
            .lit("Approving deactivates the user's leaked access keys and attaches the inline policy `")
            .lit(POLICY_NAME)
            .lit("` to the user."),
        vec![],
    )
}

fn permission_set_parts(ps: &PermissionSetTarget) -> Parts {
    let accounts = ps
        .accounts
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut preview = vec![
        Msg::new().text(match ps.session_duration_secs() {
            Some(s) => format!(
                "Sessions of this permission set last up to {}: without revocation, leaked credentials stay valid that long.",
                human_secs(s)
            ),
            None => "The permission set's session duration is not known.".to_string(),
        }),
        Msg::new().text(format!(
            "Provisioned to {} account(s): {}.",
            ps.accounts.len(),
            if accounts.is_empty() { "none".to_string() } else { accounts.clone() }
        )),
        Msg::new().text(match ps.existing_cutoff {
            Some(c) => format!("Already revoked: sessions issued before {c} are denied; a later cut-off replaces it, an earlier one never does."),
            None => "No earlier revocation in this permission set.".to_string(),
        }),
        Msg::new().text(format!(
            "Inline policy space left: {} of {PERMISSION_SET_INLINE_POLICY_QUOTA} characters.",
            PERMISSION_SET_INLINE_POLICY_QUOTA.saturating_sub(ps.inline_policy_chars_used)
        )),
    ];
    preview.push(Msg::new().lit(
        ":warning: If infrastructure code (Terraform, CloudFormation, CDK) manages this permission set, its next run may overwrite the inline policy and lift the revocation: add the statement there too.",
    ));
    (
        format!("Revoke active sessions of permission set {}", ps.name),
        vec![
            ("Permission set", Msg::new().code(ps.name.clone())),
            ("Accounts", Msg::new().text(accounts)),
        ],
        Msg::new()
            .lit("Approving adds a statement `")
            .lit(POLICY_NAME)
            .lit("` to this permission set's inline policy and provisions it. *Every user of this permission set, in every account it is provisioned to*, loses every session issued before the moment of approval; they get working credentials again by signing in anew."),
        preview,
    )
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
        out.extend(
            v.who_can_come_back
                .iter()
                .map(|l| format!("  • {}", l.to_plain())),
        );
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
