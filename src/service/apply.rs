//! The revocation (SPEC §4): write the request's one cut-off, read it back, record the outcome.
//! The cut-off was decided when the request was approved; every retry, recovery pass and replica
//! writes that same cut-off, never a later one.

use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use super::App;
use crate::domain::audit::Witness;
use crate::domain::permission_set::PermissionSetTarget;
use crate::domain::policy::{
    Cutoff, DocumentShape, Existing, MergeOutcome, Plan, Verification, plan, read_existing, verify,
};
use crate::domain::request::{Failure, Request, State, Target, Written};
use crate::domain::role_arn::RoleArn;
use crate::ports::{IamError, Provisioning, error_chain};

use super::notice::ThreadNote;

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

/// Why the policy was not (known to be) written: what to tell people, and AWS's whole error.
struct NotApplied {
    failure: Failure,
    full: String,
}

impl NotApplied {
    fn iam(e: IamError) -> Self {
        NotApplied {
            failure: e.failure(),
            full: e.full(),
        }
    }
    fn plain(failure: Failure, full: impl Into<String>) -> Self {
        NotApplied {
            failure,
            full: full.into(),
        }
    }
}

/// Where the deny lives: a role's `AWSRevokeOlderSessions` policy, or a permission set's inline
/// policy. Both are read, planned, written and verified the same way.
#[derive(Clone, Copy)]
enum Slot<'a> {
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
    /// Write the deny policy for an `approved` request, verify it, record the outcome and show it.
    #[tracing::instrument(skip_all, fields(request_id = %request.id()))]
    pub async fn apply(&self, request: Request) {
        if let Some((done, witness)) = self.write_and_record(request, None).await {
            self.update_card(&done, Some(witness)).await;
            self.announce_outcome(&done).await;
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
        if self.permission_set_protected(&ps.name) {
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

    /// Read, plan forward-only, write, (provision), and read back. IAM has no conditional writes,
    /// so two revocations can interleave; the read-back settles it: a cut-off at or after ours is
    /// success, an earlier one means another writer moved it back (or AWS has not caught up), and
    /// we write again. A cut-off never moves backwards; other statements are never dropped; a
    /// document the bot does not fully understand is never overwritten.
    async fn write_slot(
        &self,
        slot: Slot<'_>,
        mut current: Option<String>,
        ours: Cutoff,
        request: Option<&Request>,
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
                // already in force: nothing to write.
                return Ok(Written {
                    outcome: if plan.cutoff() == ours {
                        MergeOutcome::Created
                    } else {
                        MergeOutcome::AlreadyCovered
                    },
                    in_force: plan.cutoff(),
                    policy_sha256: plan.json().sha256(),
                    verified: true,
                });
            }
            self.put_slot(slot, &plan).await?;
            if let (Slot::PermissionSet(ps), Some(request)) = (slot, request) {
                self.provision(request, ps).await?;
            }
            match self.read_back(slot, &plan).await {
                ReadBack::Ours => {
                    return Ok(Written {
                        outcome,
                        in_force: plan.cutoff(),
                        policy_sha256: plan.json().sha256(),
                        verified: true,
                    });
                }
                ReadBack::Later(later) => {
                    return Ok(Written {
                        outcome: MergeOutcome::AlreadyCovered,
                        in_force: later,
                        policy_sha256: plan.json().sha256(),
                        verified: true,
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

    /// `ProvisionPermissionSet` to every account, then wait (bounded, with backoff) for it.
    async fn provision(
        &self,
        request: &Request,
        ps: &PermissionSetTarget,
    ) -> Result<(), NotApplied> {
        let Some(ic) = &self.identity_center else {
            return Err(NotApplied::plain(
                Failure::IdentityCenterNotConfigured,
                "[identity_center] is not configured",
            ));
        };
        let mut status = ic.provision(&ps.arn).await.map_err(NotApplied::iam)?;
        self.timeline(
            request,
            ThreadNote::Provisioning {
                accounts: ps.accounts.len(),
            },
        )
        .await;
        for pause in PROVISIONING_BACKOFF {
            match status {
                Provisioning::Succeeded => return Ok(()),
                Provisioning::Failed { reason } => {
                    return Err(NotApplied::plain(
                        Failure::ProvisioningFailed {
                            reason: reason.clone(),
                        },
                        format!("ProvisionPermissionSet failed: {reason}"),
                    ));
                }
                Provisioning::InProgress { request_id } => {
                    tokio::time::sleep(pause).await;
                    status = ic
                        .provisioning_status(&request_id)
                        .await
                        .map_err(NotApplied::iam)?;
                }
            }
        }
        match status {
            Provisioning::Succeeded => Ok(()),
            Provisioning::Failed { reason } => Err(NotApplied::plain(
                Failure::ProvisioningFailed {
                    reason: reason.clone(),
                },
                format!("ProvisionPermissionSet failed: {reason}"),
            )),
            Provisioning::InProgress { .. } => Err(NotApplied::plain(
                Failure::ProvisioningTimedOut,
                "provisioning still in progress after about two minutes",
            )),
        }
    }

    /// Read the policy back until it shows the write, with backoff (SPEC §4: about 10 s).
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

    /// `identity_center.protect`: permission set names (with `*`) never revoked from Slack.
    pub(super) fn permission_set_protected(&self, name: &str) -> bool {
        self.settings
            .identity_center
            .as_ref()
            .is_some_and(|ic| ic.protect.iter().any(|p| glob(p, name)))
    }
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}
