//! Slack calls that never answer (README "Using it in Slack"): each try is cut off and retried, so a hung call
//! neither loses a request nor stalls the recovery and expiry pass.

use std::sync::Arc;
use std::time::Duration;

use revoke_role_bot::aws::dynamodb::DynamoStore;
use revoke_role_bot::config::{SlackSecrets, SlackTimeouts};
use revoke_role_bot::domain::ids::RequestId;
use revoke_role_bot::domain::request::State;
use revoke_role_bot::ports::AuditStore;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// Far longer than any test waits: a call that gets this answer has, in effect, none.
const HANG: Duration = Duration::from_secs(120);
/// The bot's limit for one try of a Slack call in these tests (10 s in production).
const TRY: Duration = Duration::from_millis(300);

/// The bot over HTTP with a short Slack timeout, against `slack` (whose hanging answers the test
/// mounts first: wiremock prefers the mock mounted first).
struct Bot {
    base: String,
    slack: MockServer,
    store: Arc<DynamoStore>,
    iam: aws_sdk_iam::Client,
}

impl Bot {
    async fn start(slack: MockServer, config: impl FnOnce(String) -> String) -> Bot {
        revoke_role_bot::telemetry::install_crypto_provider();
        mount_slack_ok(&slack).await;
        let aws = aws_config().await;
        let (table, store) = audit_table(&aws, "timeouts").await;
        let secrets = SlackSecrets {
            timeouts: SlackTimeouts {
                http_try: TRY,
                ..SlackTimeouts::default()
            },
            ..test_secrets(slack.uri())
        };
        let (base, _) = serve(&config(base_config(&table)), secrets, aws.clone()).await;
        Bot {
            base,
            slack,
            store,
            iam: aws_sdk_iam::Client::new(&aws),
        }
    }

    async fn post(&self, route: &str, body: String) {
        let mut req = reqwest::Client::new()
            .post(format!("{}{route}", self.base))
            .body(body.clone());
        for (k, v) in signed_headers(&body, chrono::Utc::now().timestamp()) {
            req = req.header(k, v);
        }
        assert_eq!(req.send().await.unwrap().status(), 200);
    }

    /// A fresh role, and Alice's request to revoke it.
    async fn request(&self) {
        let role = unique("hung");
        self.iam
            .create_role()
            .role_name(&role)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .unwrap();
        let body = serde_urlencoded::to_string([
            ("team_id", "T0TEAM"),
            ("command", "/revoke-role"),
            ("text", &format!("prod/{role} INC-40 leaked")),
            ("user_id", ALICE),
            ("channel_id", CHANNEL),
            (
                "response_url",
                &format!("{}/respond/{ALICE}", self.slack.uri()),
            ),
            ("trigger_id", &unique("trigger")),
        ])
        .unwrap();
        self.post("/slack/commands", body).await;
    }

    /// `user` clicks Approve on the message at `ts` in the channel (the payload's `container`).
    async fn approve_on(&self, user: &str, id: &RequestId, ts: &str) {
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": {"id": user},
            "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": false},
            "actions": [{"action_id": "approve", "value": id.as_str()}],
            "response_url": format!("{}/respond/{user}", self.slack.uri()),
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.post("/slack/interactions", body).await;
    }

    /// Wait until the fake Slack has received `n` calls on `route`; their bodies.
    async fn calls(&self, route: &str, n: usize) -> Vec<Value> {
        eventually(&format!("{n} calls to {route}"), || async {
            let got: Vec<Value> = self
                .slack
                .received_requests()
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.url.path() == route)
                .map(|r| serde_json::from_slice(&r.body).unwrap())
                .collect();
            (got.len() >= n).then_some(got)
        })
        .await
    }

    async fn wait_state(&self, id: &RequestId, state: State) {
        eventually(&format!("{id} to become {}", state.as_str()), || async {
            let r = self.store.get(id).await.ok().flatten()?;
            (r.state() == state).then_some(())
        })
        .await;
    }
}

/// A Slack route whose first `times` calls never get an answer (all of them, with `None`).
async fn hang(slack: &MockServer, route: &str, times: Option<u64>) {
    let mock = Mock::given(method("POST"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_delay(HANG));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(slack).await,
        None => mock.mount(slack).await,
    }
}

/// A card post that hangs may have arrived: it is not posted again (a second card would never be
/// updated). The requester is told; the first click on the card tells the bot where it is, and
/// from then on it is updated like any other (an update that hangs is retried: it is the same).
#[tokio::test]
async fn a_card_post_that_hangs_is_not_posted_again_and_the_first_click_tells_where_it_is() {
    let slack = MockServer::start().await;
    hang(&slack, "/chat.postMessage", Some(1)).await;
    hang(&slack, "/chat.update", Some(1)).await;
    let bot = Bot::start(slack, |c| c).await;

    bot.request().await;
    let told = eventually("the requester to be told", || async {
        let replies = bot.calls(&format!("/respond/{ALICE}"), 1).await;
        replies.into_iter().find(|r| {
            r["text"]
                .as_str()
                .is_some_and(|t| t.contains("did not confirm"))
        })
    })
    .await;
    let cards = |posts: Vec<Value>| -> Vec<Value> {
        posts
            .into_iter()
            .filter(|p| p["channel"] == CHANNEL && p["thread_ts"].is_null())
            .collect()
    };
    let posted = cards(bot.calls("/chat.postMessage", 1).await);
    assert_eq!(posted.len(), 1, "posted once, not again: {told}");
    let id = request_id_on(&posted[0]);

    // Slack did post it, at a ts the bot never heard: the click on it carries that ts.
    bot.approve_on(BOB, &id, "1700000000.000777").await;
    bot.wait_state(&id, State::Applied).await;
    let updates = bot.calls("/chat.update", 2).await;
    assert_eq!(updates[0]["ts"], "1700000000.000777", "{:?}", updates[0]);
    assert_eq!(updates[0], updates[1], "the same update, tried again");
    eventually("the card to show the outcome", || async {
        let last = bot.calls("/chat.update", 1).await.pop()?;
        (last["ts"] == "1700000000.000777"
            && last["text"].as_str()?.contains("Applied and verified"))
        .then_some(())
    })
    .await;
    assert_eq!(cards(bot.calls("/chat.postMessage", 1).await).len(), 1);
    let stored = bot.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.card().map(|c| c.ts.as_str()),
        Some("1700000000.000777")
    );
}

#[tokio::test]
async fn an_expiry_pass_is_not_stalled_by_card_updates_that_never_answer() {
    let slack = MockServer::start().await;
    hang(&slack, "/chat.update", None).await;
    let bot = Bot::start(slack, |c| {
        c.replace("[access]", "[approval]\nexpires_after = \"1s\"\n[access]")
    })
    .await;

    bot.request().await;
    bot.request().await;
    let posts = bot.calls("/chat.postMessage", 2).await;
    // The cards, not the thread notes or direct messages that may follow them.
    let ids: Vec<RequestId> = posts
        .iter()
        .filter(|p| p["channel"] == CHANNEL && p["thread_ts"].is_null())
        .take(2)
        .map(request_id_on)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    // One pass expires the requests one after the other; without a limit on each try the first
    // card update would hold the pass, and the second request would stay pending for ever.
    for id in &ids {
        bot.wait_state(id, State::Expired).await;
    }
    // Each card update was tried MAX_ATTEMPTS times, and then given up.
    let tries = revoke_role_bot::slack::client::MAX_ATTEMPTS as usize;
    bot.calls("/chat.update", 2 * tries).await;
}
