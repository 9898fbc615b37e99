//! A revocation request and its state machine (SPEC §4). Pure: no clock, no I/O. The data of each
//! state lives in its variant (a cut-off exists only once approved), and every transition goes
//! through the transition table.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::audit::{EventDraft, EventKind};
use super::ids::{Actor, ChannelId, RequestId, SlackUserId};
use super::permission_set::PermissionSetTarget;
use super::policy::{Cutoff, MergeOutcome};
use super::preview::RolePreview;
use super::protection::Protection;
use super::role_arn::RoleArn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Approved,
    Applied,
    Failed,
    Rejected,
    Cancelled,
    Expired,
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Applied => "applied",
            State::Failed => "failed",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "pending" => State::Pending,
            "approved" => State::Approved,
            "applied" => State::Applied,
            "failed" => State::Failed,
            "rejected" => State::Rejected,
            "cancelled" => State::Cancelled,
            "expired" => State::Expired,
            _ => return None,
        })
    }

    /// Open requests still need work: a decision (pending) or the IAM write (approved).
    pub fn is_open(&self) -> bool {
        matches!(self, State::Pending | State::Approved)
    }

    /// The only transitions that exist.
    pub fn can_become(&self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Pending, Approved | Rejected | Cancelled | Expired) | (Approved, Applied | Failed)
        )
    }
}

/// Where the approval card lives, so it can be updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    pub channel: ChannelId,
    pub ts: String,
}

/// What was written and read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub outcome: MergeOutcome,
    /// The cut-off in force on the role afterwards: the request's own, or a later one that was there.
    pub in_force: Cutoff,
    pub policy_sha256: String,
    /// False when the write succeeded but IAM never showed it back within the retry window.
    pub verified: bool,
}

/// Why an approved request could not be applied, in terms a responder can act on.
/// AWS's own error text is logged and kept in the audit event, never shown in Slack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    RoleNotFound,
    AccessDenied {
        action: String,
    },
    NoInlinePolicySpace,
    Unmodifiable,
    Throttled,
    Aws {
        action: String,
    },
    Timeout {
        action: String,
    },
    /// The existing `AWSRevokeOlderSessions` document is in a form the bot does not fully understand.
    PolicyNotUnderstood {
        document: String,
        why: String,
    },
    /// The role became protected (or changed identity) since it was requested.
    Protected {
        protection: Protection,
    },
    RoleChanged {
        now: String,
    },
    CutoffKeptMovingBack,
    ReadBackDiffers,
    /// `ProvisionPermissionSet` failed; AWS's reason (untrusted text).
    ProvisioningFailed {
        reason: String,
    },
    /// Provisioning did not finish within the wait; the policy is written and AWS goes on.
    ProvisioningTimedOut,
    /// A permission-set request while `[identity_center]` is not configured (any more).
    IdentityCenterNotConfigured,
}

/// The state with the data that only that state has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Pending,
    /// The cut-off is decided here, once, and reused by every retry, recovery pass and replica.
    Approved {
        by: SlackUserId,
        cutoff: Cutoff,
    },
    Applied {
        by: SlackUserId,
        cutoff: Cutoff,
        written: Written,
    },
    Failed {
        by: SlackUserId,
        cutoff: Cutoff,
        failure: Failure,
    },
    Rejected {
        by: SlackUserId,
    },
    Cancelled {
        by: SlackUserId,
    },
    Expired,
}

impl Status {
    pub fn state(&self) -> State {
        match self {
            Status::Pending => State::Pending,
            Status::Approved { .. } => State::Approved,
            Status::Applied { .. } => State::Applied,
            Status::Failed { .. } => State::Failed,
            Status::Rejected { .. } => State::Rejected,
            Status::Cancelled { .. } => State::Cancelled,
            Status::Expired => State::Expired,
        }
    }
}

