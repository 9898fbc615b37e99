//! Click-to-policy latency against the emulators (DynamoDB Local; moto for IAM): the time from
//! the approving click (a signed HTTP request to the real server) to the verified policy and its
//! `applied` audit event, beside the emulators' own per-call
//! latency for the calls that path makes. Needs AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_IAM and
//! AWS_ENDPOINT_URL_STS (bench/flow.sh starts DynamoDB Local and moto and sets them).
//!
//!   cargo run --release --example click_to_policy -- [ROUNDS]

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use revoke_role_bot::aws::dynamodb::DynamoStore;
use revoke_role_bot::config::{Settings, SlackSecrets};
use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::ids::RequestId;
use revoke_role_bot::ports::AuditStore;
use revoke_role_bot::slack::verify::sign;
use revoke_role_bot::startup::Application;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "bench-secret";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
    println!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        ms.len(),
        mean,
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN)
    );
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let ts = chrono::Utc::now().timestamp().to_string();
    let r = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", sign(SECRET, &ts, body.as_bytes()))
        .body(body)
        .send()
        .await?;
    if r.status() != 200 {
        return Err(format!("server answered {}", r.status()).into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    revoke_role_bot::telemetry::install_crypto_provider();
    revoke_role_bot::telemetry::init("error");
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map_err(|_| "set AWS_ENDPOINT_URL_DYNAMODB and _IAM, _STS (bench/flow.sh does)")?;
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .load()
        .await;
    let suffix = chrono::Utc::now().timestamp_millis();
    let table = format!("bench-{suffix}");
    let store = DynamoStore::new(&aws, &table);
    store.create_table().await?;
    let iam = aws_sdk_iam::Client::new(&aws);
    let ddb = aws_sdk_dynamodb::Client::new(&aws);

    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": "C0BENCH", "ts": "1.1", "message": {"ts": "1.1", "text": "card"}
        })))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.update"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "channel": "C0BENCH", "ts": "1.1", "message": {"text": "x"}}),
        ))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/respond/.*"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&slack)
        .await;

    let config = format!(
        "listen = \"127.0.0.1:0\"\n[audit]\ntable = \"{table}\"\n[access]\nrequesters = [\"U0ALICE\"]\napprovers = [\"U0BOB\"]\n[roles]\nallow = [\"arn:aws:iam::*:role/*\"]\n[[accounts]]\nid = \"123456789012\"\nname = \"prod\"\n"
    );
    let secrets = SlackSecrets {
        signing_secret: Some(SecretString::from(SECRET)),
        bot_token: SecretString::from("xoxb-bench"),
        app_token: None,
        api_url: Some(slack.uri()),
        timeouts: Default::default(),
    };
    let server =
        Application::build_with(Settings::from_toml(&config)?, secrets, aws.clone()).await?;
    let base = format!("http://{}", server.local_addr());
    let app = server.app();
    tokio::spawn(server.run_until_stopped());
    let http = reqwest::Client::new();

    let mut click_to_policy = Vec::new();
    for round in 0..rounds {
        let role = format!("bench-{suffix}-{round}");
        iam.create_role()
            .role_name(&role)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await?;
        let before = slack
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/chat.postMessage")
            .count();
        let body = serde_urlencoded::to_string([
            ("user_id", "U0ALICE"),
            ("channel_id", "C0BENCH"),
            ("text", &format!("prod/{role} BENCH-{round}")),
            ("response_url", &format!("{}/respond/alice", slack.uri())),
            ("trigger_id", &format!("bench.{suffix}.{round}")),
        ])?;
        post(&http, &format!("{base}/slack/commands"), body).await?;
        let id = loop {
            let cards: Vec<Value> = slack
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .filter(|r| r.url.path() == "/chat.postMessage")
                .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
                .collect();
            if cards.len() > before {
                let v = cards[before]["blocks"]
                    .as_array()
                    .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
                    .and_then(|b| b["elements"][0]["value"].as_str())
                    .ok_or("card without buttons")?
                    .to_string();
                break RequestId::parse(&v)?;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let payload = json!({"type": "block_actions", "user": {"id": "U0BOB"},
            "actions": [{"action_id": "approve", "value": id.as_str()}],
            "response_url": format!("{}/respond/bob", slack.uri())});
        let clicked = chrono::Utc::now();
        post(
            &http,
            &format!("{base}/slack/interactions"),
            serde_urlencoded::to_string([("payload", payload.to_string())])?,
        )
        .await?;
        // Wait on the fake Slack, not on the table: polling it would compete with the bot's own
        // calls and slow the path being measured. The card shows the outcome only
        // after the `applied` event is written, and that event's `at` ends the measurement, so how
        // often this loop looks does not change the figure.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = slack
                .received_requests()
                .await
                .unwrap_or_default()
                .into_iter()
                .any(|r| {
                    let body = String::from_utf8_lossy(&r.body);
                    r.url.path() == "/chat.update"
                        && body.contains(id.as_str())
                        && body.contains("Applied and verified")
                });
            if shown {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{id}: the card never showed the outcome").into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let events = store.events_for(&id).await?;
        let applied_at = match events.iter().find(|e| e.draft.kind == EventKind::Applied) {
            Some(e) => {
                chrono::DateTime::parse_from_rfc3339(&e.draft.at)?.with_timezone(&chrono::Utc)
            }
            None => return Err(format!("{id} was not applied").into()),
        };
        click_to_policy
            .push((applied_at - clicked).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }

    // The emulators' own latency for the calls on that path.
    let mut get_item = Vec::new();
    let mut get_role_policy = Vec::new();
    let mut put_role_policy = Vec::new();
    let mut transact = Vec::new();
    let role = format!("bench-{suffix}-0");
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}}]}"#;
    for _ in 0..100 {
        let t = Instant::now();
        ddb.get_item()
            .table_name(&table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("CHAIN".into()),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("HEAD".into()),
            )
            .send()
            .await?;
        get_item.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        iam.get_role_policy()
            .role_name(&role)
            .policy_name("AWSRevokeOlderSessions")
            .send()
            .await?;
        get_role_policy.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        iam.put_role_policy()
            .role_name(&role)
            .policy_name("bench-other")
            .policy_document(doc)
            .send()
            .await?;
        put_role_policy.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&table)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("BENCH#{}", transact.len())),
            )
            .item(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("BENCH".into()),
            )
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        ddb.transact_write_items()
            .transact_items(
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .put(put)
                    .build(),
            )
            .send()
            .await?;
        transact.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let metrics = app.metrics().render();
    let server_side: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("revoke_role_bot_approval_to_policy_seconds_"))
        .collect();

    println!("| measured (ms) | n | mean | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    summary(
        "click → verified policy + `applied` event (client clock)",
        click_to_policy,
    );
    summary("DynamoDB Local GetItem", get_item);
    summary("moto IAM GetRolePolicy", get_role_policy);
    summary("moto IAM PutRolePolicy", put_role_policy);
    summary(
        "DynamoDB Local TransactWriteItems (1 conditional put)",
        transact,
    );
    println!();
    println!(
        "The path from the click makes, against the emulators: 1 GetItem (request), 1 TransactWriteItems (approved),"
    );
    println!(
        "1 UpdateItem (lease), 2 GetRolePolicy + 1 PutRolePolicy (IAM), 1 TransactWriteItems (applied)."
    );
    println!(
        "Server-side histogram (/metrics): {}",
        server_side
            .iter()
            .filter(|l| l.contains("_sum") || l.contains("_count"))
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(())
}
