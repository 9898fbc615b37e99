//! What a person should know before approving: the impact preview on the card (README "Using it in Slack").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::policy::{Cutoff, INLINE_POLICY_QUOTA};
use super::role_arn::AccountId;
use super::trust::{TrustAnalysis, TrustError, analyse};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RolePreview {
    /// The role's path as IAM reports it (protections depend on it).
    pub path: String,
    pub max_session_duration_secs: Option<i32>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_region: Option<String>,
    pub instance_profiles: Vec<String>,
    pub existing_cutoff: Option<Cutoff>,
    /// Characters used by the role's inline policies, not counting an existing `AWSRevokeOlderSessions`.
    pub inline_policy_chars_used: usize,
    /// Who can assume the role again (README "The request form, and who can come back"), read from its trust policy when the request was
    /// made. `None` for requests stored before this was kept, or when IAM returned no trust policy.
    #[serde(default)]
    pub who_can_come_back: Option<WhoCanComeBack>,
}

/// The trust policy, read (or not) into who can come back after the revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhoCanComeBack {
    Analysed(TrustAnalysis),
    /// The document could not be read: nobody can say who comes back, so the card says so.
    Unreadable(TrustError),
}

impl WhoCanComeBack {
    /// Read a trust policy (URL-decoded JSON); `configured` are the accounts this bot works in.
    pub fn read(trust_json: &str, configured: &[AccountId]) -> Self {
        match analyse(trust_json, configured) {
            Ok(a) => WhoCanComeBack::Analysed(a),
            Err(e) => WhoCanComeBack::Unreadable(e),
        }
    }
}

impl RolePreview {
    pub fn inline_space_left(&self) -> usize {
        INLINE_POLICY_QUOTA.saturating_sub(self.inline_policy_chars_used)
    }

    /// One line per fact, for the card and for the console.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = self.max_session_duration_secs {
            out.push(format!(
                "Sessions last up to {}: without revocation, leaked credentials stay valid that long.",
                human_secs(s as i64)
            ));
        }
        match (&self.last_used_at, &self.last_used_region) {
            (Some(t), Some(r)) => out.push(format!(
                "Last used {} in {r}.",
                t.format("%Y-%m-%d %H:%M UTC")
            )),
            (Some(t), None) => out.push(format!("Last used {}.", t.format("%Y-%m-%d %H:%M UTC"))),
            _ => out.push("No recorded use in IAM's tracking window.".into()),
        }
        if self.instance_profiles.is_empty() {
            out.push("No instance profiles carry this role.".into());
        } else {
            out.push(format!(
                "Instance profiles: {}. Their EC2 instances keep old credentials until they refresh them; restart or wait for the refresh.",
                self.instance_profiles.join(", ")
            ));
        }
        match self.existing_cutoff {
            Some(c) => out.push(format!("Already revoked: sessions issued before {c} are denied; a later cut-off replaces it, an earlier one never does.")),
            None => out.push("No earlier revocation on this role.".into()),
        }
        out.push(format!(
            "Inline policy space left: {} of {INLINE_POLICY_QUOTA} characters (the deny policy needs about 200).",
            self.inline_space_left()
        ));
        out
    }
}

pub fn human_secs(s: i64) -> String {
    match s {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
