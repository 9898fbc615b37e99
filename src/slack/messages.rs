//! Every text the bot shows, rendered from the service's typed outcomes into [`Msg`], which
//! becomes Slack mrkdwn (escaped by construction) or plain text for the demo and the CLI.

use crate::domain::audit::AuditEvent;
use crate::domain::command::{REASON_MAX, REASON_MIN};
use crate::domain::ids::Actor;
use crate::domain::ids::Principal;
use crate::domain::preview::WhoCanComeBack;
use crate::domain::protection::Protection;
use crate::domain::request::{Failure, Refusal, Request, State, Status, Target};
use crate::domain::trust::{ConditionText, Entry, PrincipalKind, TrustError, Warning};
use crate::service::modal::{FormProblem, RoleOption};
use crate::service::notice::{
    ClickProblem, DriftKind, Found, LookupError, LookupSubject, Notice, ResolveError,
    SubmitRefusal, ThreadNote,
};

pub use super::mrkdwn::{Mrkdwn, Msg, printable};

/// The usage text (also for an empty or unparsable command).
pub fn usage() -> Msg {
    Msg::new().lit(
        "*Usage*\n\
• `/revoke-role <role> <reason>`: ask to cut off every session of <role> issued before approval. <role> is a role ARN, `account/RoleName`, or `RoleName` when one account is configured. A second authorized person must approve.\n\
• `/revoke-role status <request-id>`: one request and its events\n\
• `/revoke-role audit [<role>|<request-id>|@user] [--since 7d] [--limit 20]`: the audit trail\n\
• `/revoke-role help`: this text",
    )
}

/// One message a person sees. Lookups may be long: see [`sections`].
pub fn notice(n: &Notice) -> Msg {
    join(sections(n))
}

