//! A revocation request and its state machine (README "Using it in Slack"). Pure: no clock, no I/O. The data of each
//! state lives in its variant (a cut-off exists only once approved), and every transition goes
//! through the transition table.
//!
//! - `status`: the states, the data each one holds, and the transition table;
//! - `decide`: people's clicks and the sweeper's expiry (`pending` → …);
//! - `outcome`: what an approved request ends in (`applied` or `failed`);
//! - `target`: what a request revokes, and its stored form;
//! - `reminders`: when the next reminder is due.

mod decide;
mod outcome;
mod reminders;
mod status;
mod target;
#[cfg(test)]
mod test_support;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{ChannelId, RequestId, SlackUserId};
use super::permission_set::PermissionSetTarget;
use super::policy::{Cutoff, MergeOutcome};
use super::preview::RolePreview;
use super::role_arn::RoleArn;

pub use decide::{Action, Decision, Refusal};
pub use outcome::{Failure, Written};
pub use status::{InvalidTransition, State, Status, Transition};
pub use target::{KeyPlan, Target, UserTarget};

/// Where the approval card lives, so it can be updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    pub channel: ChannelId,
    pub ts: String,
}

/// A revocation request: what it revokes, who asked and why, and where it stands. Stored as one
/// JSON document (the DynamoDB item's `data`); the card and the reminder count are kept beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    id: RequestId,
    /// Stored as a `role` or a `permission_set` field, beside the others.
    #[serde(flatten)]
    target: Target,
    requester: SlackUserId,
    reason: String,
    channel: ChannelId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    approvals_required: u32,
    approvals: Vec<SlackUserId>,
    /// Bumped on every write; the conditional write checks it.
    version: u64,
    status: Status,
    /// The impact preview taken when the request was made, kept for every card update.
    preview: Option<RolePreview>,
    /// Stored beside the request, not in it (it is set once the card is posted).
    #[serde(skip)]
    card: Option<CardRef>,
    /// Reminders sent so far (stored beside the request; counted by a conditional update).
    #[serde(skip)]
    reminders: u32,
    /// The permission-set provisioning started for this approved request (`ProvisionPermissionSet`'s
    /// request id), stored beside the request by the worker holding the apply lease, so that
    /// recovery resumes waiting on it.
    #[serde(skip)]
    provisioning: Option<String>,
}

/// What a new request is made of; everything else starts empty.
pub struct NewRequest {
    pub role: RoleArn,
    pub requester: SlackUserId,
    pub reason: String,
    pub channel: ChannelId,
    pub approvals_required: u32,
    pub preview: Option<RolePreview>,
}

/// Who asks, why, where, and how many approvals it needs: what every new request starts from,
/// whatever it revokes.
struct Opening {
    requester: SlackUserId,
    reason: String,
    channel: ChannelId,
    approvals_required: u32,
}

impl Request {
    /// A fresh request: `pending`, version 1, a new id, expiring `expires_after` from `now`.
    pub fn pending(
        new: NewRequest,
        now: DateTime<Utc>,
        expires_after: chrono::Duration,
    ) -> Request {
        let opening = Opening {
            requester: new.requester,
            reason: new.reason,
            channel: new.channel,
            approvals_required: new.approvals_required,
        };
        Request {
            preview: new.preview,
            ..Request::fresh(Target::Role(new.role), opening, now, expires_after)
        }
    }

    /// A request for a permission set or a user (a pasted key, a user, or a restore): `pending`,
    /// as [`Request::pending`] makes role requests (which carry their preview).
    pub fn pending_target(
        target: Target,
        requester: SlackUserId,
        reason: String,
        channel: ChannelId,
        approvals_required: u32,
        now: DateTime<Utc>,
        expires_after: chrono::Duration,
    ) -> Request {
        let opening = Opening {
            requester,
            reason,
            channel,
            approvals_required,
        };
        Request::fresh(target, opening, now, expires_after)
    }