/// What a request revokes: one IAM role, or an Identity Center permission set (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Role(&'a RoleArn),
    PermissionSet(&'a PermissionSetTarget),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredRequest")]
pub struct Request {
    id: RequestId,
    /// The canonical ARN, as IAM returned it when the request was checked (role requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<RoleArn>,
    /// The permission set, as Identity Center described it (permission-set requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    permission_set: Option<PermissionSetTarget>,
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
}

/// The stored form, checked on the way in: exactly one target.
#[derive(Deserialize)]
struct StoredRequest {
    id: RequestId,
    #[serde(default)]
    role: Option<RoleArn>,
    #[serde(default)]
    permission_set: Option<PermissionSetTarget>,
    requester: SlackUserId,
    reason: String,
    channel: ChannelId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    approvals_required: u32,
    approvals: Vec<SlackUserId>,
    version: u64,
    status: Status,
    preview: Option<RolePreview>,
}

impl TryFrom<StoredRequest> for Request {
    type Error = String;
    fn try_from(s: StoredRequest) -> Result<Self, String> {
        if s.role.is_some() == s.permission_set.is_some() {
            return Err("a request names exactly one role or one permission set".into());
        }
        Ok(Request {
            id: s.id,
            role: s.role,
            permission_set: s.permission_set,
            requester: s.requester,
            reason: s.reason,
            channel: s.channel,
            created_at: s.created_at,
            expires_at: s.expires_at,
            approvals_required: s.approvals_required,
            approvals: s.approvals,
            version: s.version,
            status: s.status,
            preview: s.preview,
            card: None,
            reminders: 0,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Cancel,
}

impl Action {
    pub fn parse(action_id: &str) -> Option<Action> {
        match action_id {
            "approve" => Some(Action::Approve),
            "reject" => Some(Action::Reject),
            "cancel" => Some(Action::Cancel),
            _ => None,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
        }
    }
}

/// Why a click did nothing. Shown to the person who clicked, and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    SelfApproval,
    NotAnApprover,
    NotTheRequester,
    AlreadyApproved,
    RequesterRejecting,
    Closed(State),
    Expired,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::SelfApproval => "self_approval",
            Refusal::NotAnApprover => "not_an_approver",
            Refusal::NotTheRequester => "not_the_requester",
            Refusal::AlreadyApproved => "already_approved",
            Refusal::RequesterRejecting => "requester_rejecting",
            Refusal::Closed(_) => "closed",
            Refusal::Expired => "expired",
        }
    }
}

/// A write to make: `next` (version bumped) with its audit event, conditional on the old version.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub next: Request,
    pub event: EventDraft,
}

/// The result of applying a person's click to the current request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Transition(Box<Transition>),
    Refuse(Refusal),
}

/// A transition the table does not allow (a bug in the caller, or a stale read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{from} cannot become {to}")]
pub struct InvalidTransition {
    pub from: &'static str,
    pub to: &'static str,
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

impl Request {
    /// A fresh request: `pending`, version 1, a new id, expiring `expires_after` from `now`.
    pub fn pending(
        new: NewRequest,
        now: DateTime<Utc>,
        expires_after: chrono::Duration,
    ) -> Request {
        let mut r = Request::fresh(
            new.requester,
            new.reason,
            new.channel,
            new.approvals_required,
            now,
            expires_after,
        );
        r.role = Some(new.role);
        r.preview = new.preview;
        r
    }

    /// Pending, version 1, a new id, no target yet: each constructor sets exactly one.
    fn fresh(
        requester: SlackUserId,
        reason: String,
        channel: ChannelId,
        approvals_required: u32,
        now: DateTime<Utc>,
        expires_after: chrono::Duration,
    ) -> Request {
        Request {
            id: RequestId::generate(),
            role: None,
            permission_set: None,
            requester,
            reason,
            channel,
            created_at: now,
            expires_at: now + expires_after,
            approvals_required: approvals_required.max(1),
            approvals: vec![],
            version: 1,
            status: Status::Pending,
            preview: None,
            card: None,
            reminders: 0,
        }
    }

