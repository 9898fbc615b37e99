//! What the service tells people, as data. `slack::messages` renders it for Slack and the demo
//! renders the same values as plain text: no mrkdwn is written here.

use crate::domain::audit::{AuditEvent, Witness};
use crate::domain::command::CommandError;
use crate::domain::ids::RequestId;
use crate::domain::policy::Cutoff;
use crate::domain::protection::Protection;
use crate::domain::request::{Failure, Refusal, Request};
use crate::domain::role_arn::RoleArn;

/// What the approval card shows; rendered to Block Kit by the Slack adapter, to text by the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub request: Request,
    pub account_name: Option<String>,
    /// The last event's place in the chain, shown once the request is closed (README "The audit table (DynamoDB)").
    pub witness: Option<Witness>,
    /// The short card, sent when Slack refused the full one (README, "Slack").
    pub minimal: bool,
}

pub use crate::config::ResolveError;

/// A page of results and whether more matched.
#[derive(Debug, Clone, Default)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
    /// Items the store read to answer (to show index use).
    pub scanned: usize,
    /// How many matched in all, when there are more than fit and the store can count them.
    pub total: Option<usize>,
}

/// The request form as opened: where its answers go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestForm {
    /// The channel the command came from: the card is posted there, refusals shown there.
    pub channel: crate::domain::ids::ChannelId,
    /// When the command's trigger id expires (`TRIGGER_LIFETIME` after it arrived): Slack opens
    /// no form after that.
    pub trigger_expires: tokio::time::Instant,
}

/// How long a slash command's `trigger_id` can open a form (Slack: 3 seconds).
pub const TRIGGER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a request was refused before it existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitRefusal {
    NotARequester,
    MembershipUnknown,
    Unresolvable(ResolveError),
    Protected {
        role: RoleArn,
        protection: Protection,
    },
    /// The typed partition or account is not where IAM says the role lives.
    Mismatch {
        typed: RoleArn,
        actual: RoleArn,
    },
    /// The account's credentials belong to another account: nothing is checked or written there.
    WrongCredentials {
        account: String,
        actual: String,
    },
    Iam {
        role: RoleArn,
        failure: Failure,
    },
    /// A permission set (or an Identity Center role) while `[identity_center]` is not configured.
    IdentityCenterNotConfigured,
    UnknownPermissionSet {
        name: String,
    },
    PermissionSetProtected {
        name: String,
    },
    /// An Identity Center call failed while checking the permission set.
    IdentityCenter {
        action: String,
    },
    /// The permission set's inline policy has no room for the revoke statement.
    PermissionSetPolicyFull {
        name: String,
        used: usize,
    },
    /// The permission set is provisioned to the organization's management account (`management`,
    /// the instance's owner) and the bot administers Identity Center as a delegated
    /// administrator, which AWS lets change no such permission set.
    PermissionSetInManagementAccount {
        name: String,
        management: String,
    },
}

impl SubmitRefusal {
    /// A short code for the audit event and the log.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitRefusal::NotARequester => "not_a_requester",
            SubmitRefusal::MembershipUnknown => "membership_unknown",
            SubmitRefusal::Unresolvable(_) => "unresolvable_role",
            SubmitRefusal::Protected { .. } => "protected_role",
            SubmitRefusal::Mismatch { .. } => "partition_or_account_mismatch",
            SubmitRefusal::WrongCredentials { .. } => "wrong_account_credentials",
            SubmitRefusal::Iam { .. } => "iam_lookup_failed",
            SubmitRefusal::IdentityCenterNotConfigured => "identity_center_not_configured",
            SubmitRefusal::UnknownPermissionSet { .. } => "unknown_permission_set",
            SubmitRefusal::PermissionSetProtected { .. } => "protected_permission_set",
            SubmitRefusal::IdentityCenter { .. } => "identity_center_lookup_failed",
            SubmitRefusal::PermissionSetPolicyFull { .. } => "permission_set_policy_full",
            SubmitRefusal::PermissionSetInManagementAccount { .. } => {
                "permission_set_in_management_account"
            }
        }
    }
}

/// Why a click was not applied although it might have been valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickProblem {
    StoreUnreadable,
    MembershipUnknown,
    NotRecorded,
    KeptChanging,
}

/// A lookup's answer. What it shows is verified against the chain or marked as not verified
/// (README "The audit table (DynamoDB)"): `not_verified` says why, in words (they may quote stored text).
#[derive(Debug, Clone)]
pub enum Found {
    One {
        request: Box<Request>,
        events: Vec<AuditEvent>,
        not_verified: NotVerified,
    },
    Many {
        page: Page<Request>,
        about: LookupSubject,
        limit: u32,
        /// Requests on the page that their events do not explain, with why.
        not_verified: Vec<(RequestId, String)>,
    },
}