    /// Pending, version 1, a new id, no approvals and no preview yet.
    fn fresh(
        target: Target,
        opening: Opening,
        now: DateTime<Utc>,
        expires_after: chrono::Duration,
    ) -> Request {
        Request {
            id: RequestId::generate(),
            target,
            requester: opening.requester,
            reason: opening.reason,
            channel: opening.channel,
            created_at: now,
            expires_at: now + expires_after,
            approvals_required: opening.approvals_required.max(1),
            approvals: vec![],
            version: 1,
            status: Status::Pending,
            preview: None,
            card: None,
            reminders: 0,
            provisioning: None,
        }
    }

    pub fn id(&self) -> &RequestId {
        &self.id
    }
    pub fn target(&self) -> &Target {
        &self.target
    }
    /// The role, for role requests.
    pub fn role(&self) -> Option<&RoleArn> {
        match &self.target {
            Target::Role(role) => Some(role),
            _ => None,
        }
    }
    pub fn permission_set(&self) -> Option<&PermissionSetTarget> {
        match &self.target {
            Target::PermissionSet(ps) => Some(ps),
            _ => None,
        }
    }
    /// The user and what the request does to its keys, for user requests.
    pub fn user(&self) -> Option<&UserTarget> {
        match &self.target {
            Target::User(u) => Some(u),
            _ => None,
        }
    }
    /// The role's or the permission set's ARN (for the audit trail and the `by_role` index).
    pub fn target_arn(&self) -> String {
        self.target.arn()
    }
    /// The role's or the permission set's name.
    pub fn target_name(&self) -> &str {
        self.target.name()
    }
    pub fn requester(&self) -> &SlackUserId {
        &self.requester
    }
    pub fn reason(&self) -> &str {
        &self.reason
    }
    pub fn channel(&self) -> &ChannelId {
        &self.channel
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    pub fn approvals_required(&self) -> u32 {
        self.approvals_required
    }
    pub fn approvals(&self) -> &[SlackUserId] {
        &self.approvals
    }
    pub fn version(&self) -> u64 {
        self.version
    }
    pub fn status(&self) -> &Status {
        &self.status
    }
    pub fn state(&self) -> State {
        self.status.state()
    }
    pub fn preview(&self) -> Option<&RolePreview> {
        self.preview.as_ref()
    }
    pub fn card(&self) -> Option<&CardRef> {
        self.card.as_ref()
    }
    /// The cut-off, once there is one (approved and after).
    pub fn cutoff(&self) -> Option<Cutoff> {
        match &self.status {
            Status::Approved { cutoff, .. }
            | Status::Applied { cutoff, .. }
            | Status::Failed { cutoff, .. } => Some(*cutoff),
            _ => None,
        }
    }
    /// What was written, once applied.
    pub fn written(&self) -> Option<&Written> {
        match &self.status {
            Status::Applied { written, .. } => Some(written),
            _ => None,
        }
    }
    pub fn outcome(&self) -> Option<MergeOutcome> {
        self.written().map(|w| w.outcome)
    }
    pub fn policy_sha256(&self) -> Option<&str> {
        self.written().map(|w| w.policy_sha256.as_str())
    }
    /// Why it failed, once failed.
    pub fn failure(&self) -> Option<&Failure> {
        match &self.status {
            Status::Failed { failure, .. } => Some(failure),
            _ => None,
        }
    }
    /// Who closed or approved it, if anyone did.
    pub fn decided_by(&self) -> Option<&SlackUserId> {
        match &self.status {
            Status::Approved { by, .. }
            | Status::Applied { by, .. }
            | Status::Failed { by, .. }
            | Status::Rejected { by }
            | Status::Cancelled { by } => Some(by),
            Status::Pending | Status::Expired => None,
        }
    }

    /// The provisioning started for it, if one was (see `AuditStore::set_provisioning`).
    pub fn provisioning(&self) -> Option<&str> {
        self.provisioning.as_deref()
    }

    /// The provisioning request id is stored beside the request.
    pub fn with_provisioning(mut self, provisioning: Option<String>) -> Request {
        self.provisioning = provisioning;
        self
    }

    /// The card's reference is stored beside the request (see `AuditStore::set_card`).
    pub fn with_card(mut self, card: CardRef) -> Request {
        self.card = Some(card);
        self
    }

    /// The same request under another id (tests and the demo give requests known ids).
    pub fn with_id(mut self, id: RequestId) -> Request {
        self.id = id;
        self
    }
}
