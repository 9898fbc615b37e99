//! Revocations that stay in force (SPEC §11). Every `applied` request is watched until its window
//! has passed (the role's maximum session duration, counted from the cut-off in force): its deny
//! is re-read every `watch.drift_check_every`, and drift (the deny gone, moved back, or replaced
//! by a document the bot does not understand) is reported once per disappearance in the card's
//! thread, with a button that opens a new request to re-apply it. After the window, with
//! `watch.cleanup_after_window`, the deny is removed if it is still the one this request put in
//! force.
//!
//! The watch's state lives in the store beside the request (due time, lease, reported drift), so
//! it survives restarts and replicas take turns: each check is claimed with a conditional write.
//! What is read and removed goes through [`App::read_deny`] and [`App::remove_deny`], the one
//! seam a permission-set revocation plugs into.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tracing::{Instrument, info, info_span, warn};

use super::notice::{DriftKind, Notice, ThreadNote};
use super::{App, CommandContext, ReapplyContext};
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::ids::Actor;
use crate::domain::policy::{Cutoff, Existing, read_existing};
use crate::domain::request::{Request, State, Target};
use crate::domain::role_arn::RoleSpec;
use crate::ports::{IamError, IamErrorKind, StoreError, WatchUpdate, error_chain};

/// The window when the role's maximum session duration is not known: the longest IAM allows.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(12 * 3600);

/// A drift seen once is read again after this pause before it is reported: IAM is eventually
/// consistent, and a single stale read must not raise an alarm.
pub const DRIFT_CONFIRM_PAUSE: Duration = Duration::from_secs(2);

/// How long after its window a clean-up that keeps failing (e.g. `iam:DeleteRolePolicy` not
/// granted) is retried before the watch gives up on it.
pub const CLEANUP_RETRY_FOR: Duration = Duration::from_secs(24 * 3600);

/// Checks run at once in one pass.
const CONCURRENT_CHECKS: usize = 8;

/// What a revocation's deny looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyState {
    Absent,
    /// A document the bot understands, with the latest cut-off in it. `only_the_deny`: the
    /// document is nothing but that one deny statement (so removing it removes nothing else).
    Present {
        cutoff: Cutoff,
        only_the_deny: bool,
    },
    NotUnderstood,
}

impl DenyState {
    /// What an `AWSRevokeOlderSessions` text says, read by the same strict reader as `apply`.
    /// A policy without a deny (infrastructure code replaced it) is the deny gone.
    pub fn of_document(text: Option<&str>) -> DenyState {
        match read_existing(text) {
            Existing::Absent => DenyState::Absent,
            Existing::NotUnderstood { .. } => DenyState::NotUnderstood,
            Existing::Understood(policy) => match policy.cutoff() {
                None => DenyState::Absent,
                Some(cutoff) => DenyState::Present {
                    cutoff,
                    only_the_deny: policy.other_statements().next().is_none(),
                },
            },
        }
    }

    /// The drift against the cut-off a request put in force: a later cut-off is not drift.
    pub fn drift_from(&self, in_force: Cutoff) -> Option<DriftKind> {
        match self {
            DenyState::Absent => Some(DriftKind::Gone),
            DenyState::NotUnderstood => Some(DriftKind::NotUnderstood),
            DenyState::Present { cutoff, .. } if *cutoff < in_force => {
                Some(DriftKind::MovedBack { now: *cutoff })
            }
            DenyState::Present { .. } => None,
        }
    }
}

/// When an applied request's window ends: its cut-off in force plus the role's maximum session
/// duration (as the preview read it) or the permission set's session duration, or
/// [`DEFAULT_WINDOW`] when that is not known.
pub fn window_end(request: &Request) -> Option<DateTime<Utc>> {
    let in_force = request.written()?.in_force;
    let known = match request.target() {
        Target::Role(_) => request
            .preview()
            .and_then(|p| p.max_session_duration_secs)
            .map(i64::from),
        Target::PermissionSet(ps) => ps.session_duration_secs(),
    };
    let secs = known
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_WINDOW.as_secs() as i64);
    Some(in_force.time() + chrono::Duration::seconds(secs))
}

