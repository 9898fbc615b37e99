//! After a revocation's window (README "Revocations that stay in force",
//! `watch.cleanup_after_window`): remove the deny if it is exactly this request's — its own
//! cut-off, written by it (not one that was already there) — and nothing but it, and only once the
//! longest session the role may have issued before the cut-off has ended.
//!
//! The window is the longest session length seen: the role's `MaxSessionDuration` when the
//! request was made, when the deny was written, and again now (it may have been raised and lowered
//! again in between), and at least 12 h when an
//! instance profile carries the role or a compute service is trusted to assume it: the
//! credentials EC2, ECS, Lambda, EKS and the like hand out are not bounded by `MaxSessionDuration`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::App;
use super::deny::DenyState;
use super::notice::ThreadNote;
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::ids::Actor;
use crate::domain::policy::{Cutoff, MergeOutcome};
use crate::domain::preview::WhoCanComeBack;
use crate::domain::request::Request;
use crate::domain::trust::{PrincipalKind, TrustAnalysis, analyse};
use crate::ports::{IamError, IamErrorKind, error_chain};

/// The least window of a role that compute credentials can carry (IAM's longest session).
pub const COMPUTE_WINDOW: Duration = Duration::from_secs(12 * 3600);

/// Services (`<name>.amazonaws.com`) that hand out the role's credentials to running compute,
/// renewed without regard to `MaxSessionDuration`.
const COMPUTE_SERVICES: &[&str] = &[
    "ec2",
    "ecs",
    "ecs-tasks",
    "lambda",
    "edgelambda",
    "eks",
    "pods.eks",
    "eks-fargate-pods",
    "batch",
    "codebuild",
    "sagemaker",
    "glue",
    "states",
];

/// Whether a `Service` principal is a compute service (a wildcard could be one).
fn is_compute_service(principal: &str) -> bool {
    let name = principal
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| principal.strip_suffix(".amazonaws.com"))
        .unwrap_or(principal);
    principal.contains('*') || COMPUTE_SERVICES.contains(&name)
}

/// Whether a trust policy lets a compute service assume the role.
fn trusts_compute(analysis: &TrustAnalysis) -> bool {
    analysis
        .entries
        .iter()
        .any(|e| e.kind == PrincipalKind::Service && is_compute_service(&e.principal))
}

/// What one reading of the role says about how long its sessions may last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionsSeen {
    pub max_session_secs: Option<i64>,
    /// An instance profile carries the role, or a compute service is trusted, or the trust policy
    /// could not be read (so neither can be ruled out).
    pub compute: bool,
}

impl SessionsSeen {
    /// What the preview read when the request was made.
    pub fn at_request(request: &Request) -> SessionsSeen {
        let Some(p) = request.preview() else {
            return SessionsSeen::default();
        };
        SessionsSeen {
            max_session_secs: p.max_session_duration_secs.map(i64::from),
            compute: !p.instance_profiles.is_empty()
                || match &p.who_can_come_back {
                    Some(WhoCanComeBack::Analysed(a)) => trusts_compute(a),
                    Some(WhoCanComeBack::Unreadable(_)) => true,
                    None => false,
                },
        }
    }

    /// What `GetRole` said when the deny was written (a role's length raised between the
    /// request and the approval counts, even if it was lowered again before clean-up).
    pub fn at_apply(request: &Request) -> SessionsSeen {
        SessionsSeen {
            max_session_secs: request.written().and_then(|w| w.session_secs_at_apply),
            compute: false,
        }
    }
}

