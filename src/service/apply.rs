//! The revocation (SPEC §4): write the request's one cut-off, read it back, record the outcome.
//! The cut-off was decided when the request was approved; every retry, recovery pass and replica
//! writes that same cut-off, never a later one.

use std::time::Instant;

use tracing::{error, info};

use super::App;
use super::slot::Slot;
use crate::domain::audit::Witness;
use crate::domain::permission_set::PermissionSetTarget;
use crate::domain::policy::Cutoff;
use crate::domain::request::{Failure, Request, State, Target, Written};
use crate::domain::role_arn::RoleArn;
use crate::ports::{IamError, error_chain};

/// Why the policy was not (known to be) written: what to tell people, and AWS's whole error.
pub(super) struct NotApplied {
    pub(super) failure: Failure,
    pub(super) full: String,
}

impl NotApplied {
    pub(super) fn iam(e: IamError) -> Self {
        NotApplied {
            failure: e.failure(),
            full: e.full(),
        }
    }
    pub(super) fn plain(failure: Failure, full: impl Into<String>) -> Self {
        NotApplied {
            failure,
            full: full.into(),
        }
    }
}

impl App {
    /// Write the deny policy for an `approved` request, verify it, record the outcome and show it.
    #[tracing::instrument(skip_all, fields(request_id = %request.id()))]
    pub async fn apply(&self, request: Request) {
        if let Some((done, witness)) = self.write_and_record(request, None).await {
            self.show_outcome(&done, witness).await;
        }
    }

    /// `apply` without the card update: the recorded outcome and its place in the chain, if this
    /// worker recorded one. `approved_at`, when known, times the step for `/metrics`.
    pub(super) async fn write_and_record(
        &self,
        request: Request,
        approved_at: Option<Instant>,
    ) -> Option<(Request, Witness)> {
        match self.store.claim(request.id(), self.clock.now()).await {
            Ok(true) => {}
            Ok(false) => {
                info!("another worker is applying this request");
                return None;
            }
            Err(e) => {
                // Nothing is written without the lease; recovery tries again.
                error!(error = %error_chain(&e), "could not take the apply lease");
                return None;
            }
        }
        let Some(cutoff) = request.cutoff() else {
            error!(
                state = request.state().as_str(),
                "not an approved request; nothing written"
            );
            return None;
        };
        let result = match request.target() {
            Target::Role(role) => self.write_role(role, cutoff).await,
            Target::PermissionSet(ps) => self.write_permission_set(&request, ps, cutoff).await,
            // No command makes user requests yet (README "Leaked access keys and IAM users").
            Target::User(_) => Err(NotApplied::plain(
                Failure::Aws {
                    action: "UpdateAccessKey".into(),
                },
                "user requests are not carried out by this version",
            )),
        };
        let now = self.clock.now();
        let transition = match result {
            Ok(written) => request.applied(written, now),
            Err(not) => {
                error!(target = %request.target_arn(), error = %not.full, failure = ?not.failure, "revocation failed");
                request.failed(not.failure, &not.full, now)
            }
        };
        let t = match transition {
            Ok(t) => t,
            Err(e) => {
                error!(error = %e, "outcome does not follow from the stored state");
                return None;
            }
        };
        match self.transition(&t.next, t.event).await {
            Ok(appended) => {
                info!(state = t.next.state().as_str(), "revocation finished");
                if let (Some(at), State::Applied) = (approved_at, t.next.state()) {
                    self.metrics.approval_to_policy(at.elapsed());
                }
                Some((t.next, Witness::of(&appended)))
            }
            Err(crate::ports::StoreError::Conflict) => {
                info!("another worker recorded the outcome first");
                None
            }
            Err(e) => {
                // The request stays `approved` with its cut-off; recovery finishes it once the
                // store is back, writing that same cut-off again.
                error!(error = %error_chain(&e), "could not record the outcome; recovery will retry");
                None
            }
        }
    }

    /// A role: re-check it against IAM (the request item is not trusted blindly), then write.
    async fn write_role(&self, role: &RoleArn, ours: Cutoff) -> Result<Written, NotApplied> {
        // The role decides whether we may write at all, the current policy what we write: read
        // both at once.
        let (info, current) =
            tokio::join!(self.iam.get_role(role), self.iam.get_revoke_policy(role));
        let info = info.map_err(NotApplied::iam)?;
        if info.arn.account() != role.account()
            || info.arn.partition() != role.partition()
            || info.arn.name() != role.name()
        {
            return Err(NotApplied::plain(
                Failure::RoleChanged {
                    now: info.arn.to_string(),
                },
                format!("GetRole returned {} for {role}", info.arn),
            ));
        }
        if let Some(protection) = self.protection.check(&info.arn) {
            return Err(NotApplied::plain(
                Failure::Protected { protection },
                format!("{} is protected", info.arn),
            ));
        }
        let current = current.map_err(NotApplied::iam)?;
        self.write_slot(Slot::Role(role), current, ours, None).await
    }

    /// A permission set: re-check it exists and is not protected, write its inline policy, then
    /// provision it to every account and wait for that.
    async fn write_permission_set(
        &self,
        request: &Request,
        ps: &PermissionSetTarget,
        ours: Cutoff,
    ) -> Result<Written, NotApplied> {
        let Some(ic) = &self.identity_center else {
            return Err(NotApplied::plain(
                Failure::IdentityCenterNotConfigured,
                "[identity_center] is not configured",
            ));
        };
        let (found, current) = tokio::join!(
            ic.find_permission_set(&ps.arn),
            ic.get_inline_policy(&ps.arn)
        );
        if found.map_err(NotApplied::iam)?.is_none() {
            return Err(NotApplied::plain(
                Failure::RoleNotFound,
                format!("permission set {} not found", ps.arn),
            ));
        }
        if self.protection.permission_set_protected(&ps.name) {
            return Err(NotApplied::plain(
                Failure::Protected {
                    protection: crate::domain::protection::Protection::Configured {
                        pattern: "identity_center.protect".into(),
                    },
                },
                format!("permission set {} is protected", ps.name),
            ));
        }
        let current = current.map_err(NotApplied::iam)?;
        self.write_slot(Slot::PermissionSet(ps), current, ours, Some(request))
            .await
    }
}
