//! The background pass (README "Using it in Slack"): finish every `approved` request (after a crash, or when the
//! outcome could not be recorded) and expire overdue `pending` ones. Owned by the application:
//! started with it, stopped and drained on shutdown.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::App;
use super::notice::ThreadNote;
use crate::domain::audit::{EventDraft, EventKind, Witness};
use crate::domain::ids::Actor;
use crate::domain::request::{Request, State};
use crate::ports::{StoreError, error_chain};

/// How often approved-but-unfinished requests are finished and overdue ones expired.
pub const RECOVERY_INTERVAL: Duration = Duration::from_secs(30);

/// The pause between recovery passes: `RECOVERY_INTERVAL`, or a quarter of `expires_after` when
/// requests expire sooner than two minutes (at least 1 s), so an overdue card turns *expired*
/// soon after its time.
pub fn recovery_interval(expires_after: Duration) -> Duration {
    (expires_after / 4).clamp(Duration::from_secs(1), RECOVERY_INTERVAL)
}

/// The pass's pause given both timers it serves: expiry and reminders.
pub fn pass_interval(expires_after: Duration, remind_after: Duration) -> Duration {
    recovery_interval(expires_after.min(remind_after))
}

impl App {
    /// Finish every approved request and expire overdue pending ones. The apply step re-checks the
    /// role's protection against IAM before writing: the request item is not trusted blindly.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let open = self.store.open_requests().await?;
        let mut finished = 0;
        for r in open {
            match r.state() {
                State::Approved => {
                    info!(request_id = %r.id(), "finishing an approved request");
                    self.apply(r).await;
                    finished += 1;
                }
                State::Pending if self.clock.now() >= r.expires_at() => self.expire(r).await,
                State::Pending => self.remind_if_due(&r).await,
                _ => {}
            }
        }
        Ok(finished)
    }

    #[tracing::instrument(skip_all, fields(request_id = %request.id()))]
    pub(super) async fn expire(&self, mut request: Request) {
        for _ in 0..super::decide::MAX_RACE_RETRIES {
            let Some(t) = request.expire(self.clock.now()) else {
                return;
            };
            match self.transition(&t.next, t.event).await {
                Ok(appended) => {
                    info!("expired");
                    return self.show_outcome(&t.next, Witness::of(&appended)).await;
                }
                Err(StoreError::Conflict) => match self.store.get(request.id()).await {
                    Ok(Some(r)) => request = r,
                    _ => return,
                },
                Err(e) => return warn!(error = %error_chain(&e), "could not expire a request"),
            }
        }
    }

    /// Remind the approvers in the card's thread when the next reminder is due (README "Using it in Slack"). The
    /// count is claimed in the store first, so replicas do not double-remind and a restart does
    /// not forget.
    #[tracing::instrument(skip_all, fields(request_id = %r.id()))]
    async fn remind_if_due(&self, r: &Request) {
        let remind_after = chrono::Duration::from_std(self.settings.remind_after)
            .unwrap_or(chrono::Duration::minutes(5));
        let now = self.clock.now();
        if now < r.next_reminder_at(remind_after) {
            return;
        }
        match self.store.claim_reminder(r.id(), r.reminders()).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => return warn!(error = %error_chain(&e), "could not count a reminder"),
        }
        let waited = (now - r.created_at()).to_std().unwrap_or_default();
        let escalate = self
            .settings
            .escalate_after
            .is_some_and(|after| waited >= after);
        info!(
            reminder = r.reminders() + 1,
            escalate, "reminding the approvers"
        );
        let event = EventDraft::by(r.id().clone(), EventKind::Reminded, &Actor::Bot, now)
            .with_role_text(&r.target_arn())
            .with_detail(format!(
                "reminder {}{}",
                r.reminders() + 1,
                if escalate { ", escalated" } else { "" }
            ));
        self.record_quietly(event).await;
        self.timeline(
            r,
            ThreadNote::Reminder {
                id: r.id().clone(),
                waited: std::time::Duration::from_secs(waited.as_secs()),
                approvers: self.settings.approvers.clone(),
                escalate_to: if escalate {
                    self.settings.escalate_to.clone()
                } else {
                    Vec::new()
                },
            },
        )
        .await;
    }

    /// Start the recovery/expiry loop and the drift watch; they stop when the application drains.
    pub fn start_background(self: &Arc<Self>) {
        self.start_watch();
        let interval = pass_interval(self.settings.expires_after, self.settings.remind_after);
        self.every(
            "recovery",
            interval,
            |app| async move { app.recover().await },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_runs_every_30_s_or_sooner_for_short_expiries() {
        let secs = Duration::from_secs;
        assert_eq!(recovery_interval(secs(30 * 60)), secs(30));
        assert_eq!(recovery_interval(secs(120)), secs(30));
        assert_eq!(recovery_interval(secs(60)), secs(15));
        assert_eq!(recovery_interval(secs(2)), secs(1));
        assert_eq!(recovery_interval(Duration::ZERO), secs(1));
    }
}
