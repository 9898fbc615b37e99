//! Every text the bot shows, rendered from the service's typed outcomes into [`Msg`], which
//! becomes Slack mrkdwn (escaped by construction) or plain text for the demo and the CLI.

use crate::domain::protection::Protection;
use crate::domain::request::{Failure, Refusal, Target};
use crate::service::notice::{ClickProblem, LookupError, Notice, ResolveError, SubmitRefusal};

pub use super::mrkdwn::{Mrkdwn, Msg, printable};

mod form;
mod timeline;
mod trust;

pub use form::*;
pub use timeline::*;
pub use trust::*;

/// The usage text (also for an empty or unparsable command).
pub fn usage() -> Msg {
    Msg::new().lit(
        "*Usage*\n\
• `/revoke-role <role> <reason>`: ask to cut off every session of <role> issued before approval. <role> is a role ARN, `account/RoleName`, or `RoleName` when one account is configured. A second authorized person must approve.\n\
• `/revoke-role <role> <reason> key <ASIA…>`: the same, naming a leaked temporary key of that role (`key <id>` at the end, repeatable)\n\
• `/revoke-role key <access-key-id> <reason>` (or just `<access-key-id> <reason>`): deactivate a leaked access key and cut off its user's sessions\n\
• `/revoke-role user <user> <reason>`: deactivate every active key of an IAM user and cut off its sessions. <user> is a user ARN, `account/UserName`, or `UserName`\n\
• `/revoke-role restore <request-id> <reason>`: make the keys that request deactivated work again (with the same approval)\n\
• `/revoke-role status <request-id>`: one request and its events\n\
• `/revoke-role audit [<role>|<request-id>|@user] [--since 7d] [--limit 20]`: the audit trail\n\
• `/revoke-role help`: this text",
    )
}

/// One message a person sees. Lookups may be long: see [`sections`].
pub fn notice(n: &Notice) -> Msg {
    join(sections(n))
}

pub(super) fn join(sections: Vec<Msg>) -> Msg {
    let mut all = Msg::new();
    for (i, s) in sections.into_iter().enumerate() {
        if i > 0 {
            all = all.lit("\n");
        }
        all = all.append(s);
    }
    all
}

/// A notice as sections (Slack caps each block; lookups list many lines).
pub fn sections(n: &Notice) -> Vec<Msg> {
    match n {
        Notice::Found(found) => found_sections(found),
        other => vec![single(other)],
    }
}

pub(super) fn single(n: &Notice) -> Msg {
    match n {
        Notice::Usage => usage(),
        Notice::OpeningForm => Msg::new().lit(
            ":memo: Opening the request form… (or type `/revoke-role <role> <reason>`; `/revoke-role help` for more)",
        ),
        Notice::FormNotOpened { slack_error } => Msg::new()
            .lit(":x: The request form could not be opened (")
            .text(slack_error.clone())
            .lit("). Use the one-line form instead:\n\n")
            .append(usage()),
        Notice::NotUnderstood(e) => Msg::new()
            .lit(":warning: ")
            .text(e.0.clone())
            .lit("\n\n")
            .append(usage()),
        Notice::ChannelNotAllowed => Msg::new().lit(
            ":no_entry: revoke-role-bot does not take commands in this channel. Use one of the incident channels it is configured for.",
        ),
        Notice::Checking { role } => Msg::new()
            .lit(":mag: Checking ")
            .code(role.clone())
            .lit("… the approval card follows in this channel."),
        Notice::LookingUp => Msg::new().lit(":mag: Looking it up…"),
        Notice::RequestRefused { why, recorded } => {
            let m = Msg::new().lit(":no_entry: ").append(submit_refusal(why));
            if *recorded {
                m
            } else {
                m.lit("\n(The refusal could not be written to the audit trail.)")
            }
        }
        Notice::RequestNotRecorded => Msg::new().lit(
            ":x: The request could not be written to the audit trail, so nothing was done. Try again; if it keeps failing, check the bot's DynamoDB access.",
        ),
        Notice::AwaitingApproval(id) => Msg::new()
            .lit("Request ")
            .bold(id.to_string())
            .lit(" is waiting for approval by someone other than you."),
        Notice::CardNotPosted { id, slack_error } => Msg::new()
            .lit(":x: Request ")
            .text(id.to_string())
            .lit(" is recorded but its approval card could not be posted in this channel (")
            .text(slack_error.clone())
            .lit("). Invite the bot to the channel and ask again."),
        Notice::CardUnconfirmed(id) => Msg::new()
            .lit(":warning: Request ")
            .code(id.to_string())
            .lit(" is recorded, but Slack did not confirm its approval card, so it is not posted again. If the card is in this channel, its buttons work; if it is not, ask again. ")
            .code(format!("/revoke-role status {id}"))
            .lit(" shows the request."),
        Notice::NoSuchRequest(id) => Msg::new()
            .lit("There is no request ")
            .text(id.to_string())
            .lit("."),
        Notice::ClickRefused { refusal, id } => click_refusal(refusal, &id.to_string()),
        Notice::ClickNotApplied(p) => Msg::new().lit(match p {
            ClickProblem::StoreUnreadable => ":x: The audit trail could not be read, so your click was not applied. Try again in a moment.",
            ClickProblem::MembershipUnknown => ":x: Slack could not confirm that you are an approver, so your click was not applied. Try again in a moment.",
            ClickProblem::NotRecorded => ":x: Your click could not be written to the audit trail, so it was not applied and nothing was changed. Try again in a moment.",
            ClickProblem::KeptChanging => ":x: The request kept changing under your click; look at the card and click again.",
        }),
        Notice::Found(f) => join(found_sections(f)),
        Notice::LookupFailed(e) => Msg::new().lit(":warning: ").append(lookup_error(e)),
        Notice::ReapplyNotApplicable(id) => Msg::new()
            .lit(":warning: Request ")
            .code(id.to_string())
            .lit(" is not an applied revocation, so there is nothing to re-apply. To revoke the role's sessions, ask anew with ")
            .code("/revoke-role <role> <reason>")
            .lit("."),
        Notice::ReapplyAlreadyOpen { old, open } => Msg::new()
            .lit("A request to re-apply ")
            .code(old.to_string())
            .lit(" is already open: ")
            .code(open.to_string())
            .lit(". Its card is in the channel; it needs an approval from someone other than its requester."),
    }
}

