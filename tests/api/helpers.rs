//! The one test environment (`TestEnv`: the AWS emulators, a fresh audit table, a fake Slack) and
//! the one way to start the bot on it (`Spawn`, in process or as its own process).

#![allow(dead_code)]

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use rand::Rng;
use revoke_role_bot::aws::dynamodb::DynamoStore;
use revoke_role_bot::config::{Settings, SlackSecrets};
use revoke_role_bot::domain::audit::{AuditEvent, EventKind};
use revoke_role_bot::domain::ids::RequestId;
use revoke_role_bot::domain::request::{Request, State};
use revoke_role_bot::ports::AuditStore;
use revoke_role_bot::service::App;
use revoke_role_bot::slack::verify::sign;
use revoke_role_bot::startup::Application;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::quoted;
pub use crate::common::{ALICE, BOB, CAROL, CHANNEL, EVE};
use crate::support::{AwsProxies, BotProcess};

pub const SECRET: &str = "test-signing-secret";
pub const ACCOUNT: &str = "123456789012";

fn endpoint_from(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the suite with `bash scripts/test.sh`, which starts the emulators")
    })
}

/// moto_server: IAM and STS (scripts/moto_server.py).
pub fn moto_endpoint() -> String {
    endpoint_from("MOTO_ENDPOINT")
}

/// DynamoDB Local.
pub fn dynamodb_endpoint() -> String {
    endpoint_from("DYNAMODB_ENDPOINT")
}

pub fn unique(prefix: &str) -> String {
    let mut rng = rand::rng();
    let tail: String = (0..8)
        .map(|_| (b'a' + rng.random_range(0..26)) as char)
        .collect();
    format!("{prefix}-{tail}")
}

/// Where each AWS service is: DynamoDB at one endpoint, everything else (IAM, STS) at another.
/// The SDK asks this for each client's endpoint, as it asks `AWS_ENDPOINT_URL_<SERVICE>`.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub dynamodb: String,
    pub moto: String,
}

impl Endpoints {
    pub fn emulators() -> Endpoints {
        Endpoints {
            dynamodb: dynamodb_endpoint(),
            moto: moto_endpoint(),
        }
    }

    /// The same, as the environment of a child process (the bot binary, the CLI).
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.clone()),
            ("AWS_ENDPOINT_URL_IAM", self.moto.clone()),
            ("AWS_ENDPOINT_URL_STS", self.moto.clone()),
            ("AWS_ENDPOINT_URL_SSO_ADMIN", self.moto.clone()),
        ]
    }

    /// An SDK configuration for these endpoints with `credentials`.
    pub async fn config(&self, credentials: Credentials) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load()
            .await
            .to_builder()
            .service_config(self.clone())
            .build()
    }
}

impl LoadServiceConfig for Endpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.env() == "AWS_ENDPOINT_URL").then(|| {
            if key.service_id() == "DynamoDB" {
                self.dynamodb.clone()
            } else {
                self.moto.clone()
            }
        })
    }
}

fn test_credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "tests")
}

/// The tests' own AWS identity on the emulators.
pub async fn aws_config() -> SdkConfig {
    Endpoints::emulators().config(test_credentials()).await
}

/// An SDK config with the credentials of an assumed role: moto files IAM calls made with them
/// under the role's account.
pub async fn assumed_config(role_arn: &str) -> SdkConfig {
    let sts = aws_sdk_sts::Client::new(&aws_config().await);
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("tests")
        .send()
        .await
        .expect("AssumeRole in moto");
    let c = out.credentials().expect("credentials");
    Endpoints::emulators()
        .config(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        ))
        .await
}

/// The tests' base configuration on `table`: Alice, Bob and Carol approve.
pub fn base_config(table: &str) -> String {
    crate::common::base_config(table, ACCOUNT, &[ALICE, BOB, CAROL])
}

/// A configuration edit (`Spawn::config`): these requesters instead of Alice and Bob.
pub fn requesters(ids: &[&str]) -> impl FnOnce(String) -> String + 'static {
    let list = quoted(ids);
    move |c| {
        c.replace(
            r#"requesters = ["U0ALICE", "U0BOB"]"#,
            &format!("requesters = [{list}]"),
        )
    }
}

