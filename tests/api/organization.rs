//! Running in a real organization: an account that cannot be reached does not take the bot down,
//! the config comes from the environment without a rebuild and is recorded, `check-config` proves
//! what the first revocation needs, and every outbound call goes through a proxy when one is set.

use std::process::Output;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::request::State;
use revoke_role_bot::ports::AuditStore;
use serde_json::json;
use sha2::Digest;
use tokio::net::TcpListener;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::support::{BotProcess, ConfigVia};

// ---- one account that cannot be reached ----

/// A config edit: an account whose role the bot cannot assume (yet).
fn with_account(
    id: &'static str,
    name: &'static str,
    role: String,
) -> impl FnOnce(String) -> String {
    move |c| {
        format!(
            "{c}\n[[accounts]]\nid = \"{id}\"\nname = \"{name}\"\nassume_role_arn = \"{role}\"\n"
        )
    }
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let r = app.get("/readyz").await;
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_bot_with_an_unreachable_account_starts_reports_it_serves_the_others_and_confirms_it_once_reachable()
 {
    let target = format!(
        "arn:aws:iam::333333333333:role/{}",
        unique("not-trusted-yet")
    );
    // The target account's role does not trust the bot yet (step 6 of the first deploy).
    let faults = inject_faults(json!({ format!("AssumeRole:{target}"): {
        "status": 403, "code": "AccessDenied", "message": "not authorized to perform sts:AssumeRole", "times": 100000
    }}))
    .await;
    let app = Spawn::new()
        .config(with_account("333333333333", "payments", target.clone()))
        .start()
        .await;

    let (status, body) = eventually("/readyz to report the payments account", || async {
        let (status, body) = readyz(&app).await;
        body.contains("account payments (333333333333): unreachable")
            .then_some((status, body))
    })
    .await;
    assert_eq!(
        status, 200,
        "readiness depends on Slack and DynamoDB only: {body}"
    );
    assert!(body.contains("AccessDenied"), "{body}");
    assert!(
        body.contains("account prod (123456789012): confirmed"),
        "{body}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"revoke_role_bot_account_state{account="333333333333",state="unreachable"} 1"#,
        r#"revoke_role_bot_account_state{account="123456789012",state="confirmed"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }

    // The other account is served.
    let (role, request) = app.role_with_request("served", "INC-20 leaked").await;
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    assert!(app.revoke_policy(&role).await.is_some());

    // A request in the unreachable account is refused, naming it and why.
    app.command(ALICE, "payments/app-deployer INC-20 leaked")
        .await;
    let refusal = eventually("the refusal naming the account", || async {
        app.replies_to(ALICE)
            .await
            .into_iter()
            .filter_map(|r| r["text"].as_str().map(str::to_string))
            .find(|t| t.contains("333333333333"))
    })
    .await;
    assert!(
        refusal.contains("333333333333") && refusal.contains("cannot reach account"),
        "{refusal}"
    );

    // Once the role trusts the bot, the next request in that account checks it again and is served.
    faults.clear().await;
    let payments = assumed_config(&target).await;
    let payments_iam = aws_sdk_iam::Client::new(&payments);
    let name = unique("payments-app");
    payments_iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    let cards = app.slack_received("/chat.postMessage").await.len();
    app.command(ALICE, &format!("payments/{name} INC-20 leaked"))
        .await;
    eventually("the card, or a refusal", || async {
        if app.slack_received("/chat.postMessage").await.len() > cards {
            return Some(());
        }
        let replies = app.replies_to(ALICE).await;
        let last = replies.last()?["text"].as_str()?.to_string();
        (last.contains(&name)).then(|| panic!("refused: {last}"))
    })
    .await;
    let card = app.request_from_card(cards).await;
    assert!(
        card.target_arn()
            .starts_with("arn:aws:iam::333333333333:role/")
    );
    let (_, body) = readyz(&app).await;
    assert!(
        body.contains("account payments (333333333333): confirmed"),
        "{body}"
    );
    // The periodic re-check agrees.
    assert_eq!(app.app().check_accounts().await, 2);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l
                == r#"revoke_role_bot_account_state{account="333333333333",state="confirmed"} 1"#),
        "{metrics}"
    );
}

// ---- the config from the environment, recorded ----

#[tokio::test]
async fn serve_takes_its_config_from_the_toml_variable_and_records_its_sha256_in_the_chain() {
    let env = TestEnv::new().await;
    let config = env.config();
    let bot = BotProcess::start_with(
        &config,
        ConfigVia::TomlVariable,
        &env.slack.uri(),
        &env.endpoints,
        &[],
    )
    .await;
    let (events, _) = env.store.whole_chain().await.unwrap();
    let loaded: Vec<_> = events
        .iter()
        .filter(|e| e.draft.kind == EventKind::ConfigLoaded)
        .collect();
    assert_eq!(loaded.len(), 1, "{events:?}");
    let sha = hex::encode(sha2::Sha256::digest(config.as_bytes()));
    assert_eq!(
        loaded[0].draft.detail.as_deref(),
        Some(format!("sha256={sha} source=REVOKE_ROLE_BOT_CONFIG_TOML").as_str())
    );
    assert!(
        loaded[0].draft.actor.starts_with("cli:arn:aws:"),
        "the AWS identity the bot runs as: {}",
        loaded[0].draft.actor
    );
    assert!(bot.terminate().await.success());

    // The chain with the new event verifies.
    let verify = env.cli(&config, &["audit", "verify"], &[]);
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    // Lookups read past it: it belongs to no request.
    let lookup = env.cli(&config, &["audit", "--limit", "5"], &[]);
    assert!(
        lookup.status.success(),
        "{}",
        String::from_utf8_lossy(&lookup.stderr)
    );
}

#[tokio::test]
async fn two_config_sources_refuse_to_start_naming_both() {
    let env = TestEnv::new().await;
    let config = env.config();
    let o = env.cli(
        &config,
        &["serve"],
        &[
            ("REVOKE_ROLE_BOT_CONFIG_TOML", config.as_str()),
            ("SLACK_SIGNING_SECRET", "s"),
            ("SLACK_BOT_TOKEN", "xoxb-test"),
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("more than one config source")
            && err.contains("--config")
            && err.contains("REVOKE_ROLE_BOT_CONFIG_TOML"),
        "{err}"
    );
    let (events, _) = env.store.whole_chain().await.unwrap();
    assert!(events.is_empty(), "nothing started, nothing recorded");
}

// ---- check-config ----

/// A Slack that knows the group S0GOOD and the channels C0IN (the bot is in it) and C0OUT (it
/// is not), and refuses the app token.
async fn slack_for_check() -> MockServer {
    let slack = MockServer::start().await;
    Mock::given(path("/auth.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "user_id": "U0BOT", "team_id": "T0TEAM", "team": "Incident Co", "user": "revoke-role-bot",
            "url": "https://incident.slack.com/"
        })))
        .mount(&slack)
        .await;
    Mock::given(path("/usergroups.users.list"))
        .and(query_param("usergroup", "S0GOOD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "users": ["U0ALICE", "U0BOB"]})),
        )
        .mount(&slack)
        .await;
    Mock::given(path("/usergroups.users.list"))
        .respond_with(slack_refuses("no_such_subteam"))
        .mount(&slack)
        .await;
    for (id, member) in [("C0IN", true), ("C0OUT", false)] {
        Mock::given(path("/conversations.info"))
            .and(query_param("channel", id))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": {
                "id": id, "created": 1700000000, "name": format!("chan-{id}"),
                "is_channel": true, "is_member": member, "is_private": false, "is_archived": false
            }})))
            .mount(&slack)
            .await;
    }
    Mock::given(path("/conversations.info"))
        .respond_with(slack_refuses("channel_not_found"))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/apps.connections.open"))
        .and(header("authorization", "Bearer xapp-good"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "url": "wss://wss-primary.slack.com/link/?ticket=1"}),
        ))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/apps.connections.open"))
        .respond_with(slack_refuses("invalid_auth"))
        .mount(&slack)
        .await;
    slack
}

