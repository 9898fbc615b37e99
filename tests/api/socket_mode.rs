//! Socket Mode: the full flow over a WebSocket, reconnects, a silent connection, readiness, a
//! refused app token, and the `health` subcommand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use revoke_role_bot::aws::dynamodb::DynamoStore;
use revoke_role_bot::config::{SlackSecrets, SlackTimeouts};
use revoke_role_bot::domain::request::State;
use revoke_role_bot::ports::AuditStore;
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

/// `help` sent on `ws` is answered on `ws`: the bot is using this connection.
async fn answers_on(ws: &mut Ws, envelope_id: &str, respond: &str) {
    send(ws, command_envelope(envelope_id, ALICE, "help", respond)).await;
    let ack = next_json(ws).await;
    assert_eq!(ack["envelope_id"], envelope_id);
    assert!(ack["payload"]["text"].as_str().unwrap().contains("Usage"));
}

/// The bot in Socket Mode (no signing secret), a fake Slack whose `apps.connections.open` hands
/// out a WebSocket URL on `ws`, and the bot's table in moto.
struct SocketSlack {
    slack: MockServer,
    ws: TcpListener,
    base: String,
    store: Arc<DynamoStore>,
    aws: aws_config::SdkConfig,
}

impl SocketSlack {
    async fn start(socket_silence: Duration) -> SocketSlack {
        Self::start_with(socket_silence, |c| c).await
    }