pub(super) fn accounts(configured: &[String]) -> Msg {
    Msg::new().text(configured.join(", "))
}

pub fn resolve_error(e: &ResolveError) -> Msg {
    match e {
        ResolveError::AccountNotConfigured {
            account,
            configured,
        } => Msg::new()
            .lit("account ")
            .code(account.clone())
            .lit(" is not configured for revoke-role-bot; configured: ")
            .append(accounts(configured)),
        ResolveError::AccountNeeded { name, configured } => Msg::new()
            .lit("several accounts are configured, so name the account: ")
            .code(format!("<account>/{name}"))
            .lit(" (accounts: ")
            .append(accounts(configured))
            .lit(")"),
        ResolveError::BadRole(why) => Msg::new().text(why.clone()),
    }
}

pub fn protection(role: &crate::domain::role_arn::RoleArn, p: &Protection) -> Msg {
    let name = || Msg::new().code(role.name());
    match p {
        Protection::ServiceLinked => name().lit(
            " is a service-linked role: AWS manages it and its sessions; it cannot be revoked here.",
        ),
        Protection::IdentityCenter => name().lit(
            " is an IAM Identity Center role: IAM refuses changes to it. Revoke those sessions through its permission set: configure `[identity_center]` for revoke-role-bot (see the README), or in IAM Identity Center revoke the user's active sessions and remove the assignment.",
        ),
        Protection::BotItself => {
            name().lit(" is the role revoke-role-bot itself runs as; revoking it would stop the bot.")
        }
        Protection::BotTargetRole => name().lit(
            " is a role revoke-role-bot assumes to work in its account; revoking it would cut off the bot there.",
        ),
        Protection::Configured { pattern } => Msg::new()
            .code(role.to_string())
            .lit(" is protected by the bot's configuration (")
            .code(pattern.clone())
            .lit(")."),
        Protection::NotAllowed => Msg::new()
            .code(role.to_string())
            .lit(" is not on the list of roles this bot may revoke (`roles.allow`)."),
    }
}

