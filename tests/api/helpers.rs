#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
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

use crate::support::BotProcess;

pub const SECRET: &str = "test-signing-secret";
pub const ACCOUNT: &str = "123456789012";
pub const ALICE: &str = "U0ALICE";
pub const BOB: &str = "U0BOB";
pub const CAROL: &str = "U0CAROL";
pub const EVE: &str = "U0EVE";
pub const CHANNEL: &str = "C0INCIDENT";

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the suite with `bash scripts/test.sh`, which starts moto_server")
    })
}

pub fn unique(prefix: &str) -> String {
    let mut rng = rand::rng();
    let tail: String = (0..8)
        .map(|_| (b'a' + rng.random_range(0..26)) as char)
        .collect();
    format!("{prefix}-{tail}")
}

pub async fn aws_config() -> SdkConfig {
    aws_config_at(&moto_endpoint()).await
}

/// The tests' AWS configuration against another endpoint (a relay, a second moto).
pub async fn aws_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

/// The Slack secrets of a server that serves Slack over HTTP and calls the Web API at `api_url`.
pub fn test_secrets(api_url: String) -> SlackSecrets {
    SlackSecrets {
        signing_secret: Some(SecretString::from(SECRET)),
        app_token: None,
        bot_token: SecretString::from("xoxb-test-token"),
        api_url: Some(api_url),
        timeouts: Default::default(),
    }
}

pub fn base_config(table: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
[audit]
table = "{table}"
[access]
requesters = ["U0ALICE", "U0BOB"]
approvers = ["U0ALICE", "U0BOB", "U0CAROL"]
[roles]
allow = ["arn:aws:iam::*:role/*"]
protect = ["arn:aws:iam::*:role/break-glass-*"]
[[accounts]]
id = "{ACCOUNT}"
name = "prod"
"#
    )
}

pub struct TestApp {
    pub base: String,
    pub slack: MockServer,
    pub aws: SdkConfig,
    pub iam: aws_sdk_iam::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub store: Arc<DynamoStore>,
    pub table: String,
    pub http: reqwest::Client,
    pub app: Arc<App>,
    triggers: std::sync::atomic::AtomicU32,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|c| c).await
}

/// Start the server with the default test config, transformed by `edit`.
pub async fn spawn_app_with(edit: impl FnOnce(String) -> String) -> TestApp {
    let table = unique("audit");
    start(Start {
        toml: edit(base_config(&table)),
        table,
        create_table: true,
        server_aws: None,
        slack_api: None,
    })
    .await
}

/// How to start one server for a test.
struct Start {
    table: String,
    toml: String,
    create_table: bool,
    /// The bot's AWS identity, when not the test's own.
    server_aws: Option<SdkConfig>,
    /// Another test app's fake Slack, when not a fresh one.
    slack_api: Option<String>,
}

async fn start(how: Start) -> TestApp {
    revoke_role_bot::telemetry::install_crypto_provider();
    revoke_role_bot::telemetry::init("warn");
    let settings = Settings::from_toml(&how.toml).expect("test config");
    let slack = MockServer::start().await;
    mount_slack_ok(&slack).await;
    let aws = aws_config().await;
    let store = Arc::new(DynamoStore::new(&aws, &how.table));
    if how.create_table {
        store.create_table().await.expect("create table in moto");
    }
    let secrets = test_secrets(how.slack_api.unwrap_or_else(|| slack.uri()));
    let server = Application::build_with(
        settings,
        secrets,
        how.server_aws.unwrap_or_else(|| aws.clone()),
    )
    .await
    .expect("build app");
    let addr: SocketAddr = server.local_addr();
    let app = server.app();
    tokio::spawn(server.run_until_stopped());
    TestApp {
        base: format!("http://{addr}"),
        iam: aws_sdk_iam::Client::new(&aws),
        ddb: aws_sdk_dynamodb::Client::new(&aws),
        slack,
        aws,
        store,
        table: how.table,
        http: reqwest::Client::new(),
        app,
        triggers: Default::default(),
    }
}

