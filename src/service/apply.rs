//! The revocation (README "Using it in Slack"): write the request's one cut-off, read it back, record the outcome.
//! The cut-off was decided when the request was approved; every retry, recovery pass and replica
//! writes that same cut-off, never a later one.

use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::App;
use super::slot::{Provision, Slot};
use crate::domain::audit::Witness;
use crate::domain::ids::RequestId;
use crate::domain::permission_set::PermissionSetTarget;
use crate::domain::policy::Cutoff;
use crate::domain::request::{Failure, Request, State, Target, Written};
use crate::domain::role_arn::RoleArn;
use crate::ports::{APPLY_LEASE, APPLY_LEASE_RENEWAL, IamError, error_chain, lease_end};

/// The apply lease this worker holds (README, "Identity Center"): renewed for as long as the work
/// runs; when another worker has taken it, this worker stops and records nothing.
pub(super) struct Lease {
    id: RequestId,
    /// Until when it is held, as the store last recorded it. Locked across each store call under
    /// the lease, so a renewal and a write under the lease never race each other's condition.
    until: tokio::sync::Mutex<DateTime<Utc>>,
    lost: CancellationToken,
}

impl Lease {
    fn new(id: RequestId, until: DateTime<Utc>) -> Self {
        Lease {
            id,
            until: tokio::sync::Mutex::new(until),
            lost: CancellationToken::new(),
        }
    }

    fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }
}

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
        let claimed_at = self.clock.now();
        match self.store.claim(request.id(), claimed_at).await {
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
        let lease = Lease::new(request.id().clone(), lease_end(claimed_at, APPLY_LEASE));
        let work = async {
            match request.target() {
                Target::Role(role) => self.write_role(role, cutoff).await,
                Target::PermissionSet(ps) => {
                    self.write_permission_set(&request, ps, cutoff, &lease)
                        .await
                }
                // No command makes user requests yet (README "Leaked access keys and IAM users").
                Target::User(_) => Err(NotApplied::plain(
                    Failure::Aws {
                        action: "UpdateAccessKey".into(),
                    },
                    "user requests are not carried out by this version",
                )),
            }
        };
        // The work runs while the lease is renewed beside it; it stops when another worker has
        // taken the lease (this one could not renew it in time), which then finishes the work
        // and records the outcome.
        let result = tokio::select! {
            result = work => result,
            () = self.keep_lease(&lease) => Err(NotApplied::plain(Failure::ProvisioningTimedOut, "the apply lease was lost")),
        };
        if lease.is_lost() {
            warn!("another worker took over the apply lease; stopping without an outcome");
            return None;
        }
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

    /// Renew `lease` every [`APPLY_LEASE_RENEWAL`] for as long as this future runs; returns only
    /// when the lease is lost (another worker holds it, or the request is no longer approved).
    async fn keep_lease(&self, lease: &Lease) {
        loop {
            tokio::select! {
                () = lease.lost.cancelled() => return,
                () = tokio::time::sleep(APPLY_LEASE_RENEWAL) => {}
            }
            let mut until = lease.until.lock().await;
            let now = self.clock.now();
            match self.store.renew_claim(&lease.id, *until, now).await {
                Ok(true) => *until = lease_end(now, APPLY_LEASE),
                Ok(false) => {
                    lease.lost.cancel();
                    return;
                }
                // The lease may still be held until it runs out: try again at the next renewal.
                Err(e) => warn!(error = %error_chain(&e), "could not renew the apply lease"),
            }
        }
    }

    /// Store the provisioning this worker started, under its lease, so that recovery resumes the
    /// wait on it. `false` when the lease is lost; a store that cannot answer is not a lost lease
    /// (recovery would then provision again).
    pub(super) async fn record_provisioning(&self, lease: &Lease, provisioning: &str) -> bool {
        let until = lease.until.lock().await;
        match self
            .store
            .set_provisioning(&lease.id, *until, provisioning)
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                lease.lost.cancel();
                false
            }
            Err(e) => {
                warn!(error = %error_chain(&e), provisioning, "could not store the provisioning request id");
                true
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
        let mut written = self
            .write_slot(Slot::Role(role), current, ours, None)
            .await?;
        // Kept for clean-up: its window is the longest session length seen, this one included.
        written.session_secs_at_apply = info.max_session_duration_secs.map(i64::from);
        Ok(written)
    }

    /// A permission set: re-check it against Identity Center (the request item is not trusted
    /// blindly: protection is matched on the name `DescribePermissionSet` returns for the stored
    /// ARN), write its inline policy, then provision it to every account and wait for that.
    async fn write_permission_set(
        &self,
        request: &Request,
        ps: &PermissionSetTarget,
        ours: Cutoff,
        lease: &Lease,
    ) -> Result<Written, NotApplied> {
        let Some(ic) = &self.identity_center else {
            return Err(NotApplied::plain(
                Failure::IdentityCenterNotConfigured,
                "[identity_center] is not configured",
            ));
        };
        // The provisioning an earlier worker started: stored beside the request, possibly after
        // this worker read it.
        let started = match self.store.get(request.id()).await {
            Ok(Some(stored)) => stored.provisioning().map(str::to_string),
            _ => request.provisioning().map(str::to_string),
        };
        let (found, current) = tokio::join!(
            ic.find_permission_set(&ps.arn),
            ic.get_inline_policy(&ps.arn)
        );
        let Some(info) = found.map_err(NotApplied::iam)? else {
            return Err(NotApplied::plain(
                Failure::RoleNotFound,
                format!("permission set {} not found", ps.arn),
            ));
        };
        if info.arn != ps.arn {
            return Err(NotApplied::plain(
                Failure::RoleChanged {
                    now: info.arn.clone(),
                },
                format!("DescribePermissionSet returned {} for {}", info.arn, ps.arn),
            ));
        }
        if self.protection.permission_set_protected(&info.name) {
            return Err(NotApplied::plain(
                Failure::Protected {
                    protection: crate::domain::protection::Protection::Configured {
                        pattern: "identity_center.protect".into(),
                    },
                },
                format!(
                    "permission set {} ({}) is protected; the request names it {}",
                    info.name, info.arn, ps.name
                ),
            ));
        }
        let current = current.map_err(NotApplied::iam)?;
        let provision = Provision {
            request,
            lease,
            started,
        };
        self.write_slot(Slot::PermissionSet(ps), current, ours, Some(provision))
            .await
    }
}
