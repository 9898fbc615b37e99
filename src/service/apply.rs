//! The revocation (SPEC §4): write the request's one cut-off, read it back, record the outcome.
//! The cut-off was decided when the request was approved; every retry, recovery pass and replica
//! writes that same cut-off, never a later one.

use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use super::App;
use crate::domain::audit::Witness;
use crate::domain::policy::{
    Cutoff, MergeOutcome, PolicyDocument, existing_cutoff, merge, same_document,
};
use crate::domain::request::{Failure, Request, State, Written};
use crate::ports::{IamError, error_chain};

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

/// What one read-back showed.
enum ReadBack {
    Ours,
    /// A later cut-off is in force (another revocation landed meanwhile): it covers ours.
    Later(Cutoff, String),
    /// An earlier cut-off: a stale read, or another writer moved it back.
    Earlier,
    Missing,
    Other(String),
}

impl App {
    /// Write the deny policy for an `approved` request, verify it, record the outcome and show it.
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
                info!(request_id = %request.id(), "another worker is applying this request");
                return None;
            }
            Err(e) => {
                // Nothing is written to IAM without the lease; recovery tries again.
                error!(error = %error_chain(&e), request_id = %request.id(), "could not take the apply lease");
                return None;
            }
        }
        let Some(cutoff) = request.cutoff() else {
            error!(request_id = %request.id(), state = request.state().as_str(), "not an approved request; nothing written");
            return None;
        };
        let result = self.write_policy(&request, cutoff).await;
        let now = self.clock.now();
        let transition = match result {
            Ok(written) => request.applied(written, now),
            Err(not) => {
                error!(request_id = %request.id(), role = %request.role(), error = %not.full, failure = ?not.failure, "revocation failed");
                request.failed(not.failure, &not.full, now)
            }
        };
        let t = match transition {
            Ok(t) => t,
            Err(e) => {
                error!(error = %e, request_id = %request.id(), "outcome does not follow from the stored state");
                return None;
            }
        };
        match self.transition(&t.next, t.event).await {
            Ok(appended) => {
                info!(request_id = %t.next.id(), state = t.next.state().as_str(), "revocation finished");
                if let (Some(at), State::Applied) = (approved_at, t.next.state()) {
                    self.metrics.approval_to_policy(at.elapsed());
                }
                Some((t.next, Witness::of(&appended)))
            }
            Err(crate::ports::StoreError::Conflict) => {
                info!(request_id = %t.next.id(), "another worker recorded the outcome first");
                None
            }
            Err(e) => {
                // The request stays `approved` with its cut-off; recovery finishes it once the
                // store is back, writing that same cut-off again.
                error!(error = %error_chain(&e), request_id = %t.next.id(), "could not record the outcome; recovery will retry");
                None
            }
        }
    }

    /// Re-check the role, merge with what is on it, write, and read back. IAM has no conditional
    /// writes, so two revocations of one role can interleave; the read-back settles it: a cut-off
    /// at or after ours is success, an earlier one means another writer moved it back (or IAM has
    /// not caught up), and we write again. A cut-off never moves backwards.
    async fn write_policy(&self, request: &Request, ours: Cutoff) -> Result<Written, NotApplied> {
        let role = request.role();
        // Read the role and its current policy together: the role decides whether we may write
        // at all (the request item is not trusted blindly), the policy what we write.
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
        let mut current = current.map_err(NotApplied::iam)?;
        let mut first_outcome = None;
        for _ in 0..WRITE_ROUNDS {
            let existing = current.as_deref().and_then(existing_cutoff);
            let (cutoff, outcome) = merge(ours, existing);
            let outcome = *first_outcome.get_or_insert(outcome);
            let doc = PolicyDocument::revoke_older_sessions(cutoff);
            // Never send an empty document: a serialization failure stops here.
            let json = doc
                .to_json()
                .map_err(|e| NotApplied::plain(Failure::ReadBackDiffers, e.to_string()))?;
            self.iam
                .put_revoke_policy(role, &json)
                .await
                .map_err(NotApplied::iam)?;
            match self.read_back(request, &doc, cutoff).await? {
                ReadBack::Ours => {
                    return Ok(Written {
                        outcome,
                        in_force: cutoff,
                        policy_sha256: json.sha256(),
                        verified: true,
                    });
                }
                ReadBack::Later(later, sha) => {
                    return Ok(Written {
                        outcome: MergeOutcome::AlreadyCovered,
                        in_force: later,
                        policy_sha256: sha,
                        verified: true,
                    });
                }
                ReadBack::Earlier => {
                    warn!(%role, %cutoff, "the cut-off is still earlier than ours after waiting: another writer moved it back; writing again");
                    current = self
                        .iam
                        .get_revoke_policy(role)
                        .await
                        .map_err(NotApplied::iam)?;
                    continue;
                }
                ReadBack::Missing => {
                    warn!(%role, %cutoff, "the write was accepted but never read back: written, not verified");
                    return Ok(Written {
                        outcome,
                        in_force: cutoff,
                        policy_sha256: json.sha256(),
                        verified: false,
                    });
                }
                ReadBack::Other(text) => {
                    return Err(NotApplied::plain(
                        Failure::ReadBackDiffers,
                        format!("wrote {json} read {text}"),
                    ));
                }
            }
        }
        Err(NotApplied::plain(
            Failure::CutoffKeptMovingBack,
            "three write-and-verify rounds did not hold",
        ))
    }

    /// Read the policy back until it shows the write, with backoff (SPEC §4: about 10 s).
    async fn read_back(
        &self,
        request: &Request,
        doc: &PolicyDocument,
        cutoff: Cutoff,
    ) -> Result<ReadBack, NotApplied> {
        let role = request.role();
        let mut last = ReadBack::Missing;
        for pause in std::iter::once(Duration::ZERO).chain(READ_BACK_BACKOFF) {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let text = match self.iam.get_revoke_policy(role).await {
                Ok(t) => t,
                // A failing read after a successful write is not a failed revocation.
                Err(e) => {
                    warn!(error = %e.full(), "reading the policy back failed; retrying");
                    continue;
                }
            };
            last = match text {
                None => ReadBack::Missing,
                Some(text) if same_document(doc, &text) => return Ok(ReadBack::Ours),
                Some(text) => match existing_cutoff(&text) {
                    Some(later)
                        if later > cutoff
                            && same_document(
                                &PolicyDocument::revoke_older_sessions(later),
                                &text,
                            ) =>
                    {
                        let sha = PolicyDocument::revoke_older_sessions(later)
                            .sha256()
                            .map_err(|e| {
                                NotApplied::plain(Failure::ReadBackDiffers, e.to_string())
                            })?;
                        return Ok(ReadBack::Later(later, sha));
                    }
                    Some(earlier) if earlier < cutoff => ReadBack::Earlier,
                    _ => ReadBack::Other(text),
                },
            };
        }
        Ok(last)
    }
}
