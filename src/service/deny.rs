//! The seam between the watch and IAM: what a revocation's deny is now ([`DenyState`]), when its
//! window ends, and removing it. A permission-set revocation plugs in here.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::App;
use crate::domain::policy::{Cutoff, Existing, read_existing};
use crate::domain::request::{Request, State, Target};
use crate::notice::DriftKind;
use crate::ports::{IamError, IamErrorKind, StoreError};

/// The window when the role's maximum session duration is not known: the longest IAM allows.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(12 * 3600);

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

/// A user's window: `GetSessionToken` and `GetFederationToken` sessions last up to 36 h.
const USER_WINDOW_SECS: i64 = 36 * 3600;

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
        // Session and federation tokens last up to 36 h (README "Leaked access keys and IAM users").
        Target::User(_) => Some(USER_WINDOW_SECS),
    };
    let secs = known
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_WINDOW.as_secs() as i64);
    Some(in_force.time() + chrono::Duration::seconds(secs))
}

impl App {
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
            Target::User(u) => self.iam.get_user_revoke_policy(&u.arn).await?,
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
    pub(super) async fn revocation_in_flight(&self, request: &Request) -> Result<bool, StoreError> {
        let target = request.target_arn();
        Ok(self
            .store
            .open_requests()
            .await?
            .iter()
            .any(|r| r.state() == State::Approved && r.target_arn() == target))
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
}
