//! The command line (README "Command line"): the commands, and `serve`, `health`, `policy`, `create-table`.
//! `check-config` is in `check` (its list of protected roles in `protected`), `audit` and
//! `audit verify` in `audit`.

mod audit;
mod check;
pub mod protected;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use clap::{Parser, Subcommand};

use crate::aws::dynamodb::DynamoStore;
use crate::config::{Settings, SlackSecrets};
use crate::domain::audit::Witness;
use crate::domain::command::AUDIT_DEFAULT_LIMIT;
use crate::domain::policy::{Cutoff, PolicyDocument};
use crate::ports::AuditStore;
use crate::startup::Application;

#[derive(Parser, Debug)]
#[command(
    name = "revoke-role-bot",
    version,
    about = "Two-person, audited revocation of leaked IAM role sessions from Slack"
)]
pub struct Cli {
    /// The TOML config file. Exactly one config source may be set: this flag,
    /// REVOKE_ROLE_BOT_CONFIG (a path) or REVOKE_ROLE_BOT_CONFIG_TOML (the TOML text).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Serve the Slack endpoints (the default).
    #[command(
        after_help = "Example:\n  SLACK_SIGNING_SECRET=… SLACK_BOT_TOKEN=xoxb-… revoke-role-bot serve --config bot.toml"
    )]
    Serve,
    /// Validate the config, then prove what the first revocation needs: `ok`, `FAIL` with the fix,
    /// or `not checked` with why, one line each; exits 1 on any FAIL.
    #[command(after_help = "Example:\n  revoke-role-bot check-config --config bot.toml")]
    CheckConfig,
    /// Run a scripted incident against the real server on loopback, with no Slack and no AWS.
    #[command(after_help = "Example:\n  cargo run -- demo")]
    Demo,
    /// Print the exact AWSRevokeOlderSessions document for a cut-off.
    #[command(after_help = "Example:\n  revoke-role-bot policy --cutoff 2026-11-23T12:00:00Z")]
    Policy {
        /// RFC 3339 time, rounded up to the whole second; `now` for the current time.
        #[arg(long)]
        cutoff: String,
    },
    /// Create the audit table and its indexes if missing (local development and tests).
    #[command(
        after_help = "Example:\n  AWS_ENDPOINT_URL=http://127.0.0.1:5000 revoke-role-bot create-table --config bot.toml"
    )]
    CreateTable,
    /// Look up the audit trail, or verify its hash chain.
    #[command(
        after_help = "Examples:\n  revoke-role-bot audit --role prod/app-deployer --since 7d\n  revoke-role-bot audit --request rr-7f3k2q9x --json\n  revoke-role-bot audit verify"
    )]
    Audit(AuditArgs),
    /// Exit 0 when the running bot is ready (`GET /readyz`), 1 when not: the container health check.
    #[command(
        after_help = "Examples:\n  revoke-role-bot health --config bot.toml\n  revoke-role-bot health --url http://127.0.0.1:3000"
    )]
    Health {
        /// The bot's base URL; by default the config's `listen` address, on loopback when it
        /// listens on all addresses.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub verify: Option<AuditSub>,
    /// A role ARN, `account/Name` or a bare name.
    #[arg(long, conflicts_with_all = ["request", "user"])]
    pub role: Option<String>,
    /// A request id, e.g. rr-7f3k2q9x.
    #[arg(long, conflicts_with = "user")]
    pub request: Option<String>,
    /// A Slack user id, e.g. U01ALICE.
    #[arg(long)]
    pub user: Option<String>,
    /// Only requests newer than this, e.g. 7d.
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long, default_value_t = AUDIT_DEFAULT_LIMIT)]
    pub limit: u32,
    /// One JSON object per event.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum AuditSub {
    /// Walk the hash chain and name the first event that is missing, altered or forged.
    #[command(
        after_help = "Witnesses are the `audit #<seq> <hex>` lines on closed cards and in the log:\n  revoke-role-bot audit verify --witness 42:1a2b3c4d5e6f708192a3b4c5d6e7f809 --witness 57:0f9e8d7c6b5a49382716f5e4d3c2b1a0\n(at least 32 hex digits: 128 bits of the hash)"
    )]
    Verify {
        /// A place in the chain seen outside the table, `<seq>:<hex prefix>`, at least 32 hex digits (repeatable).
        #[arg(long = "witness", value_name = "SEQ:HEX", value_parser = Witness::parse)]
        witnesses: Vec<Witness>,
    },
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    Ok(Settings::load_configured(cli.config.as_deref())?.settings)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.as_ref().unwrap_or(&Cmd::Serve) {
        Cmd::Serve => {
            let loaded = Settings::load_configured(cli.config.as_deref())?;
            let secrets = SlackSecrets::from_env()?;
            let (source, sha256) = (loaded.source, loaded.sha256.clone());
            let server = Application::build(loaded.settings, secrets).await?;
            server.record_config(source, &sha256).await?;
            server.run_until_stopped().await
        }
        Cmd::CheckConfig => check::check_config(&cli).await,
        Cmd::Health { url } => {
            let base = match url {
                Some(u) => u.trim_end_matches('/').to_string(),
                None => format!("http://{}", local_address(settings(&cli)?.listen)),
            };
            health(&base).await
        }
        Cmd::Demo => crate::demo::run().await,
        Cmd::Policy { cutoff } => {
            let c = if cutoff == "now" {
                Cutoff::at_or_after(chrono::Utc::now())
            } else {
                Cutoff::parse(cutoff)?
            };
            println!(
                "{}",
                PolicyDocument::revoke_older_sessions(c).to_pretty_json()?
            );
            Ok(())
        }
        Cmd::CreateTable => {
            let s = settings(&cli)?;
            let store = DynamoStore::new(&crate::aws::load_config().await, &s.table);
            if store.create_table().await? {
                println!("created table {} with its indexes", s.table);
            } else {
                println!("table {} already exists", s.table);
            }
            Ok(())
        }
        Cmd::Audit(args) => {
            let s = settings(&cli)?;
            let store: Arc<dyn AuditStore> =
                Arc::new(DynamoStore::new(&crate::aws::load_config().await, &s.table));
            match &args.verify {
                Some(AuditSub::Verify { witnesses }) => {
                    audit::verify(store.as_ref(), witnesses).await
                }
                None => audit::audit(store.as_ref(), &s, args).await,
            }
        }
    }
}

