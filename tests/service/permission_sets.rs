//! Identity Center permission sets (README "Identity Center permission sets") over the in-memory Identity Center.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use revoke_role_bot::clock::Clock;
use revoke_role_bot::config::Settings;
use revoke_role_bot::domain::audit::{EventDraft, EventKind};
use revoke_role_bot::domain::ids::{Actor, ChannelId, RequestId, SlackUserId};
use revoke_role_bot::domain::policy::MergeOutcome;
use revoke_role_bot::domain::protection::Protection;
use revoke_role_bot::domain::request::{Action, Failure, Request, State};
use revoke_role_bot::domain::role_arn::AccountId;
use revoke_role_bot::memory::{MemoryIam, MemoryIdentityCenter, MemoryStore};
use revoke_role_bot::ports::{
    APPLY_LEASE, AuditStore, IamError, IdentityCenter, PermissionSetInfo, Provisioning,
    ProvisioningStarted,
};
use revoke_role_bot::service::notice::{Notice, SubmitRefusal};
use revoke_role_bot::service::slot::PROVISIONING_BACKOFF;
use revoke_role_bot::service::{App, ClickContext, CommandContext, Ports};

use crate::support::*;

const IC: &str = r#"
[identity_center]
instance_arn = "arn:aws:sso:::instance/ssoins-memory"
region = "us-east-1"
account = "prod"
protect = ["AdministratorAccess"]
"#;

fn env() -> Env {
    Env::with_config(&format!("{}{IC}", config()))
}

