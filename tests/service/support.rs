//! The fast tier's fixtures: the real service over the in-memory store and IAM, a Slack that
//! records what it was asked to send (rendered exactly as the Slack adapter renders it), and a
//! clock the test moves.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use revoke_role_bot::clock::FakeClock;
use revoke_role_bot::config::Settings;
use revoke_role_bot::domain::audit::{AuditEvent, EventDraft, EventKind};
use revoke_role_bot::domain::ids::{ChannelId, RequestId, SlackUserId};
use revoke_role_bot::domain::request::{Action, CardRef, Request, State};
use revoke_role_bot::domain::role_arn::{AccountId, RoleArn};
pub use revoke_role_bot::memory::slack::response_url;
use revoke_role_bot::memory::{MemoryIam, MemoryIdentityCenter, MemoryStore};
pub use revoke_role_bot::memory::{RecordingSlack, Sent};
use revoke_role_bot::ports::{
    AuditStore, Iam, IamError, Page, RoleDetails, RoleInfo, RoleList, StoreError, Watch,
    WatchUpdate,
};
use revoke_role_bot::service::notice::Notice;
use revoke_role_bot::service::{App, ClickContext, CommandContext, Ports};

pub use crate::common::{ALICE, BOB, CAROL, CHANNEL, EVE};
pub const ACCOUNT: &str = "111111111111";