fn check_config(env: &TestEnv, config: &str, slack: &MockServer, app_token: &str) -> Output {
    env.cli(
        config,
        &["check-config"],
        &[
            ("SLACK_API_URL", &slack.uri()),
            ("SLACK_BOT_TOKEN", "xoxb-good"),
            ("SLACK_APP_TOKEN", app_token),
        ],
    )
}

fn lines(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn check_config_checks_groups_channels_the_app_token_the_iam_reads_and_says_what_it_could_not_check()
 {
    let env = TestEnv::new().await;
    let slack = slack_for_check().await;
    let _role = env.new_role("checked").await;
    let config = env
        .config()
        .replace(
            r#"requesters = ["U0ALICE", "U0BOB"]"#,
            r#"requesters = ["U0ALICE", "S0GOOD"]"#,
        )
        .replace(
            r#"approvers = ["U0ALICE", "U0BOB", "U0CAROL"]"#,
            "approvers = [\"S0TYPO\"]\nchannels = [\"C0IN\", \"C0OUT\"]",
        );
    assert!(config.contains("S0TYPO") && config.contains("C0OUT"));
    let o = check_config(&env, &config, &slack, "xapp-good");
    let out = lines(&o);
    for expected in [
        "ok   slack: user group S0GOOD (access.requesters) has 2 member(s)",
        "FAIL slack: user group S0TYPO (access.approvers): usergroups.users.list said no_such_subteam",
        "ok   slack: channel C0IN (access.channels, #chan-C0IN) has the bot in it",
        "FAIL slack: channel C0OUT (access.channels, #chan-C0OUT) does not have the bot in it: invite it",
        "ok   slack: apps.connections.open accepted the app token",
        "ok   account prod (123456789012): credentials work",
        "ok   account prod (123456789012): iam:ListRoles lists",
        "ok   account prod (123456789012): iam:GetRole on arn:aws:iam::123456789012:role/",
        "ok   account prod (123456789012): iam:GetRolePolicy (AWSRevokeOlderSessions)",
        // moto does not implement SimulatePrincipalPolicy: the writes are said to be unchecked.
        "not checked: account prod (123456789012): iam:PutRolePolicy on arn:aws:iam::123456789012:role/",
        "iam:SimulatePrincipalPolicy failed",
    ] {
        assert!(out.contains(expected), "no `{expected}` in\n{out}");
    }
    // DynamoDB Local does not implement DescribeContinuousBackups: said, not failed.
    assert!(
        out.lines().any(|l| l
            .starts_with("not checked: dynamodb: point-in-time recovery of table")
            && l.contains("does not implement")),
        "{out}"
    );
    assert!(out.contains("ok   dynamodb: table"), "{out}");
    assert!(!o.status.success(), "a FAIL line makes it exit non-zero");

    // A bad app token, and an allow-list that admits no role in the account.
    let narrow = env.config().replace(
        r#"allow = ["arn:aws:iam::*:role/*"]"#,
        r#"allow = ["arn:aws:iam::*:role/no-such-team/*"]"#,
    );
    let o = check_config(&env, &narrow, &slack, "xapp-revoked");
    let out = lines(&o);
    assert!(
        out.contains(
            "FAIL slack: apps.connections.open: Slack refused the app token: invalid_auth"
        ),
        "{out}"
    );
    assert!(
        out.contains("FAIL account prod (123456789012): roles.allow admits none of the")
            && out.contains("not checked: account prod (123456789012): iam:GetRole"),
        "{out}"
    );
    assert!(!o.status.success());
}

#[tokio::test]
async fn check_config_fails_on_credentials_of_another_account() {
    let env = TestEnv::new().await;
    let slack = slack_for_check().await;
    // No assume_role_arn: the bot's own credentials, which are in 123456789012.
    let config = format!(
        "{}\n[[accounts]]\nid = \"444444444444\"\nname = \"elsewhere\"\n",
        env.config()
    );
    let o = check_config(&env, &config, &slack, "xapp-good");
    let out = lines(&o);
    assert!(!o.status.success());
    assert!(
        out.contains("FAIL account elsewhere (444444444444): wrong account"),
        "{out}"
    );
}

// ---- outbound through a proxy ----

/// An HTTP proxy on 127.0.0.1 that tunnels `CONNECT` and forwards plain absolute-form requests,
/// and keeps a line for each: `CONNECT host:port`, or `METHOD http://host:port/path`.
struct CountingProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    async fn start() -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<hyper::body::Incoming>();
            while let Ok((stream, _)) = listener.accept().await {
                let (client, log) = (client.clone(), log.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (client, log) = (client.clone(), log.clone());
                        async move { proxy_one(req, client, log).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        CountingProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn saw(&self, needle: &str) -> bool {
        self.seen().iter().any(|l| l.contains(needle))
    }
}

type ProxyBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

async fn proxy_one(
    req: hyper::Request<hyper::body::Incoming>,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        hyper::body::Incoming,
    >,
    log: Arc<Mutex<Vec<String>>>,
) -> Result<hyper::Response<ProxyBody>, std::convert::Infallible> {
    let empty = |status: u16| {
        hyper::Response::builder()
            .status(status)
            .body(Full::new(Bytes::new()).map_err(|e| match e {}).boxed())
            .unwrap()
    };
    if req.method() == hyper::Method::CONNECT {
        let authority = req
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        log.lock().unwrap().push(format!("CONNECT {authority}"));
        let Ok(mut upstream) = tokio::net::TcpStream::connect(&authority).await else {
            return Ok(empty(502));
        };
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                let mut upgraded = TokioIo::new(upgraded);
                let _ = tokio::io::copy_bidirectional(&mut upgraded, &mut upstream).await;
            }
        });
        return Ok(empty(200));
    }
    log.lock()
        .unwrap()
        .push(format!("{} {}", req.method(), req.uri()));
    if req.uri().authority().is_none() {
        return Ok(empty(400)); // not absolute-form: not meant for a proxy
    }
    match client.request(req).await {
        Ok(resp) => Ok(resp.map(|b| b.boxed())),
        Err(_) => Ok(empty(502)),
    }
}

