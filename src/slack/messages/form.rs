//! The request form's problems and its role options.

use crate::domain::command::{REASON_MAX, REASON_MIN};
use crate::domain::protection::Protection;
use crate::service::modal::{FormProblem, RoleOption};

use super::*;

/// Why a form was refused, shown under the field (Slack shows it as plain text).
pub fn form_problem(p: &FormProblem) -> Msg {
    match p {
        FormProblem::NoRole => Msg::new().lit("Choose a role from the list."),
        FormProblem::ReasonLength { len } => Msg::new()
            .lit("A reason is required: ")
            .text(format!(
                "{REASON_MIN}–{REASON_MAX} characters (this one has {len}), e.g. an incident id."
            )),
        FormProblem::BadRole(why) => Msg::new().lit("Not a role: ").text(why.clone()),
        FormProblem::Unresolvable(e) => resolve_error(e),
        FormProblem::Protected { role, protection: p } => protection(role, p),
        FormProblem::ChannelNotAllowed => Msg::new().lit(
            "revoke-role-bot does not take requests in this channel. Use one of the incident channels it is configured for.",
        ),
    }
}

/// Slack caps an option's text at 75 characters.
const OPTION_TEXT_MAX: usize = 75;

pub(super) fn protection_short(p: &Protection) -> &'static str {
    match p {
        Protection::ServiceLinked => "service-linked",
        Protection::IdentityCenter => "Identity Center",
        Protection::BotItself => "the bot's own role",
        Protection::BotTargetRole => "the bot's access role",
        Protection::Configured { .. } => "roles.protect",
        Protection::NotAllowed => "not in roles.allow",
    }
}

/// The text of one type-ahead option (plain text): `account/name`, protected roles marked.
pub fn role_option_text(o: &RoleOption) -> String {
    let account = o
        .account_name
        .clone()
        .unwrap_or_else(|| o.role.account().to_string());
    let text = match &o.protection {
        None => format!("{account}/{}", o.role.name()),
        Some(p) => format!(
            "🔒 {account}/{} (protected: {})",
            o.role.name(),
            protection_short(p)
        ),
    };
    if text.chars().count() > OPTION_TEXT_MAX {
        text.chars().take(OPTION_TEXT_MAX - 1).collect::<String>() + "…"
    } else {
        text
    }
}