/// The window after the cut-off in force: the longest session length seen, at least
/// [`COMPUTE_WINDOW`] when compute credentials may carry the role, and [`COMPUTE_WINDOW`] (IAM's
/// longest) when no length was ever read.
pub fn cleanup_window(seen: &[SessionsSeen]) -> chrono::Duration {
    let longest = seen
        .iter()
        .filter_map(|s| s.max_session_secs)
        .filter(|s| *s > 0)
        .max();
    let floor = if seen.iter().any(|s| s.compute) || longest.is_none() {
        COMPUTE_WINDOW.as_secs() as i64
    } else {
        0
    };
    chrono::Duration::seconds(longest.unwrap_or(0).max(floor))
}

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
    /// After the window: remove the deny if it is exactly this request's and nothing but it. A
    /// deny that was already there (`already_covered`), a later revocation's deny, or a document
    /// with other statements stays; a window that turns out longer now is waited out.
    pub(super) async fn clean_up(&self, request: &Request, in_force: Cutoff) -> Cleanup {
        let Some(role) = request.role() else {
            info!(
                "window passed; clean-up of a permission set's inline policy is not supported, the deny stays"
            );
            return Cleanup::Done;
        };
        if request.outcome() == Some(MergeOutcome::AlreadyCovered)
            || request.cutoff() != Some(in_force)
        {
            info!("window passed; the deny in force was not written by this request, so it stays");
            return Cleanup::Done;
        }
        match self.sessions_now(role).await {
            Ok(now) => {
                let end = in_force.time()
                    + cleanup_window(&[
                        SessionsSeen::at_request(request),
                        SessionsSeen::at_apply(request),
                        now,
                    ]);
                if self.clock.now() < end {
                    info!(%end, "sessions issued before the cut-off may last until later; clean-up waits");
                    return Cleanup::Retry;
                }
            }
            Err(e) if e.kind == IamErrorKind::NoSuchEntity => return Cleanup::Done,
            Err(e) => {
                warn!(error = %e.full(), "could not re-read the role's session length for clean-up");
                return Cleanup::Retry;
            }
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

    /// The role's session length and compute carriers as IAM has them now.
    async fn sessions_now(
        &self,
        role: &crate::domain::role_arn::RoleArn,
    ) -> Result<SessionsSeen, IamError> {
        let (info, details) =
            futures_util::future::try_join(self.iam.get_role(role), self.iam.role_details(role))
                .await?;
        let compute = !details.instance_profiles.is_empty()
            || info
                .trust_policy
                .as_deref()
                .is_some_and(|t| analyse(t, &[]).map_or(true, |a| trusts_compute(&a)));
        Ok(SessionsSeen {
            max_session_secs: info.max_session_duration_secs.map(i64::from),
            compute,
        })
    }
}

/// When a request's clean-up may run at the earliest, from what was seen when it was made (the
/// watch's own window, before clean-up re-reads the role).
pub fn earliest_cleanup(request: &Request) -> Option<DateTime<Utc>> {
    let in_force = request.written()?.in_force;
    Some(
        in_force.time()
            + cleanup_window(&[
                SessionsSeen::at_request(request),
                SessionsSeen::at_apply(request),
            ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(secs: Option<i64>, compute: bool) -> SessionsSeen {
        SessionsSeen {
            max_session_secs: secs,
            compute,
        }
    }

    #[test]
    fn the_window_is_the_longest_session_seen() {
        let h = chrono::Duration::hours;
        assert_eq!(cleanup_window(&[seen(Some(3600), false)]), h(1));
        assert_eq!(
            cleanup_window(&[seen(Some(3600), false), seen(Some(4 * 3600), false)]),
            h(4),
            "raised since the request"
        );
        assert_eq!(
            cleanup_window(&[seen(Some(4 * 3600), false), seen(Some(3600), false)]),
            h(4),
            "lowered since the request"
        );
        assert_eq!(cleanup_window(&[seen(None, false)]), h(12), "never read");
    }

    #[test]
    fn compute_credentials_keep_the_window_at_least_12_hours() {
        let h = chrono::Duration::hours;
        assert_eq!(cleanup_window(&[seen(Some(3600), true)]), h(12));
        assert_eq!(
            cleanup_window(&[seen(Some(3600), false), seen(Some(3600), true)]),
            h(12)
        );
        for service in [
            "ec2.amazonaws.com",
            "ecs-tasks.amazonaws.com",
            "lambda.amazonaws.com",
            "eks.amazonaws.com",
            "pods.eks.amazonaws.com",
            "batch.amazonaws.com",
            "ec2.amazonaws.com.cn",
            "*.amazonaws.com",
        ] {
            assert!(is_compute_service(service), "{service}");
        }
        for service in ["cloudformation.amazonaws.com", "config.amazonaws.com"] {
            assert!(!is_compute_service(service), "{service}");
        }
        let trust = |service: &str| {
            analyse(
                &format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
                ),
                &[],
            )
            .unwrap()
        };
        assert!(trusts_compute(&trust("ec2.amazonaws.com")));
        assert!(!trusts_compute(&trust("cloudformation.amazonaws.com")));
    }
}
