//! The request form (README "The request form, and who can come back"): `/revoke-role` with no arguments opens a form with the role chosen
//! by type-ahead over the configured accounts' roles and a required reason; submitting it makes the
//! same request as the one-line form, through `App::submit`.
//!
//! What can be checked without a network call (a role chosen, the reason's length, the role in a
//! configured account, the protection rules) is answered in the form itself, within Slack's 3 s.
//! What needs Slack or IAM (the requester list, `GetRole`, the canonical role) runs after the form
//! closes, exactly as for the one-line form, and a refusal arrives as an ephemeral message in the
//! channel the command came from: those calls retry and can outlast the 3 s a form may wait.

use std::sync::Arc;
use std::time::Duration;

use tracing::{Instrument, info, info_span, warn};

use super::notice::{Notice, ResolveError};
use super::{App, CommandContext, ReplyTo};
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::command::{REASON_MAX, REASON_MIN};
use crate::domain::ids::{Actor, ChannelId, RequestId, SlackUserId};
use crate::domain::protection::Protection;
use crate::domain::role_arn::{RoleArn, RoleSpec};
use crate::ports::{ROLE_LIST_MAX, error_chain};

/// How long the type-ahead waits on IAM: Slack drops an options answer after 3 s.
pub const OPTIONS_BUDGET: Duration = Duration::from_millis(2_500);

pub use crate::notice::RequestForm;

/// A submitted form, as Slack sent it (after the signature check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSubmission {
    pub user: SlackUserId,
    /// From the form's private metadata, set when it was opened.
    pub channel: ChannelId,
    /// Slack's id of the form: one request per form, however often the submission arrives.
    pub view_id: String,
    /// The chosen option's value: a role ARN or `account/RoleName`.
    pub role: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Role,
    Reason,
}

/// Why a form was refused before it closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormProblem {
    NoRole,
    ReasonLength {
        len: usize,
    },
    BadRole(String),
    Unresolvable(ResolveError),
    Protected {
        role: RoleArn,
        protection: Protection,
    },
    ChannelNotAllowed,
}

/// One role offered by the type-ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleOption {
    pub role: RoleArn,
    pub account_name: Option<String>,
    /// Set when the role would be refused: offered, but marked.
    pub protection: Option<Protection>,
}

/// The type-ahead's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleOptions {
    Roles {
        options: Vec<RoleOption>,
        /// More roles matched than are shown: type more of the name.
        more: bool,
        /// Accounts whose roles could not be listed (name or id).
        unavailable: Vec<String>,
    },
    NotARequester,
    MembershipUnknown,
}

impl App {
    /// Open the form for a slash command with no arguments; if Slack refuses, say so.
    #[tracing::instrument(skip_all, fields(user = %ctx.user))]
    pub(super) async fn open_form(
        self: Arc<Self>,
        ctx: CommandContext,
        trigger: String,
        trigger_expires: tokio::time::Instant,
    ) {
        let form = RequestForm {
            channel: ctx.channel.clone(),
            trigger_expires,
        };
        if let Err(e) = self.slack.open_request_form(&trigger, &form).await {
            warn!(error = %e, "could not open the request form");
            self.tell(
                &ctx.response_url,
                Notice::FormNotOpened {
                    slack_error: e.reason(),
                },
            )
            .await;
        }
    }

    /// The roles whose name contains `query`, across the configured accounts, for a requester.
    /// Role names are not shown to someone who may not ask for a revocation.
    pub async fn role_options(&self, user: &SlackUserId, query: &str) -> RoleOptions {
        // One budget for the whole answer: the membership check (through Slack for user groups)
        // and the listing together.
        let deadline = tokio::time::Instant::now() + OPTIONS_BUDGET;
        let member = tokio::time::timeout_at(
            deadline,
            self.authz.is_member(&self.settings.requesters, user),
        )
        .await;
        match member {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return RoleOptions::NotARequester,
            Ok(Err(e)) => {
                warn!(error = %error_chain(&e), "membership check failed");
                return RoleOptions::MembershipUnknown;
            }
            Err(_) => {
                warn!("membership check took too long for the type-ahead");
                return RoleOptions::MembershipUnknown;
            }
        }
        let query = query.trim().to_lowercase();
        // Each account's list comes from the cache (`role_cache`): a keystroke costs IAM nothing
        // while the list is younger than a minute.
        let lists =
            futures_util::future::join_all(self.settings.accounts.iter().map(|a| async move {
                (
                    a,
                    tokio::time::timeout_at(deadline, self.roles.roles(&a.id)).await,
                )
            }))
            .await;
        let mut options = Vec::new();
        let mut more = false;
        let mut unavailable = Vec::new();
        for (account, listed) in lists {
            let list = match listed {
                Ok(Ok(list)) => list,
                Ok(Err(e)) => {
                    warn!(account = %account.id, error = %e.full(), "could not list roles");
                    unavailable.push(label(account));
                    continue;
                }
                Err(_) => {
                    warn!(account = %account.id, "listing roles took too long");
                    unavailable.push(label(account));
                    continue;
                }
            };
            more |= list.more;
            let matching = list
                .roles
                .iter()
                // IAM answers for the account the credentials belong to: show only what is here.
                .filter(|role| role.account() == &account.id)
                .filter(|role| role.name().to_lowercase().contains(&query));
            for role in matching {
                if options.len() == ROLE_LIST_MAX {
                    more = true;
                    break;
                }
                options.push(RoleOption {
                    protection: self.form_protection(role),
                    account_name: account.name.clone(),
                    role: role.clone(),
                });
            }
        }
        RoleOptions::Roles {
            options,
            more,
            unavailable,
        }
    }