/// A configuration edit (`Spawn::config`): these approvers instead of Alice, Bob and Carol.
pub fn approvers(ids: &[&str]) -> impl FnOnce(String) -> String + 'static {
    let list = quoted(ids);
    move |c| {
        c.replace(
            r#"approvers = ["U0ALICE", "U0BOB", "U0CAROL"]"#,
            &format!("approvers = [{list}]"),
        )
    }
}

/// The Slack secrets of a server that serves Slack over HTTP and calls the Web API at `api_url`
/// (for tests that build a server with settings `Spawn` does not offer).
pub fn test_secrets(api_url: String) -> SlackSecrets {
    SlackSecrets {
        signing_secret: Some(SecretString::from(SECRET)),
        app_token: None,
        bot_token: SecretString::from("xoxb-test-token"),
        api_url: Some(api_url),
        timeouts: Default::default(),
    }
}

/// A configuration edit (`Spawn::config`): `n` approvals per request.
pub fn approvals_required(n: u32) -> impl FnOnce(String) -> String + 'static {
    move |c| {
        c.replace(
            "[access]",
            &format!("[approval]\napprovals_required = {n}\n[access]"),
        )
    }
}

/// Write `text` to a fresh file under the system temp dir.
pub fn tempfile_with(text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("{}.toml", unique("rrb-config")));
    std::fs::write(&p, text).expect("write temp config");
    p
}

/// Slack's answer to a message: refused as Slack refuses it (`invalid_blocks`; a `response_url`
/// answers 400) when its blocks or text are beyond Block Kit's limits, else `ok`. The check is
/// the one `RecordingSlack` runs (`slack::limits`), so no test passes with a message Slack would
/// refuse.
pub struct BlockKitChecked(pub ResponseTemplate);

impl wiremock::Respond for BlockKitChecked {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let checked = if request.url.path() == "/views.open" {
            revoke_role_bot::slack::limits::validate_view(&body["view"])
        } else {
            revoke_role_bot::slack::limits::validate_message(&body)
        };
        match checked {
            Ok(()) => self.0.clone(),
            Err(_) if request.url.path().starts_with("/respond/") => {
                ResponseTemplate::new(400).set_body_string("invalid_blocks")
            }
            Err(_) => slack_refuses("invalid_blocks"),
        }
    }
}

/// A Slack Web API that accepts everything Slack accepts, like a healthy workspace.
pub async fn mount_slack_ok(slack: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(BlockKitChecked(ResponseTemplate::new(200).set_body_json(
            json!({
                "ok": true, "channel": CHANNEL, "ts": "1700000000.000100",
                "message": {"ts": "1700000000.000100", "text": "card"}
            }),
        )))
        .mount(slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.update"))
        .respond_with(BlockKitChecked(ResponseTemplate::new(200).set_body_json(
            json!({
                "ok": true, "channel": CHANNEL, "ts": "1700000000.000100", "message": {"text": "card"}
            }),
        )))
        .mount(slack)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/respond/.*"))
        .respond_with(BlockKitChecked(
            ResponseTemplate::new(200).set_body_string("ok"),
        ))
        .mount(slack)
        .await;
}

/// How Slack's Web API refuses a call: HTTP 200 with `ok: false` and `error`.
pub fn slack_refuses(error: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": error}))
}

/// Slack's rate limit: HTTP 429, come back after `retry_after` seconds.
pub fn slack_rate_limited(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after)
        .set_body_json(json!({"ok": false, "error": "ratelimited"}))
}

/// The request id a card's buttons carry.
pub fn request_id_on(card: &Value) -> RequestId {
    let id = card["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .and_then(|b| b["elements"][0]["value"].as_str())
        .expect("card with buttons carrying the request id");
    RequestId::parse(id).expect("a well-formed request id")
}

pub fn signed_headers(body: &str, ts: i64) -> Vec<(&'static str, String)> {
    let ts = ts.to_string();
    vec![
        ("content-type", "application/x-www-form-urlencoded".into()),
        ("x-slack-signature", sign(SECRET, &ts, body.as_bytes())),
        ("x-slack-request-timestamp", ts),
    ]
}

/// Poll until `f` yields a value; background work gets 15 s before the test fails.
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_within(what, Duration::from_secs(15), Duration::from_millis(20), f).await
}

