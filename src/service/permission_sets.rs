//! Permission-set requests (README "Identity Center permission sets"): `/revoke-role permission-set <name|ARN> <reason>`, or an
//! `AWSReservedSSO_*` role when `[identity_center]` is configured. Checked against Identity
//! Center, then the same lifecycle as a role request; `apply` writes the permission set's inline
//! policy and provisions it.

use std::sync::Arc;

use tracing::warn;

use super::notice::SubmitRefusal;
use super::submit::Refused;
use super::{App, CommandContext};
use crate::domain::permission_set::{PermissionSetTarget, name_from_reserved_role};
use crate::domain::policy::{DocumentShape, Existing, read_existing};
use crate::domain::protection::is_identity_center_role;
use crate::domain::request::{Request, Target};
use crate::domain::role_arn::RoleSpec;

/// Room the deny statement needs in a permission set's inline policy (the bot's whole document is 163
/// characters without whitespace; the rest is margin): a request is refused up front when it would not fit.
const DENY_STATEMENT_ROOM: usize = 300;

impl App {
    /// The permission set an `AWSReservedSSO_*` role stands for, when Identity Center is
    /// configured (otherwise the role is refused as protected, with how to configure it).
    pub(super) fn reserved_role_permission_set(&self, spec: &RoleSpec) -> Option<String> {
        self.settings.identity_center.as_ref()?;
        let typed = self.settings.resolve_role(spec).ok()?;
        if !is_identity_center_role(&typed) {
            return None;
        }
        name_from_reserved_role(&typed).map(str::to_string)
    }

    #[tracing::instrument(name = "permission_set_request", skip_all,
        fields(user = %ctx.user, permission_set = %name, request_id = tracing::field::Empty))]
    pub(super) async fn submit_permission_set(
        self: Arc<Self>,
        ctx: CommandContext,
        name: String,
        reason: String,
    ) {
        let target = match self.check_permission_set(&ctx, &name).await {
            Ok(t) => t,
            Err(refused) => return self.refuse(&ctx, &reason, refused).await,
        };
        let request = Request::pending_target(
            Target::PermissionSet(target),
            ctx.user.clone(),
            reason.clone(),
            ctx.channel.clone(),
            self.settings.approvals_required,
            self.clock.now(),
            self.request_lifetime(),
        );
        let detail = format!(
            "permission set {} provisioned to {}",
            request.target_name(),
            request
                .permission_set()
                .map(|p| p
                    .accounts
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default()
        );
        self.open_request(&ctx, request, Some(detail)).await;
    }

    async fn check_permission_set(
        &self,
        ctx: &CommandContext,
        name: &str,
    ) -> Result<PermissionSetTarget, Box<Refused>> {
        self.check_requester(ctx, name).await?;
        let (Some(ic), Some(config)) = (&self.identity_center, &self.settings.identity_center)
        else {
            return Err(Refused::new(
                SubmitRefusal::IdentityCenterNotConfigured,
                name,
            ));
        };
        let failed = |e: crate::ports::IamError| {
            warn!(error = %e.full(), "permission set lookup failed");
            Refused::new(
                SubmitRefusal::IdentityCenter {
                    action: e.action.to_string(),
                },
                name,
            )
            .with_error(e.full())
        };
        let info = ic
            .find_permission_set(name)
            .await
            .map_err(failed)?
            .ok_or_else(|| {
                Refused::new(
                    SubmitRefusal::UnknownPermissionSet {
                        name: name.to_string(),
                    },
                    name,
                )
            })?;
        if self.protection.permission_set_protected(&info.name) {
            return Err(Refused::new(
                SubmitRefusal::PermissionSetProtected {
                    name: info.name.clone(),
                },
                info.arn.clone(),
            ));
        }
        let (accounts, policy, owner) = tokio::join!(
            ic.provisioned_accounts(&info.arn),
            ic.get_inline_policy(&info.arn),
            ic.instance_owner()
        );
        let accounts = accounts.map_err(failed)?;
        let policy = policy.map_err(failed)?;
        let owner = owner.map_err(failed)?;
        // A delegated administrator cannot change a permission set provisioned to the
        // management account (the instance's owner): refused before a card offers an approval
        // that would fail after the write (README, "Identity Center permission sets").
        if owner != config.account && accounts.contains(&owner) {
            return Err(Refused::new(
                SubmitRefusal::PermissionSetInManagementAccount {
                    name: info.name.clone(),
                    management: owner.to_string(),
                },
                info.arn.clone(),
            ));
        }
        let (existing_cutoff, used) = match read_existing(policy.as_deref()) {
            Existing::Absent => (None, 0),
            Existing::Understood(p) => (
                p.cutoff(),
                policy
                    .as_deref()
                    .map_or(0, |d| d.chars().filter(|c| !c.is_whitespace()).count()),
            ),
            // Not understood: shown on the card's preview as used space; `apply` refuses to
            // overwrite it and says why.
            Existing::NotUnderstood { document, .. } => (None, document.len()),
        };
        let quota = DocumentShape::PermissionSetInlinePolicy.quota();
        if used + DENY_STATEMENT_ROOM > quota {
            return Err(Refused::new(
                SubmitRefusal::PermissionSetPolicyFull {
                    name: info.name.clone(),
                    used,
                },
                info.arn.clone(),
            ));
        }
        Ok(PermissionSetTarget {
            instance_arn: config.instance_arn.clone(),
            arn: info.arn,
            name: info.name,
            accounts,
            session_duration: info.session_duration,
            inline_policy_chars_used: used,
            existing_cutoff,
        })
    }
}