    /// The same, with the configuration edited first.
    async fn start_with(
        socket_silence: Duration,
        edit: impl FnOnce(String) -> String,
    ) -> SocketSlack {
        revoke_role_bot::telemetry::install_crypto_provider();
        let slack = MockServer::start().await;
        mount_slack_ok(&slack).await;
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_url = format!("ws://{}/link", ws.local_addr().unwrap());
        Mock::given(method("POST"))
            .and(path("/apps.connections.open"))
            .and(header("authorization", "Bearer xapp-test-token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"ok": true, "url": ws_url})),
            )
            .mount(&slack)
            .await;
        let aws = aws_config().await;
        let (table, store) = audit_table(&aws, "socket").await;
        let secrets = SlackSecrets {
            signing_secret: None,
            app_token: Some(SecretString::from("xapp-test-token")),
            timeouts: SlackTimeouts {
                socket_silence,
                ..SlackTimeouts::default()
            },
            ..test_secrets(slack.uri())
        };
        let (base, _) = serve(&edit(base_config(&table)), secrets, aws.clone()).await;
        SocketSlack {
            slack,
            ws,
            base,
            store,
            aws,
        }
    }

    /// The bot's next WebSocket connection.
    async fn accept(&self) -> Ws {
        let (tcp, _) = tokio::time::timeout(Duration::from_secs(15), self.ws.accept())
            .await
            .expect("the bot to connect")
            .unwrap();
        tokio_tungstenite::accept_async(tcp).await.unwrap()
    }

    /// Accept the bot's connection and say hello, as Slack does.
    async fn greeted(&self) -> Ws {
        let mut ws = self.accept().await;
        send(&mut ws, json!({"type": "hello", "num_connections": 1})).await;
        ws
    }

    async fn readyz(&self) -> (u16, String) {
        let r = reqwest::get(format!("{}/readyz", self.base)).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn wait_ready(&self) {
        eventually("/readyz to say ready", || async {
            (self.readyz().await.0 == 200).then_some(())
        })
        .await;
    }

    fn respond_url(&self, user: &str) -> String {
        format!("{}/respond/{user}", self.slack.uri())
    }

    async fn connection_opens(&self) -> usize {
        self.slack
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/apps.connections.open")
            .count()
    }
}

#[tokio::test]
async fn a_full_flow_over_socket_mode_with_a_reconnect() {
    let s = SocketSlack::start(SlackTimeouts::default().socket_silence).await;
    let iam = aws_sdk_iam::Client::new(&s.aws);
    let role = unique("socket-role");
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();

    let mut ws = s.greeted().await;
    send(
        &mut ws,
        command_envelope(
            "env-1",
            ALICE,
            &format!("prod/{role} INC-30 leaked"),
            &s.respond_url(ALICE),
        ),
    )
    .await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["envelope_id"], "env-1");
    assert_eq!(ack["payload"]["response_type"], "ephemeral");
    assert!(ack["payload"]["text"].as_str().unwrap().contains(&role));

    let card = eventually("the card", || async {
        let reqs = s.slack.received_requests().await.unwrap_or_default();
        reqs.into_iter()
            .find(|r| r.url.path() == "/chat.postMessage")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
    })
    .await;
    let id = request_id_on(&card);

    let click = json!({
        "envelope_id": "env-2", "type": "interactive",
        "payload": {"type": "block_actions", "user": {"id": BOB}, "actions": [{"action_id": "approve", "value": id.as_str()}],
                    "response_url": s.respond_url(BOB)}
    });
    send(&mut ws, click).await;
    assert_eq!(next_json(&mut ws).await, json!({"envelope_id": "env-2"}));

    let applied = eventually("applied", || async {
        s.store
            .get(&id)
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
    let mut ws = s.greeted().await;
    answers_on(&mut ws, "env-3", &s.respond_url(ALICE)).await;
    assert!(s.connection_opens().await >= 2);

    // In Socket Mode Slack is not served over HTTP.
    let r = reqwest::Client::new()
        .post(format!("{}/slack/commands", s.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_silent_connection_is_dropped_and_readyz_is_503_until_the_bot_is_back() {
    let silence = Duration::from_millis(1500);
    let s = SocketSlack::start(silence).await;
    let respond = s.respond_url(ALICE);

    let mut ws = s.accept().await;
    let (status, body) = s.readyz().await;
    assert_eq!(status, 503, "not ready before Slack says hello");
    assert!(body.contains("Socket Mode not connected"), "{body}");
    send(&mut ws, json!({"type": "hello", "num_connections": 1})).await;
    s.wait_ready().await;

    // Quiet but alive: reading answers the bot's pings with pongs, so the connection outlives
    // twice the silence limit and is still the one the bot uses.
    let mut pings = 0;
    let quiet_until = tokio::time::Instant::now() + silence * 2;
    while let Ok(m) = tokio::time::timeout_at(quiet_until, ws.next()).await {
        match m.expect("the bot keeps the connection open").unwrap() {
            Message::Ping(_) => pings += 1,
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert!(
        pings >= 3,
        "the bot pings every third of the limit; saw {pings}"
    );
    answers_on(&mut ws, "env-1", &respond).await;
    assert_eq!(s.readyz().await.0, 200);

    // Now the connection goes silent (half-open: nothing is read, no pong goes back).
    let went_silent = Instant::now();
    let tcp = tokio::time::timeout(Duration::from_secs(15), s.ws.accept())
        .await
        .expect("the bot to notice the silence and reconnect")
        .unwrap()
        .0;
    let noticed = went_silent.elapsed();
    assert!(
        noticed >= silence / 2 && noticed < silence * 4,
        "reconnected after {noticed:?}"
    );
    let mut fresh = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let (status, body) = s.readyz().await;
    assert_eq!(status, 503, "not ready until the new connection is greeted");
    assert!(body.contains("Slack Socket Mode not connected"), "{body}");
    send(&mut fresh, json!({"type": "hello", "num_connections": 1})).await;
    s.wait_ready().await;
    answers_on(&mut fresh, "env-2", &respond).await;
    drop(ws);
}

#[tokio::test]
async fn a_refused_app_token_stops_the_process_with_a_clear_error() {
    let (table, _) = audit_table(&aws_config().await, "refused").await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/apps.connections.open"))
        .respond_with(slack_refuses("invalid_auth"))
        .mount(&slack)
        .await;
    let config = tempfile_with(&base_config(&table));
    // No SLACK_SIGNING_SECRET: Socket Mode does not need one.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_revoke-role-bot"));
    cmd.arg("--config").arg(&config).arg("serve");
    bot_env(&mut cmd, &Endpoints::emulators());
    let run = cmd
        .env("SLACK_BOT_TOKEN", "xoxb-test-token")
        .env("SLACK_APP_TOKEN", "xapp-revoked")
        .env("SLACK_API_URL", slack.uri())
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the bot to give up on a refused token")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.lines().last().unwrap_or_default().starts_with(
            "error: Slack refused the Socket Mode app token 3 times in a row (invalid_auth)"
        ),
        "{stderr}"
    );
    let opens = slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/apps.connections.open")
        .count();
    assert_eq!(opens, 3);
}

/// `revoke-role-bot health` with `args`: its exit code, stdout and stderr.
async fn health(args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_revoke-role-bot"))
        .arg("health")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_health_subcommand_exits_0_only_when_the_bot_is_ready() {
    let nobody = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (code, _, err) = health(&["--url", &nobody]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not ready: cannot reach"), "{err}");

    let s = SocketSlack::start(SlackTimeouts::default().socket_silence).await;
    let (code, out, err) = health(&["--url", &s.base]).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("answered 503: Slack Socket Mode not connected"),
        "{err}"
    );

    let _ws = s.greeted().await;
    s.wait_ready().await;
    // Without --url it asks the address the config listens on.
    let addr = s.base.trim_start_matches("http://");
    let config = tempfile_with(&base_config("any-table").replace("127.0.0.1:0", addr));
    let (code, out, err) = health(&["--config", config.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.trim().starts_with("ready: ready; account prod ("),
        "{out}"
    );
}

/// The request form over Socket Mode: the type-ahead's options and a refused submission come back
/// in the envelope's acknowledgement; an accepted submission closes the form and posts the card.
#[tokio::test]
async fn the_request_form_over_socket_mode() {
    let s = SocketSlack::start(SlackTimeouts::default().socket_silence).await;
    let iam = aws_sdk_iam::Client::new(&s.aws);
    let tag = unique("sockfrm");
    let role = format!("{tag}-app");
    let arn = iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();
    let mut ws = s.greeted().await;
    send(
        &mut ws,
        json!({"envelope_id": "f-1", "type": "interactive", "payload": {
            "type": "block_suggestion", "user": {"id": ALICE}, "action_id": "role",
            "block_id": "role", "value": tag}}),
    )
    .await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["envelope_id"], "f-1");
    assert_eq!(ack["payload"]["options"][0]["value"], arn.as_str(), "{ack}");

    let submission = |id: &str, reason: &str| {
        json!({"envelope_id": id, "type": "interactive", "payload": {
            "type": "view_submission", "user": {"id": ALICE},
            "view": {"id": format!("V-{id}"), "callback_id": "revoke_role_modal", "private_metadata": CHANNEL,
                     "state": {"values": {
                        "role": {"role": {"type": "external_select", "selected_option": {"value": arn}}},
                        "reason": {"reason": {"type": "plain_text_input", "value": reason}}}}}}})
    };
    send(&mut ws, submission("f-2", "x")).await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["envelope_id"], "f-2");
    assert_eq!(ack["payload"]["response_action"], "errors", "{ack}");
    assert!(ack["payload"]["errors"]["reason"].is_string(), "{ack}");

    send(&mut ws, submission("f-3", "INC-31 leaked")).await;
    assert_eq!(next_json(&mut ws).await, json!({"envelope_id": "f-3"}));
    eventually("the card", || async {
        let reqs = s.slack.received_requests().await.unwrap_or_default();
        reqs.into_iter()
            .filter(|r| r.url.path() == "/chat.postMessage")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .find(|c| c.to_string().contains(&role))
    })
    .await;
}

/// A type-ahead waiting on a slow membership check does not hold back the envelopes behind it: a
/// command sent after it is acknowledged first, at once, and the options follow.
#[tokio::test]
async fn a_slow_type_ahead_does_not_delay_the_next_envelopes_acknowledgement() {
    let s = SocketSlack::start_with(
        SlackTimeouts::default().socket_silence,
        requesters(&[ALICE, BOB, "S0SLOW"]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/usergroups.users.list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "users": []}))
                .set_delay(Duration::from_secs(2)),
        )
        .with_priority(1)
        .mount(&s.slack)
        .await;
    let mut ws = s.greeted().await;
    // Eve is not listed by name: whether she may see roles waits on the user group.
    send(
        &mut ws,
        json!({"envelope_id": "f-1", "type": "interactive", "payload": {
            "type": "block_suggestion", "user": {"id": EVE}, "action_id": "role",
            "block_id": "role", "value": "app"}}),
    )
    .await;
    let sent = Instant::now();
    send(
        &mut ws,
        command_envelope("c-1", ALICE, "help", &s.respond_url(ALICE)),
    )
    .await;
    let first = next_json(&mut ws).await;
    assert_eq!(first["envelope_id"], "c-1", "{first}");
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "the command waited {:?} behind the type-ahead",
        sent.elapsed()
    );
    let second = next_json(&mut ws).await;
    assert_eq!(second["envelope_id"], "f-1", "{second}");
}

/// Slack's `disconnect` (a refresh, a server moving): the bot opens the new connection first and
/// keeps answering on the old one meanwhile, so no envelope is lost in a gap; only then does it
/// close the old one. `/readyz` stays ready throughout.
#[tokio::test]
async fn on_disconnect_the_new_connection_is_opened_before_the_old_one_is_closed() {
    let s = SocketSlack::start(SlackTimeouts::default().socket_silence).await;
    let respond = s.respond_url(ALICE);
    let mut old = s.greeted().await;
    s.wait_ready().await;
    answers_on(&mut old, "env-1", &respond).await;

    send(
        &mut old,
        json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "wss-1"}}),
    )
    .await;
    // The bot is now opening its new connection, whose handshake this fake has not accepted
    // yet: the old one still answers, and the bot is still ready.
    answers_on(&mut old, "env-2", &respond).await;
    assert_eq!(s.readyz().await.0, 200, "no gap: still connected");

    let mut new = s.greeted().await;
    // Once the new connection is open, the old one is closed by the bot.
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match old.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the old connection was not closed");
    answers_on(&mut new, "env-3", &respond).await;
    assert_eq!(s.connection_opens().await, 2);
}
