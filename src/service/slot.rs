//! Writing one deny (README "Using it in Slack"): read, plan forward-only, write, provision a permission set, and
//! read back until IAM shows it. Shared by role and permission-set revocations.

use std::time::Duration;

use tracing::{info, warn};

use super::App;
use super::apply::{Lease, NotApplied};
use super::notice::ThreadNote;
use crate::domain::permission_set::PermissionSetTarget;
use crate::domain::policy::{
    Cutoff, DocumentShape, Existing, MergeOutcome, Plan, Verification, plan, read_existing, verify,
};
use crate::domain::request::{Failure, Request, Written};
use crate::domain::role_arn::RoleArn;
use crate::ports::{IamError, IamErrorKind, Provisioning};

/// Pauses between read-backs that do not yet show the write (IAM is eventually consistent):
/// about 10 s in all before the write is reported as made but not verified.
pub const READ_BACK_BACKOFF: [Duration; 7] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(2),
    Duration::from_secs(2),
    Duration::from_secs(2),
];

/// Write rounds when a concurrent writer keeps moving the cut-off back.
const WRITE_ROUNDS: usize = 3;

/// Pauses between provisioning status checks: about two minutes in all.
pub const PROVISIONING_BACKOFF: [Duration; 9] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
    Duration::from_secs(15),
    Duration::from_secs(20),
    Duration::from_secs(25),
    Duration::from_secs(30),
];

/// Where the deny lives: a role's `AWSRevokeOlderSessions` policy, or a permission set's inline
/// policy. Both are read, planned, written and verified the same way.
#[derive(Clone, Copy)]
pub(super) enum Slot<'a> {
    Role(&'a RoleArn),
    PermissionSet(&'a PermissionSetTarget),
}

impl Slot<'_> {
    fn shape(&self) -> DocumentShape {
        match self {
            Slot::Role(_) => DocumentShape::RoleInlinePolicy,
            Slot::PermissionSet(_) => DocumentShape::PermissionSetInlinePolicy,
        }
    }
}

/// What provisioning a permission set's write needs: the request (for its thread), the lease the
/// work runs under, and the provisioning an earlier attempt started (stored beside the request).
pub(super) struct Provision<'a> {
    pub(super) request: &'a Request,
    pub(super) lease: &'a Lease,
    pub(super) started: Option<String>,
}

/// What one read-back showed.
enum ReadBack {
    Ours,
    /// A later cut-off is in force (another revocation landed meanwhile): it covers ours.
    Later(Cutoff),
    /// An earlier cut-off: a stale read, or another writer moved it back.
    Earlier,
    Missing,
    Other(String),
}