/// How long `health` waits for `/readyz`, inside a container health check's usual 5 s.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// Where to reach a server listening on `listen` from the same host.
fn local_address(listen: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, listen.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, listen.port()).into(),
        _ => listen,
    }
}

async fn health(base: &str) -> anyhow::Result<()> {
    let url = format!("{base}/readyz");
    // The bot on this host: never through a proxy the environment names for outbound calls.
    let http = crate::http_client::HttpClient::with_proxies(crate::http_client::Proxies::none())?;
    let (status, body) = tokio::time::timeout(HEALTH_TIMEOUT, http.get(&url))
        .await
        .map_err(|_| anyhow::anyhow!("not ready: {url} did not answer in time"))?
        .map_err(|e| {
            anyhow::anyhow!(
                "not ready: cannot reach {url}: {}",
                crate::ports::error_chain(&e)
            )
        })?;
    // `/readyz` answers one line, then a line per account: shown on one line.
    let body: String = body
        .trim()
        .lines()
        .collect::<Vec<_>>()
        .join("; ")
        .chars()
        .take(200)
        .filter(|c| !c.is_control())
        .collect();
    if status != 200 {
        bail!("not ready: {url} answered {status}: {body}");
    }
    println!("ready: {body}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_asks_loopback_when_the_bot_listens_on_every_address() {
        let addr = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        assert_eq!(local_address(addr("0.0.0.0:3000")), addr("127.0.0.1:3000"));
        assert_eq!(local_address(addr("[::]:3000")), addr("[::1]:3000"));
        assert_eq!(local_address(addr("10.0.0.5:3000")), addr("10.0.0.5:3000"));
    }

    #[test]
    fn health_takes_a_url() {
        let cli = Cli::try_parse_from(["revoke-role-bot", "health", "--url", "http://127.0.0.1:9"])
            .unwrap();
        assert!(
            matches!(cli.command, Some(Cmd::Health { url: Some(ref u) }) if u == "http://127.0.0.1:9")
        );
    }
}
