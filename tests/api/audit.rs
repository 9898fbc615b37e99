//! Audit lookups in the channel and from the command line, and `check-config` against the live setup.

use std::process::Output;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use revoke_role_bot::domain::request::State;
use revoke_role_bot::ports::AuditStore;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// Three requests on one role, one on another; bob approves two, one is rejected by carol.
async fn history(
    app: &TestApp,
) -> (
    String,
    String,
    Vec<revoke_role_bot::domain::request::Request>,
) {
    let busy = unique("busy");
    let quiet = unique("quiet");
    app.create_role(&busy, None).await;
    app.create_role(&quiet, None).await;
    let mut requests = Vec::new();
    for (i, (role, reason)) in [
        (&busy, "INC-1 first"),
        (&busy, "INC-2 <b>bold</b> & more"),
        (&quiet, "INC-3 other"),
        (&busy, "INC-4 last"),
    ]
    .into_iter()
    .enumerate()
    {
        let escaped = reason
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        app.command(ALICE, &format!("prod/{role} {escaped}")).await;
        requests.push(app.request_from_card(i).await);
    }
    app.click(BOB, "approve", requests[0].id()).await;
    app.wait_state(requests[0].id(), State::Applied).await;
    app.click(BOB, "approve", requests[2].id()).await;
    app.wait_state(requests[2].id(), State::Applied).await;
    app.click(CAROL, "reject", requests[1].id()).await;
    app.wait_state(requests[1].id(), State::Rejected).await;
    (busy, quiet, requests)
}