/// The fast tier's configuration: Bob, Carol and the group S0SECLEAD approve; one approval; a
/// request expires after 30 minutes.
pub fn config() -> String {
    crate::common::base_config("fast-audit", ACCOUNT, &[BOB, CAROL, "S0SECLEAD"]).replace(
        "[access]",
        "[approval]\napprovals_required = 1\nexpires_after = \"30m\"\n[access]",
    )
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T12:00:00.400Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn arn(s: &str) -> RoleArn {
    RoleArn::parse(s).unwrap()
}

pub fn role(name: &str) -> RoleArn {
    arn(&format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
}

/// The service under test, with handles on each adapter.
pub struct Env {
    pub app: Arc<App>,
    pub ic: Arc<MemoryIdentityCenter>,
    pub store: Arc<FaultyStore>,
    pub iam: Arc<LaggyIam>,
    pub slack: Arc<RecordingSlack>,
    pub clock: Arc<FakeClock>,
    pub settings: Settings,
    n: Mutex<u32>,
}

impl Env {
    pub fn new() -> Self {
        Self::with_config(&config())
    }

    /// The fast tier's configuration, with `n` approvals per request.
    pub fn with_approvals(n: u32) -> Self {
        Self::with_config(&config().replace(
            "approvals_required = 1",
            &format!("approvals_required = {n}"),
        ))
    }

    pub fn with_config(config: &str) -> Self {
        Self::build(config, None)
    }

    pub fn build(config: &str, self_role: Option<RoleArn>) -> Self {
        let settings = Settings::from_toml(config).expect("test config");
        let store = Arc::new(FaultyStore::default());
        let iam = Arc::new(LaggyIam::default());
        let slack = Arc::new(RecordingSlack::default());
        // The approvers' group in `config()` exists in the workspace, with nobody in it yet (the
        // recording Slack, like Slack, fails for a group it does not know).
        slack.set_group("S0SECLEAD", &[]);
        let clock = Arc::new(FakeClock::at(t0()));
        let ic = Arc::new(MemoryIdentityCenter::default());
        let identity_center: Option<Arc<dyn revoke_role_bot::ports::IdentityCenter>> =
            settings.identity_center.as_ref().map(|_| ic.clone() as _);
        let ports = Ports {
            store: store.clone(),
            iam: iam.clone(),
            slack: slack.clone(),
            clock: clock.clone(),
            identity_center,
        };
        Env {
            app: App::new(Arc::new(settings.clone()), ports, self_role),
            ic,
            store,
            iam,
            slack,
            clock,
            settings,
            n: Mutex::new(0),
        }
    }

    /// Another replica of the service (or the same one restarted) on this environment's store,
    /// IAM, Slack and clock, without Identity Center.
    pub fn replica(&self) -> Arc<App> {
        App::new(
            Arc::new(self.settings.clone()),
            Ports {
                store: self.store.clone(),
                iam: self.iam.clone(),
                slack: self.slack.clone(),
                clock: self.clock.clone(),
                identity_center: None,
            },
            None,
        )
    }

    /// A slash command: the immediate answer, after the background work it started has finished.
    pub async fn command(&self, user: &str, text: &str) -> Notice {
        let n = {
            let mut n = self.n.lock().unwrap();
            *n += 1;
            *n
        };
        let notice = self.app.on_command(CommandContext {
            user: SlackUserId::parse(user).unwrap(),
            channel: ChannelId::parse(CHANNEL).unwrap(),
            text: text.to_string(),
            response_url: response_url(user).into(),
            trigger_id: Some(format!("trigger.{n}")),
        });
        self.app.settle().await;
        notice
    }

    pub async fn click(&self, user: &str, action: Action, id: &RequestId) {
        self.app.on_click(ClickContext {
            user: SlackUserId::parse(user).unwrap(),
            action,
            request_id: id.clone(),
            response_url: response_url(user),
            // As Slack sends it: the message the button is on.
            card: self.slack.card_of(id),
        });
        self.app.settle().await;
    }

    /// Alice asks for `name`; returns the request from its card.
    pub async fn request(&self, name: &str) -> Request {
        self.command(ALICE, &format!("prod/{name} INC-1 keys leaked"))
            .await;
        let card = self
            .slack
            .cards()
            .pop()
            .expect("an approval card was posted");
        card.request
    }

    /// A role `name` in the account, and Alice's request to revoke it.
    pub async fn role_and_request(&self, name: &str) -> Request {
        self.iam.inner.add_role(&role(name), &[]);
        self.request(name).await
    }

    /// `user` clicks Approve; returns the request as stored afterwards.
    pub async fn approve(&self, user: &str, id: &RequestId) -> Request {
        self.click(user, Action::Approve, id).await;
        self.stored(id).await
    }

    /// The last answer `user` got.
    pub fn last_reply(&self, user: &str) -> Notice {
        self.slack.replies_to(user).pop().expect("a reply").0
    }

    /// The last update of a card, as sent to Slack.
    pub fn last_update(&self) -> Sent {
        self.slack
            .sent()
            .into_iter()
            .rev()
            .find(|s| matches!(s, Sent::Update { .. }))
            .expect("a card update")
    }

    pub async fn stored(&self, id: &RequestId) -> Request {
        self.store.inner.get(id).await.unwrap().expect("stored")
    }

    pub async fn events(&self, id: &RequestId) -> Vec<AuditEvent> {
        self.store.inner.events_for(id).await.unwrap()
    }

    /// The kinds of the request's events, in order.
    pub async fn event_kinds(&self, id: &RequestId) -> Vec<EventKind> {
        crate::common::kinds(self.events(id).await)
    }

    pub async fn state(&self, id: &RequestId) -> State {
        self.stored(id).await.state()
    }

    pub fn policy(&self, role: &RoleArn) -> Option<serde_json::Value> {
        self.iam
            .inner
            .policy(role)
            .map(|p| serde_json::from_str(&p).expect("policy JSON"))
    }
}

pub fn token_issue_time(policy: &serde_json::Value) -> String {
    let s = &policy["Statement"];
    let stmt = if s.is_array() { &s[0] } else { s };
    let v = &stmt["Condition"]["DateLessThan"]["aws:TokenIssueTime"];
    match v {
        serde_json::Value::Array(a) => a[0].as_str().unwrap().to_string(),
        other => other.as_str().unwrap().to_string(),
    }
}

/// The in-memory store with faults a test can switch on.
#[derive(Default)]
pub struct FaultyStore {
    pub inner: MemoryStore,
    /// Fail this many of the next outcome writes (`applied`/`failed` transitions).
    pub fail_outcomes: Mutex<u32>,
    /// Fail every write.
    pub down: Mutex<bool>,
}

fn outage() -> StoreError {
    StoreError::unavailable("injected outage")
}

#[async_trait]
impl AuditStore for FaultyStore {
    async fn create(
        &self,
        request: &Request,
        event: EventDraft,
        key: Option<&str>,
    ) -> Result<AuditEvent, StoreError> {
        if *self.down.lock().unwrap() {
            return Err(outage());
        }
        self.inner.create(request, event, key).await
    }
    async fn transition(
        &self,
        next: &Request,
        event: EventDraft,
    ) -> Result<AuditEvent, StoreError> {
        if *self.down.lock().unwrap() {
            return Err(outage());
        }
        if matches!(next.state(), State::Applied | State::Failed) {
            let mut n = self.fail_outcomes.lock().unwrap();
            if *n > 0 {
                *n -= 1;
                return Err(outage());
            }
        }
        self.inner.transition(next, event).await
    }
    async fn record(&self, event: EventDraft) -> Result<AuditEvent, StoreError> {
        if *self.down.lock().unwrap() {
            return Err(outage());
        }
        self.inner.record(event).await
    }
    async fn set_card(&self, id: &RequestId, card: &CardRef) -> Result<(), StoreError> {
        self.inner.set_card(id, card).await
    }
    async fn claim(&self, id: &RequestId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.claim(id, now).await
    }
    async fn renew_claim(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.renew_claim(id, held_until, now).await
    }
    async fn set_provisioning(
        &self,
        id: &RequestId,
        held_until: DateTime<Utc>,
        provisioning: &str,
    ) -> Result<bool, StoreError> {
        self.inner
            .set_provisioning(id, held_until, provisioning)
            .await
    }
    async fn claim_reminder(&self, id: &RequestId, sent: u32) -> Result<bool, StoreError> {
        self.inner.claim_reminder(id, sent).await
    }
    async fn get(&self, id: &RequestId) -> Result<Option<Request>, StoreError> {
        self.inner.get(id).await
    }
    async fn events_for(&self, id: &RequestId) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.events_for(id).await
    }
    async fn open_requests(&self) -> Result<Vec<Request>, StoreError> {
        self.inner.open_requests().await
    }
    async fn watch_list(&self, now: DateTime<Utc>) -> Result<Vec<Watch>, StoreError> {
        self.inner.watch_list(now).await
    }
    async fn claim_watch(
        &self,
        id: &RequestId,
        now: DateTime<Utc>,
        next_due: DateTime<Utc>,
    ) -> Result<Option<Watch>, StoreError> {
        self.inner.claim_watch(id, now, next_due).await
    }
    async fn update_watch(&self, id: &RequestId, update: WatchUpdate) -> Result<bool, StoreError> {
        self.inner.update_watch(id, update).await
    }
    async fn requests_by_role(
        &self,
        role: &RoleArn,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        self.inner.requests_by_role(role, since, limit).await
    }
    async fn requests_by_user(
        &self,
        user: &SlackUserId,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        self.inner.requests_by_user(user, since, limit).await
    }
    async fn latest_requests(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Page<Request>, StoreError> {
        self.inner.latest_requests(since, limit).await
    }
    async fn chain_snapshot(
        &self,
    ) -> Result<revoke_role_bot::domain::audit::ChainSnapshot, StoreError> {
        self.inner.chain_snapshot().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// In-memory IAM whose reads can lag behind its writes, as IAM's eventual consistency does.
#[derive(Default)]
pub struct LaggyIam {
    pub inner: MemoryIam,
    /// Reads of the revoke policy that still show the old document after a write.
    pub stale_reads: Mutex<u32>,
    before_write: Mutex<Option<Option<String>>>,
    pub puts: Mutex<Vec<(RoleArn, String)>>,
    /// `list_roles` calls, by account.
    pub role_listings: Mutex<Vec<AccountId>>,
    /// Accounts whose `list_roles` fails, as when their credentials are refused.
    pub unlistable: Mutex<Vec<AccountId>>,
}

impl LaggyIam {
    pub fn lag(&self, reads: u32) {
        *self.stale_reads.lock().unwrap() = reads;
    }
    pub fn puts(&self) -> Vec<(RoleArn, String)> {
        self.puts.lock().unwrap().clone()
    }
}

#[async_trait]
impl Iam for LaggyIam {
    async fn list_roles(
        &self,
        account: &AccountId,
        query: &str,
        limit: usize,
    ) -> Result<RoleList, IamError> {
        self.role_listings.lock().unwrap().push(account.clone());
        if self.unlistable.lock().unwrap().contains(account) {
            return Err(IamError::new(
                "ListRoles",
                revoke_role_bot::ports::IamErrorKind::AccessDenied,
                "not authorized to perform iam:ListRoles",
            ));
        }
        self.inner.list_roles(account, query, limit).await
    }
    async fn get_role(&self, role: &RoleArn) -> Result<RoleInfo, IamError> {
        self.inner.get_role(role).await
    }
    async fn role_details(&self, role: &RoleArn) -> Result<RoleDetails, IamError> {
        self.inner.role_details(role).await
    }
    async fn get_revoke_policy(&self, role: &RoleArn) -> Result<Option<String>, IamError> {
        {
            let mut stale = self.stale_reads.lock().unwrap();
            if *stale > 0
                && let Some(old) = self.before_write.lock().unwrap().clone()
            {
                *stale -= 1;
                return Ok(old);
            }
        }
        self.inner.get_revoke_policy(role).await
    }
    async fn put_revoke_policy(&self, role: &RoleArn, document_json: &str) -> Result<(), IamError> {
        let old = self.inner.get_revoke_policy(role).await?;
        *self.before_write.lock().unwrap() = Some(old);
        self.puts
            .lock()
            .unwrap()
            .push((role.clone(), document_json.to_string()));
        self.inner.put_revoke_policy(role, document_json).await
    }
    async fn delete_revoke_policy(&self, role: &RoleArn) -> Result<(), IamError> {
        self.inner.delete_revoke_policy(role).await
    }
    async fn credentials_account(&self, account: &AccountId) -> Result<AccountId, IamError> {
        self.inner.credentials_account(account).await
    }
}
