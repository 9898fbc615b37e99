//! `revoke-role-bot demo`: the real server on loopback, with the store and IAM in memory and Slack
//! replaced by a console (`console`), driven through a scripted incident with Slack-signed HTTP
//! requests.

mod console;

use console::{ConsoleSlack, as_slack_shows, indent, person};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::clock::FakeClock;
use crate::config::Settings;
use crate::domain::audit::verify_snapshot;
use crate::domain::policy::POLICY_NAME;
use crate::domain::request::State;
use crate::domain::role_arn::RoleArn;
use crate::http_client::HttpClient;
use crate::memory::{MemoryIam, MemoryIdentityCenter, MemoryStore};
use crate::ports::AuditStore;
use crate::service::{App, Ports};
use crate::slack::verify::sign;
use crate::startup::Application;

const SECRET: &str = "demo-signing-secret";
const CHANNEL: &str = "C0INCIDENT";
const ROLE: &str = "arn:aws:iam::111111111111:role/app-deployer";

/// The demo's configuration: one account, Alice and Bob as requesters and approvers, break-glass
/// roles protected. The benchmark server (`examples/bench_server.rs`) runs with it too.
pub const CONFIG: &str = r#"
listen = "127.0.0.1:0"
[audit]
table = "demo-audit"
[approval]
approvals_required = 1
expires_after = "30m"
[access]
requesters = ["U0ALICE", "U0BOB"]
approvers  = ["U0ALICE", "U0BOB"]
[roles]
allow   = ["arn:aws:iam::*:role/*"]
protect = ["arn:aws:iam::*:role/break-glass-*"]
[[accounts]]
id = "111111111111"
name = "prod"
[identity_center]
instance_arn = "arn:aws:sso:::instance/ssoins-memory"
region = "us-east-1"
account = "prod"
"#;

struct Driver {
    http: HttpClient,
    base: String,
    slack: Arc<ConsoleSlack>,
    store: Arc<MemoryStore>,
    n: u32,
}

impl Driver {
    async fn signed_post(&self, path: &str, body: String) -> anyhow::Result<(u16, String)> {
        let ts = chrono::Utc::now().timestamp().to_string();
        let headers = [
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("x-slack-request-timestamp", ts.clone()),
            ("x-slack-signature", sign(SECRET, &ts, body.as_bytes())),
        ];
        self.http
            .post(&format!("{}{path}", self.base), &headers, body.into_bytes())
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "request to the demo server failed: {}",
                    crate::ports::error_chain(&e)
                )
            })
    }

    async fn command(&mut self, user: &str, text: &str) -> anyhow::Result<()> {
        self.n += 1;
        println!("\n▶ {} types: /revoke-role {text}", person(user));
        let body = serde_urlencoded::to_string([
            ("command", "/revoke-role"),
            ("text", &crate::domain::command::escape_slack_text(text)),
            ("user_id", user),
            ("channel_id", CHANNEL),
            (
                "response_url",
                &format!("http://127.0.0.1:9/respond/{}", person(user)),
            ),
            ("trigger_id", &format!("demo.{}", self.n)),
        ])?;
        let (status, answer) = self.signed_post("/slack/commands", body).await?;
        let text = serde_json::from_str::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v["text"].as_str().map(str::to_string))
            .unwrap_or(answer);
        println!(
            "  [only {} sees, at once, HTTP {status}]\n{}",
            person(user),
            indent(&as_slack_shows(&text))
        );
        Ok(())
    }

    async fn click(&mut self, user: &str, action: &str, request: &str) -> anyhow::Result<()> {
        println!("\n▶ {} clicks {action} on {request}", person(user));
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": {"id": user},
            "actions": [{"action_id": action, "value": request}],
            "response_url": format!("http://127.0.0.1:9/respond/{}", person(user)),
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())])?;
        let (status, _) = self.signed_post("/slack/interactions", body).await?;
        if status != 200 {
            bail!("the server answered {status} to a click");
        }
        Ok(())
    }

    /// Wait until `count` messages reached "Slack", then print them in order.
    async fn show(&self, count: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ready = self.slack.len() >= count;
            if ready {
                break;
            }
            if Instant::now() > deadline {
                bail!("the demo server did not answer in time");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for line in self.slack.drain() {
            println!("{line}");
        }
        Ok(())
    }
}