/// `eventually` with room for a large load (LOAD_WAIT_SECS, default 10 minutes).
pub async fn eventually_long<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let secs = std::env::var("LOAD_WAIT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    eventually_within(
        what,
        Duration::from_secs(secs),
        Duration::from_millis(200),
        f,
    )
    .await
}

async fn eventually_within<T, F, Fut>(what: &str, limit: Duration, every: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(every).await;
    }
}

/// Counts of IAM writes seen by the test moto_server, keyed `Action:RoleName`.
pub async fn moto_calls() -> HashMap<String, u64> {
    reqwest::get(format!("{}/_test/calls", moto_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Tests that inject IAM faults take turns: posting faults to moto_server replaces all of them.
static FAULTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Injected IAM errors, held until `clear` (or, if the test panics, until the next holder
/// replaces them; they are keyed by the test's unique role names, so they hit nobody else).
pub struct Faults {
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

async fn post_faults(faults: &Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/_test/faults", moto_endpoint()))
        .json(faults)
        .send()
        .await
        .expect("moto_server reachable");
    assert!(r.status().is_success(), "moto_server refused the faults");
}

/// Make moto answer `"<Action>:<RoleName>"` with an error, e.g.
/// `{"PutRolePolicy:app-x": {"status": 400, "code": "AccessDenied", "message": "…", "times": 1}}`.
pub async fn inject_faults(faults: Value) -> Faults {
    let turn = FAULTS.lock().await;
    post_faults(&faults).await;
    Faults { _turn: turn }
}

impl Faults {
    pub async fn clear(self) {
        post_faults(&json!({})).await;
    }
}

/// A fresh audit table named after `prefix` in DynamoDB Local, through `aws`: its name, and a
/// store on it.
pub async fn audit_table(aws: &SdkConfig, prefix: &str) -> (String, Arc<DynamoStore>) {
    let table = unique(prefix);
    let store = Arc::new(DynamoStore::new(aws, &table));
    store
        .create_table()
        .await
        .expect("create table in DynamoDB Local");
    (table, store)
}

/// Build a server from `toml`, `secrets` and `aws`, and run it in this process: its base URL and
/// its service.
pub async fn serve(toml: &str, secrets: SlackSecrets, aws: SdkConfig) -> (String, Arc<App>) {
    let settings = Settings::from_toml(toml).expect("test config");
    let server = Application::build_with(settings, secrets, aws)
        .await
        .expect("build app");
    let base = format!("http://{}", server.local_addr());
    let app = server.app();
    tokio::spawn(server.run_until_stopped());
    (base, app)
}

/// The emulators with a fresh audit table, a fake Slack that accepts everything, and the
/// tests' own clients. Servers started on one `TestEnv` share its table and its Slack.
pub struct TestEnv {
    pub slack: MockServer,
    pub table: String,
    pub endpoints: Endpoints,
    pub aws: SdkConfig,
    pub iam: aws_sdk_iam::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub store: Arc<DynamoStore>,
    pub http: reqwest::Client,
    triggers: AtomicU32,
}

impl TestEnv {
    pub async fn new() -> Arc<TestEnv> {
        revoke_role_bot::telemetry::install_crypto_provider();
        revoke_role_bot::telemetry::init("warn");
        let slack = MockServer::start().await;
        mount_slack_ok(&slack).await;
        let endpoints = Endpoints::emulators();
        let aws = endpoints.config(test_credentials()).await;
        let (table, store) = audit_table(&aws, "audit").await;
        Arc::new(TestEnv {
            iam: aws_sdk_iam::Client::new(&aws),
            ddb: aws_sdk_dynamodb::Client::new(&aws),
            slack,
            table,
            endpoints,
            aws,
            store,
            http: reqwest::Client::new(),
            triggers: AtomicU32::new(0),
        })
    }

    /// The tests' base configuration on this table.
    pub fn config(&self) -> String {
        base_config(&self.table)
    }

    /// `revoke-role-bot --config <config> <args>` against the emulators, with `extra` environment.
    pub fn cli(&self, config: &str, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_revoke-role-bot"));
        cmd.arg("--config").arg(tempfile_with(config)).args(args);
        bot_env(&mut cmd, &self.endpoints);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().expect("run revoke-role-bot")
    }

    pub fn command_body(&self, user: &str, text: &str, trigger: Option<&str>) -> String {
        let n = self.triggers.fetch_add(1, Ordering::SeqCst);
        let trigger = trigger
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.{n}", unique("trigger")));
        serde_urlencoded::to_string([
            ("token", "legacy"),
            ("team_id", "T0TEAM"),
            ("command", "/revoke-role"),
            ("text", text),
            ("user_id", user),
            ("channel_id", CHANNEL),
            (
                "response_url",
                &format!("{}/respond/{user}", self.slack.uri()),
            ),
            ("trigger_id", &trigger),
        ])
        .unwrap()
    }

    pub fn click_body(&self, user: &str, action: &str, id: &str) -> String {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": "someone"},
            "team": {"id": "T0TEAM"},
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "message_ts": "1700000000.000100"},
            "actions": [{"action_id": action, "value": id, "type": "button", "block_id": "b"}],
            "response_url": format!("{}/respond/{user}", self.slack.uri()),
            "trigger_id": "1.2.3",
        });
        serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
    }

    /// What Slack received on `route`, as JSON bodies. For `/chat.postMessage` these are the
    /// cards only: thread replies (`thread_ts`) and direct messages (a user id as the channel)
    /// are in [`TestEnv::slack_thread`] and [`TestEnv::slack_dms`].
    pub async fn slack_received(&self, route: &str) -> Vec<Value> {
        let all = self.slack_all(route).await;
        if route != "/chat.postMessage" {
            return all;
        }
        all.into_iter().filter(is_card_post).collect()
    }

    async fn slack_all(&self, route: &str) -> Vec<Value> {
        self.slack
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == route)
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    /// Replies in card threads.
    pub async fn slack_thread(&self) -> Vec<Value> {
        self.slack_all("/chat.postMessage")
            .await
            .into_iter()
            .filter(|v| v.get("thread_ts").is_some())
            .collect()
    }

    /// Replies in card threads whose text holds `needle`.
    pub async fn thread_saying(&self, needle: &str) -> Vec<Value> {
        let mut thread = self.slack_thread().await;
        thread.retain(|m| m["text"].as_str().is_some_and(|t| t.contains(needle)));
        thread
    }

    /// The first reply in a card's thread whose text holds `needle`, once it has come.
    pub async fn wait_thread_saying(&self, needle: &str) -> Value {
        eventually(&format!("`{needle}` in a card's thread"), || async {
            self.thread_saying(needle).await.into_iter().next()
        })
        .await
    }

    /// Direct messages (posted with a user id as the channel).
    pub async fn slack_dms(&self) -> Vec<Value> {
        self.slack_all("/chat.postMessage")
            .await
            .into_iter()
            .filter(is_direct_message)
            .collect()
    }

    pub async fn replies_to(&self, user: &str) -> Vec<Value> {
        self.slack_received(&format!("/respond/{user}")).await
    }

    /// Wait until the fake Slack has received `n` calls on `route`.
    pub async fn wait_slack(&self, route: &str, n: usize) -> Vec<Value> {
        eventually(&format!("{n} calls to {route}"), || async {
            let r = self.slack_received(route).await;
            (r.len() >= n).then_some(r)
        })
        .await
    }

    /// Wait until `user` has received `n` replies through response_url.
    pub async fn wait_replies(&self, user: &str, n: usize) -> Vec<Value> {
        self.wait_slack(&format!("/respond/{user}"), n).await
    }

    /// The text of the `n`-th (from 1) reply to `user`, once it has come.
    pub async fn reply_text(&self, user: &str, n: usize) -> String {
        let replies = self.wait_replies(user, n).await;
        replies[n - 1]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Many clicks at once settled into one transition: one `approved`, one `applied`, one
    /// `PutRolePolicy` on `role`.
    pub async fn assert_one_transition(&self, id: &RequestId, role: &str) {
        let kinds = self.event_kinds(id).await;
        let count = |kind: EventKind| kinds.iter().filter(|k| **k == kind).count();
        assert_eq!(count(EventKind::Approved), 1, "{kinds:?}");
        assert_eq!(count(EventKind::Applied), 1, "{kinds:?}");
        assert_eq!(
            moto_calls().await.get(&format!("PutRolePolicy:{role}")),
            Some(&1),
            "exactly one PutRolePolicy"
        );
    }

    /// The request as stored now (it must exist).
    pub async fn stored(&self, id: &RequestId) -> Request {
        self.store
            .get(id)
            .await
            .expect("DynamoDB readable")
            .expect("request stored")
    }

    /// The request whose card is the `nth` (from 0) posted, as stored.
    pub async fn request_from_card(&self, nth: usize) -> Request {
        let cards = self.wait_slack("/chat.postMessage", nth + 1).await;
        self.stored(&request_id_on(&cards[nth])).await
    }

    pub async fn wait_state(&self, id: &RequestId, state: State) -> Request {
        eventually(&format!("{id} to become {}", state.as_str()), || async {
            let r = self.store.get(id).await.ok().flatten()?;
            (r.state() == state).then_some(r)
        })
        .await
    }

    pub async fn events(&self, id: &RequestId) -> Vec<AuditEvent> {
        let mut e = self.store.events_for(id).await.unwrap();
        e.sort_by_key(|e| e.seq);
        e
    }

    pub async fn event_kinds(&self, id: &RequestId) -> Vec<EventKind> {
        crate::common::kinds(self.events(id).await)
    }

    /// Every event in the table, in chain order.
    pub async fn all_events(&self) -> Vec<AuditEvent> {
        let (mut events, _) = self.store.whole_chain().await.unwrap();
        events.sort_by_key(|e| e.seq);
        events
    }

    /// Applied exactly once: `requested`, `approved`, `applied` and nothing else, and one
    /// `PutRolePolicy` on the role.
    pub async fn assert_applied_once(&self, id: &RequestId, role: &str) {
        assert_eq!(
            self.event_kinds(id).await,
            [
                EventKind::Requested,
                EventKind::Approved,
                EventKind::Applied
            ]
        );
        assert_eq!(
            moto_calls().await.get(&format!("PutRolePolicy:{role}")),
            Some(&1),
            "exactly one PutRolePolicy"
        );
    }

    /// A fresh role named after `prefix`, created in moto's default account; its name.
    pub async fn new_role(&self, prefix: &str) -> String {
        let role = unique(prefix);
        self.create_role(&role, None).await;
        role
    }

    /// Create a role in moto's default account.
    pub async fn create_role(&self, name: &str, path: Option<&str>) -> String {
        let trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]});
        let out = self
            .iam
            .create_role()
            .role_name(name)
            .set_path(path.map(str::to_string))
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("create role in moto");
        out.role().unwrap().arn().to_string()
    }

    /// The AWSRevokeOlderSessions document on a role, parsed, as IAM holds it.
    pub async fn revoke_policy(&self, role: &str) -> Option<Value> {
        revoke_policy_with(&self.iam, role).await
    }
}