impl App {
    /// Read, plan forward-only, write, (provision), and read back. IAM has no conditional writes,
    /// so two revocations can interleave; the read-back settles it: a cut-off at or after ours is
    /// success, an earlier one means another writer moved it back (or AWS has not caught up), and
    /// we write again. A cut-off never moves backwards; other statements are never dropped; a
    /// document the bot does not fully understand is never overwritten.
    pub(super) async fn write_slot(
        &self,
        slot: Slot<'_>,
        mut current: Option<String>,
        ours: Cutoff,
        mut provision: Option<Provision<'_>>,
    ) -> Result<Written, NotApplied> {
        let mut first_outcome = None;
        for _ in 0..WRITE_ROUNDS {
            let existing = match read_existing(current.as_deref()) {
                Existing::NotUnderstood { reason, document } => {
                    return Err(NotApplied::plain(
                        Failure::PolicyNotUnderstood {
                            document: document.clone(),
                            why: reason.to_string(),
                        },
                        format!("not overwritten: {reason}: {document}"),
                    ));
                }
                other => other.into_policy().unwrap_or_default(),
            };
            let plan = plan(&existing, ours, slot.shape())
                .map_err(|e| NotApplied::plain(Failure::ReadBackDiffers, e.to_string()))?;
            let outcome = *first_outcome.get_or_insert(plan.outcome());
            if !plan.needs_write() {
                // Our own cut-off (an earlier attempt of this request wrote it) or a later one is
                // already in the document: nothing to write. In a permission set it is in force
                // only once provisioned: resume the provisioning an earlier attempt started, or
                // provision now.
                if let (Slot::PermissionSet(ps), Some(p)) = (slot, provision.as_mut()) {
                    self.provision(p, ps).await?;
                }
                return Ok(Written {
                    outcome: if plan.cutoff() == ours {
                        MergeOutcome::Created
                    } else {
                        MergeOutcome::AlreadyCovered
                    },
                    in_force: plan.cutoff(),
                    policy_sha256: plan.json().sha256(),
                    verified: true,
                    session_secs_at_apply: None,
                });
            }
            self.put_slot(slot, &plan).await?;
            if let (Slot::PermissionSet(ps), Some(p)) = (slot, provision.as_mut()) {
                // A provisioning started before this write does not carry it.
                p.started = None;
                self.provision(p, ps).await?;
            }
            match self.read_back(slot, &plan).await {
                ReadBack::Ours => {
                    return Ok(Written {
                        outcome,
                        in_force: plan.cutoff(),
                        policy_sha256: plan.json().sha256(),
                        verified: true,
                        session_secs_at_apply: None,
                    });
                }
                ReadBack::Later(later) => {
                    return Ok(Written {
                        outcome: MergeOutcome::AlreadyCovered,
                        in_force: later,
                        policy_sha256: plan.json().sha256(),
                        verified: true,
                        session_secs_at_apply: None,
                    });
                }
                ReadBack::Earlier => {
                    warn!(cutoff = %plan.cutoff(), "the cut-off is still earlier than ours after waiting: another writer moved it back; writing again");
                    current = self.read_slot(slot).await.map_err(NotApplied::iam)?;
                    continue;
                }
                ReadBack::Missing => {
                    warn!(cutoff = %plan.cutoff(), "the write was accepted but never read back: written, not verified");
                    return Ok(Written {
                        outcome,
                        in_force: plan.cutoff(),
                        policy_sha256: plan.json().sha256(),
                        verified: false,
                        session_secs_at_apply: None,
                    });
                }
                ReadBack::Other(text) => {
                    // Something else is there (infrastructure code, a person): the write was made
                    // but is not what AWS shows. Said as such, never as a failure; drift watch
                    // and the card tell people to check.
                    warn!(wrote = %plan.json().as_str(), read = %text, "the read-back shows another document: written, not verified");
                    return Ok(Written {
                        outcome,
                        in_force: plan.cutoff(),
                        policy_sha256: plan.json().sha256(),
                        verified: false,
                        session_secs_at_apply: None,
                    });
                }
            }
        }
        Err(NotApplied::plain(
            Failure::CutoffKeptMovingBack,
            "three write-and-verify rounds did not hold",
        ))
    }

    async fn read_slot(&self, slot: Slot<'_>) -> Result<Option<String>, IamError> {
        match slot {
            Slot::Role(role) => self.iam.get_revoke_policy(role).await,
            Slot::PermissionSet(ps) => match &self.identity_center {
                Some(ic) => ic.get_inline_policy(&ps.arn).await,
                None => Ok(None),
            },
        }
    }

    async fn put_slot(&self, slot: Slot<'_>, plan: &Plan) -> Result<(), NotApplied> {
        match slot {
            Slot::Role(role) => self
                .iam
                .put_revoke_policy(role, plan.json().as_str())
                .await
                .map_err(NotApplied::iam),
            Slot::PermissionSet(ps) => match &self.identity_center {
                Some(ic) => ic
                    .put_inline_policy(&ps.arn, plan.json().as_str())
                    .await
                    .map_err(NotApplied::iam),
                None => Err(NotApplied::plain(
                    Failure::IdentityCenterNotConfigured,
                    "[identity_center] is not configured",
                )),
            },
        }
    }

