//! The `Slack` contract (tests/contract/slack.rs) on the Slack Web API adapter, against a fake
//! Slack (wiremock) that keeps what it was given: messages get a fresh `ts`, only a posted
//! message can be updated, user groups are the ones a case set up (any other is
//! `no_such_subteam`), an outage answers membership questions with a 500, and a message beyond
//! Block Kit's limits is refused with `invalid_blocks` (`slack::limits`), as Slack refuses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use revoke_role_bot::ports::Slack;
use revoke_role_bot::slack::client::SlackWebApi;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::contract::slack::{Delivered, Fixture, SlackFixture};
use crate::helpers::slack_refuses;

#[derive(Default)]
struct Workspace {
    messages: u32,
    /// Channel and `ts` of every message posted outside a thread.
    posted: Vec<(String, String)>,
    groups: HashMap<String, Vec<String>>,
    groups_down: bool,
    delivered: Vec<Delivered>,
}

/// The fake Slack's one responder, for the Web API and `response_url`s alike.
#[derive(Clone, Default)]
struct FakeSlack(Arc<Mutex<Workspace>>);

fn ok(body: Value) -> ResponseTemplate {
    let mut body = body;
    body["ok"] = json!(true);
    ResponseTemplate::new(200).set_body_json(body)
}

impl Respond for FakeSlack {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let mut slack = self.0.lock().unwrap();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let field = |k: &str| body[k].as_str().unwrap_or_default().to_string();
        let text = String::from_utf8_lossy(&request.body).into_owned();
        let (channel, ts) = (field("channel"), field("ts"));
        // Beyond Block Kit's limits, Slack refuses and posts nothing.
        let checked = match request.url.path() {
            "/views.open" => revoke_role_bot::slack::limits::validate_view(&body["view"]),
            "/chat.postMessage" | "/chat.update" | "/chat.postEphemeral" => {
                revoke_role_bot::slack::limits::validate_message(&body)
            }
            path if path.starts_with("/respond/") => {
                revoke_role_bot::slack::limits::validate_message(&body)
            }
            _ => Ok(()),
        };
        if checked.is_err() {
            return if request.url.path().starts_with("/respond/") {
                ResponseTemplate::new(400).set_body_string("invalid_blocks")
            } else {
                slack_refuses("invalid_blocks")
            };
        }
        match request.url.path() {
            "/chat.postMessage" => {
                slack.messages += 1;
                let ts = format!("1700000000.{:06}", slack.messages);
                let delivered = if body.get("thread_ts").is_some() {
                    Delivered::Thread {
                        channel: channel.clone(),
                        ts: field("thread_ts"),
                        text,
                    }
                } else if channel.starts_with(['U', 'W']) {
                    Delivered::Direct {
                        user: channel.clone(),
                        text,
                    }
                } else {
                    slack.posted.push((channel.clone(), ts.clone()));
                    Delivered::Card {
                        channel: channel.clone(),
                        ts: ts.clone(),
                        text,
                    }
                };
                slack.delivered.push(delivered);
                ok(json!({"channel": channel, "ts": ts, "message": {"ts": ts, "text": ""}}))
            }
            "/chat.update" => {
                if !slack.posted.contains(&(channel.clone(), ts.clone())) {
                    return slack_refuses("message_not_found");
                }
                let answer = json!({"channel": channel, "ts": ts, "message": {"text": ""}});
                slack
                    .delivered
                    .push(Delivered::Update { channel, ts, text });
                ok(answer)
            }
            "/chat.postEphemeral" => {
                let user = field("user");
                slack.delivered.push(Delivered::Ephemeral {
                    channel,
                    user,
                    text,
                });
                ok(json!({"message_ts": "1700000000.999999"}))
            }
            "/usergroups.users.list" => {
                if slack.groups_down {
                    return ResponseTemplate::new(500).set_body_string("upstream exploded");
                }
                let group = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "usergroup")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                match slack.groups.get(&group) {
                    Some(users) => ok(json!({ "users": users })),
                    None => slack_refuses("no_such_subteam"),
                }
            }
            path if path.starts_with("/respond/") => {
                // wiremock's `url` has no host of its own: the one the call was sent to.
                let host = request
                    .headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                slack.delivered.push(Delivered::Reply {
                    url: format!("http://{host}{path}"),
                    text,
                });
                ResponseTemplate::new(200).set_body_string("ok")
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

struct WebApi {
    adapter: SlackWebApi,
    server: MockServer,
    slack: FakeSlack,
}

async fn on_fake_slack() -> Fixture {
    revoke_role_bot::telemetry::install_crypto_provider();
    let server = MockServer::start().await;
    let slack = FakeSlack::default();
    Mock::given(wiremock::matchers::any())
        .respond_with(slack.clone())
        .mount(&server)
        .await;
    let adapter = SlackWebApi::new(&SecretString::from("xoxb-test-token"), Some(&server.uri()))
        .expect("a Slack client");
    Box::new(WebApi {
        adapter,
        server,
        slack,
    })
}

#[async_trait]
impl SlackFixture for WebApi {
    fn slack(&self) -> &dyn Slack {
        &self.adapter
    }
    fn response_url(&self, user: &str) -> String {
        format!("{}/respond/{user}", self.server.uri())
    }
    async fn set_group(&self, group: &str, members: &[&str]) {
        let members = members.iter().map(|m| m.to_string()).collect();
        self.slack
            .0
            .lock()
            .unwrap()
            .groups
            .insert(group.to_string(), members);
    }
    async fn break_groups(&self) {
        self.slack.0.lock().unwrap().groups_down = true;
    }
    async fn delivered(&self) -> Vec<Delivered> {
        self.slack.0.lock().unwrap().delivered.clone()
    }
}

crate::slack_contract!(on_fake_slack());
