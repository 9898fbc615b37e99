//! Running it: readiness and metrics (Socket Mode is in `socket_mode.rs`).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use revoke_role_bot::aws::dynamodb::DynamoStore;
use revoke_role_bot::config::Settings;
use revoke_role_bot::domain::request::State;
use revoke_role_bot::startup::Application;
use wiremock::MockServer;

use crate::helpers::*;

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