    pub fn id(&self) -> &RequestId {
        &self.id
    }
    /// A permission-set request: `pending`, as [`Request::pending`] makes role requests.
    pub fn pending_permission_set(
        target: PermissionSetTarget,
        requester: SlackUserId,
        reason: String,
        channel: ChannelId,
        approvals_required: u32,
        now: DateTime<Utc>,
        expires_after: chrono::Duration,
    ) -> Request {
        let mut r = Request::fresh(
            requester,
            reason,
            channel,
            approvals_required,
            now,
            expires_after,
        );
        r.permission_set = Some(target);
        r
    }

    pub fn target(&self) -> Target<'_> {
        match (&self.role, &self.permission_set) {
            (_, Some(ps)) => Target::PermissionSet(ps),
            (Some(role), None) => Target::Role(role),
            // Constructors and deserialization guarantee one of the two.
            (None, None) => unreachable_target(),
        }
    }
    /// The role, for role requests.
    pub fn role(&self) -> Option<&RoleArn> {
        self.role.as_ref()
    }
    pub fn permission_set(&self) -> Option<&PermissionSetTarget> {
        self.permission_set.as_ref()
    }
    /// The role's or the permission set's ARN (for the audit trail and the `by_role` index).
    pub fn target_arn(&self) -> String {
        match self.target() {
            Target::Role(r) => r.to_string(),
            Target::PermissionSet(ps) => ps.arn.clone(),
        }
    }
    /// The role's or the permission set's name.
    pub fn target_name(&self) -> &str {
        match self.target() {
            Target::Role(r) => r.name(),
            Target::PermissionSet(ps) => &ps.name,
        }
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

    /// The card's reference is stored beside the request (see `AuditStore::set_card`).
    pub fn with_card(mut self, card: CardRef) -> Request {
        self.card = Some(card);
        self
    }

    pub fn reminders(&self) -> u32 {
        self.reminders
    }

    pub fn with_reminders(mut self, sent: u32) -> Request {
        self.reminders = sent;
        self
    }

    /// When reminder number `reminders() + 1` is due: `remind_after`, then doubling gaps
    /// (5 m, 15 m, 35 m… after the request with the default).
    pub fn next_reminder_at(&self, remind_after: chrono::Duration) -> DateTime<Utc> {
        let factor = (1i32 << (self.reminders.min(10) + 1)) - 1;
        self.created_at + remind_after * factor
    }

    /// The same request under another id (tests and the demo give requests known ids).
    pub fn with_id(mut self, id: RequestId) -> Request {
        self.id = id;
        self
    }

    /// Move to `status` if the transition table allows it.
    fn to(&self, status: Status) -> Result<Request, InvalidTransition> {
        if !self.state().can_become(status.state()) {
            return Err(InvalidTransition {
                from: self.state().as_str(),
                to: status.state().as_str(),
            });
        }
        let mut next = self.clone();
        next.status = status;
        next.version += 1;
        Ok(next)
    }

    fn event(&self, kind: EventKind, actor: &Actor, at: DateTime<Utc>) -> EventDraft {
        EventDraft::by(self.id.clone(), kind, actor, at).with_role_text(&self.target_arn())
    }

    fn transition(next: Request, kind: EventKind, actor: &Actor, now: DateTime<Utc>) -> Transition {
        let event = next.event(kind, actor, now);
        Transition { next, event }
    }

    /// Apply a click. `is_approver` comes from the access lists, resolved by the caller.
    pub fn decide(
        &self,
        action: Action,
        actor: &SlackUserId,
        is_approver: bool,
        now: DateTime<Utc>,
    ) -> Decision {
        if self.state() != State::Pending {
            return Decision::Refuse(Refusal::Closed(self.state()));
        }
        if now >= self.expires_at {
            return Decision::Refuse(Refusal::Expired);
        }
        let who = Actor::User(actor.clone());
        let by = actor.clone();
        let closed = |_: InvalidTransition| Refusal::Closed(self.state());
        let step = match action {
            Action::Cancel if actor != &self.requester => Err(Refusal::NotTheRequester),
            Action::Cancel => self
                .to(Status::Cancelled { by })
                .map_err(closed)
                .map(|next| Self::transition(next, EventKind::Cancelled, &who, now)),
            Action::Reject if actor == &self.requester => Err(Refusal::RequesterRejecting),
            Action::Reject if !is_approver => Err(Refusal::NotAnApprover),
            Action::Reject => self
                .to(Status::Rejected { by })
                .map_err(closed)
                .map(|next| Self::transition(next, EventKind::Rejected, &who, now)),
            Action::Approve if actor == &self.requester => Err(Refusal::SelfApproval),
            Action::Approve if !is_approver => Err(Refusal::NotAnApprover),
            Action::Approve if self.approvals.contains(actor) => Err(Refusal::AlreadyApproved),
            Action::Approve => Ok(self.approve(by, now)),
        };
        match step {
            Ok(t) => Decision::Transition(Box::new(t)),
            Err(refusal) => Decision::Refuse(refusal),
        }
    }

    /// Record one approval; the last one needed approves, and decides the cut-off.
    fn approve(&self, by: SlackUserId, now: DateTime<Utc>) -> Transition {
        let who = Actor::User(by.clone());
        let count = self.approvals.len() as u32 + 1;
        let mut next = if count >= self.approvals_required {
            let cutoff = Cutoff::at_or_after(now);
            match self.to(Status::Approved {
                by: by.clone(),
                cutoff,
            }) {
                Ok(next) => next,
                // Unreachable from `decide` (it checked `pending`); recorded as an approval only.
                Err(_) => self.bumped(),
            }
        } else {
            self.bumped()
        };
        next.approvals.push(by);
        let kind = if next.state() == State::Approved {
            EventKind::Approved
        } else {
            EventKind::ApprovalRecorded
        };
        let mut event = next
            .event(kind, &who, now)
            .with_detail(format!("{count} of {} approvals", self.approvals_required));
        if let Some(c) = next.cutoff() {
            event = event.with_cutoff(c);
        }
        Transition { next, event }
    }

    /// The same state, one version on (an approval that does not yet reach the quorum).
    fn bumped(&self) -> Request {
        let mut next = self.clone();
        next.version += 1;
        next
    }

    /// Pending past its expiry: move to `expired` (the sweeper's transition).
    pub fn expire(&self, now: DateTime<Utc>) -> Option<Transition> {
        if now < self.expires_at {
            return None;
        }
        let next = self.to(Status::Expired).ok()?;
        Some(Self::transition(next, EventKind::Expired, &Actor::Bot, now))
    }

    /// Approved → applied, with what was written.
    pub fn applied(
        &self,
        written: Written,
        now: DateTime<Utc>,
    ) -> Result<Transition, InvalidTransition> {
        let (by, cutoff) = self.approved_parts()?;
        let detail = format!(
            "{:?}{}",
            written.outcome,
            if written.verified {
                ""
            } else {
                ", written, not verified"
            }
        );
        let next = self.to(Status::Applied {
            by,
            cutoff,
            written: written.clone(),
        })?;
        let event = next
            .event(EventKind::Applied, &Actor::Bot, now)
            .with_cutoff(written.in_force)
            .with_policy_sha256(written.policy_sha256)
            .with_detail(detail);
        Ok(Transition { next, event })
    }

    /// Approved → failed, with the reason a person can act on and the full error for the record.
    pub fn failed(
        &self,
        failure: Failure,
        full_error: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, InvalidTransition> {
        let (by, cutoff) = self.approved_parts()?;
        let kind = serde_json::to_value(&failure)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)))
            .unwrap_or_else(|| "failure".into());
        let next = self.to(Status::Failed {
            by,
            cutoff,
            failure,
        })?;
        let event = next
            .event(EventKind::Failed, &Actor::Bot, now)
            .with_cutoff(cutoff)
            .with_detail(kind)
            .with_error(full_error.to_string());
        Ok(Transition { next, event })
    }

    fn approved_parts(&self) -> Result<(SlackUserId, Cutoff), InvalidTransition> {
        match &self.status {
            Status::Approved { by, cutoff } => Ok((by.clone(), *cutoff)),
            other => Err(InvalidTransition {
                from: other.state().as_str(),
                to: "an outcome",
            }),
        }
    }
}