/// The AWSRevokeOlderSessions document on a role, through `iam` (any account), parsed.
pub async fn revoke_policy_with(iam: &aws_sdk_iam::Client, role: &str) -> Option<Value> {
    let out = iam
        .get_role_policy()
        .role_name(role)
        .policy_name("AWSRevokeOlderSessions")
        .send()
        .await
        .ok()?;
    let text = percent_encoding::percent_decode_str(out.policy_document())
        .decode_utf8_lossy()
        .into_owned();
    Some(serde_json::from_str(&text).expect("policy JSON"))
}

/// The environment the bot binary gets: the emulators at `endpoints`, test credentials, no
/// Slack settings (the caller adds those it needs).
pub fn bot_env<C: CommandEnv>(cmd: &mut C, endpoints: &Endpoints) {
    for (k, v) in endpoints.env() {
        cmd.set(k, &v);
    }
    for (k, v) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ] {
        cmd.set(k, v);
    }
    for k in [
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "SLACK_BOT_TOKEN",
        "SLACK_API_URL",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "RUST_LOG",
        "REVOKE_ROLE_BOT_CONFIG",
        "REVOKE_ROLE_BOT_CONFIG_TOML",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.unset(k);
    }
}

/// `std::process::Command` and `tokio::process::Command` alike.
pub trait CommandEnv {
    fn set(&mut self, k: &str, v: &str);
    fn unset(&mut self, k: &str);
}

