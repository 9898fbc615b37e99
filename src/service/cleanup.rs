//! After a revocation's window (SPEC §11, `watch.cleanup_after_window`): remove the deny if it is
//! still the one this request put in force, and nothing but it.

use std::time::Duration;

use tracing::{info, warn};

use super::App;
use super::deny::DenyState;
use super::notice::ThreadNote;
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::ids::Actor;
use crate::domain::policy::Cutoff;
use crate::domain::request::Request;
use crate::ports::{IamErrorKind, error_chain};

/// How long after its window a clean-up that keeps failing (e.g. `iam:DeleteRolePolicy` not
/// granted) is retried before the watch gives up on it.
pub const CLEANUP_RETRY_FOR: Duration = Duration::from_secs(24 * 3600);

/// What a clean-up attempt came to.
pub(super) enum Cleanup {
    /// Removed, or left in place for a reason that will not change: the watch is over.
    Done,
    /// Try again at the next check.
    Retry,
}

impl App {
    /// After the window: remove the deny if it is still the one this request put in force, and
    /// nothing but it. A later revocation's deny, or a document with other statements, stays.
    pub(super) async fn clean_up(&self, request: &Request, in_force: Cutoff) -> Cleanup {
        if request.role().is_none() {
            info!(
                "window passed; clean-up of a permission set's inline policy is not supported, the deny stays"
            );
            return Cleanup::Done;
        }
        match self.read_deny(request).await {
            Ok(DenyState::Present {
                cutoff,
                only_the_deny: true,
            }) if cutoff == in_force => {}
            Ok(other) => {
                info!(deny = ?other, "window passed; the deny is not this request's alone, so it stays");
                return Cleanup::Done;
            }
            Err(e) if e.kind == IamErrorKind::NoSuchEntity => return Cleanup::Done,
            Err(e) => {
                warn!(error = %e.full(), "could not read the deny for clean-up");
                return Cleanup::Retry;
            }
        }
        // IAM has no conditional delete: a revocation of this role being applied now would merge
        // with this deny and could be deleted with it. Let it finish first.
        match self.revocation_in_flight(request).await {
            Ok(true) => {
                info!("a revocation of this role is being applied; clean-up waits");
                return Cleanup::Retry;
            }
            Ok(false) => {}
            Err(e) => {
                warn!(error = %error_chain(&e), "could not look for revocations in flight; clean-up waits");
                return Cleanup::Retry;
            }
        }
        if let Err(e) = self.remove_deny(request).await {
            warn!(error = %e.full(), "could not remove the deny after its window");
            return Cleanup::Retry;
        }
        info!(target = %request.target_arn(), %in_force, "window passed; deny removed");
        let event = EventDraft::by(
            request.id().clone(),
            EventKind::Cleanup,
            &Actor::Bot,
            self.clock.now(),
        )
        .with_role_text(&request.target_arn())
        .with_cutoff(in_force)
        .with_detail("deny removed after its window".into());
        self.record_quietly(event).await;
        self.timeline(
            request,
            ThreadNote::CleanedUp {
                id: request.id().clone(),
                target: request.target_arn(),
                cutoff: in_force,
            },
        )
        .await;
        Cleanup::Done
    }
}