/// Never reached: every `Request` is built with exactly one target. A static placeholder keeps
/// `target()` total without a panic path.
fn unreachable_target() -> Target<'static> {
    static NONE: std::sync::OnceLock<Option<RoleArn>> = std::sync::OnceLock::new();
    match NONE.get_or_init(|| RoleArn::parse("arn:aws:iam::000000000000:role/invalid-request").ok())
    {
        Some(r) => Target::Role(r),
        None => Target::PermissionSet(&PLACEHOLDER_SET),
    }
}

static PLACEHOLDER_SET: PermissionSetTarget = PermissionSetTarget {
    instance_arn: String::new(),
    arn: String::new(),
    name: String::new(),
    accounts: Vec::new(),
    session_duration: None,
    inline_policy_chars_used: 0,
    existing_cutoff: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> SlackUserId {
        SlackUserId::parse(s).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00.250Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn req(required: u32) -> Request {
        Request::pending(
            NewRequest {
                role: RoleArn::parse("arn:aws:iam::111111111111:role/app").unwrap(),
                requester: user("U0ALICE"),
                reason: "INC-1".into(),
                channel: ChannelId::parse("C0INC").unwrap(),
                approvals_required: required,
                preview: None,
            },
            t0(),
            chrono::Duration::minutes(30),
        )
        .with_id(RequestId::parse("rr-7f3k2q9x").unwrap())
    }

    fn next_of(d: Decision) -> Transition {
        match d {
            Decision::Transition(t) => *t,
            Decision::Refuse(r) => panic!("refused: {r:?}"),
        }
    }

    fn approved() -> Request {
        next_of(req(1).decide(Action::Approve, &user("U0BOB"), true, t0())).next
    }

    fn written(c: Cutoff) -> Written {
        Written {
            outcome: MergeOutcome::Created,
            in_force: c,
            policy_sha256: "abc".into(),
            verified: true,
        }
    }

    #[test]
    fn only_the_listed_transitions_exist() {
        use State::*;
        let all = [
            Pending, Approved, Applied, Failed, Rejected, Cancelled, Expired,
        ];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Pending, Approved),
                (Pending, Rejected),
                (Pending, Cancelled),
                (Pending, Expired),
                (Approved, Applied),
                (Approved, Failed)
            ]
        );
    }

    #[test]
    fn requester_can_never_approve() {
        assert_eq!(
            req(1).decide(Action::Approve, &user("U0ALICE"), true, t0()),
            Decision::Refuse(Refusal::SelfApproval)
        );
    }

    #[test]
    fn the_approving_click_decides_the_cutoff_once_rounded_up() {
        let t = next_of(req(1).decide(Action::Approve, &user("U0BOB"), true, t0()));
        assert_eq!(t.next.state(), State::Approved);
        assert_eq!(t.next.version(), 2);
        assert_eq!(t.event.kind, EventKind::Approved);
        assert_eq!(t.next.cutoff().unwrap().to_string(), "2026-11-23T12:00:01Z");
        assert_eq!(t.event.cutoff.as_deref(), Some("2026-11-23T12:00:01Z"));
    }

    #[test]
    fn non_approvers_are_refused() {
        let r = req(1);
        assert_eq!(
            r.decide(Action::Approve, &user("U0EVE"), false, t0()),
            Decision::Refuse(Refusal::NotAnApprover)
        );
        assert_eq!(
            r.decide(Action::Reject, &user("U0EVE"), false, t0()),
            Decision::Refuse(Refusal::NotAnApprover)
        );
    }

    #[test]
    fn two_approvals_need_two_distinct_people() {
        let r = req(2);
        let one = next_of(r.decide(Action::Approve, &user("U0BOB"), true, t0()));
        assert_eq!(one.next.state(), State::Pending);
        assert_eq!(one.next.cutoff(), None);
        assert_eq!(one.event.kind, EventKind::ApprovalRecorded);
        assert_eq!(
            one.next.decide(Action::Approve, &user("U0BOB"), true, t0()),
            Decision::Refuse(Refusal::AlreadyApproved)
        );
        let two = next_of(
            one.next
                .decide(Action::Approve, &user("U0CAROL"), true, t0()),
        );
        assert_eq!(two.next.state(), State::Approved);
        assert_eq!(two.event.kind, EventKind::Approved);
        assert_eq!(two.next.approvals().len(), 2);
        assert_eq!(two.next.version(), 3);
    }

    #[test]
    fn only_the_requester_cancels_and_approvers_reject() {
        let r = req(1);
        assert_eq!(
            r.decide(Action::Cancel, &user("U0BOB"), true, t0()),
            Decision::Refuse(Refusal::NotTheRequester)
        );
        assert_eq!(
            next_of(r.decide(Action::Cancel, &user("U0ALICE"), false, t0()))
                .next
                .state(),
            State::Cancelled
        );
        assert_eq!(
            next_of(r.decide(Action::Reject, &user("U0BOB"), true, t0()))
                .next
                .state(),
            State::Rejected
        );
        assert_eq!(
            r.decide(Action::Reject, &user("U0ALICE"), true, t0()),
            Decision::Refuse(Refusal::RequesterRejecting)
        );
    }

    #[test]
    fn closed_and_expired_requests_refuse_clicks() {
        let r = req(1);
        let late = r.expires_at() + chrono::Duration::seconds(1);
        assert_eq!(
            r.decide(Action::Approve, &user("U0BOB"), true, late),
            Decision::Refuse(Refusal::Expired)
        );
        assert_eq!(r.expire(late).unwrap().next.state(), State::Expired);
        assert!(r.expire(t0()).is_none());
        let done = approved()
            .applied(written(approved().cutoff().unwrap()), t0())
            .unwrap()
            .next;
        assert_eq!(
            done.decide(Action::Approve, &user("U0BOB"), true, t0()),
            Decision::Refuse(Refusal::Closed(State::Applied))
        );
        assert!(done.expire(late).is_none());
    }

    #[test]
    fn outcome_only_from_approved_and_it_keeps_the_approval_cutoff() {
        let c = Cutoff::parse("2026-01-01T00:00:00Z").unwrap();
        assert!(req(1).applied(written(c), t0()).is_err());
        let a = approved();
        let done = a.applied(written(c), t0()).unwrap();
        assert_eq!(done.next.state(), State::Applied);
        assert_eq!(done.next.cutoff(), a.cutoff());
        assert_eq!(done.event.cutoff.as_deref(), Some("2026-01-01T00:00:00Z"));
        let failed = a
            .failed(Failure::RoleNotFound, "NoSuchEntity: gone", t0())
            .unwrap();
        assert_eq!(failed.next.state(), State::Failed);
        assert_eq!(failed.next.cutoff(), a.cutoff());
        assert!(failed.event.error.unwrap().contains("NoSuchEntity"));
        assert!(done.next.applied(written(c), t0()).is_err());
    }

    #[test]
    fn reminders_follow_with_doubling_gaps() {
        let r = req(1);
        let five = chrono::Duration::minutes(5);
        assert_eq!(r.next_reminder_at(five), t0() + five);
        let r = r.with_reminders(1);
        assert_eq!(
            r.next_reminder_at(five),
            t0() + chrono::Duration::minutes(15)
        );
        let r = r.with_reminders(2);
        assert_eq!(
            r.next_reminder_at(five),
            t0() + chrono::Duration::minutes(35)
        );
    }

    #[test]
    fn stored_form_round_trips_without_the_card() {
        let a = approved().with_card(CardRef {
            channel: ChannelId::parse("C0INC").unwrap(),
            ts: "1.2".into(),
        });
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""state":"approved""#), "{json}");
        let back: Request = serde_json::from_str(&json).unwrap();
        assert_eq!(back.card(), None);
        assert_eq!(back.cutoff(), a.cutoff());
        assert_eq!(back.status(), a.status());
    }
}