/// A Slack Web API that accepts everything, like a healthy workspace.
pub async fn mount_slack_ok(slack: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": CHANNEL, "ts": "1700000000.000100",
            "message": {"ts": "1700000000.000100", "text": "card"}
        })))
        .mount(slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.update"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": CHANNEL, "ts": "1700000000.000100", "message": {"text": "card"}
        })))
        .mount(slack)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/respond/.*"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(slack)
        .await;
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

impl TestApp {
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

    pub async fn post_signed(&self, route: &str, body: String) -> reqwest::Response {
        let headers = signed_headers(&body, chrono::Utc::now().timestamp());
        self.post_raw(route, body, headers).await
    }

    pub fn command_body(&self, user: &str, text: &str, trigger: Option<&str>) -> String {
        let n = self
            .triggers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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

    /// A signed slash command; returns the immediate JSON answer.
    pub async fn command(&self, user: &str, text: &str) -> Value {
        let r = self
            .post_signed("/slack/commands", self.command_body(user, text, None))
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("json answer")
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

    pub async fn click(&self, user: &str, action: &str, id: &RequestId) {
        let r = self
            .post_signed(
                "/slack/interactions",
                self.click_body(user, action, id.as_str()),
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    /// Requests the fake Slack received on `route`, as JSON bodies.
    /// What Slack received on `route`. For `/chat.postMessage` these are the cards only: thread
    /// replies (`thread_ts`) and direct messages (a user id as the channel) are in
    /// [`TestApp::slack_thread`] and [`TestApp::slack_dms`].
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

    /// Direct messages (posted with a user id as the channel).
    pub async fn slack_dms(&self) -> Vec<Value> {
        self.slack_all("/chat.postMessage")
            .await
            .into_iter()
            .filter(|v| {
                v["channel"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(['U', 'W']))
            })
            .collect()
    }

    pub async fn replies_to(&self, user: &str) -> Vec<Value> {
        self.slack_received(&format!("/respond/{user}")).await
    }

    /// Wait (up to 15 s) until `user` has received `n` replies through response_url.
    pub async fn wait_replies(&self, user: &str, n: usize) -> Vec<Value> {
        let route = format!("/respond/{user}");
        eventually(&format!("{n} replies to {user}"), || async {
            let r = self.slack_received(&route).await;
            (r.len() >= n).then_some(r)
        })
        .await
    }

    pub async fn wait_slack(&self, route: &str, n: usize) -> Vec<Value> {
        eventually(&format!("{n} calls to {route}"), || async {
            let r = self.slack_received(route).await;
            (r.len() >= n).then_some(r)
        })
        .await
    }

    /// The request whose card was posted, after `/revoke-role <role> <reason>`.
    /// The usual start of a scenario: a fresh role named after `prefix`, Alice's request to revoke
    /// it with `reason`, and that request as stored, read from its card.
    pub async fn role_with_request(&self, prefix: &str, reason: &str) -> (String, Request) {
        let role = unique(prefix);
        self.create_role(&role, None).await;
        let cards_before = self.slack_received("/chat.postMessage").await.len();
        self.command(ALICE, &format!("prod/{role} {reason}")).await;
        let request = self.request_from_card(cards_before).await;
        (role, request)
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

    /// The request as stored now (it must exist).
    pub async fn stored(&self, id: &RequestId) -> Request {
        self.store
            .get(id)
            .await
            .expect("DynamoDB readable")
            .expect("request stored")
    }

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
        self.events(id)
            .await
            .into_iter()
            .map(|e| e.draft.kind)
            .collect()
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

/// Counts of IAM writes seen by the test moto_server, keyed `Action:RoleName`.
pub async fn moto_calls() -> HashMap<String, u64> {
    reqwest::get(format!("{}/_test/calls", moto_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Poll until `f` yields a value; background work gets 15 s before the test fails.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Give background work a moment to do something it must not do.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

/// A second server (another replica) on an existing table, sharing the same moto and, when
/// `slack_api` is given, the same fake Slack.
pub async fn spawn_app_on(
    table: &str,
    slack_api: Option<String>,
    edit: impl FnOnce(String) -> String,
) -> TestApp {
    let toml = edit(base_config(table));
    start(Start {
        table: table.to_string(),
        toml,
        create_table: false,
        server_aws: None,
        slack_api,
    })
    .await
}

/// Write `text` to a fresh file under the system temp dir.
pub fn tempfile_with(text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("{}.toml", unique("rrb-config")));
    std::fs::write(&p, text).expect("write temp config");
    p
}

impl TestApp {
    /// Like `wait_slack`, with room for a large load.
    pub async fn wait_slack_long(&self, route: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + load_wait();
        loop {
            let r = self.slack_received(route).await;
            if r.len() >= n {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} calls to {route} (have {})",
                r.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

// ---- The revocation engine (tests/api/revocation.rs): faults, other identities, the real binary ----

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

/// An SDK config for moto with the credentials of an assumed role: moto files IAM calls made
/// with them under the role's account.
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
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        ))
        .load()
        .await
}

/// Like `spawn_app_with`, but the server runs with `server_aws` (e.g. an assumed role's
/// credentials); the test's own clients keep the default identity.
pub async fn spawn_app_as(server_aws: SdkConfig, edit: impl FnOnce(String) -> String) -> TestApp {
    let table = unique("audit");
    let toml = edit(base_config(&table));
    start(Start {
        table,
        toml,
        create_table: true,
        server_aws: Some(server_aws),
        slack_api: None,
    })
    .await
}

/// Start `revoke-role-bot serve` as its own process on a fresh table, with the test config
/// transformed by `edit`. The returned `TestApp` talks to that process (`base`), its fake Slack
/// and moto; its `app` field is an idle stand-in built from the same config, not the server.
pub async fn spawn_app_process(edit: impl FnOnce(String) -> String) -> (TestApp, BotProcess) {
    revoke_role_bot::telemetry::install_crypto_provider();
    let table = unique("audit");
    let config_text = edit(base_config(&table));
    let settings = Settings::from_toml(&config_text).expect("test config");
    let slack = MockServer::start().await;
    mount_slack_ok(&slack).await;
    let aws = aws_config().await;
    let store = Arc::new(DynamoStore::new(&aws, &table));
    store.create_table().await.expect("create table in moto");
    let process = BotProcess::start_with(&config_text, &slack.uri(), &moto_endpoint()).await;
    let stand_in = App::new(
        Arc::new(settings),
        revoke_role_bot::service::Ports {
            store: store.clone(),
            iam: Arc::new(revoke_role_bot::aws::iam::AwsIam::new(&aws, &[]).await),
            slack: Arc::new(
                revoke_role_bot::slack::client::SlackWebApi::new(
                    &SecretString::from("xoxb-test-token"),
                    Some(&slack.uri()),
                )
                .expect("slack client"),
            ),
            clock: Arc::new(revoke_role_bot::clock::SystemClock),
            identity_center: None,
        },
        None,
    );
    let app = TestApp {
        base: process.base.clone(),
        iam: aws_sdk_iam::Client::new(&aws),
        ddb: aws_sdk_dynamodb::Client::new(&aws),
        slack,
        aws,
        store,
        table,
        http: reqwest::Client::new(),
        app: stand_in,
        triggers: Default::default(),
    };
    (app, process)
}

/// `eventually` with room for a large load (LOAD_WAIT_SECS, default 10 minutes).
pub async fn eventually_long<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + load_wait();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn load_wait() -> Duration {
    Duration::from_secs(
        std::env::var("LOAD_WAIT_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600),
    )
}

/// The short reason a failed request shows on its card (as Slack receives it).
pub fn short_reason(r: &Request) -> String {
    let failure = r.failure().expect("a failed request has a failure");
    revoke_role_bot::slack::messages::failure(failure, r.target())
        .to_mrkdwn()
        .into_string()
}

fn is_card_post(v: &Value) -> bool {
    v.get("thread_ts").is_none()
        && !v["channel"]
            .as_str()
            .is_some_and(|c| c.starts_with(['U', 'W']))
}