async fn ask(app: &TestApp, user: &str, text: &str, n: usize) -> String {
    app.command(user, text).await;
    let replies = app.wait_replies(user, n).await;
    let reply = &replies[n - 1];
    assert_eq!(reply["response_type"], "in_channel", "{reply}");
    reply["text"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn audit_in_the_channel_by_role_request_user_since_and_limit() {
    let app = spawn_app().await;
    let (busy, quiet, r) = history(&app).await;

    let by_role = ask(&app, CAROL, &format!("audit prod/{busy}"), 1).await;
    for (req, present) in [(&r[0], true), (&r[1], true), (&r[3], true), (&r[2], false)] {
        assert_eq!(by_role.contains(r_id(req)), present, "{by_role}");
    }
    assert!(
        by_role.contains("INC-2 &lt;b&gt;bold&lt;/b&gt; &amp; more")
            && !by_role.contains("&amp;lt;"),
        "escaped exactly once: {by_role}"
    );
    assert!(by_role.contains("*applied*") && by_role.contains("approved by <@U0BOB>"));

    let limited = ask(&app, CAROL, &format!("audit prod/{busy} --limit 2"), 2).await;
    assert!(
        limited.contains(r_id(&r[3]))
            && limited.contains(r_id(&r[1]))
            && !limited.contains(r_id(&r[0])),
        "newest first: {limited}"
    );
    assert!(limited.contains("Showing 2 of 3"), "{limited}");

    let one = ask(&app, CAROL, &format!("audit {}", r[0].id()), 3).await;
    assert!(
        one.contains("*requested*") && one.contains("*approved*") && one.contains("*applied*"),
        "{one}"
    );

    let by_bob = ask(&app, CAROL, "audit <@U0BOB|bob>", 4).await;
    assert!(
        by_bob.contains(r_id(&r[0])) && by_bob.contains(r_id(&r[2])),
        "{by_bob}"
    );
    assert!(
        !by_bob.contains(r_id(&r[1])) && !by_bob.contains(r_id(&r[3])),
        "{by_bob}"
    );

    let latest = ask(&app, CAROL, "audit --limit 3", 5).await;
    assert!(
        latest.contains(r_id(&r[3])) && !latest.contains(r_id(&r[0])),
        "{latest}"
    );
    assert!(latest.contains(&quiet));

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let fresh_role = app.new_role("fresh").await;
    app.command(ALICE, &format!("prod/{fresh_role} INC-5 new"))
        .await;
    let fresh = app.request_from_card(4).await;
    let recent = ask(&app, CAROL, "audit --since 2s", 6).await;
    assert!(
        recent.contains(r_id(&fresh)) && !recent.contains(r_id(&r[3])),
        "{recent}"
    );
    let none = ask(&app, CAROL, &format!("audit prod/{quiet} --since 2s"), 7).await;
    assert!(none.contains("No revocation requests"), "{none}");
}

fn r_id(r: &revoke_role_bot::domain::request::Request) -> &str {
    r.id().as_str()
}

/// The CLI against the emulators; with `slack`, a Slack API URL and bot token.
fn cli(app: &TestApp, config: &str, args: &[&str], slack: Option<(&str, &str)>) -> Output {
    match slack {
        None => app.cli(config, args, &[]),
        Some((url, token)) => app.cli(
            config,
            args,
            &[
                ("SLACK_API_URL", url),
                ("SLACK_BOT_TOKEN", token),
                ("SLACK_SIGNING_SECRET", "s"),
            ],
        ),
    }
}

/// `check-config` on `config`, with Slack at `slack` and the bot token `token`.
fn check_config(app: &TestApp, config: &str, slack: &MockServer, token: &str) -> Output {
    cli(app, config, &["check-config"], Some((&slack.uri(), token)))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn the_cli_answers_the_same_queries_as_a_table_and_as_json() {
    let app = spawn_app().await;
    let (busy, _, r) = history(&app).await;
    let config = app.config();

    let table = cli(
        &app,
        &config,
        &["audit", "--role", &format!("prod/{busy}")],
        None,
    );
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let out = stdout(&table);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains(r_id(&r[0])) && out.contains("applied") && out.contains("U0BOB"));

    let json_out = cli(
        &app,
        &config,
        &["audit", "--request", r_id(&r[0]), "--json"],
        None,
    );
    assert!(json_out.status.success());
    let events: Vec<Value> = stdout(&json_out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["requested", "approved", "applied"]);
    assert!(
        events
            .iter()
            .all(|e| e["request_id"] == r_id(&r[0]) && e["hash"].as_str().unwrap().len() == 64)
    );

    let by_user = cli(&app, &config, &["audit", "--user", CAROL], None);
    let out = stdout(&by_user);
    assert!(
        out.contains(r_id(&r[1])) && out.contains("rejected") && !out.contains(r_id(&r[0])),
        "{out}"
    );

    let by_user_json = cli(&app, &config, &["audit", "--user", BOB, "--json"], None);
    let lines = stdout(&by_user_json);
    assert!(
        lines
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    assert!(lines.contains(r_id(&r[2])));

    let limited = cli(&app, &config, &["audit", "--limit", "2"], None);
    assert_eq!(stdout(&limited).lines().count(), 2);
    assert!(String::from_utf8_lossy(&limited.stderr).contains("showing 2 of 4"));

    let since = cli(
        &app,
        &config,
        &["audit", "--role", &format!("prod/{busy}"), "--since", "1h"],
        None,
    );
    assert_eq!(stdout(&since).lines().count(), 3);

    let bad = cli(&app, &config, &["audit", "--request", "not-an-id"], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a request id"));
}

async fn slack_auth() -> MockServer {
    let slack = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth.test"))
        .and(header("authorization", "Bearer xoxb-good"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "user_id": "U0BOT", "team_id": "T0TEAM", "team": "Incident Co", "user": "revoke-role-bot",
            "url": "https://incident.slack.com/"
        })))
        .mount(&slack)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth.test"))
        .respond_with(slack_refuses("invalid_auth"))
        .mount(&slack)
        .await;
    slack
}

#[tokio::test]
async fn check_config_passes_against_a_good_setup_and_names_each_problem() {
    let app = spawn_app().await;
    let slack = slack_auth().await;
    let good = app.config();
    // `protect = ["arn:aws:iam::*:role/break-glass-*"]` reaches another path and case.
    let glass = unique("Break-Glass");
    app.create_role(&glass, Some("/ops/")).await;
    let ok = check_config(&app, &good, &slack, "xoxb-good");
    let out = stdout(&ok);
    assert!(
        ok.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        out.contains("ok   dynamodb: table")
            && out.contains("ok   slack: auth.test accepted")
            && out.contains("ok   account prod (123456789012)"),
        "{out}"
    );
    let protected = out
        .lines()
        .find(|l| l.starts_with("ok   protect: account prod (123456789012): arn:aws:iam::*:role/break-glass-* protects"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(protected.contains(&format!("role/ops/{glass}")), "{out}");

    let bad_token = check_config(&app, &good, &slack, "xoxb-revoked");
    assert!(!bad_token.status.success());
    assert!(
        stdout(&bad_token).contains("FAIL slack: auth.test refused the bot token"),
        "{}",
        stdout(&bad_token)
    );

    let missing = base_config(&unique("no-such-table"));
    let o = check_config(&app, &missing, &slack, "xoxb-good");
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("FAIL dynamodb: table") && stdout(&o).contains("does not exist"),
        "{}",
        stdout(&o)
    );

    // A table created by hand without the by_actor index.
    let partial = unique("partial");
    let key = |n: &str, t| {
        aws_sdk_dynamodb::types::KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let attr = |n: &str| {
        aws_sdk_dynamodb::types::AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    use aws_sdk_dynamodb::types::KeyType::{Hash, Range};
    let mut create = app
        .ddb
        .create_table()
        .table_name(&partial)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(key("pk", Hash))
        .key_schema(key("sk", Range));
    for a in [
        "pk",
        "sk",
        "role_arn",
        "created_at",
        "kind",
        "open_state",
        "expires_at",
    ] {
        create = create.attribute_definitions(attr(a));
    }
    for (name, h, r) in [
        ("by_role", "role_arn", "created_at"),
        ("by_time", "kind", "created_at"),
        ("by_open_state", "open_state", "expires_at"),
    ] {
        create = create.global_secondary_indexes(
            aws_sdk_dynamodb::types::GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(h, Hash))
                .key_schema(key(r, Range))
                .projection(
                    aws_sdk_dynamodb::types::Projection::builder()
                        .projection_type(aws_sdk_dynamodb::types::ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    create.send().await.unwrap();
    let o = check_config(&app, &base_config(&partial), &slack, "xoxb-good");
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("has no index by_actor (actor, at)"),
        "{}",
        stdout(&o)
    );

    // An account whose role cannot be assumed.
    let target = format!("arn:aws:iam::222222222222:role/{}", unique("no-trust"));
    let with_account = format!(
        "{}\n[[accounts]]\nid = \"222222222222\"\nname = \"staging\"\nassume_role_arn = \"{target}\"\nexternal_id = \"abc\"\n",
        base_config(&app.table)
    );
    let faults = inject_faults(json!({ format!("AssumeRole:{target}"): {"status": 403, "code": "AccessDenied", "message": "not trusted", "times": 20} })).await;
    let o = check_config(&app, &with_account, &slack, "xoxb-good");
    faults.clear().await;
    let out = stdout(&o);
    assert!(!o.status.success());
    assert!(out.contains("ok   account prod (123456789012)"), "{out}");
    assert!(
        out.contains("FAIL account staging (222222222222): unreachable: cannot obtain credentials by assuming")
            && out.contains("trust policy"),
        "{out}"
    );
}

#[tokio::test]
async fn a_lookup_over_10000_events_reads_from_the_index_not_the_table() {
    let app = spawn_app().await;
    let target = unique("needle");
    let target_arn = format!("arn:aws:iam::{ACCOUNT}:role/{target}");
    // 2,500 requests (4 events each) across 50 roles, written straight into the table; 5 on the target role.
    let mut writes = Vec::new();
    for i in 0..2500u32 {
        let role = if i % 500 == 7 {
            target_arn.clone()
        } else {
            format!("arn:aws:iam::{ACCOUNT}:role/bulk-{}", i % 50)
        };
        let id = format!("rr-{}", bulk_id(i));
        let created = format!("2026-01-01T00:{:02}:{:02}.000Z", (i / 60) % 60, i % 60);
        let request = json!({
            "id": id, "role": role, "requester": "U0ALICE", "reason": format!("bulk {i}"), "channel": CHANNEL,
            "created_at": created, "expires_at": created, "approvals_required": 1, "approvals": ["U0BOB"],
            "version": 4, "preview": null,
            "status": {"state": "applied", "by": "U0BOB", "cutoff": "2026-01-01T00:00:00Z",
                "written": {"outcome": "created", "in_force": "2026-01-01T00:00:00Z", "policy_sha256": "x", "verified": true}}
        });
        writes.push(item(
            &[
                ("pk", &format!("REQ#{id}")),
                ("sk", "REQ"),
                ("kind", "request"),
                ("state", "applied"),
                ("role_arn", &role),
                ("requester", "U0ALICE"),
                ("created_at", &created),
                ("expires_at", &created),
                ("data", &request.to_string()),
            ],
            &[("version", 4)],
        ));
        for e in 0..4u64 {
            writes.push(item(
                &[
                    ("pk", &format!("REQ#{id}")),
                    ("sk", &format!("EVT#{:020}", u64::from(i) * 4 + e + 1)),
                    ("kind", "event"),
                    ("request_id", &id),
                    ("type", "requested"),
                    ("actor", "U0ALICE"),
                    ("at", &created),
                    ("prev_hash", "x"),
                    ("hash", "y"),
                ],
                &[("seq", u64::from(i) * 4 + e + 1)],
            ));
        }
    }
    for chunk in writes.chunks(25) {
        app.ddb
            .batch_write_item()
            .request_items(&app.table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    let role = revoke_role_bot::domain::role_arn::RoleArn::parse(&target_arn).unwrap();
    let page = app.store.requests_by_role(&role, None, 10).await.unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(page.items.iter().all(|r| r.target_arn() == target_arn));
    println!(
        "lookup by role over 10,000 events and 2,500 requests: {} items read",
        page.scanned
    );
    assert!(
        page.scanned <= 6,
        "read {} items: the index was not used",
        page.scanned
    );

    let limited = app.store.requests_by_role(&role, None, 2).await.unwrap();
    println!(
        "the same with --limit 2 (and counting the rest): {} items read",
        limited.scanned
    );
    assert_eq!(limited.total, Some(5));
    assert!(limited.scanned <= 3 + 5);
}

fn bulk_id(i: u32) -> String {
    const A: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut n = i as usize + 1_000_000;
    (0..8)
        .map(|_| {
            let c = A[n % A.len()] as char;
            n /= A.len();
            c
        })
        .collect()
}

fn item(strings: &[(&str, &str)], numbers: &[(&str, u64)]) -> WriteRequest {
    let mut put = PutRequest::builder();
    for (k, v) in strings {
        put = put.item(*k, AttributeValue::S((*v).to_string()));
    }
    for (k, v) in numbers {
        put = put.item(*k, AttributeValue::N(v.to_string()));
    }
    WriteRequest::builder()
        .put_request(put.build().unwrap())
        .build()
}

/// `audit verify` on this app's table: (exit success, stdout, stderr).
fn verify(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = cli(app, &app.config(), &all, None);
    (
        out.status.success(),
        stdout(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn attr(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

#[tokio::test]
async fn every_item_the_lifecycle_writes_passes_audit_verify() {
    let app = spawn_app().await;
    let (_, _, r) = history(&app).await;
    // A refusal, a cancellation and a lookup on top.
    app.command(EVE, "prod/app INC-8 not mine to ask").await;
    app.command(ALICE, "prod/nosuchrole INC-8 typo").await;
    app.click(ALICE, "cancel", r[3].id()).await;
    app.wait_state(r[3].id(), State::Cancelled).await;
    let (ok, out, err) = verify(&app, &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("chain intact"), "{out}");
    let one = ask(&app, CAROL, &format!("status {}", r[0].id()), 1).await;
    assert!(!one.contains("NOT VERIFIED"), "{one}");
}

#[tokio::test]
async fn a_forged_event_item_without_kind_fails_verify_and_is_marked_in_status() {
    let app = spawn_app().await;
    let (_, request) = app.role_with_request("forged", "INC-30 leaked").await;
    let events = app.events(request.id()).await;
    // "approved by U0MALLORY", hashed like a real event, but without `kind` = event: the old
    // verify walked only `kind = event`, while lookups showed every EVT# item.
    let draft = revoke_role_bot::domain::audit::EventDraft::new(
        request.id().clone(),
        revoke_role_bot::domain::audit::EventKind::Approved,
        "U0MALLORY",
        chrono::Utc::now(),
    );
    let seq = events.last().unwrap().seq + 1000;
    let forged = draft.seal(seq, &events.last().unwrap().hash);
    let sk = format!("EVT#{seq:020}");
    let pk = format!("REQ#{}", request.id());
    app.ddb
        .put_item()
        .table_name(&app.table)
        .item("pk", attr(&pk))
        .item("sk", attr(&sk))
        .item("seq", AttributeValue::N(seq.to_string()))
        .item("prev_hash", attr(&forged.prev_hash))
        .item("hash", attr(&forged.hash))
        .item("request_id", attr(request.id().as_str()))
        .item("type", attr("approved"))
        .item("actor", attr("U0MALLORY"))
        .item("at", attr(&forged.draft.at))
        .send()
        .await
        .unwrap();

    let (ok, out, _) = verify(&app, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("item \"{pk}\" \"{sk}\" is not one the bot writes"))
            && out.contains("without kind = event"),
        "{out}"
    );

    let status = ask(&app, CAROL, &format!("status {}", request.id()), 1).await;
    let line = status
        .lines()
        .find(|l| l.contains("U0MALLORY"))
        .unwrap_or_else(|| panic!("the forged item is shown: {status}"));
    assert!(line.contains("NOT VERIFIED"), "{status}");
    // The request itself is what its verified events say: pending, not approved.
    assert!(status.contains("*pending*"), "{status}");
    let genuine = status.lines().find(|l| l.contains("*requested*")).unwrap();
    assert!(!genuine.contains("NOT VERIFIED"), "{status}");

    let cli_out = cli(
        &app,
        &app.config(),
        &["audit", "--request", request.id().as_str()],
        None,
    );
    let text = stdout(&cli_out);
    assert!(text.contains("NOT VERIFIED"), "{text}");
    // The bot itself does not count it: the card's witness and recovery read chain events only.
    assert!(
        app.store
            .events_for(request.id())
            .await
            .unwrap()
            .iter()
            .all(|e| e.draft.actor != "U0MALLORY")
    );
}

#[tokio::test]
async fn a_request_item_edited_to_applied_without_events_fails_verify_and_is_marked() {
    use revoke_role_bot::domain::policy::MergeOutcome;
    use revoke_role_bot::domain::request::{Action, Decision, Written};
    let app = spawn_app().await;
    let (_, request) = app.role_with_request("edited", "INC-31 leaked").await;
    let stored = app.store.get(request.id()).await.unwrap().unwrap();
    let approved = match stored.decide(
        Action::Approve,
        &revoke_role_bot::domain::ids::SlackUserId::parse(BOB).unwrap(),
        true,
        chrono::Utc::now(),
    ) {
        Decision::Transition(t) => t.next,
        Decision::Refuse(r) => panic!("{r:?}"),
    };
    let cutoff = approved.cutoff().unwrap();
    let applied = approved
        .applied(
            Written {
                outcome: MergeOutcome::Created,
                in_force: cutoff,
                policy_sha256: "0".repeat(64),
                verified: true,
                session_secs_at_apply: None,
            },
            chrono::Utc::now(),
        )
        .unwrap()
        .next;
    app.ddb
        .update_item()
        .table_name(&app.table)
        .key("pk", attr(&format!("REQ#{}", request.id())))
        .key("sk", attr("REQ"))
        .update_expression("SET #d = :d, #s = :s, version = :v REMOVE open_state")
        .expression_attribute_names("#d", "data")
        .expression_attribute_names("#s", "state")
        .expression_attribute_values(":d", attr(&serde_json::to_string(&applied).unwrap()))
        .expression_attribute_values(":s", attr("applied"))
        .expression_attribute_values(":v", AttributeValue::N(applied.version().to_string()))
        .send()
        .await
        .unwrap();

    let (ok, out, _) = verify(&app, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "request {} is not what its audit events say",
            request.id()
        )) && out.contains("`applied`"),
        "{out}"
    );
    let status = ask(&app, CAROL, &format!("status {}", request.id()), 1).await;
    let head = status.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(head.contains("NOT VERIFIED"), "{status}");
    let listed = ask(&app, CAROL, "audit --limit 5", 2).await;
    assert!(listed.contains("NOT VERIFIED"), "{listed}");
}

#[tokio::test]
async fn audit_verify_refuses_a_witness_shorter_than_128_bits() {
    let app = spawn_app().await;
    let (_, request) = app.role_with_request("witness", "INC-32 leaked").await;
    let last = app.events(request.id()).await.pop().unwrap();
    let (ok, _, err) = verify(
        &app,
        &["--witness", &format!("{}:{}", last.seq, &last.hash[..12])],
    );
    assert!(!ok);
    assert!(err.contains("at least 32 hex digits"), "{err}");
    let (ok, out, err) = verify(
        &app,
        &["--witness", &format!("{}:{}", last.seq, &last.hash[..32])],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("1 witness(es) agree"), "{out}");
}
