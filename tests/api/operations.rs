//! Running it: Socket Mode, readiness, metrics.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use revoke_role_bot::aws::dynamodb::DynamoStore;
use revoke_role_bot::config::{Settings, SlackSecrets};
use revoke_role_bot::domain::request::State;
use revoke_role_bot::startup::Application;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next text frame, as JSON.
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("an answer")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

fn command_envelope(id: &str, user: &str, text: &str, response_url: &str) -> Value {
    json!({
        "envelope_id": id, "type": "slash_commands", "accepts_response_payload": true,
        "payload": {"command": "/revoke-role", "text": text, "user_id": user, "channel_id": CHANNEL,
                    "response_url": response_url, "trigger_id": format!("{id}.trigger"), "team_id": "T0TEAM"}
    })
}

#[tokio::test]
async fn a_full_flow_over_socket_mode_with_a_reconnect() {
    install();
    let table = unique("socket");
    let slack = MockServer::start().await;
    mount_slack_ok(&slack).await;
    let ws_server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_url = format!("ws://{}/link", ws_server.local_addr().unwrap());
    Mock::given(method("POST"))
        .and(path("/apps.connections.open"))
        .and(header("authorization", "Bearer xapp-test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "url": ws_url})))
        .mount(&slack)
        .await;
    let aws = aws_config().await;
    let store = Arc::new(DynamoStore::new(&aws, &table));
    store.create_table().await.unwrap();
    let secrets = SlackSecrets {
        signing_secret: None,
        bot_token: SecretString::from("xoxb-test-token"),
        app_token: Some(SecretString::from("xapp-test-token")),
        api_url: Some(slack.uri()),
        timeouts: Default::default(),
    };
    let server = Application::build_with(
        Settings::from_toml(&base_config(&table)).unwrap(),
        secrets,
        aws.clone(),
    )
    .await
    .unwrap();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until_stopped());
    let iam = aws_sdk_iam::Client::new(&aws);
    let role = unique("socket-role");
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();

    let (tcp, _) = ws_server.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    send(&mut ws, json!({"type": "hello", "num_connections": 1})).await;

    let respond = |user: &str| format!("{}/respond/{user}", slack.uri());
    send(
        &mut ws,
        command_envelope(
            "env-1",
            ALICE,
            &format!("prod/{role} INC-30 leaked"),
            &respond(ALICE),
        ),
    )
    .await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["envelope_id"], "env-1");
    assert_eq!(ack["payload"]["response_type"], "ephemeral");
    assert!(ack["payload"]["text"].as_str().unwrap().contains(&role));

    let card = eventually("the card", || async {
        let reqs = slack.received_requests().await.unwrap_or_default();
        reqs.into_iter()
            .find(|r| r.url.path() == "/chat.postMessage")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
    })
    .await;
    let id = request_id_on(&card).to_string();

    let click = json!({
        "envelope_id": "env-2", "type": "interactive",
        "payload": {"type": "block_actions", "user": {"id": BOB}, "actions": [{"action_id": "approve", "value": id}],
                    "response_url": respond(BOB)}
    });
    send(&mut ws, click).await;
    assert_eq!(next_json(&mut ws).await, json!({"envelope_id": "env-2"}));

    let request_id = revoke_role_bot::domain::ids::RequestId::parse(&id).unwrap();
    use revoke_role_bot::ports::AuditStore;
    let applied = eventually("applied", || async {
        store
            .get(&request_id)
            .await
            .ok()
            .flatten()
            .filter(|r| r.state() == State::Applied)
    })
    .await;
    let doc = revoke_policy_with(&iam, &role)
        .await
        .expect("policy on the role");
    assert_eq!(
        doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        applied.cutoff().unwrap().to_string()
    );

    // Slack drops the connection: the bot opens a new one and keeps answering.
    ws.close(None).await.unwrap();
    drop(ws);
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(15), ws_server.accept())
        .await
        .expect("a reconnect")
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    send(
        &mut ws,
        command_envelope("env-3", ALICE, "help", &respond(ALICE)),
    )
    .await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["envelope_id"], "env-3");
    assert!(ack["payload"]["text"].as_str().unwrap().contains("Usage"));
    let opens = slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/apps.connections.open")
        .count();
    assert!(opens >= 2);

    // In Socket Mode Slack is not served over HTTP.
    let r = reqwest::Client::new()
        .post(format!("{base}/slack/commands"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

fn install() {
    revoke_role_bot::telemetry::install_crypto_provider();
}

struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start(port: u16) -> Moto {
        let python = std::env::var("MOTO_PYTHON").expect("MOTO_PYTHON (set by scripts/test.sh)");
        let child = Command::new(python)
            .args(["scripts/moto_server.py", &port.to_string()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Moto { child, port }
    }
    async fn wait_up(&self) {
        let url = format!("http://127.0.0.1:{}/_test/calls", self.port);
        eventually("private moto up", || async {
            reqwest::get(&url).await.ok().map(|_| ())
        })
        .await;
    }
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn readyz_fails_while_dynamodb_is_down_and_recovers_when_it_is_back() {
    install();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut moto = Moto::start(port);
    moto.wait_up().await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let aws = aws_config_at(&endpoint).await;
    let table = unique("ready");
    let store = DynamoStore::new(&aws, &table);
    store.create_table().await.unwrap();
    let slack = MockServer::start().await;
    let secrets = test_secrets(slack.uri());
    let server = Application::build_with(
        Settings::from_toml(&base_config(&table)).unwrap(),
        secrets,
        aws.clone(),
    )
    .await
    .unwrap();
    let addr: SocketAddr = server.local_addr();
    tokio::spawn(server.run_until_stopped());
    let ready = || async {
        reqwest::get(format!("http://{addr}/readyz"))
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let healthy = || async {
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .status()
            .as_u16()
    };

    assert_eq!(ready().await, 200);
    moto.stop();
    assert_eq!(ready().await, 503);
    assert_eq!(healthy().await, 200, "the process is still up");

    let moto = Moto::start(port);
    moto.wait_up().await;
    // A fresh moto has no tables: bring the table back, as DynamoDB would be.
    store.create_table().await.unwrap();
    eventually("ready again", || async {
        (ready().await == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn metrics_count_a_completed_flow() {
    let app = spawn_app().await;
    let (_, request) = app.role_with_request("metered", "INC-31 leaked").await;
    app.click(ALICE, "approve", request.id()).await;
    app.wait_replies(ALICE, 2).await;
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    let unsigned = app.post_raw("/slack/commands", "x=1".into(), vec![]).await;
    assert_eq!(unsigned.status(), 401);

    let r = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for line in [
        "revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"ok\"} 1",
        "revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"unauthorized\"} 1",
        "revoke_role_bot_requests_total{endpoint=\"interactions\",outcome=\"ok\"} 2",
        "revoke_role_bot_events_total{kind=\"requested\"} 1",
        "revoke_role_bot_events_total{kind=\"click_refused\"} 1",
        "revoke_role_bot_events_total{kind=\"approved\"} 1",
        "revoke_role_bot_events_total{kind=\"applied\"} 1",
        "revoke_role_bot_approval_to_policy_seconds_count 1",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
}