/// The pause between watch passes: `drift_check_every`, at least 1 s.
pub fn check_interval(drift_check_every: Duration) -> Duration {
    drift_check_every.max(Duration::from_secs(1))
}

/// What a clean-up attempt came to.
enum Cleanup {
    /// Removed, or left in place for a reason that will not change: the watch is over.
    Done,
    /// Try again at the next check.
    Retry,
}

impl App {
    // ---- the seam: what a revocation's deny is, and removing it ----

    /// The deny a request put in force, as it is now: the role's `AWSRevokeOlderSessions`
    /// policy, or the permission set's inline policy.
    pub async fn read_deny(&self, request: &Request) -> Result<DenyState, IamError> {
        let text = match request.target() {
            Target::Role(role) => self.iam.get_revoke_policy(role).await?,
            Target::PermissionSet(ps) => match &self.identity_center {
                Some(ic) => ic.get_inline_policy(&ps.arn).await?,
                None => {
                    return Err(IamError::new(
                        "GetInlinePolicyForPermissionSet",
                        IamErrorKind::Other,
                        "[identity_center] is not configured",
                    ));
                }
            },
        };
        Ok(DenyState::of_document(text.as_deref()))
    }

    /// Remove the deny a request put in force (after its window). Already gone is done. Only a
    /// role's: a permission set's inline policy would also need provisioning, which clean-up
    /// does not do yet (see `clean_up`).
    pub async fn remove_deny(&self, request: &Request) -> Result<(), IamError> {
        let Target::Role(role) = request.target() else {
            return Err(IamError::new(
                "DeleteInlinePolicyFromPermissionSet",
                IamErrorKind::Other,
                "clean-up of permission sets is not supported",
            ));
        };
        match self.iam.delete_revoke_policy(role).await {
            Err(e) if e.kind == IamErrorKind::NoSuchEntity => Ok(()),
            other => other,
        }
    }

    /// An approved request on the same target is being applied: its merge would read the deny.
    async fn revocation_in_flight(&self, request: &Request) -> Result<bool, StoreError> {
        let target = request.target_arn();
        Ok(self
            .store
            .open_requests()
            .await?
            .iter()
            .any(|r| r.state() == State::Approved && r.target_arn() == target))
    }

    // ---- the watch ----

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

    /// After the window: remove the deny if it is still the one this request put in force, and
    /// nothing but it. A later revocation's deny, or a document with other statements, stays.
    async fn clean_up(&self, request: &Request, in_force: Cutoff) -> Cleanup {
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

    /// Start the drift-watch loop; it stops when the application drains.
    pub fn start_watch(self: &Arc<Self>) {
        let app = self.clone();
        let stop = self.stopping();
        let interval = check_interval(self.settings.drift_check_every);
        self.tasks.spawn(
            async move {
                loop {
                    match app.watch_pass().await {
                        Ok(0) => {}
                        Ok(n) => info!(checked = n, "drift checks"),
                        Err(e) => {
                            warn!(error = %error_chain(&e), "drift watch pass failed; will retry")
                        }
                    }
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(interval) => {}
                    }
                }
            }
            .instrument(info_span!("drift_watch")),
        );
    }

    // ---- re-apply ----