impl CommandEnv for std::process::Command {
    fn set(&mut self, k: &str, v: &str) {
        self.env(k, v);
    }
    fn unset(&mut self, k: &str) {
        self.env_remove(k);
    }
}

impl CommandEnv for tokio::process::Command {
    fn set(&mut self, k: &str, v: &str) {
        self.env(k, v);
    }
    fn unset(&mut self, k: &str) {
        self.env_remove(k);
    }
}

/// How to start one server for a test: `Spawn::new()…start()` (in this process) or
/// `…process()` (the real binary). Each server gets a fresh `TestEnv` unless it is `on` one.
pub struct Spawn {
    env: Option<Arc<TestEnv>>,
    edit: Box<dyn FnOnce(String) -> String>,
    identity: Option<SdkConfig>,
    proxied: bool,
    socket_mode: bool,
    env_vars: Vec<(&'static str, String)>,
}

impl Default for Spawn {
    fn default() -> Self {
        Self::new()
    }
}

impl Spawn {
    pub fn new() -> Spawn {
        Spawn {
            env: None,
            edit: Box::new(|c| c),
            identity: None,
            proxied: false,
            socket_mode: false,
            env_vars: Vec::new(),
        }
    }

    /// An environment variable for the bot process (`process` only), set after the usual ones.
    pub fn env_var(mut self, name: &'static str, value: &str) -> Spawn {
        self.env_vars.push((name, value.to_string()));
        self
    }