pub fn failure(f: &Failure, target: &Target) -> Msg {
    let (name_text, account) = match target {
        Target::Role(r) => (r.name().to_string(), Some(r.account().to_string())),
        Target::PermissionSet(ps) => (ps.name.clone(), None),
        Target::User(u) => (u.arn.name().to_string(), Some(u.arn.account().to_string())),
    };
    let name = || Msg::new().code(name_text.clone());
    match f {
        Failure::RoleNotFound => match account {
            Some(account) => Msg::new()
                .lit("role ")
                .append(name())
                .lit(" does not exist in account ")
                .text(account),
            None => Msg::new()
                .lit("permission set ")
                .append(name())
                .lit(" no longer exists in Identity Center"),
        },
        Failure::AccessDenied { action } => Msg::new()
            .lit("the bot is not allowed to call ")
            .text(format!("iam:{action}"))
            .lit(" on ")
            .append(name())
            .lit(": grant it in the bot's role (see deploy/)"),
        Failure::NoInlinePolicySpace => name().lit(
            " has no inline policy space left (10,240 characters in all): remove or shrink an inline policy, then ask again",
        ),
        Failure::Unmodifiable => name().lit(" is managed by AWS and cannot be changed"),
        Failure::Throttled => {
            Msg::new().lit("AWS throttled the request even after retries: ask again in a minute")
        }
        Failure::Aws { action } => Msg::new()
            .lit("AWS refused ")
            .text(format!("iam:{action}"))
            .lit("; the error is in the audit trail and the log"),
        Failure::Timeout { action } => Msg::new()
            .lit("AWS did not answer ")
            .text(format!("iam:{action}"))
            .lit(" in time; the request stays safe to retry"),
        Failure::PolicyNotUnderstood { document, why } => Msg::new()
            .lit("the role's existing ")
            .code(crate::domain::policy::POLICY_NAME)
            .lit(" policy is in a form the bot does not fully understand (")
            .text(why.clone())
            .lit("), so it was not overwritten. Check it in the IAM console and fix or remove it, then ask again. It reads: ")
            .code(document.chars().take(600).collect::<String>()),
        Failure::Protected { protection: p } => match target {
            Target::Role(role) => Msg::new()
                .lit("the role is protected now: ")
                .append(protection(role, p)),
            Target::PermissionSet(_) => Msg::new()
                .lit("the permission set ")
                .append(name())
                .lit(" is protected by the bot's configuration (`identity_center.protect`)"),
            Target::User(_) => Msg::new()
                .lit("the user ")
                .append(name())
                .lit(" is protected now"),
        },
        Failure::RoleChanged { now } => Msg::new()
            .lit("IAM now reports this role as ")
            .code(now.clone())
            .lit(", not the role that was approved; nothing was written. Ask again."),
        Failure::CutoffKeptMovingBack => Msg::new().lit(
            "the cut-off kept being moved back by concurrent writes; check who else writes this role's policy",
        ),
        Failure::ReadBackDiffers => Msg::new().lit(
            "the policy read back from AWS differs from what was written; check the inline policy",
        ),
        Failure::ProvisioningFailed { reason } => Msg::new()
            .lit("the inline policy was written, but Identity Center could not provision the permission set: ")
            .text(reason.clone())
            .lit(". Fix the cause in the Identity Center console (Permission sets → this set → Accounts → Reprovision), then ask again"),
        Failure::ProvisioningTimedOut => Msg::new().lit(
            "the inline policy was written, but provisioning to every account did not finish in time; check the permission set's provisioning status in the Identity Center console, then ask again",
        ),
        Failure::IdentityCenterNotConfigured => Msg::new().lit(
            "`[identity_center]` is not configured, so permission sets cannot be changed",
        ),
        Failure::AccountNotConfirmed {
            account,
            belongs_to: Some(actual),
        } => Msg::new()
            .lit("the bot's credentials for account ")
            .text(account.clone())
            .lit(" belong to account ")
            .text(actual.clone())
            .lit(", so nothing is read or written there; fix `assume_role_arn` for that account in the configuration"),
        Failure::AccountNotConfirmed {
            account,
            belongs_to: None,
        } => Msg::new()
            .lit("the bot cannot reach account ")
            .text(account.clone())
            .lit(" (its credentials are not confirmed: check that the account's role trusts the bot; `/readyz` and `check-config` say why), so nothing was read or written there. It is checked again every minute"),
    }
}