/// What a lookup of one request could not verify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotVerified {
    /// Why the request item is not what its verified events say.
    pub request: Option<String>,
    /// For each event shown (same order): why it is not verified, if it is not.
    pub events: Vec<Option<String>>,
}

impl NotVerified {
    /// Why the `i`-th event shown is not verified, if it is not.
    pub fn event(&self, i: usize) -> Option<&str> {
        self.events.get(i).and_then(|w| w.as_deref())
    }
    pub fn is_empty(&self) -> bool {
        self.request.is_none() && self.events.iter().all(Option::is_none)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupSubject {
    Role(RoleArn),
    User(crate::domain::ids::SlackUserId),
    Latest,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("there is no request {0}")]
    NoSuchRequest(RequestId),
    #[error(transparent)]
    Unresolvable(#[from] ResolveError),
    #[error("the audit trail could not be read")]
    StoreUnavailable,
}

/// Everything the bot says to one person (ephemeral) or the channel (lookups).
#[derive(Debug, Clone)]
pub enum Notice {
    Usage,
    /// `/revoke-role` with no arguments: the request form is opening.
    OpeningForm,
    /// The request form could not be opened.
    FormNotOpened {
        slack_error: String,
    },
    NotUnderstood(CommandError),
    ChannelNotAllowed,
    Checking {
        role: String,
    },
    LookingUp,
    RequestRefused {
        why: SubmitRefusal,
        /// False when even the refusal could not be written to the audit trail.
        recorded: bool,
    },
    RequestNotRecorded,
    AwaitingApproval(RequestId),
    CardNotPosted {
        id: RequestId,
        slack_error: String,
    },
    /// Slack did not confirm the card's posting: it may be in the channel (then its buttons work).
    CardUnconfirmed(RequestId),
    NoSuchRequest(RequestId),
    ClickRefused {
        refusal: Refusal,
        id: RequestId,
    },
    ClickNotApplied(ClickProblem),
    Found(Found),
    LookupFailed(LookupError),
    /// A re-apply click on a request that is not an applied revocation.
    ReapplyNotApplicable(RequestId),
    /// A re-apply request for this revocation is already waiting or being applied.
    ReapplyAlreadyOpen {
        old: RequestId,
        open: RequestId,
    },
}

impl Notice {
    /// Lookups answer in the channel (README "Using it in Slack"); everything else only to the person.
    pub fn in_channel(&self) -> bool {
        matches!(self, Notice::Found(_))
    }
}

/// A reply in the card's thread: the request's timeline (README "Using it in Slack"). The card stays the summary.
#[derive(Debug, Clone)]
pub enum ThreadNote {
    Approval {
        by: crate::domain::ids::SlackUserId,
        count: u32,
        required: u32,
    },
    ClickRefused {
        by: crate::domain::ids::SlackUserId,
        refusal: Refusal,
    },
    /// The request closed (applied, failed, rejected, cancelled, expired): also sent to the requester.
    Outcome(Box<Request>),
    /// A permission set's inline policy is written; provisioning to its accounts is under way.
    Provisioning { accounts: usize },
    /// Nobody has decided yet: mentions the approvers from the configuration, and `escalate_to`
    /// once `escalate_after` has passed.
    Reminder {
        id: RequestId,
        waited: std::time::Duration,
        approvers: Vec<crate::domain::ids::Principal>,
        escalate_to: Vec<crate::domain::ids::Principal>,
    },
    /// The revocation is no longer in force (README "Revocations that stay in force"): rendered with a button that opens a new
    /// request to re-apply it (`action_id` `reapply`, `value` = this request's id).
    Drift {
        id: RequestId,
        /// The role or permission set ARN.
        target: String,
        /// The cut-off this request put in force.
        in_force: Cutoff,
        kind: DriftKind,
    },
    /// The window has passed and the deny was removed (`watch.cleanup_after_window`).
    CleanedUp {
        id: RequestId,
        target: String,
        cutoff: Cutoff,
    },
}

/// How an applied revocation's deny stopped being in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftKind {
    /// The `AWSRevokeOlderSessions` policy is gone.
    Gone,
    /// Its cut-off is now earlier than the one this request put in force.
    MovedBack { now: Cutoff },
    /// It is in a form the bot does not understand, so it cannot say what it denies.
    NotUnderstood,
}

impl DriftKind {
    /// A short code for the audit event, the log and the stored watch.
    pub fn code(&self) -> &'static str {
        match self {
            DriftKind::Gone => "gone",
            DriftKind::MovedBack { .. } => "moved_back",
            DriftKind::NotUnderstood => "not_understood",
        }
    }
}
