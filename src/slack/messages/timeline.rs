//! Lookups, the card's status line and the thread: what the request's history looks like.

use crate::domain::audit::AuditEvent;
use crate::domain::ids::Actor;
use crate::domain::ids::Principal;
use crate::domain::request::{Request, State, Status, Target};
use crate::service::notice::{DriftKind, Found, LookupSubject, ThreadNote};

use super::*;

/// One line per request: id, state, role, requester, approvers, cut-off, time, reason.
pub fn request_line(r: &Request) -> Msg {
    request_head(r).lit(": ").text(r.reason().to_string())
}

/// A request's line without its reason.
fn request_head(r: &Request) -> Msg {
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
}

pub(super) fn actor(a: &Actor) -> Msg {
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

pub(super) fn found_sections(found: &Found) -> Vec<Msg> {
    match found {
        Found::One {
            request,
            events,
            not_verified,
        } => {
            // The whole text (the card shortens long roles and reasons): lines packed into
            // sections that each stay within Slack's limit; what the chain does not back is
            // marked.
            let mut lines = vec![
                Msg::new()
                    .lit("*Reason*: ")
                    .text(request.reason().to_string()),
            ];
            if let Target::PermissionSet(ps) = request.target() {
                let accounts: Vec<String> = ps.accounts.iter().map(|a| a.to_string()).collect();
                // A line of at most 100 account ids (1,400 characters) fits any section.
                for (i, chunk) in accounts.chunks(100).enumerate() {
                    let head = if i == 0 { "*Accounts*: " } else { "" };
                    lines.push(Msg::new().lit(head).text(chunk.join(", ")));
                }
            }
            lines.extend(events.iter().enumerate().map(|(i, e)| {
                let mark = not_verified.event(i).map(not_verified_mark);
                mark.unwrap_or_default().append(event_line(e))
            }));
            let mut head = Msg::new()
                .lit("*Request ")
                .text(request.id().to_string())
                .lit("*\n");
            if let Some(why) = &not_verified.request {
                head = head.append(not_verified_mark(why));
            }
            let mut out = pack(head.append(request_head(request)), lines);
            if let Some(w) = request.preview().and_then(|p| p.who_can_come_back.as_ref()) {
                out.extend(pack(
                    Msg::new().lit("*Who can assume the role again*"),
                    who_can_come_back_full(w),
                ));
            }
            out
        }
        Found::Many {
            page,
            about,
            limit,
            not_verified,
        } => {
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
            let lines = page.items.iter().map(|r| {
                let mark = not_verified
                    .iter()
                    .find(|(id, _)| id == r.id())
                    .map(|(_, why)| not_verified_mark(why));
                mark.unwrap_or_default().append(request_line(r))
            });
            out.extend(pack(Msg::new(), lines.collect()));
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

/// What a lookup shows but the chain does not back (README "The audit table (DynamoDB)"); `why` may quote
/// stored text, so it is escaped.
fn not_verified_mark(why: &str) -> Msg {
    Msg::new()
        .lit(":warning: *NOT VERIFIED* (")
        .text(why.to_string())
        .lit(", see `revoke-role-bot audit verify`) ")
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

pub(super) fn principals(list: &[Principal]) -> Msg {
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
                Target::User(u) => Msg::new().lit("user ").code(u.arn.to_string()),
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

// ---- who can come back (README "The request form, and who can come back") ----

/// The button a thread note offers, if any: its label, `action_id` and `value`.
pub fn thread_note_button(n: &ThreadNote) -> Option<(&'static str, &'static str, String)> {
    match n {
        ThreadNote::Drift { id, .. } => Some(("Re-apply", REAPPLY_ACTION, id.to_string())),
        _ => None,
    }
}

/// The `action_id` of the button that opens a request to re-apply a revocation after drift.
pub const REAPPLY_ACTION: &str = "reapply";