    /// The Re-apply button: a new request for the same role, by the person who clicked, with the
    /// usual checks and approval.
    #[tracing::instrument(skip_all,
        fields(reapplies = %ctx.request_id, user = %ctx.user, request_id = tracing::field::Empty))]
    pub(super) async fn reapply(self: Arc<Self>, ctx: ReapplyContext) {
        let Some(old) = self
            .request_for_click(&ctx.request_id, &ctx.response_url)
            .await
        else {
            return;
        };
        if old.state() != State::Applied {
            return self
                .tell(
                    &ctx.response_url,
                    Notice::ReapplyNotApplicable(old.id().clone()),
                )
                .await;
        }
        if !self.settings.channels.is_empty() && !self.settings.channels.contains(old.channel()) {
            return self
                .tell(&ctx.response_url, Notice::ChannelNotAllowed)
                .await;
        }
        let reason = format!("re-apply {}: drift", old.id());
        // A second click (or a second person) while the first re-apply waits gets pointed to it.
        match self.store.open_requests().await {
            Ok(open) => {
                if let Some(open) = open
                    .iter()
                    .find(|r| r.reason() == reason && r.target_arn() == old.target_arn())
                {
                    return self
                        .tell(
                            &ctx.response_url,
                            Notice::ReapplyAlreadyOpen {
                                old: old.id().clone(),
                                open: open.id().clone(),
                            },
                        )
                        .await;
                }
            }
            Err(e) => {
                warn!(error = %error_chain(&e), "could not look for an open re-apply request");
            }
        }
        info!(old = %old.id(), "re-apply requested");
        let command = CommandContext {
            user: ctx.user,
            channel: old.channel().clone(),
            text: format!("{} {reason}", old.target_arn()),
            response_url: ctx.response_url.into(),
            trigger_id: None,
        };
        match old.target() {
            Target::Role(role) => {
                let spec = RoleSpec::Arn(role.clone());
                self.submit(command, spec, reason).await
            }
            Target::PermissionSet(ps) => {
                let arn = ps.arn.clone();
                self.submit_permission_set(command, arn, reason).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cutoff {
        Cutoff::parse(s).unwrap()
    }

    #[test]
    fn the_bots_own_document_and_the_consoles_are_the_deny_alone() {
        let ours =
            crate::domain::policy::PolicyDocument::revoke_older_sessions(c("2026-11-23T12:00:01Z"))
                .to_json()
                .unwrap()
                .to_string();
        assert_eq!(
            DenyState::of_document(Some(&ours)),
            DenyState::Present {
                cutoff: c("2026-11-23T12:00:01Z"),
                only_the_deny: true
            }
        );
        let console = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:01Z"}}}}"#;
        assert_eq!(
            DenyState::of_document(Some(console)),
            DenyState::Present {
                cutoff: c("2026-11-23T12:00:01Z"),
                only_the_deny: true
            }
        );
    }

    #[test]
    fn a_document_with_more_than_the_deny_is_not_the_deny_alone() {
        let two = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:01Z"}}},
            {"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            DenyState::of_document(Some(two)),
            DenyState::Present {
                cutoff: c("2026-11-23T12:00:01Z"),
                only_the_deny: false
            }
        );
        // A time-based deny narrower than "every action" is not one the bot can vouch for.
        let narrower = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:01Z"}}}}"#;
        assert_eq!(
            DenyState::of_document(Some(narrower)),
            DenyState::NotUnderstood
        );
        // Infrastructure code's own policy without the deny: the deny is gone.
        let others = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        assert_eq!(DenyState::of_document(Some(others)), DenyState::Absent);
    }

    #[test]
    fn gone_moved_back_and_unreadable_are_drift_and_a_later_cutoff_is_not() {
        let ours = c("2026-11-23T12:00:01Z");
        let at = |s: &str| DenyState::Present {
            cutoff: c(s),
            only_the_deny: true,
        };
        assert_eq!(
            DenyState::of_document(None).drift_from(ours),
            Some(DriftKind::Gone)
        );
        assert_eq!(
            DenyState::of_document(Some("{not json")).drift_from(ours),
            Some(DriftKind::NotUnderstood)
        );
        assert_eq!(
            at("2026-11-23T12:00:00Z").drift_from(ours),
            Some(DriftKind::MovedBack {
                now: c("2026-11-23T12:00:00Z")
            })
        );
        assert_eq!(at("2026-11-23T12:00:01Z").drift_from(ours), None);
        assert_eq!(at("2026-11-24T00:00:00Z").drift_from(ours), None);
    }

    #[test]
    fn the_check_interval_is_at_least_a_second() {
        assert_eq!(check_interval(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            check_interval(Duration::from_secs(300)),
            Duration::from_secs(300)
        );
    }
}