pub async fn run() -> anyhow::Result<()> {
    let settings = Arc::new(Settings::from_toml(CONFIG).context("demo config")?);
    let store = Arc::new(MemoryStore::default());
    let iam = Arc::new(MemoryIam::default());
    let role = RoleArn::parse(ROLE).context("demo role")?;
    iam.add_role(&role, &["app-deployer-ec2"]);
    // Deployed from GitHub Actions, with a trust that any repository can use: the card warns that
    // revocation alone does not keep whoever has a workflow token out.
    iam.set_trust_policy(
        &role,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#,
    );
    iam.add_role(
        &RoleArn::parse("arn:aws:iam::111111111111:role/break-glass-admin").context("demo role")?,
        &[],
    );
    let slack = Arc::new(ConsoleSlack::default());
    let ic = Arc::new(MemoryIdentityCenter::default());
    let data_engineer = ic.add_permission_set(
        "DataEngineer",
        "7f3a9c2e1b4d6f80",
        "PT8H",
        &["111111111111", "222222222222"],
    );
    ic.set_inline(
        &data_engineer,
        Some(r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadLake","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::lake/*"]}]}"#),
    );
    let self_role = RoleArn::parse("arn:aws:iam::111111111111:role/revoke-role-bot").ok();
    // The demo's clock starts now and moves only when the script says so (to show a reminder
    // without waiting five minutes).
    let clock = Arc::new(FakeClock::at(chrono::Utc::now()));
    let app = App::new(
        settings,
        Ports {
            store: store.clone(),
            iam: iam.clone(),
            slack: slack.clone(),
            clock: clock.clone(),
            identity_center: Some(ic.clone()),
        },
        self_role,
    );
    let server = Application::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        app.clone(),
        SecretString::from(SECRET),
    )
    .await?;
    let addr = server.local_addr();
    let handle = tokio::spawn(server.run_until_stopped());

    println!(
        "revoke-role-bot demo: the real server on http://{addr}, an in-memory audit store and IAM,"
    );
    println!(
        "and Slack played by this console. Every request below is signed the way Slack signs it."
    );
    println!("Cast: alice and bob are on-call responders; eve is not on the requesters list.");

    let mut d = Driver {
        // Its own server on loopback: no proxy.
        http: HttpClient::with_proxies(crate::http_client::Proxies::none())?,
        base: format!("http://{addr}"),
        slack,
        store: store.clone(),
        n: 0,
    };

    d.command("U0EVE", "prod/app-deployer INC-4711 keys leaked")
        .await?;
    d.show(1).await?;

    d.command("U0ALICE", "prod/break-glass-admin INC-4711")
        .await?;
    d.show(1).await?;

    d.command(
        "U0ALICE",
        "prod/app-deployer INC-4711 AWS keys for app-deployer pasted in a public CI log",
    )
    .await?;
    d.show(2).await?;

    let latest = d.store.latest_requests(None, 1).await?.items;
    let Some(request) = latest.first() else {
        bail!("no request was created")
    };
    let id = request.id().to_string();

    d.click("U0ALICE", "approve", &id).await?;
    d.show(2).await?;

    println!(
        "\n▶ six minutes pass with no decision (the demo moves its clock); the bot's periodic pass runs"
    );
    clock.advance(chrono::Duration::minutes(6));
    app.recover().await?;
    d.show(1).await?;

    d.click("U0BOB", "approve", &id).await?;
    d.show(5).await?;
    let done = d.store.get(request.id()).await?.map(|r| r.state());
    if done != Some(State::Applied) {
        bail!("the request did not end applied: {done:?}");
    }

    println!("\n▶ what IAM now holds on {ROLE}, inline policy {POLICY_NAME}:");
    let doc = iam.policy(&role).unwrap_or_default();
    println!("{}", indent(&doc));

    println!(
        "\n— Identity Center: a stolen laptop signed in through the DataEngineer permission set —"
    );
    d.command(
        "U0BOB",
        "permission-set DataEngineer INC-4712 laptop stolen, SSO session active",
    )
    .await?;
    d.show(2).await?;
    let latest = d.store.latest_requests(None, 1).await?.items;
    let Some(ps_request) = latest.first() else {
        bail!("no permission-set request was created")
    };
    let ps_id = ps_request.id().to_string();
    d.click("U0ALICE", "approve", &ps_id).await?;
    d.show(6).await?;
    println!("\n▶ the DataEngineer permission set's inline policy now (its own statement kept):");
    println!("{}", indent(&ic.inline(&data_engineer).unwrap_or_default()));

    d.command("U0BOB", &format!("status {id}")).await?;
    d.show(1).await?;
    d.command("U0BOB", "audit prod/app-deployer --since 1d")
        .await?;
    d.show(1).await?;

    // What `audit verify` checks: the chain, and every other item accounted for.
    let snapshot = store.chain_snapshot().await?;
    let breaks = verify_snapshot(&snapshot, &[]);
    if breaks.is_empty() {
        println!(
            "\n▶ revoke-role-bot audit verify: the chain of {} events is intact and its {} requests are what their events say.",
            snapshot.events.len(),
            snapshot.requests.len()
        );
    } else {
        bail!("audit chain broken: {breaks:?}");
    }
    println!(
        "\nDone. In production the same server talks to Slack, IAM and DynamoDB: see README.md."
    );
    handle.abort();
    Ok(())
}