fn join(sections: Vec<Msg>) -> Msg {
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

fn single(n: &Notice) -> Msg {
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

fn accounts(configured: &[String]) -> Msg {
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

pub fn failure(f: &Failure, target: Target<'_>) -> Msg {
    let (name_text, account) = match target {
        Target::Role(r) => (r.name().to_string(), Some(r.account().to_string())),
        Target::PermissionSet(ps) => (ps.name.clone(), None),
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
    }
}

fn submit_refusal(r: &SubmitRefusal) -> Msg {
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
        SubmitRefusal::Iam { role, failure: f } => failure(f, Target::Role(role))
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

/// One line per request: id, state, role, requester, approvers, cut-off, time, reason.
pub fn request_line(r: &Request) -> Msg {
    let mut m = Msg::new()
        .code(r.id().to_string())
        .lit(" ")
        .bold(r.state().as_str())
        .lit(" ")
        .code(r.target_arn())
        .lit(" by ")
        .user(r.requester());
    if !r.approvals().is_empty() {
        m = m.lit(", approved by ").users(r.approvals());
    }
    if let Some(c) = r.cutoff() {
        m = m.lit(", cut-off ").text(c.to_string());
    }
    m.lit(", ")
        .text(r.created_at().format("%Y-%m-%d %H:%M UTC").to_string())
        .lit(": ")
        .text(r.reason().to_string())
}

fn actor(a: &Actor) -> Msg {
    match a {
        Actor::User(u) => Msg::new().user(u),
        Actor::Bot => Msg::new().lit("revoke-role-bot"),
        Actor::Cli(who) => Msg::new().lit("CLI ").text(who.clone()),
        Actor::Unknown(s) => Msg::new().text(s.clone()),
    }
}

/// One line per event. AWS's full error text is not shown in Slack (it is in the audit record
/// and the log); the detail says what kind of failure it was.
pub fn event_line(e: &AuditEvent) -> Msg {
    let d = &e.draft;
    let mut m = Msg::new()
        .text(format!("#{} {} ", e.seq, d.at))
        .bold(d.kind.as_str())
        .lit(" by ")
        .append(actor(&d.actor()));
    if let Some(c) = &d.cutoff {
        m = m.lit(", cut-off: ").text(c.clone());
    }
    if let Some(detail) = &d.detail {
        m = m.lit(", detail: ").text(detail.clone());
    }
    if d.error.is_some() {
        m = m.lit(", error recorded (see `revoke-role-bot audit --request`)");
    }
    if let Some(sha) = &d.policy_sha256 {
        m = m
            .lit(", policy sha256 ")
            .text(sha.chars().take(12).collect::<String>());
    }
    m
}

fn found_sections(found: &Found) -> Vec<Msg> {
    match found {
        Found::One { request, events } => {
            let mut lines = Msg::new();
            for (i, e) in events.iter().enumerate() {
                if i > 0 {
                    lines = lines.lit("\n");
                }
                lines = lines.append(event_line(e));
            }
            let mut out = vec![
                Msg::new()
                    .lit("*Request ")
                    .text(request.id().to_string())
                    .lit("*\n")
                    .append(request_line(request)),
                lines,
            ];
            if let Some(w) = request.preview().and_then(|p| p.who_can_come_back.as_ref()) {
                out.extend(pack(
                    Msg::new().lit("*Who can assume the role again*"),
                    who_can_come_back_full(w),
                ));
            }
            out
        }
        Found::Many { page, about, limit } => {
            let what = match about {
                LookupSubject::Role(r) => Msg::new().lit("for ").code(r.to_string()),
                LookupSubject::User(u) => Msg::new().lit("involving ").user(u),
                LookupSubject::Latest => Msg::new().lit("(latest first)"),
            };
            if page.items.is_empty() {
                return vec![
                    Msg::new()
                        .lit("No revocation requests ")
                        .append(what)
                        .lit("."),
                ];
            }
            let mut out = vec![
                Msg::new()
                    .lit("*Revocation requests ")
                    .append(what)
                    .lit("*"),
            ];
            let mut lines = Msg::new();
            for (i, r) in page.items.iter().enumerate() {
                if i > 0 {
                    lines = lines.lit("\n");
                }
                lines = lines.append(request_line(r));
            }
            out.push(lines);
            if page.more {
                let how_many = match page.total {
                    Some(total) => format!("Showing {} of {total}", page.items.len()),
                    None => format!("Showing the latest {limit}; there are more"),
                };
                out.push(
                    Msg::new()
                        .lit("_")
                        .text(how_many)
                        .lit(". Narrow with `--since 7d`, a role, a request id or an @user, or raise `--limit` (up to 100)._"),
                );
            }
            out
        }
    }
}

/// The card's status line for each state.
pub fn status_line(r: &Request) -> Msg {
    match r.status() {
        Status::Pending if r.approvals().is_empty() => Msg::new()
            .lit(":hourglass_flowing_sand: Waiting for ")
            .text(r.approvals_required().to_string())
            .lit(if r.approvals_required() == 1 {
                " approval from someone other than "
            } else {
                " approvals from someone other than "
            })
            .user(r.requester())
            .lit("."),
        Status::Pending => Msg::new()
            .lit(":hourglass_flowing_sand: ")
            .text(format!(
                "{} of {} approvals: ",
                r.approvals().len(),
                r.approvals_required()
            ))
            .users(r.approvals()),
        Status::Approved { cutoff, .. } => Msg::new()
            .lit(":white_check_mark: Approved by ")
            .users(r.approvals())
            .lit(". Applying the policy with cut-off ")
            .text(cutoff.to_string())
            .lit("…"),
        Status::Applied { written, .. } => {
            let how = match written.outcome {
                crate::domain::policy::MergeOutcome::AlreadyCovered => {
                    " (an existing, later cut-off was already in place and stays)"
                }
                crate::domain::policy::MergeOutcome::Extended => " (replacing an earlier cut-off)",
                crate::domain::policy::MergeOutcome::Created => "",
            };
            let head = if written.verified {
                ":lock: Applied and verified: sessions issued before "
            } else {
                ":warning: Written, not verified: IAM accepted the policy but did not show it back within 10 s. Sessions issued before "
            };
            let tail = if written.verified {
                ""
            } else {
                " Check the role's inline policy `AWSRevokeOlderSessions` in the IAM console."
            };
            Msg::new()
                .lit(head)
                .bold(written.in_force.to_string())
                .lit(" are denied")
                .lit(how)
                .lit(". Approved by ")
                .users(r.approvals())
                .lit(".")
                .lit(tail)
        }
        Status::Failed { failure: f, .. } => Msg::new()
            .lit(":x: Failed: ")
            .append(failure(f, r.target()))
            .lit(". Approved by ")
            .users(r.approvals())
            .lit("; see ")
            .code(format!("/revoke-role status {}", r.id())),
        Status::Rejected { by } => Msg::new()
            .lit(":no_entry_sign: Rejected by ")
            .user(by)
            .lit(". Nothing was changed."),
        Status::Cancelled { by } => Msg::new()
            .lit(":heavy_multiplication_x: Cancelled by ")
            .user(by)
            .lit(". Nothing was changed."),
        Status::Expired => {
            Msg::new().lit(":hourglass: Expired without enough approvals. Nothing was changed.")
        }
    }
}

/// Whether a state still shows the buttons.
pub fn has_buttons(r: &Request) -> bool {
    r.state() == State::Pending
}

fn principals(list: &[Principal]) -> Msg {
    let mut m = Msg::new();
    for (i, p) in list.iter().enumerate() {
        if i > 0 {
            m = m.lit(" ");
        }
        m = match p {
            Principal::User(u) => m.user(u),
            Principal::Group(g) => m.group(g),
        };
    }
    m
}

/// A reply in the card's thread, or the requester's direct message. The only mentions of people
/// who did not act are the reminders', built from the configuration.
pub fn thread_note(n: &ThreadNote) -> Msg {
    match n {
        ThreadNote::Approval {
            by,
            count,
            required,
        } => Msg::new()
            .lit(":white_check_mark: ")
            .user(by)
            .lit(" approved (")
            .text(format!("{count} of {required}"))
            .lit(")."),
        ThreadNote::ClickRefused { by, refusal } => Msg::new()
            .lit(":no_entry: ")
            .user(by)
            .lit(" clicked, refused: ")
            .text(refusal.code().replace('_', " "))
            .lit(". Nothing changed."),
        ThreadNote::Outcome(r) => Msg::new()
            .lit("Request ")
            .code(r.id().to_string())
            .lit(" for ")
            .append(match r.target() {
                Target::Role(role) => Msg::new().code(role.to_string()),
                Target::PermissionSet(ps) => {
                    Msg::new().lit("permission set ").code(ps.name.clone())
                }
            })
            .lit(": ")
            .append(status_line(r)),
        ThreadNote::Provisioning { accounts } => Msg::new()
            .lit(":hourglass_flowing_sand: The inline policy is written; provisioning the permission set to ")
            .text(accounts.to_string())
            .lit(" account(s)…"),
        ThreadNote::Reminder {
            id,
            waited,
            approvers,
            escalate_to,
        } => {
            let mut m = Msg::new()
                .lit(":rotating_light: ")
                .append(principals(approvers))
                .lit(" request ")
                .code(id.to_string())
                .lit(" has waited ")
                .text(crate::domain::preview::human_secs(waited.as_secs() as i64))
                .lit(" for an approval: look at the card above.");
            if !escalate_to.is_empty() {
                m = m
                    .lit(" Escalating to ")
                    .append(principals(escalate_to))
                    .lit(".");
            }
            m
        }
        ThreadNote::Drift {
            id,
            target,
            in_force,
            kind,
        } => {
            let what = match kind {
                DriftKind::Gone => Msg::new().lit(
                    " is gone: the `AWSRevokeOlderSessions` deny is no longer in the inline policy.",
                ),
                DriftKind::MovedBack { now } => Msg::new()
                    .lit(" moved back: its cut-off is now ")
                    .bold(now.to_string())
                    .lit(", earlier than ")
                    .bold(in_force.to_string())
                    .lit("."),
                DriftKind::NotUnderstood => Msg::new().lit(
                    " was replaced by an `AWSRevokeOlderSessions` document the bot does not understand, so it cannot say what it still denies.",
                ),
            };
            Msg::new()
                .lit(":rotating_light: Drift: the revocation of ")
                .code(target.clone())
                .lit(" by request ")
                .code(id.to_string())
                .append(what)
                .lit(" Sessions issued before ")
                .bold(in_force.to_string())
                .lit(" may work again. Re-apply opens a new request for the same role; the usual approval applies.")
        }
        ThreadNote::CleanedUp { id, target, cutoff } => Msg::new()
            .lit(":broom: Clean-up: the window of request ")
            .code(id.to_string())
            .lit(" has passed (every session issued before ")
            .bold(cutoff.to_string())
            .lit(" has expired), so its deny was removed from ")
            .code(target.clone())
            .lit(" to free the role's inline-policy space."),
    }
}

// ---- who can come back (SPEC §12) ----

/// Principals shown per kind on the card; `status` shows them all.
const CARD_PRINCIPALS_PER_KIND: usize = 4;

fn kind_plural(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::Everyone => "anyone (`*`)",
        PrincipalKind::Account => "accounts (anyone there whom their own policies allow)",
        PrincipalKind::Role => "IAM roles",
        PrincipalKind::User => "IAM users",
        PrincipalKind::AssumedRoleSession => "role sessions",
        PrincipalKind::FederatedUser => "federated users",
        PrincipalKind::Service => "AWS services",
        PrincipalKind::SamlProvider => "SAML providers",
        PrincipalKind::OidcProvider => "OIDC providers",
        PrincipalKind::CanonicalUser => "canonical users",
        PrincipalKind::Unrecognised => "unrecognised principals",
    }
}

fn kind_singular(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::Everyone => "anyone",
        PrincipalKind::Account => "account",
        PrincipalKind::Role => "IAM role",
        PrincipalKind::User => "IAM user",
        PrincipalKind::AssumedRoleSession => "role session",
        PrincipalKind::FederatedUser => "federated user",
        PrincipalKind::Service => "AWS service",
        PrincipalKind::SamlProvider => "SAML provider",
        PrincipalKind::OidcProvider => "OIDC provider",
        PrincipalKind::CanonicalUser => "canonical user",
        PrincipalKind::Unrecognised => "unrecognised principal",
    }
}

/// How an entry is named: an account by its id, anything else as written in the trust policy.
fn entry_name(e: &Entry) -> String {
    match (e.kind, &e.account) {
        (PrincipalKind::Account, Some(a)) => a.to_string(),
        _ => e.principal.clone(),
    }
}

fn conditions_msg(conditions: &[ConditionText]) -> Msg {
    let mut m = Msg::new();
    for (i, c) in conditions.iter().enumerate() {
        if i > 0 {
            m = m.lit(" and ");
        }
        m = m.code(c.to_string());
    }
    m
}

/// One warning: what revocation alone does not stop, or what the bot could not read.
pub fn trust_warning(w: &Warning) -> Msg {
    let m = Msg::new().lit(":warning: ");
    match w {
        Warning::Everyone {
            statement,
            conditions,
        } => {
            let m = m
                .lit("statement ")
                .text(statement.to_string())
                .lit(" trusts `*`: ");
            if conditions.is_empty() {
                m.lit("*anyone with AWS credentials* can assume this role, with no condition.")
            } else {
                m.lit("anyone can assume this role if ")
                    .append(conditions_msg(conditions))
                    .lit(".")
            }
        }
        Warning::UnconfiguredAccount { account, principal } => m
            .code(principal.clone())
            .lit(" is in account ")
            .text(account.to_string())
            .lit(", which this bot is not configured for: revoking here does not stop it from assuming the role again."),
        Warning::WebIdentityWithoutSubject {
            provider,
            missing_key,
            statement,
        } => {
            let m = m
                .lit("statement ")
                .text(statement.to_string())
                .lit(" trusts the web identity provider ")
                .code(provider.clone())
                .lit(" without a condition on ")
                .code(missing_key.clone())
                .lit(": anyone who can get a token from it can assume this role");
            if provider.contains("token.actions.githubusercontent.com") {
                m.lit(" (for GitHub Actions: a workflow in any repository).")
            } else {
                m.lit(".")
            }
        }
        Warning::BroadSubject {
            provider,
            pattern,
            statement,
        } => m
            .lit("statement ")
            .text(statement.to_string())
            .lit(" lets every subject of ")
            .code(provider.clone())
            .lit(" matching ")
            .code(pattern.clone())
            .lit(" assume this role."),
        Warning::DenyStatementsNotApplied { count } => m
            .lit("the trust policy has ")
            .text(count.to_string())
            .lit(" Deny statement(s); they are not applied to this list, which may name principals that are denied."),
        Warning::NotUnderstood { statement, reason } => m
            .lit("statement ")
            .text(statement.to_string())
            .lit(" is not fully understood: ")
            .text(reason.to_string())
            .lit("."),
    }
}

fn unreadable_trust(e: &TrustError) -> Msg {
    Msg::new()
        .lit(":warning: The role's trust policy could not be read (")
        .text(e.to_string())
        .lit("): check in the IAM console who can assume this role again.")
}

/// Who can come back, short (the card): the principals by kind on one line, then every warning.
pub fn who_can_come_back_short(w: &WhoCanComeBack) -> Vec<Msg> {
    let a = match w {
        WhoCanComeBack::Analysed(a) => a,
        WhoCanComeBack::Unreadable(e) => return vec![unreadable_trust(e)],
    };
    let mut by_kind: std::collections::BTreeMap<PrincipalKind, Vec<(String, bool)>> =
        Default::default();
    for e in &a.entries {
        let names = by_kind.entry(e.kind).or_default();
        let name = entry_name(e);
        match names.iter_mut().find(|(n, _)| *n == name) {
            Some((_, conditional)) => *conditional |= !e.conditions.is_empty(),
            None => names.push((name, !e.conditions.is_empty())),
        }
    }
    let mut line = if by_kind.is_empty() {
        Msg::new().lit("No principal in the trust policy can assume this role.")
    } else {
        Msg::new().lit("Can assume it again: ")
    };
    for (i, (kind, names)) in by_kind.iter().enumerate() {
        if i > 0 {
            line = line.lit("; ");
        }
        line = line.lit(kind_plural(*kind));
        if *kind == PrincipalKind::Everyone {
            continue;
        }
        line = line.lit(" ");
        for (j, (name, conditional)) in names.iter().take(CARD_PRINCIPALS_PER_KIND).enumerate() {
            if j > 0 {
                line = line.lit(", ");
            }
            line = line.code(name.clone());
            if *conditional {
                line = line.lit(" (with conditions)");
            }
        }
        if names.len() > CARD_PRINCIPALS_PER_KIND {
            line = line
                .lit(" and ")
                .text((names.len() - CARD_PRINCIPALS_PER_KIND).to_string())
                .lit(" more");
        }
    }
    if !by_kind.is_empty() {
        line = line.lit(". Revoking ends their current sessions, not their right to start new ones; `/revoke-role status` lists every condition.");
    }
    let mut out = vec![line];
    out.extend(a.warnings.iter().map(trust_warning));
    out
}

/// Who can come back, complete (`status`): every principal with its entry points and conditions,
/// then every warning.
pub fn who_can_come_back_full(w: &WhoCanComeBack) -> Vec<Msg> {
    let a = match w {
        WhoCanComeBack::Analysed(a) => a,
        WhoCanComeBack::Unreadable(e) => return vec![unreadable_trust(e)],
    };
    let mut out = Vec::new();
    if a.entries.is_empty() {
        out.push(Msg::new().lit("No principal in the trust policy can assume this role."));
    }
    for e in &a.entries {
        let mut m = Msg::new().lit("• ").lit(kind_singular(e.kind)).lit(" ");
        m = match e.kind {
            PrincipalKind::Everyone => m.code("*"),
            _ => m.code(entry_name(e)),
        };
        if e.kind == PrincipalKind::Account {
            m = m.lit(" (anyone there whom their own policies allow)");
        }
        m = m.lit(" through ").text(
            e.actions
                .iter()
                .map(|a| a.action())
                .collect::<Vec<_>>()
                .join(", "),
        );
        if !e.conditions.is_empty() {
            m = m.lit(" if ").append(conditions_msg(&e.conditions));
        }
        m = m.lit(" (statement ").text(e.statement.to_string()).lit(")");
        out.push(m);
    }
    out.extend(a.warnings.iter().map(trust_warning));
    out
}

/// Lines packed into sections that stay under Slack's 3,000-character cap once rendered.
pub fn pack(head: Msg, lines: Vec<Msg>) -> Vec<Msg> {
    const BUDGET: usize = 2_800;
    let mut out = Vec::new();
    let mut current = head;
    let mut len = current.to_mrkdwn().as_str().chars().count();
    for l in lines {
        let n = l.to_mrkdwn().as_str().chars().count() + 1;
        if len > 0 && len + n > BUDGET {
            out.push(std::mem::take(&mut current));
            len = 0;
        }
        if len > 0 {
            current = current.lit("\n");
        }
        current = current.append(l);
        len += n;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

// ---- the request form (SPEC §12) ----

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

fn protection_short(p: &Protection) -> &'static str {
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

/// The button a thread note offers, if any: its label, `action_id` and `value`.
pub fn thread_note_button(n: &ThreadNote) -> Option<(&'static str, &'static str, String)> {
    match n {
        ThreadNote::Drift { id, .. } => Some(("Re-apply", REAPPLY_ACTION, id.to_string())),
        _ => None,
    }
}

/// The `action_id` of the button that opens a request to re-apply a revocation after drift.
pub const REAPPLY_ACTION: &str = "reapply";