    /// The base configuration, transformed by `edit` (after the edits given before).
    pub fn config(mut self, edit: impl FnOnce(String) -> String + 'static) -> Spawn {
        let before = std::mem::replace(&mut self.edit, Box::new(|c| c));
        self.edit = Box::new(move |c| edit(before(c)));
        self
    }

    /// Another server (a replica) on an existing environment: its table and its fake Slack.
    pub fn on(mut self, env: &Arc<TestEnv>) -> Spawn {
        self.env = Some(env.clone());
        self
    }

    /// The server runs as `aws` (e.g. an assumed role); the test's own clients keep theirs.
    /// In process only.
    pub fn identity(mut self, aws: SdkConfig) -> Spawn {
        self.identity = Some(aws);
        self
    }

    /// The server reaches DynamoDB Local and moto through `AwsProxies`, which a test can cut or
    /// make hold a call (`TestApp::proxies`).
    pub fn proxied(mut self) -> Spawn {
        self.proxied = true;
        self
    }

    /// Slack over Socket Mode (an app token, no signing secret) instead of HTTP. In process only.
    pub fn socket_mode(mut self) -> Spawn {
        self.socket_mode = true;
        self
    }

    /// What every server needs: its environment, its configuration, and where it finds AWS.
    async fn prepare(&mut self) -> (Arc<TestEnv>, String, Option<AwsProxies>, Endpoints) {
        let env = match self.env.take() {
            Some(env) => env,
            None => TestEnv::new().await,
        };
        let toml = (std::mem::replace(&mut self.edit, Box::new(|c| c)))(env.config());
        let proxies = if self.proxied {
            Some(AwsProxies::start(&env.endpoints).await)
        } else {
            None
        };
        let endpoints = proxies
            .as_ref()
            .map_or_else(|| env.endpoints.clone(), AwsProxies::endpoints);
        (env, toml, proxies, endpoints)
    }

    /// The server in this process.
    pub async fn start(mut self) -> TestApp {
        let (env, toml, proxies, endpoints) = self.prepare().await;
        let aws = match self.identity.take() {
            Some(identity) => identity.to_builder().service_config(endpoints).build(),
            None => endpoints.config(test_credentials()).await,
        };
        let secrets = SlackSecrets {
            signing_secret: (!self.socket_mode).then(|| SecretString::from(SECRET)),
            app_token: self
                .socket_mode
                .then(|| SecretString::from("xapp-test-token")),
            bot_token: SecretString::from("xoxb-test-token"),
            api_url: Some(env.slack.uri()),
            timeouts: Default::default(),
        };
        let (base, app) = serve(&toml, secrets, aws).await;
        TestApp {
            env,
            base,
            server: Server::InProcess(app),
            proxies,
        }
    }