const OTHER: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadData","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::data/*"]}]}"#;

fn statements(doc: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(doc).unwrap();
    v["Statement"].as_array().unwrap().clone()
}

fn refusal(env: &Env) -> SubmitRefusal {
    match env.last_reply(ALICE) {
        Notice::RequestRefused { why, .. } => why,
        other => panic!("expected a refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_permission_set_is_revoked_with_the_other_statements_kept_provisioned_and_verified() {
    let env = env();
    let arn = env.ic.add_permission_set(
        "DataEngineer",
        "0123abcd",
        "PT8H",
        &[ACCOUNT, "222222222222"],
    );
    env.ic.set_inline(&arn, Some(OTHER));
    env.command(ALICE, "permission-set DataEngineer INC-7 laptop stolen")
        .await;
    let card = env.slack.cards().pop().expect("a card");
    let text = env.slack.sent()[0].mrkdwn().to_string();
    for expected in [
        "DataEngineer",
        "Every user of this permission set, in every account it is provisioned to",
        "111111111111, 222222222222",
        "8 h",
        "infrastructure code",
    ] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
    let id = card.request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Applied, "{:?}", done.status());
    assert!(done.written().unwrap().verified);
    let doc = env.ic.inline(&arn).unwrap();
    let st = statements(&doc);
    assert_eq!(st.len(), 2, "{doc}");
    assert_eq!(st[0]["Sid"], "ReadData");
    assert_eq!(st[1]["Sid"], "AWSRevokeOlderSessions");
    assert_eq!(st[1]["Effect"], "Deny");
    assert_eq!(
        st[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        "2026-11-23T12:00:01Z"
    );
    assert_eq!(env.ic.provisioned(), 1);
    let events = env.events(&id).await;
    assert_eq!(events[0].draft.role_arn.as_deref(), Some(arn.as_str()));
    assert!(
        events[0]
            .draft
            .detail
            .as_deref()
            .unwrap()
            .contains("222222222222")
    );
    assert_eq!(events.last().unwrap().draft.kind, EventKind::Applied);
}

#[tokio::test]
async fn an_identity_center_role_becomes_a_permission_set_request() {
    let env = env();
    env.ic
        .add_permission_set("Data_Admin", "0456", "PT1H", &[ACCOUNT]);
    env.command(
        ALICE,
        "prod/AWSReservedSSO_Data_Admin_0123456789abcdef INC-7 keys leaked",
    )
    .await;
    let card = env.slack.cards().pop().expect("a card");
    assert_eq!(card.request.permission_set().unwrap().name, "Data_Admin");
}

#[tokio::test]
async fn without_identity_center_the_refusal_says_how_to_configure_it() {
    let env = Env::new();
    env.command(ALICE, "permission-set DataEngineer INC-7 laptop stolen")
        .await;
    assert_eq!(refusal(&env), SubmitRefusal::IdentityCenterNotConfigured);
    let text = env.slack.replies_to(ALICE).pop().unwrap().1;
    assert!(text.contains("[identity_center]"), "{text}");

    env.command(
        ALICE,
        "prod/AWSReservedSSO_Data_0123456789abcdef INC-7 keys leaked",
    )
    .await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::Protected {
            protection: Protection::IdentityCenter,
            ..
        }
    ));
    let text = env.slack.replies_to(ALICE).pop().unwrap().1;
    assert!(text.contains("[identity_center]"), "{text}");
}

#[tokio::test]
async fn unknown_protected_and_full_permission_sets_are_refused() {
    let env = env();
    env.command(ALICE, "permission-set Nope INC-7 keys").await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::UnknownPermissionSet { .. }
    ));

    env.ic
        .add_permission_set("AdministratorAccess", "0999", "PT1H", &[ACCOUNT]);
    env.command(ALICE, "permission-set AdministratorAccess INC-7 keys")
        .await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::PermissionSetProtected { .. }
    ));

    let arn = env.ic.add_permission_set("Big", "0777", "PT1H", &[ACCOUNT]);
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["{}"]}}]}}"#,
        "x".repeat(32_700)
    );
    env.ic.set_inline(&arn, Some(&big));
    env.command(ALICE, "permission-set Big INC-7 keys").await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::PermissionSetPolicyFull { .. }
    ));
    assert!(env.slack.cards().is_empty());
}

/// The organization's management account in these tests (not `[identity_center] account`).
const MANAGEMENT: &str = "333333333333";

#[tokio::test]
async fn a_delegated_administrator_is_refused_a_permission_set_provisioned_to_the_management_account()
 {
    let env = env();
    env.ic.set_owner(MANAGEMENT);
    let arn = env
        .ic
        .add_permission_set("BreakGlass", "0555", "PT1H", &[ACCOUNT, MANAGEMENT]);
    env.command(ALICE, "permission-set BreakGlass INC-7 laptop stolen")
        .await;
    assert!(env.slack.cards().is_empty());
    match env.last_reply(ALICE) {
        Notice::RequestRefused {
            why: SubmitRefusal::PermissionSetInManagementAccount { name, management },
            recorded: true,
        } => {
            assert_eq!(name, "BreakGlass");
            assert_eq!(management, MANAGEMENT);
        }
        other => panic!("expected the management-account refusal: {other:?}"),
    }
    let text = env.slack.replies_to(ALICE).pop().unwrap().1;
    for expected in [
        "BreakGlass",
        "management account 333333333333",
        "delegated administrator",
        "revoke-role-bot policy --cutoff now",
        "deploy/README.md",
    ] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
    let (events, _) = env.store.inner.whole_chain().await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].draft.kind, EventKind::RequestRefused);
    assert_eq!(env.ic.inline(&arn), None);
    assert_eq!(env.ic.provisioned(), 0);

    // Provisioned elsewhere only, the same delegated administrator gets the card.
    env.ic
        .add_permission_set("DataEngineer", "0556", "PT1H", &[ACCOUNT]);
    env.command(ALICE, "permission-set DataEngineer INC-7 laptop stolen")
        .await;
    assert_eq!(env.slack.cards().len(), 1);
}

#[tokio::test]
async fn a_bot_administering_from_the_management_account_gets_the_card_for_a_set_provisioned_there()
{
    let env = env();
    // `[identity_center] account` is "prod" (ACCOUNT), and it owns the instance.
    env.ic.set_owner(ACCOUNT);
    env.ic
        .add_permission_set("BreakGlass", "0555", "PT1H", &[ACCOUNT, "222222222222"]);
    env.command(ALICE, "permission-set BreakGlass INC-7 laptop stolen")
        .await;
    let card = env.slack.cards().pop().expect("a card");
    assert_eq!(card.request.permission_set().unwrap().name, "BreakGlass");
}

#[tokio::test(start_paused = true)]
async fn provisioning_in_progress_is_waited_for_and_a_failure_is_reported_with_awss_reason() {
    let env = env();
    let arn = env.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    env.ic.script(vec![
        Provisioning::InProgress,
        Provisioning::InProgress,
        Provisioning::Succeeded,
    ]);
    env.command(ALICE, "permission-set Ops INC-8 keys").await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    let approved_at = tokio::time::Instant::now();
    env.click(BOB, Action::Approve, &id).await;
    assert_eq!(env.state(&id).await, State::Applied);
    // Applied only after both in-progress answers: the status read again after each pause.
    assert!(
        approved_at.elapsed() >= PROVISIONING_BACKOFF[0] + PROVISIONING_BACKOFF[1],
        "applied without waiting for provisioning: {:?}",
        approved_at.elapsed()
    );

    // A second revocation whose provisioning fails: AWS's reason, escaped, on the card.
    env.clock.advance(chrono::Duration::minutes(1));
    env.ic.script(vec![Provisioning::Failed {
        reason: "Account 222222222222 <!here> is suspended".into(),
    }]);
    env.command(ALICE, "permission-set Ops INC-9 keys again")
        .await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Failed);
    assert!(
        matches!(done.failure(), Some(Failure::ProvisioningFailed { reason }) if reason.contains("suspended"))
    );
    let card = env.slack.last_card().unwrap();
    let text = revoke_role_bot::slack::blocks::card_text(&card).into_string();
    assert!(
        text.contains("suspended") && text.contains("&lt;!here&gt;"),
        "{text}"
    );
    assert!(env.ic.inline(&arn).is_some());
}

#[tokio::test]
async fn a_later_cutoff_in_a_permission_set_stays() {
    let env = env();
    let arn = env
        .ic
        .add_permission_set("Later", "0bbb", "PT1H", &[ACCOUNT]);
    let later = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":["2099-01-01T00:00:00Z"]}}}]}"#;
    env.ic.set_inline(&arn, Some(later));
    env.command(ALICE, "permission-set Later INC-10 keys").await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Applied);
    assert_eq!(
        done.written().unwrap().in_force.to_string(),
        "2099-01-01T00:00:00Z"
    );
    assert_eq!(env.ic.inline(&arn).as_deref(), Some(later));
}

#[tokio::test(start_paused = true)]
async fn provisioning_still_in_progress_after_every_pause_is_reported_as_timed_out() {
    let env = env();
    env.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    let in_progress = || Provisioning::InProgress;
    // `ProvisionPermissionSet` answers in progress, then one status check after each of the
    // nine pauses: the last check still in progress.
    env.ic.script(vec![in_progress(); 9]);
    env.command(ALICE, "permission-set Ops INC-8 keys").await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Failed);
    assert!(matches!(
        done.failure(),
        Some(Failure::ProvisioningTimedOut)
    ));

    // Done at the last status check: applied.
    env.clock.advance(chrono::Duration::minutes(1));
    let mut script = vec![in_progress(); 8];
    script.push(Provisioning::Succeeded);
    env.ic.script(script);
    env.command(ALICE, "permission-set Ops INC-9 keys again")
        .await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    assert_eq!(env.state(&id).await, State::Applied);
}

// ---- What the permission set really holds (README, "Identity Center") ----

/// An allowed statement whose resource holds `%25` and whose condition value, were it
/// percent-decoded, would close the statement and add a deny with a 2099 cut-off. (Its key is
/// percent-encoded too: plain text naming `aws:TokenIssueTime` anywhere but in a deny is not
/// understood, and never overwritten.)
const HIDDEN_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadPii","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::data/100%25-pii/a%2Fb/*"],"Condition":{"StringEquals":{"aws:PrincipalTag/team":"x%22}}},{%22Sid%22:%22AWSRevokeOlderSessions%22,%22Effect%22:%22Deny%22,%22Action%22:%22*%22,%22Resource%22:%22*%22,%22Condition%22:{%22DateLessThan%22:{%22aws:Token%49ssueTime%22:%222099-01-01T00:00:00Z"}}}]}"#;

#[tokio::test]
async fn a_deny_hidden_in_a_condition_value_is_not_read_and_the_real_deny_is_written_and_provisioned()
 {
    let env = env();
    let arn = env
        .ic
        .add_permission_set("DataEngineer", "0c0c", "PT8H", &[ACCOUNT]);
    env.ic.set_inline(&arn, Some(HIDDEN_DENY));
    env.command(ALICE, "permission-set DataEngineer INC-11 laptop stolen")
        .await;
    let card = env.slack.cards().pop().expect("a card");
    assert_eq!(
        card.request.permission_set().unwrap().existing_cutoff,
        None,
        "no cut-off is in the permission set"
    );
    let id = card.request.id().clone();
    env.click(BOB, Action::Approve, &id).await;

    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Applied, "{:?}", done.status());
    let written = done.written().unwrap();
    assert_eq!(
        written.outcome,
        MergeOutcome::Created,
        "not already covered"
    );
    assert_eq!(written.in_force.to_string(), "2026-11-23T12:00:01Z");
    assert_eq!(env.ic.provisioned(), 1);
    let doc = env.ic.inline(&arn).unwrap();
    let st = statements(&doc);
    assert_eq!(st.len(), 2, "{doc}");
    // The other statement survives as it was: its values keep their percent signs.
    assert_eq!(st[0], statements(HIDDEN_DENY)[0]);
    assert_eq!(st[0]["Resource"][0], "arn:aws:s3:::data/100%25-pii/a%2Fb/*");
    assert_eq!(st[1]["Sid"], "AWSRevokeOlderSessions");
    assert_eq!(
        st[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        "2026-11-23T12:00:01Z"
    );
}

#[tokio::test]
async fn the_drift_watch_sees_a_deny_replaced_by_one_hidden_in_a_condition_value() {
    let env = Env::with_config(&format!(
        "{}{IC}\n[watch]\ndrift_check_every = \"1m\"\n",
        config()
    ));
    let arn = env.ic.add_permission_set("Ops", "0d0d", "PT8H", &[ACCOUNT]);
    env.command(ALICE, "permission-set Ops INC-12 keys").await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    assert_eq!(env.state(&id).await, State::Applied);

    // Infrastructure code (or an attacker) replaces the inline policy.
    env.ic.set_inline(&arn, Some(HIDDEN_DENY));
    env.clock.advance(chrono::Duration::minutes(1));
    env.app.watch_pass().await.unwrap();
    let drift = env
        .events(&id)
        .await
        .into_iter()
        .find(|e| e.draft.kind == EventKind::Drift)
        .expect("a drift event");
    assert_eq!(drift.draft.detail.as_deref(), Some("gone"));
}

#[tokio::test]
async fn a_stored_item_naming_an_unprotected_set_with_a_protected_sets_arn_writes_nothing() {
    let env = env();
    env.ic
        .add_permission_set("DataEngineer", "0e0e", "PT8H", &[ACCOUNT]);
    let admin = env
        .ic
        .add_permission_set("AdministratorAccess", "0f0f", "PT1H", &[ACCOUNT]);
    env.command(ALICE, "permission-set DataEngineer INC-13 keys")
        .await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();

    // Someone with write access to the table swaps the ARN in the stored item.
    let stored = env.stored(&id).await;
    let data = serde_json::to_string(&stored).unwrap();
    let theirs = stored.permission_set().unwrap().arn.clone();
    let forged = data.replace(&theirs, &admin).replace(
        &format!("\"version\":{}", stored.version()),
        &format!("\"version\":{}", stored.version() + 1),
    );
    let forged: Request = serde_json::from_str(&forged).unwrap();
    assert_eq!(forged.target_name(), "DataEngineer");
    assert_eq!(forged.target_arn(), admin);
    env.store
        .inner
        .transition(
            &forged,
            EventDraft::by(
                id.clone(),
                EventKind::Reminded,
                &Actor::Bot,
                env.clock.now(),
            ),
        )
        .await
        .unwrap();

    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Failed, "{:?}", done.status());
    assert!(matches!(done.failure(), Some(Failure::Protected { .. })));
    assert_eq!(env.ic.inline(&admin), None, "nothing written");
    assert_eq!(env.ic.provisioned(), 0);
    let failed = env.events(&id).await.pop().unwrap();
    assert_eq!(failed.draft.kind, EventKind::Failed);
    assert!(
        failed
            .draft
            .error
            .as_deref()
            .is_some_and(|e| e.contains("AdministratorAccess")),
        "{:?}",
        failed.draft
    );
}

// ---- Applied only once provisioning succeeded, through slow provisioning, crashes and
// replicas (README, "Identity Center") ----

/// A clock that follows tokio's paused time from `t0()`: the apply lease, its renewals and the
/// provisioning waits run on one timeline.
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        t0() + chrono::Duration::from_std(self.0.elapsed()).unwrap()
    }
}

/// Identity Center as one replica sees it: the shared one, counting the calls made through it,
/// and crashing the replica (a panic ends its task) at `ProvisionPermissionSet` or at the first
/// status check when told to.
struct Replica {
    ic: Arc<MemoryIdentityCenter>,
    calls: AtomicU32,
    crash_at_provision: bool,
    crash_at_status: bool,
}

impl Replica {
    fn of(ic: &Arc<MemoryIdentityCenter>) -> Self {
        Replica {
            ic: ic.clone(),
            calls: AtomicU32::new(0),
            crash_at_provision: false,
            crash_at_status: false,
        }
    }
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl IdentityCenter for Replica {
    async fn check_instance(&self) -> Result<(), IamError> {
        self.count();
        self.ic.check_instance().await
    }
    async fn instance_owner(&self) -> Result<AccountId, IamError> {
        self.count();
        self.ic.instance_owner().await
    }
    async fn find_permission_set(
        &self,
        name_or_arn: &str,
    ) -> Result<Option<PermissionSetInfo>, IamError> {
        self.count();
        self.ic.find_permission_set(name_or_arn).await
    }
    async fn provisioned_accounts(&self, ps: &str) -> Result<Vec<AccountId>, IamError> {
        self.count();
        self.ic.provisioned_accounts(ps).await
    }
    async fn get_inline_policy(&self, ps: &str) -> Result<Option<String>, IamError> {
        self.count();
        self.ic.get_inline_policy(ps).await
    }
    async fn put_inline_policy(&self, ps: &str, doc: &str) -> Result<(), IamError> {
        self.count();
        self.ic.put_inline_policy(ps, doc).await
    }
    async fn provision(&self, ps: &str) -> Result<ProvisioningStarted, IamError> {
        self.count();
        assert!(
            !self.crash_at_provision,
            "crash before ProvisionPermissionSet"
        );
        self.ic.provision(ps).await
    }
    async fn provisioning_status(&self, id: &str) -> Result<Provisioning, IamError> {
        self.count();
        assert!(
            !self.crash_at_status,
            "crash while waiting for provisioning"
        );
        self.ic.provisioning_status(id).await
    }
}

/// Replicas of the service on one store, one Identity Center, one Slack and one clock that
/// follows tokio's paused time.
struct Replicas {
    settings: Settings,
    store: Arc<MemoryStore>,
    iam: Arc<MemoryIam>,
    ic: Arc<MemoryIdentityCenter>,
    slack: Arc<RecordingSlack>,
    clock: Arc<TokioClock>,
}

impl Replicas {
    fn new() -> Self {
        let slack = Arc::new(RecordingSlack::default());
        slack.set_group("S0SECLEAD", &[]);
        Replicas {
            settings: Settings::from_toml(&format!("{}{IC}", config())).unwrap(),
            store: Arc::new(MemoryStore::default()),
            iam: Arc::new(MemoryIam::default()),
            ic: Arc::new(MemoryIdentityCenter::default()),
            slack,
            clock: Arc::new(TokioClock(tokio::time::Instant::now())),
        }
    }

    fn replica(&self, ic: Arc<dyn IdentityCenter>) -> Arc<App> {
        App::new(
            Arc::new(self.settings.clone()),
            Ports {
                store: self.store.clone(),
                iam: self.iam.clone(),
                slack: self.slack.clone(),
                clock: self.clock.clone(),
                identity_center: Some(ic),
            },
            None,
        )
    }

    /// Alice asks `app` to revoke `name`; the request's id, from its card.
    async fn request(&self, app: &Arc<App>, name: &str) -> RequestId {
        app.on_command(CommandContext {
            user: SlackUserId::parse(ALICE).unwrap(),
            channel: ChannelId::parse(CHANNEL).unwrap(),
            text: format!("permission-set {name} INC-14 keys"),
            response_url: response_url(ALICE).into(),
            trigger_id: None,
        });
        app.settle().await;
        self.slack
            .cards()
            .pop()
            .expect("a card")
            .request
            .id()
            .clone()
    }

    /// Bob approves on `app`; the revocation runs on in the background.
    fn approve(&self, app: &Arc<App>, id: &RequestId) {
        app.on_click(ClickContext {
            user: SlackUserId::parse(BOB).unwrap(),
            action: Action::Approve,
            request_id: id.clone(),
            response_url: response_url(BOB),
            // As Slack sends it: the message the button is on.
            card: self.slack.card_of(id),
        });
    }

    async fn stored(&self, id: &RequestId) -> Request {
        self.store.get(id).await.unwrap().unwrap()
    }
}

/// Provisioning that answers IN_PROGRESS to `checks` status checks, then `end` (the pauses
/// between checks are `PROVISIONING_BACKOFF`).
fn slow(checks: usize, end: Provisioning) -> Vec<Provisioning> {
    let mut script = vec![Provisioning::InProgress; checks];
    script.push(end);
    script
}

fn waited(checks: usize) -> Duration {
    PROVISIONING_BACKOFF[..checks].iter().sum()
}

#[tokio::test(start_paused = true)]
async fn slow_provisioning_keeps_the_lease_past_a_minute_and_applies_only_once_it_succeeded() {
    let fx = Replicas::new();
    fx.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    let first = fx.replica(fx.ic.clone());
    let id = fx.request(&first, "Ops").await;
    // In progress for 7 checks (65 s), succeeded at the 8th (90 s after the approval).
    fx.ic.script(slow(7, Provisioning::Succeeded));
    assert!(waited(7) > APPLY_LEASE);
    let approved_at = tokio::time::Instant::now();
    fx.approve(&first, &id);

    // 75 s in, past the first lease: a second replica's recovery pass leaves it alone.
    tokio::time::sleep(Duration::from_secs(75)).await;
    assert_eq!(fx.stored(&id).await.state(), State::Approved);
    let second = Arc::new(Replica::of(&fx.ic));
    fx.replica(second.clone()).recover().await.unwrap();
    assert_eq!(
        second.calls.load(Ordering::SeqCst),
        0,
        "the second replica took the work"
    );
    assert_eq!(fx.stored(&id).await.state(), State::Approved);

    first.settle().await;
    let done = fx.stored(&id).await;
    assert_eq!(done.state(), State::Applied, "{:?}", done.status());
    assert!(approved_at.elapsed() >= waited(8));
    assert_eq!(fx.ic.provisioned(), 1);
}

#[tokio::test(start_paused = true)]
async fn failed_provisioning_after_a_long_wait_ends_failed_even_when_recovery_ran_meanwhile() {
    let fx = Replicas::new();
    fx.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    let app = fx.replica(fx.ic.clone());
    let id = fx.request(&app, "Ops").await;
    fx.ic.script(slow(
        8,
        Provisioning::Failed {
            reason: "Account 111111111111 is suspended".into(),
        },
    ));
    fx.approve(&app, &id);
    tokio::time::sleep(Duration::from_secs(70)).await;
    app.recover().await.unwrap();
    app.settle().await;

    let done = fx.stored(&id).await;
    assert_eq!(done.state(), State::Failed, "{:?}", done.status());
    assert!(matches!(
        done.failure(),
        Some(Failure::ProvisioningFailed { reason }) if reason.contains("suspended")
    ));
    let kinds = crate::common::kinds(fx.store.events_for(&id).await.unwrap());
    assert!(!kinds.contains(&EventKind::Applied), "{kinds:?}");
    assert_eq!(fx.ic.provisioned(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_crash_between_the_write_and_the_provisioning_is_finished_by_recovery_with_provisioning()
{
    let fx = Replicas::new();
    let arn = fx.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    let crashing = Arc::new(Replica {
        crash_at_provision: true,
        ..Replica::of(&fx.ic)
    });
    let first = fx.replica(crashing);
    let id = fx.request(&first, "Ops").await;
    fx.approve(&first, &id);
    first.settle().await;
    // The deny is in the permission set, not provisioned; the request is still approved.
    assert!(fx.ic.inline(&arn).unwrap().contains("2026-11-23T12:00:01Z"));
    assert_eq!(fx.ic.provisioned(), 0);
    assert_eq!(fx.stored(&id).await.state(), State::Approved);

    // After the dead worker's lease ran out, another replica's recovery finishes it.
    tokio::time::sleep(APPLY_LEASE + Duration::from_secs(1)).await;
    fx.ic.script(slow(2, Provisioning::Succeeded));
    let second = fx.replica(fx.ic.clone());
    second.recover().await.unwrap();
    let done = fx.stored(&id).await;
    assert_eq!(done.state(), State::Applied, "{:?}", done.status());
    assert_eq!(fx.ic.provisioned(), 1, "provisioned by recovery");
    assert_eq!(fx.ic.status_checks(), 3);
}

#[tokio::test(start_paused = true)]
async fn recovery_resumes_the_wait_on_the_provisioning_a_crashed_worker_started() {
    let fx = Replicas::new();
    fx.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    let crashing = Arc::new(Replica {
        crash_at_status: true,
        ..Replica::of(&fx.ic)
    });
    let first = fx.replica(crashing);
    let id = fx.request(&first, "Ops").await;
    fx.ic.script(slow(2, Provisioning::Succeeded));
    fx.approve(&first, &id);
    first.settle().await;
    let stored = fx.stored(&id).await;
    assert_eq!(stored.state(), State::Approved);
    assert!(
        stored.provisioning().is_some(),
        "the provisioning is stored"
    );

    tokio::time::sleep(APPLY_LEASE + Duration::from_secs(1)).await;
    fx.replica(fx.ic.clone()).recover().await.unwrap();
    let done = fx.stored(&id).await;
    assert_eq!(done.state(), State::Applied, "{:?}", done.status());
    assert_eq!(
        fx.ic.provisioned(),
        1,
        "the wait resumed, nothing provisioned again"
    );
    assert_eq!(fx.ic.status_checks(), 3);
}
