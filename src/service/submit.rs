//! A new request (README "Using it in Slack"–§3): the requester may ask, the role resolves to what IAM really holds,
//! no protection applies to that canonical role, and the request with its first event is written
//! before the card is posted.

use std::sync::Arc;

use tracing::{error, info, warn};

use super::notice::{Notice, SubmitRefusal};
use super::{App, CommandContext};
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::ids::{Actor, RequestId};
use crate::domain::request::{NewRequest, Request};
use crate::domain::role_arn::{RoleArn, RoleSpec};
use crate::ports::{RoleInfo, StoreError, error_chain};

/// A refusal with, where there is one, AWS's full error for the log and the audit record.
pub(super) struct Refused {
    why: SubmitRefusal,
    role_text: String,
    full_error: Option<String>,
}

impl Refused {
    pub(super) fn new(why: SubmitRefusal, role_text: impl Into<String>) -> Box<Self> {
        Box::new(Refused {
            why,
            role_text: role_text.into(),
            full_error: None,
        })
    }

    pub(super) fn with_error(mut self: Box<Self>, full: String) -> Box<Self> {
        self.full_error = Some(full);
        self
    }
}

impl App {
    #[tracing::instrument(name = "revoke_request", skip_all,
        fields(user = %ctx.user, role = %spec, request_id = tracing::field::Empty))]
    pub(super) async fn submit(
        self: Arc<Self>,
        ctx: CommandContext,
        spec: RoleSpec,
        reason: String,
    ) {
        if let Some(name) = self.reserved_role_permission_set(&spec) {
            // An Identity Center role: its sessions are revoked through its permission set.
            return self.submit_permission_set(ctx, name, reason).await;
        }
        let checked = match self.check(&ctx, &spec).await {
            Ok(c) => c,
            Err(refused) => return self.refuse(&ctx, &reason, refused).await,
        };
        let (info, preview) = checked;
        let request = Request::pending(
            NewRequest {
                role: info.arn.clone(),
                requester: ctx.user.clone(),
                reason: reason.clone(),
                channel: ctx.channel.clone(),
                approvals_required: self.settings.approvals_required,
                preview: Some(preview),
            },
            self.clock.now(),
            self.request_lifetime(),
        );
        self.open_request(&ctx, request, None).await;
    }

    /// How long a new request waits for its approvals (`expires_after`). Shared by role and
    /// permission-set requests.
    pub(super) fn request_lifetime(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.expires_after)
            .unwrap_or(chrono::Duration::minutes(30))
    }

    /// Record a checked request with its `requested` event (once per delivery), then post its
    /// card. Shared by role and permission-set requests. The request id joins the caller's span.
    pub(super) async fn open_request(
        &self,
        ctx: &CommandContext,
        request: Request,
        detail: Option<String>,
    ) {
        tracing::Span::current().record("request_id", tracing::field::display(request.id()));
        let mut event = EventDraft::by(
            request.id().clone(),
            EventKind::Requested,
            &Actor::User(ctx.user.clone()),
            request.created_at(),
        )
        .with_role_text(&request.target_arn())
        .with_reason(request.reason());
        if let Some(detail) = detail {
            event = event.with_detail(detail);
        }
        let key = ctx.trigger_id.as_deref().map(|t| format!("trigger#{t}"));
        match self.create(&request, event, key.as_deref()).await {
            Ok(_) => {}
            Err(StoreError::Duplicate) => {
                info!("slash command redelivered; the first delivery handles it");
                return;
            }
            Err(e) => {
                error!(error = %error_chain(&e), "could not record the request");
                return self
                    .tell(&ctx.response_url, Notice::RequestNotRecorded)
                    .await;
            }
        }
        info!(target = %request.target_arn(), "request created");
        self.post_card(ctx, &request).await;
    }

    /// Everything that decides whether the request may exist. Returns what IAM holds for the role
    /// and the impact preview.
    async fn check(
        &self,
        ctx: &CommandContext,
        spec: &RoleSpec,
    ) -> Result<(RoleInfo, crate::domain::preview::RolePreview), Box<Refused>> {
        self.check_requester(ctx, &spec.to_string()).await?;
        let typed = self
            .settings
            .resolve_role(spec)
            .map_err(|e| Refused::new(SubmitRefusal::Unresolvable(e), spec.to_string()))?;
        // What was typed may already be refused (an Identity Center name, a protected pattern):
        // refusing early is safe. Allowing is decided only on the canonical ARN below.
        self.refuse_if_protected(&typed)?;
        // The preview reads need only the role's name: they run alongside `GetRole`, and nothing
        // is shown or written unless `GetRole` allows it.
        let (role, details) =
            tokio::join!(self.iam.get_role(&typed), self.iam.role_details(&typed));
        let info = role.map_err(|e| {
            warn!(error = %e.full(), "role lookup failed");
            Refused::new(
                SubmitRefusal::Iam {
                    role: typed.clone(),
                    failure: e.failure(),
                },
                typed.to_string(),
            )
            .with_error(e.full())
        })?;
        let canonical = &info.arn;
        if canonical.account() != typed.account() {
            // IAM is addressed by name only: these credentials answer for another account.
            return Err(Refused::new(
                SubmitRefusal::WrongCredentials {
                    account: typed.account().to_string(),
                    actual: canonical.account().to_string(),
                },
                typed.to_string(),
            ));
        }
        if canonical.partition() != typed.partition() || canonical.name() != typed.name() {
            return Err(Refused::new(
                SubmitRefusal::Mismatch {
                    typed: typed.clone(),
                    actual: canonical.clone(),
                },
                typed.to_string(),
            ));
        }
        self.refuse_if_protected(canonical)?;
        let details = details.map_err(|e| {
            warn!(error = %e.full(), "role preview failed");
            Refused::new(
                SubmitRefusal::Iam {
                    role: canonical.clone(),
                    failure: e.failure(),
                },
                canonical.to_string(),
            )
            .with_error(e.full())
        })?;
        let configured: Vec<_> = self
            .settings
            .accounts
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let preview = info.preview(&details, &configured);
        Ok((info, preview))
    }

    /// The requester must be on `requesters` (directly or through a group Slack confirms).
    pub(super) async fn check_requester(
        &self,
        ctx: &CommandContext,
        target_text: &str,
    ) -> Result<(), Box<Refused>> {
        match self
            .authz
            .is_member(&self.settings.requesters, &ctx.user)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refused::new(SubmitRefusal::NotARequester, target_text)),
            Err(e) => {
                warn!(error = %error_chain(&e), "membership check failed");
                Err(Refused::new(SubmitRefusal::MembershipUnknown, target_text))
            }
        }
    }

    fn refuse_if_protected(&self, role: &RoleArn) -> Result<(), Box<Refused>> {
        match self.protection.check(role) {
            None => Ok(()),
            Some(protection) => Err(Refused::new(
                SubmitRefusal::Protected {
                    role: role.clone(),
                    protection,
                },
                role.to_string(),
            )),
        }
    }

    pub(super) async fn refuse(&self, ctx: &CommandContext, reason: &str, refused: Box<Refused>) {
        info!(why = refused.why.code(), "request refused");
        let mut event = EventDraft::by(
            RequestId::generate(),
            EventKind::RequestRefused,
            &Actor::User(ctx.user.clone()),
            self.clock.now(),
        )
        .with_role_text(&refused.role_text)
        .with_reason(reason)
        .with_detail(refused.why.code().to_string());
        if let Some(full) = refused.full_error {
            event = event.with_error(full);
        }
        let recorded = match self.record(event).await {
            Ok(_) => true,
            Err(e) => {
                error!(error = %error_chain(&e), "could not record a refused request");
                false
            }
        };
        self.tell(
            &ctx.response_url,
            Notice::RequestRefused {
                why: refused.why,
                recorded,
            },
        )
        .await;
    }
}