    /// The protection that refuses `role` here, unless the role stands for an Identity Center
    /// permission set the bot is configured to revoke.
    fn form_protection(&self, role: &RoleArn) -> Option<Protection> {
        if self
            .reserved_role_permission_set(&RoleSpec::Arn(role.clone()))
            .is_some()
        {
            return None;
        }
        self.protection.check(role)
    }

    /// A submitted form: refuse at once what needs no network call, or start the same request as
    /// the one-line form (its answers arrive as ephemeral messages in the form's channel).
    pub fn on_form_submission(
        self: &Arc<Self>,
        form: FormSubmission,
    ) -> Result<(), Vec<(FormField, FormProblem)>> {
        let mut problems = Vec::new();
        if !self.channel_allowed(&form.channel) {
            problems.push((FormField::Role, FormProblem::ChannelNotAllowed));
        }
        let spec = match form.role.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push((FormField::Role, FormProblem::NoRole));
                None
            }
            Some(v) if v.starts_with('!') => {
                // A placeholder option (no roles could be listed): not a role.
                problems.push((FormField::Role, FormProblem::NoRole));
                None
            }
            Some(v) => match RoleSpec::parse(v) {
                Ok(spec) => Some(spec),
                Err(e) => {
                    problems.push((FormField::Role, FormProblem::BadRole(e.0)));
                    None
                }
            },
        };
        let reason = form.reason.as_deref().map(str::trim).unwrap_or_default();
        let len = reason.chars().count();
        if !(REASON_MIN..=REASON_MAX).contains(&len) {
            problems.push((FormField::Reason, FormProblem::ReasonLength { len }));
        }
        if let Some(spec) = &spec
            && self.reserved_role_permission_set(spec).is_none()
        {
            match self.settings.resolve_role(spec) {
                Err(e) => {
                    let role_text = form.role.clone().unwrap_or_default();
                    self.record_form_refusal(&form, &role_text, reason, "unresolvable_role");
                    problems.push((FormField::Role, FormProblem::Unresolvable(e)));
                }
                Ok(arn) => {
                    // Refusing on what was chosen is safe; allowing is decided on the canonical
                    // role IAM returns, as for the one-line form.
                    if let Some(protection) = self.protection.check(&arn) {
                        self.record_form_refusal(&form, &arn.to_string(), reason, "protected_role");
                        problems.push((
                            FormField::Role,
                            FormProblem::Protected {
                                role: arn,
                                protection,
                            },
                        ));
                    }
                }
            }
        }
        let Some(spec) = spec.filter(|_| problems.is_empty()) else {
            info!(problems = problems.len(), "request form refused");
            return Err(problems);
        };
        let ctx = CommandContext {
            user: form.user.clone(),
            channel: form.channel.clone(),
            text: String::new(),
            response_url: ReplyTo::Ephemeral {
                channel: form.channel.clone(),
                user: form.user.clone(),
            },
            trigger_id: Some(format!("view:{}", form.view_id)),
        };
        let app = self.clone();
        let reason = reason.to_string();
        self.spawn(
            async move { app.submit(ctx, spec, reason).await }.instrument(info_span!("form")),
        );
        Ok(())
    }

    fn record_form_refusal(
        self: &Arc<Self>,
        form: &FormSubmission,
        role: &str,
        reason: &str,
        code: &str,
    ) {
        let event = EventDraft::by(
            RequestId::generate(),
            EventKind::RequestRefused,
            &Actor::User(form.user.clone()),
            self.clock.now(),
        )
        .with_role_text(role)
        .with_reason(reason)
        .with_detail(code.to_string());
        let app = self.clone();
        self.spawn(async move { app.record_quietly(event).await });
    }
}

fn label(a: &crate::config::Account) -> String {
    a.name.clone().unwrap_or_else(|| a.id.to_string())
}