#[tokio::test]
async fn every_outbound_call_goes_through_the_proxy_except_no_proxy_hosts() {
    let proxy = CountingProxy::start().await;
    let env = TestEnv::new().await;
    let slack_port = env.slack.address().port();
    let app = Spawn::new()
        .on(&env)
        .env_var("HTTP_PROXY", &proxy.url)
        .env_var("HTTPS_PROXY", &proxy.url)
        // Slack's Web API by name, bypassing the proxy; response_url (127.0.0.1) goes through it.
        .env_var("NO_PROXY", "localhost")
        .env_var("SLACK_API_URL", &format!("http://localhost:{slack_port}"))
        .process()
        .await;
    let (role, request) = app.role_with_request("proxied", "INC-8 leaked").await;
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    assert!(app.revoke_policy(&role).await.is_some());
    let seen = proxy.seen();
    let moto = moto_endpoint().replace("http://", "");
    let ddb = dynamodb_endpoint().replace("http://", "");
    // AWS (STS, IAM on moto; DynamoDB Local) and the response_url replies went through the proxy.
    assert!(proxy.saw(&format!("POST http://{moto}/")), "{seen:#?}");
    assert!(proxy.saw(&format!("POST http://{ddb}/")), "{seen:#?}");
    assert!(
        proxy.saw(&format!(
            "POST http://127.0.0.1:{slack_port}/respond/{ALICE}"
        )),
        "{seen:#?}"
    );
    // Slack's Web API (NO_PROXY) did not, and still got the card.
    assert!(!proxy.saw("chat.postMessage"), "{seen:#?}");
    assert!(!app.slack_received("/chat.postMessage").await.is_empty());
}