    /// `revoke-role-bot serve` as its own process.
    pub async fn process(mut self) -> TestApp {
        assert!(
            self.identity.is_none() && !self.socket_mode,
            "a bot process runs as the test identity, over HTTP"
        );
        let (env, toml, proxies, endpoints) = self.prepare().await;
        let process = BotProcess::start_with(
            &toml,
            crate::support::ConfigVia::Flag,
            &env.slack.uri(),
            &endpoints,
            &self.env_vars,
        )
        .await;
        TestApp {
            env,
            base: process.base.clone(),
            server: Server::Process(Box::new(process)),
            proxies,
        }
    }
}

/// A fresh environment and a server on it with the tests' base configuration.
pub async fn spawn_app() -> TestApp {
    Spawn::new().start().await
}

enum Server {
    InProcess(Arc<App>),
    Process(Box<BotProcess>),
}

/// A running server and the environment it runs in (`TestEnv`'s fields and helpers are
/// reachable through it).
pub struct TestApp {
    env: Arc<TestEnv>,
    pub base: String,
    server: Server,
    proxies: Option<AwsProxies>,
}

impl Deref for TestApp {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

impl TestApp {
    pub fn env(&self) -> &Arc<TestEnv> {
        &self.env
    }

    /// The service of a server in this process.
    pub fn app(&self) -> &Arc<App> {
        match &self.server {
            Server::InProcess(app) => app,
            Server::Process(_) => panic!("the server is a separate process"),
        }
    }

    /// The server as a separate process.
    pub fn process(&self) -> &BotProcess {
        match &self.server {
            Server::Process(p) => p,
            Server::InProcess(_) => panic!("the server runs in the test process"),
        }
    }

    pub fn process_mut(&mut self) -> &mut BotProcess {
        match &mut self.server {
            Server::Process(p) => p,
            Server::InProcess(_) => panic!("the server runs in the test process"),
        }
    }

    /// The proxies between this server and the emulators (`Spawn::proxied`).
    pub fn proxies(&self) -> &AwsProxies {
        self.proxies
            .as_ref()
            .expect("start the server with Spawn::proxied()")
    }

    /// Wait until the server has no background work left, so that what it did not do can be
    /// asserted: in process through `App::drain`; a separate process is stopped with SIGTERM,
    /// which drains it (and must exit cleanly).
    pub async fn drain(&self) {
        match &self.server {
            Server::InProcess(app) => {
                let left = app.drain(Duration::from_secs(30)).await;
                assert_eq!(left, 0, "background work still running after 30 s");
            }
            Server::Process(p) => {
                let status = p.terminate().await;
                assert!(status.success(), "the bot exited with {status:?}");
            }
        }
    }

    pub async fn post_raw(
        &self,
        route: &str,
        body: String,
        headers: Vec<(&'static str, String)>,
    ) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{route}", self.base)).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send().await.expect("server reachable")
    }

    /// GET `route` on the server (no signature: health, readiness, metrics).
    pub async fn get(&self, route: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{route}", self.base))
            .send()
            .await
            .expect("server reachable")
    }

    pub async fn post_signed(&self, route: &str, body: String) -> reqwest::Response {
        let headers = signed_headers(&body, chrono::Utc::now().timestamp());
        self.post_raw(route, body, headers).await
    }

    /// A signed slash command; returns the immediate JSON answer.
    pub async fn command(&self, user: &str, text: &str) -> Value {
        let r = self
            .post_signed("/slack/commands", self.command_body(user, text, None))
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("json answer")
    }

    pub async fn click(&self, user: &str, action: &str, id: &RequestId) {
        let r = self
            .post_signed(
                "/slack/interactions",
                self.click_body(user, action, id.as_str()),
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    /// The usual start of a scenario: a fresh role named after `prefix`, Alice's request to revoke
    /// it with `reason`, and that request as stored, read from its card.
    pub async fn role_with_request(&self, prefix: &str, reason: &str) -> (String, Request) {
        let role = self.new_role(prefix).await;
        let cards_before = self.slack_received("/chat.postMessage").await.len();
        self.command(ALICE, &format!("prod/{role} {reason}")).await;
        let request = self.request_from_card(cards_before).await;
        (role, request)
    }
}

/// The short reason a failed request shows on its card (as Slack receives it).
pub fn short_reason(r: &Request) -> String {
    let failure = r.failure().expect("a failed request has a failure");
    revoke_role_bot::slack::messages::failure(failure, r.target())
        .to_mrkdwn()
        .into_string()
}

fn is_direct_message(v: &Value) -> bool {
    v["channel"]
        .as_str()
        .is_some_and(|c| c.starts_with(['U', 'W']))
}

fn is_card_post(v: &Value) -> bool {
    v.get("thread_ts").is_none() && !is_direct_message(v)
}
