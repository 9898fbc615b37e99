//! The bot's REAL server for the benchmark: `Application::bind` with the production router, an in-memory
//! audit store and IAM (`revoke_role_bot::memory`) and a Slack that does nothing, so that load measures the
//! HTTP edge and the service's fast path, not AWS or Slack.
//!
//!   SLACK_SIGNING_SECRET=… cargo run --release --example bench_server -- 3000
//!
//! Listens on 127.0.0.1:PORT. Logging is set up exactly as `revoke-role-bot serve` does it (stderr, `info`).
//! Prints `ready` on stdout once it listens. See bench/run.sh.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use revoke_role_bot::clock::SystemClock;
use revoke_role_bot::config::Settings;
use revoke_role_bot::domain::ids::{ChannelId, SlackGroupId, SlackUserId};
use revoke_role_bot::domain::request::CardRef;
use revoke_role_bot::memory::{MemoryIam, MemoryStore};
use revoke_role_bot::ports::{Slack, SlackError};
use revoke_role_bot::service::notice::{Card, Notice, ThreadNote};
use revoke_role_bot::service::{App, Ports};
use revoke_role_bot::startup::Application;
use secrecy::SecretString;

/// Slack that accepts everything at once.
struct NoopSlack;

#[async_trait]
impl Slack for NoopSlack {
    async fn post_card(&self, channel: &ChannelId, _card: &Card) -> Result<CardRef, SlackError> {
        Ok(CardRef {
            channel: channel.clone(),
            ts: "1700000000.000100".into(),
        })
    }
    async fn update_card(&self, _at: &CardRef, _card: &Card) -> Result<(), SlackError> {
        Ok(())
    }
    async fn respond(&self, _response_url: &str, _notice: &Notice) -> Result<(), SlackError> {
        Ok(())
    }
    async fn post_in_thread(&self, _card: &CardRef, _note: &ThreadNote) -> Result<(), SlackError> {
        Ok(())
    }
    async fn direct_message(
        &self,
        _user: &SlackUserId,
        _note: &ThreadNote,
    ) -> Result<(), SlackError> {
        Ok(())
    }
    async fn group_members(&self, _group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError> {
        Ok(Vec::new())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    revoke_role_bot::telemetry::init("info,aws_config=warn,aws_smithy_runtime=warn");
    let port: u16 = std::env::args()
        .nth(1)
        .ok_or("usage: bench_server PORT")?
        .parse()?;
    let secret =
        std::env::var("SLACK_SIGNING_SECRET").map_err(|_| "SLACK_SIGNING_SECRET is not set")?;
    let settings = Arc::new(Settings::from_toml(revoke_role_bot::demo::CONFIG)?);
    let app = App::new(
        settings,
        Ports {
            store: Arc::new(MemoryStore::default()),
            iam: Arc::new(MemoryIam::default()),
            slack: Arc::new(NoopSlack),
            clock: Arc::new(SystemClock),
            identity_center: None,
        },
        None,
    );
    let server = Application::bind(
        SocketAddr::from(([127, 0, 0, 1], port)),
        app,
        SecretString::from(secret),
    )
    .await?;
    println!("ready");
    server.run_until_stopped().await?;
    Ok(())
}