#[tokio::test]
async fn without_no_proxy_the_slack_web_api_goes_through_the_proxy_too() {
    let proxy = CountingProxy::start().await;
    let env = TestEnv::new().await;
    let app = Spawn::new()
        .on(&env)
        .env_var("http_proxy", &proxy.url)
        .process()
        .await;
    let (_, _request) = app.role_with_request("proxied-api", "INC-8 leaked").await;
    let slack = env.slack.uri();
    assert!(
        proxy.saw(&format!("POST {slack}/chat.postMessage")),
        "{:#?}",
        proxy.seen()
    );
}

#[tokio::test]
async fn the_socket_mode_websocket_and_https_calls_are_tunnelled_with_connect() {
    use futures::{SinkExt, StreamExt};
    use revoke_role_bot::http_client::{HttpClient, Proxies};
    use tokio_tungstenite::tungstenite::Message;

    let proxy = CountingProxy::start().await;
    // A WebSocket server that echoes one message.
    let ws_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_addr = ws_listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = ws_listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        if let Some(Ok(m)) = ws.next().await {
            let _ = ws.send(m).await;
        }
    });
    let proxies = Proxies::all(&proxy.url, None);
    let (mut ws, _) = revoke_role_bot::slack::socket_mode::connect(
        &format!("ws://{ws_addr}/link/?ticket=1"),
        &proxies,
    )
    .await
    .expect("a WebSocket through the proxy");
    ws.send(Message::text("hello")).await.unwrap();
    let echoed = ws.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "hello");
    assert!(
        proxy.saw(&format!("CONNECT {ws_addr}")),
        "{:#?}",
        proxy.seen()
    );

    // An https call (Slack's Web API, response_url) asks the proxy for a tunnel to its host.
    let http = HttpClient::with_proxies(proxies).unwrap();
    let _ = http.get("https://slack.test:8443/api/auth.test").await;
    assert!(proxy.saw("CONNECT slack.test:8443"), "{:#?}", proxy.seen());

    // A NO_PROXY host is reached directly.
    let direct = Proxies::all(&proxy.url, Some("127.0.0.1"));
    let before = proxy.seen().len();
    let plain = MockServer::start().await;
    Mock::given(path("/ping"))
        .respond_with(ResponseTemplate::new(200).set_body_string("pong"))
        .mount(&plain)
        .await;
    let (status, body) = HttpClient::with_proxies(direct)
        .unwrap()
        .get(&format!("{}/ping", plain.uri()))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, "pong"));
    assert_eq!(proxy.seen().len(), before, "{:#?}", proxy.seen());
}