pub(super) fn submit_refusal(r: &SubmitRefusal) -> Msg {
    match r {
        SubmitRefusal::NotARequester => Msg::new().lit(
            "You are not on the requesters list, so you cannot ask for a revocation. Ask your security on-call to add you, or to make the request.",
        ),
        SubmitRefusal::MembershipUnknown => Msg::new().lit(
            "Slack could not confirm that you are on the requesters list, so nothing was done. Try again in a moment.",
        ),
        SubmitRefusal::Unresolvable(e) => resolve_error(e),
        SubmitRefusal::Protected { role, protection: p } => protection(role, p),
        SubmitRefusal::Mismatch { typed, actual } => Msg::new()
            .lit("You named ")
            .code(typed.to_string())
            .lit(", but IAM holds that role as ")
            .code(actual.to_string())
            .lit(". Nothing was requested: name the role as IAM has it."),
        SubmitRefusal::WrongCredentials { account, actual } => Msg::new()
            .lit("The bot's credentials for account ")
            .text(account.clone())
            .lit(" belong to account ")
            .text(actual.clone())
            .lit(", so nothing was requested. Fix `assume_role_arn` for that account in the configuration."),
        SubmitRefusal::Iam { role, failure: f } => failure(f, &Target::Role(role.clone()))
            .lit(". Nothing was requested."),
        SubmitRefusal::IdentityCenterNotConfigured => Msg::new().lit(
            "Permission sets are revoked through IAM Identity Center, and revoke-role-bot is not configured for it. Add `[identity_center]` with `instance_arn`, `region` and `account` (the configured account that administers Identity Center) to the bot's configuration, and grant the permissions in deploy/ (see the README). Meanwhile, in the Identity Center console, revoke the user's active sessions and remove the assignment.",
        ),
        SubmitRefusal::UnknownPermissionSet { name } => Msg::new()
            .lit("There is no permission set ")
            .code(name.clone())
            .lit(" in the configured Identity Center instance. Nothing was requested."),
        SubmitRefusal::PermissionSetProtected { name } => Msg::new()
            .lit("The permission set ")
            .code(name.clone())
            .lit(" is protected by the bot's configuration (`identity_center.protect`). Nothing was requested."),
        SubmitRefusal::IdentityCenter { action } => Msg::new()
            .lit("Identity Center refused ")
            .text(format!("sso:{action}"))
            .lit(" while checking the permission set; the error is in the audit trail and the log. Nothing was requested."),
        SubmitRefusal::PermissionSetPolicyFull { name, used } => Msg::new()
            .lit("The inline policy of ")
            .code(name.clone())
            .lit(" is full (")
            .text(format!("{used} of 32,768 characters"))
            .lit("): shrink it, then ask again. Nothing was requested."),
        SubmitRefusal::PermissionSetInManagementAccount { name, management } => Msg::new()
            .lit("The permission set ")
            .code(name.clone())
            .lit(" is provisioned to the organization's management account ")
            .text(management.clone())
            .lit(", and the bot administers Identity Center as a delegated administrator, which AWS does not let change such a permission set: approving would fail, so nothing was requested. An administrator of the management account revokes it by hand: `revoke-role-bot policy --cutoff now` prints the statement to add to the permission set's inline policy, then provision it (deploy/README.md, \"Identity Center: the management account and a delegated administrator\"). Meanwhile, in the Identity Center console, revoke the user's active sessions."),
    }
}

pub fn click_refusal(r: &Refusal, id: &str) -> Msg {
    let id = || Msg::new().text(id.to_string());
    match r {
        Refusal::SelfApproval => Msg::new()
            .lit("You requested ")
            .append(id())
            .lit(", so you cannot approve it: a second authorized person must approve."),
        Refusal::NotAnApprover => Msg::new()
            .lit("You are not on the approvers list, so you cannot approve or reject ")
            .append(id())
            .lit("."),
        Refusal::NotTheRequester => Msg::new()
            .lit("Only the person who requested ")
            .append(id())
            .lit(" can cancel it."),
        Refusal::AlreadyApproved => Msg::new()
            .lit("You have already approved ")
            .append(id())
            .lit("; it needs another approver."),
        Refusal::RequesterRejecting => Msg::new()
            .lit("You requested ")
            .append(id())
            .lit(": use Cancel to withdraw it."),
        Refusal::Closed(s) => id()
            .lit(" is already ")
            .text(s.as_str())
            .lit("; nothing was changed."),
        Refusal::Expired => id().lit(
            " has expired; nothing was changed. Ask again with /revoke-role if it is still needed.",
        ),
    }
}

pub fn lookup_error(e: &LookupError) -> Msg {
    match e {
        LookupError::NoSuchRequest(id) => {
            Msg::new().lit("there is no request ").text(id.to_string())
        }
        LookupError::Unresolvable(r) => resolve_error(r),
        LookupError::StoreUnavailable => {
            Msg::new().lit("the audit trail could not be read; try again in a moment")
        }
    }
}
