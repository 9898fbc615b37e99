//! Revocations that stay in force (README "Revocations that stay in force"). Every `applied` request is watched until its window
//! has passed (the role's maximum session duration, counted from the cut-off in force, at least
//! 12 h when compute credentials may carry the role: `cleanup::cleanup_window`): its deny
//! is re-read every `watch.drift_check_every`, and drift (the deny gone, moved back, or replaced
//! by a document the bot does not understand) is reported once per disappearance in the card's
//! thread, with a button that opens a new request to re-apply it. After the window, with
//! `watch.cleanup_after_window`, the deny is removed if it is still the one this request put in
//! force.
//!
//! The watch's state lives in the store beside the request (due time, lease, reported drift), so
//! it survives restarts and replicas take turns: each check is claimed with a conditional write.
//! What is read and removed goes through [`App::read_deny`] and [`App::remove_deny`]
//! (`service::deny`), the one seam a permission-set revocation plugs into; clean-up after the
//! window is in `service::cleanup`, the Re-apply button in `service::reapply`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tracing::{info, warn};

use super::App;
use super::cleanup::{CLEANUP_RETRY_FOR, Cleanup, earliest_cleanup};
use super::deny::window_end;
use super::notice::{DriftKind, ThreadNote};
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::ids::Actor;
use crate::domain::policy::Cutoff;
use crate::domain::request::Request;
use crate::ports::{IamErrorKind, StoreError, WatchUpdate, error_chain};

/// A drift seen once is read again after this pause before it is reported: IAM is eventually
/// consistent, and a single stale read must not raise an alarm.
pub const DRIFT_CONFIRM_PAUSE: Duration = Duration::from_secs(2);

/// Checks run at once in one pass.
const CONCURRENT_CHECKS: usize = 8;

/// The pause between watch passes: `drift_check_every`, at least 1 s.
pub fn check_interval(drift_check_every: Duration) -> Duration {
    drift_check_every.max(Duration::from_secs(1))
}

impl App {
    /// One pass: check every watched request whose check is due. Returns how many this replica
    /// checked (the others were taken by another replica, or are not due).
    pub async fn watch_pass(&self) -> Result<usize, StoreError> {
        let due = self.store.watch_list(self.clock.now()).await?;
        let checked = futures_util::stream::iter(due)
            .map(|w| self.check_one(w.request))
            .buffer_unordered(CONCURRENT_CHECKS)
            .filter(|checked| std::future::ready(*checked))
            .count()
            .await;
        Ok(checked)
    }

    /// Claim and run one due check; `false` if another replica has it.
    #[tracing::instrument(skip_all, fields(request_id = %request.id()))]
    async fn check_one(&self, request: Request) -> bool {
        let id = request.id().clone();
        let now = self.clock.now();
        let next_due = now
            + chrono::Duration::from_std(check_interval(self.settings.drift_check_every))
                .unwrap_or(chrono::Duration::minutes(5));
        let watch = match self.store.claim_watch(&id, now, next_due).await {
            Ok(Some(w)) => w,
            Ok(None) => return false,
            Err(e) => {
                warn!(error = %error_chain(&e), "could not claim a drift check");
                return false;
            }
        };
        let update = self
            .check_deny(&watch.request, watch.drift.as_deref())
            .await;
        if let Err(e) = self.store.update_watch(&id, update).await {
            warn!(error = %error_chain(&e), "could not record a drift check; it runs again when due");
        }
        true
    }

    /// Check one watched request and say what to remember.
    async fn check_deny(&self, request: &Request, reported: Option<&str>) -> WatchUpdate {
        let (Some(written), Some(end)) = (request.written(), window_end(request)) else {
            warn!(
                state = request.state().as_str(),
                "not an applied request; watch ended"
            );
            return WatchUpdate::Finished;
        };
        // A role that compute credentials may carry is watched (and kept) at least 12 h.
        let end = match (request.role(), earliest_cleanup(request)) {
            (Some(_), Some(longer)) => end.max(longer),
            _ => end,
        };
        let in_force = written.in_force;
        let now = self.clock.now();
        if now >= end {
            if !self.settings.cleanup_after_window {
                info!("window passed; watch ended");
                return WatchUpdate::Finished;
            }
            return match self.clean_up(request, in_force).await {
                Cleanup::Done => WatchUpdate::Finished,
                Cleanup::Retry
                    if now
                        >= end
                            + chrono::Duration::from_std(CLEANUP_RETRY_FOR).unwrap_or_default() =>
                {
                    warn!(
                        "clean-up kept failing for a day after the window; giving up, the deny stays"
                    );
                    WatchUpdate::Finished
                }
                Cleanup::Retry => WatchUpdate::Checked,
            };
        }
        let drift = match self.read_deny(request).await {
            Ok(state) => state.drift_from(in_force),
            Err(e) if e.kind == IamErrorKind::NoSuchEntity => {
                // A deleted role's sessions no longer work: nothing left to watch.
                info!(target = %request.target_arn(), "the role or permission set is gone; watch ended");
                return WatchUpdate::Finished;
            }
            Err(e) => {
                // An unreadable deny is not drift: the next check reads it again.
                warn!(error = %e.full(), "could not read the deny for a drift check");
                return WatchUpdate::Checked;
            }
        };
        let Some(drift) = drift else {
            if reported.is_some() {
                info!("the deny is in force again");
                return WatchUpdate::InForce;
            }
            return WatchUpdate::Checked;
        };
        if reported.is_some() {
            // Reported already for this disappearance.
            return WatchUpdate::Checked;
        }
        tokio::time::sleep(DRIFT_CONFIRM_PAUSE).await;
        match self.read_deny(request).await {
            Ok(again) if again.drift_from(in_force).as_ref() == Some(&drift) => {}
            Ok(_) => return WatchUpdate::Checked,
            Err(e) => {
                warn!(error = %e.full(), "could not confirm drift; checking again when due");
                return WatchUpdate::Checked;
            }
        }
        self.report_drift(request, in_force, drift).await;
        WatchUpdate::Checked
    }

    /// Remember the drift (once, across replicas), then record it, count it and post it.
    async fn report_drift(&self, request: &Request, in_force: Cutoff, drift: DriftKind) {
        match self
            .store
            .update_watch(request.id(), WatchUpdate::Drifted(drift.code().into()))
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                // Not remembered: report anyway (drift matters more than a repeat), and the next
                // check tries to remember it again.
                warn!(error = %error_chain(&e), "could not remember reported drift");
            }
        }
        warn!(target = %request.target_arn(), drift = drift.code(), "drift: the revocation is no longer in force");
        let detail = match &drift {
            DriftKind::MovedBack { now } => format!("{}: cut-off now {now}", drift.code()),
            other => other.code().to_string(),
        };
        let event = EventDraft::by(
            request.id().clone(),
            EventKind::Drift,
            &Actor::Bot,
            self.clock.now(),
        )
        .with_role_text(&request.target_arn())
        .with_cutoff(in_force)
        .with_detail(detail);
        self.record_quietly(event).await;
        self.timeline(
            request,
            ThreadNote::Drift {
                id: request.id().clone(),
                target: request.target_arn(),
                in_force,
                kind: drift,
            },
        )
        .await;
    }

    /// Start the drift-watch loop; it stops when the application drains.
    pub fn start_watch(self: &Arc<Self>) {
        let interval = check_interval(self.settings.drift_check_every);
        self.every("drift_watch", interval, |app| async move {
            app.watch_pass().await
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_interval_is_at_least_a_second() {
        assert_eq!(check_interval(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            check_interval(Duration::from_secs(300)),
            Duration::from_secs(300)
        );
    }
}