    /// Wait (bounded, with backoff) for the provisioning an earlier attempt started, when AWS
    /// still knows it; otherwise `ProvisionPermissionSet` to every account, store its request id
    /// under the lease, and wait for that. Only `SUCCEEDED` is success (README, "Identity Center").
    async fn provision(
        &self,
        p: &mut Provision<'_>,
        ps: &PermissionSetTarget,
    ) -> Result<(), NotApplied> {
        let Some(ic) = &self.identity_center else {
            return Err(NotApplied::plain(
                Failure::IdentityCenterNotConfigured,
                "[identity_center] is not configured",
            ));
        };
        let resumed = match p.started.take() {
            Some(id) => match ic.provisioning_status(&id).await {
                Ok(status) => {
                    info!(provisioning = %id, "resuming the wait for an earlier provisioning");
                    Some((id, status))
                }
                Err(e) if e.kind == IamErrorKind::NoSuchEntity => {
                    warn!(provisioning = %id, error = %e.full(), "AWS does not know the earlier provisioning; provisioning again");
                    None
                }
                Err(e) => return Err(NotApplied::iam(e)),
            },
            None => None,
        };
        let (request_id, mut status) = match resumed {
            Some(resumed) => resumed,
            None => {
                let started = ic.provision(&ps.arn).await.map_err(NotApplied::iam)?;
                if !self.record_provisioning(p.lease, &started.request_id).await {
                    // Not recorded: the worker that holds the lease now carries on.
                    return Err(NotApplied::plain(
                        Failure::ProvisioningTimedOut,
                        "the apply lease was lost",
                    ));
                }
                self.timeline(
                    p.request,
                    ThreadNote::Provisioning {
                        accounts: ps.accounts.len(),
                    },
                )
                .await;
                (started.request_id, started.status)
            }
        };
        let mut pauses = PROVISIONING_BACKOFF.into_iter();
        loop {
            match status {
                Provisioning::Succeeded => return Ok(()),
                Provisioning::Failed { reason } => {
                    return Err(NotApplied::plain(
                        Failure::ProvisioningFailed {
                            reason: reason.clone(),
                        },
                        format!("ProvisionPermissionSet {request_id} failed: {reason}"),
                    ));
                }
                Provisioning::InProgress => {
                    let Some(pause) = pauses.next() else {
                        return Err(NotApplied::plain(
                            Failure::ProvisioningTimedOut,
                            format!(
                                "provisioning {request_id} still in progress after about two minutes"
                            ),
                        ));
                    };
                    tokio::time::sleep(pause).await;
                    status = match ic.provisioning_status(&request_id).await {
                        Ok(status) => status,
                        // Asked too often: ask again after the next pause.
                        Err(e) if e.kind == IamErrorKind::Throttled => {
                            warn!(error = %e.full(), "provisioning status throttled");
                            Provisioning::InProgress
                        }
                        Err(e) => return Err(NotApplied::iam(e)),
                    };
                }
            }
        }
    }

    /// Read the policy back until it shows the write, with backoff (README "Using it in Slack": about 10 s).
    async fn read_back(&self, slot: Slot<'_>, plan: &Plan) -> ReadBack {
        let mut last = ReadBack::Missing;
        for pause in std::iter::once(Duration::ZERO).chain(READ_BACK_BACKOFF) {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let text = match self.read_slot(slot).await {
                Ok(t) => t,
                // A failing read after a successful write is not a failed revocation.
                Err(e) => {
                    warn!(error = %e.full(), "reading the policy back failed; retrying");
                    continue;
                }
            };
            last = match text {
                None => ReadBack::Missing,
                Some(text) => match verify(plan, &text) {
                    Verification::Matches => return ReadBack::Ours,
                    Verification::LaterCutoffInForce(later) => return ReadBack::Later(later),
                    Verification::EarlierCutoff(_) => ReadBack::Earlier,
                    Verification::Different => ReadBack::Other(text),
                },
            };
        }
        last
    }
}
