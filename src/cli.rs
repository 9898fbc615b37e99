//! The command line (SPEC §8).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::aws::dynamodb::DynamoStore;
use crate::clock::SystemClock;
use crate::config::{Settings, SlackSecrets};
use crate::domain::audit::{Witness, verify_snapshot};
use crate::domain::command::{AUDIT_DEFAULT_LIMIT, AuditQuery, AuditTarget, parse_duration};
use crate::domain::ids::{RequestId, SlackUserId};
use crate::domain::policy::{Cutoff, PolicyDocument};
use crate::domain::role_arn::RoleSpec;
use crate::ports::AuditStore;
use crate::service::lookup::query;
use crate::service::notice::Found;
use crate::slack::messages::{self, printable};
use crate::startup::Application;

#[derive(Parser, Debug)]
#[command(
    name = "revoke-role-bot",
    version,
    about = "Two-person, audited revocation of leaked IAM role sessions from Slack"
)]
pub struct Cli {
    /// The TOML config file (overrides REVOKE_ROLE_BOT_CONFIG).
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
    /// Validate the config file.
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
        after_help = "Witnesses are the `audit #<seq> <hex>` lines on closed cards and in the log:\n  revoke-role-bot audit verify --witness 42:1a2b3c4d5e6f --witness 57:0f9e8d7c6b5a"
    )]
    Verify {
        /// A place in the chain seen outside the table, `<seq>:<hex prefix>` (repeatable).
        #[arg(long = "witness", value_name = "SEQ:HEX", value_parser = Witness::parse)]
        witnesses: Vec<Witness>,
    },
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let path = Settings::resolve_path(cli.config.as_deref())?;
    Ok(Settings::load(&path)?)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.as_ref().unwrap_or(&Cmd::Serve) {
        Cmd::Serve => {
            let settings = settings(&cli)?;
            let secrets = SlackSecrets::from_env()?;
            Application::build(settings, secrets)
                .await?
                .run_until_stopped()
                .await
        }
        Cmd::CheckConfig => check_config(&cli).await,
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
                Some(AuditSub::Verify { witnesses }) => verify(store.as_ref(), witnesses).await,
                None => audit(store.as_ref(), &s, args).await,
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
    let http = crate::http_client::HttpClient::new()?;
    let (status, body) = tokio::time::timeout(HEALTH_TIMEOUT, http.get(&url))
        .await
        .map_err(|_| anyhow::anyhow!("not ready: {url} did not answer in time"))?
        .map_err(|e| {
            anyhow::anyhow!(
                "not ready: cannot reach {url}: {}",
                crate::ports::error_chain(&e)
            )
        })?;
    let body: String = body
        .trim()
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

/// Validate the file, then the live setup: the table and its indexes, Slack, and every account.
async fn check_config(cli: &Cli) -> anyhow::Result<()> {
    let s = settings(cli)?;
    println!(
        "ok   config: {} account(s), {} requester entries, {} approver entries, table {}",
        s.accounts.len(),
        s.requesters.len(),
        s.approvers.len(),
        s.table
    );
    let mut failures = 0;
    let mut report = |result: Result<String, String>| match result {
        Ok(line) => println!("ok   {line}"),
        Err(line) => {
            failures += 1;
            println!("FAIL {line}");
        }
    };
    let aws = crate::aws::load_config().await;
    report(
        crate::aws::dynamodb::check_table(&aws, &s.table)
            .await
            .map_err(|e| format!("dynamodb: {e}")),
    );
    report(match SlackSecrets::from_env() {
        Err(e) => Err(format!("slack: {e}")),
        Ok(secrets) => match crate::slack::client::SlackWebApi::new(
            &secrets.bot_token,
            secrets.api_url.as_deref(),
        ) {
            Err(e) => Err(format!("slack: {e}")),
            Ok(api) => api
                .auth_test()
                .await
                .map(|who| format!("slack: auth.test accepted the bot token ({who})"))
                .map_err(|e| {
                    format!("slack: auth.test refused the bot token: {e}; check SLACK_BOT_TOKEN")
                }),
        },
    });
    for account in &s.accounts {
        let label = match &account.name {
            Some(n) => format!("{n} ({})", account.id),
            None => account.id.to_string(),
        };
        let conf = crate::aws::iam::account_config(&aws, account).await;
        report(match crate::aws::caller_identity(&conf).await {
            Ok((arn, _)) if arn.split(':').nth(4) == Some(account.id.as_str()) => {
                Ok(format!("account {label}: credentials work, as {arn}"))
            }
            Ok((arn, _)) => Err(format!(
                "account {label}: credentials belong to another account ({arn}); set assume_role_arn for this account"
            )),
            Err(e) => Err(format!(
                "account {label}: cannot obtain credentials{}: {}",
                account
                    .assume_role_arn
                    .as_ref()
                    .map(|r| format!(" by assuming {r} (check its trust policy and external_id)"))
                    .unwrap_or_default(),
                crate::aws::describe(&e)
            )),
        });
    }
    if let (Some(ic), Some(adapter)) = (
        &s.identity_center,
        crate::startup::identity_center(&aws, &s).await,
    ) {
        report(match adapter.check_instance().await {
            Err(e) => Err(format!(
                "identity_center: sso:{} failed for instance {} in {} with account {}'s credentials: {}",
                e.action,
                ic.instance_arn,
                ic.region,
                ic.account,
                e.full()
            )),
            Ok(()) => match adapter
                .find_permission_set("revoke-role-bot-check-config")
                .await
            {
                Ok(_) => Ok(format!(
                    "identity_center: instance {} in {} answers ListInstances, ListPermissionSets and DescribePermissionSet",
                    ic.instance_arn, ic.region
                )),
                Err(e) => Err(format!(
                    "identity_center: sso:{} refused: {}; grant the permissions in deploy/",
                    e.action,
                    e.full()
                )),
            },
        });
    }
    if failures > 0 {
        bail!("{failures} check(s) failed");
    }
    Ok(())
}

async fn verify(store: &dyn AuditStore, witnesses: &[Witness]) -> anyhow::Result<()> {
    let snapshot = store
        .chain_snapshot()
        .await
        .map_err(|e| anyhow::anyhow!(crate::ports::error_chain(&e)))?;
    let count = snapshot.events.len();
    let head = snapshot.head.as_ref().map_or(0, |h| h.seq);
    let breaks = verify_snapshot(&snapshot, witnesses);
    if breaks.is_empty() {
        println!(
            "ok: {count} events, chain intact up to #{head}{}",
            if witnesses.is_empty() {
                String::new()
            } else {
                format!(", {} witness(es) agree", witnesses.len())
            }
        );
        return Ok(());
    }
    for b in &breaks {
        println!("BROKEN: {b}");
    }
    bail!(
        "the audit chain is broken in {} place(s); the first: {}",
        breaks.len(),
        breaks[0]
    )
}

async fn audit(store: &dyn AuditStore, s: &Settings, a: &AuditArgs) -> anyhow::Result<()> {
    let target = if let Some(r) = &a.role {
        AuditTarget::Role(RoleSpec::parse(r)?)
    } else if let Some(r) = &a.request {
        AuditTarget::Request(RequestId::parse(r)?)
    } else if let Some(u) = &a.user {
        AuditTarget::User(SlackUserId::parse(u)?)
    } else {
        AuditTarget::Latest
    };
    let since = a.since.as_deref().map(parse_duration).transpose()?;
    if !(1..=1000).contains(&a.limit) {
        bail!("--limit takes 1 to 1000");
    }
    let q = AuditQuery {
        target,
        since,
        limit: a.limit,
    };
    let found = query(store, s, &SystemClock, &q)
        .await
        .map_err(|e| anyhow::anyhow!(messages::lookup_error(&e).to_plain()))
        .context("audit lookup")?;
    match found {
        Found::One { request, events } => {
            if a.json {
                for e in events {
                    println!("{}", serde_json::to_string(&e)?);
                }
            } else {
                // Reasons, roles and AWS errors are untrusted: control characters are shown, not obeyed.
                println!(
                    "{}  {}  {}  by {}  reason: {}",
                    request.id(),
                    request.state().as_str(),
                    printable(&request.target_arn()),
                    request.requester(),
                    printable(request.reason())
                );
                for e in events {
                    let d = &e.draft;
                    println!(
                        "  #{:<6} {}  {:<18} {:<12} {}",
                        e.seq,
                        printable(&d.at),
                        d.kind.as_str(),
                        printable(&d.actor),
                        printable(
                            &[d.cutoff.as_deref(), d.detail.as_deref(), d.error.as_deref()]
                                .iter()
                                .flatten()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join("  ")
                        )
                    );
                }
            }
        }
        Found::Many { page, .. } => {
            for r in &page.items {
                if a.json {
                    for e in store.events_for(r.id()).await? {
                        println!("{}", serde_json::to_string(&e)?);
                    }
                } else {
                    println!(
                        "{}  {:<9} {}  by {}  approvers {}  cut-off {}  {}",
                        r.id(),
                        r.state().as_str(),
                        printable(&r.target_arn()),
                        r.requester(),
                        r.approvals()
                            .iter()
                            .map(|u| u.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        r.cutoff()
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "-".into()),
                        r.created_at().format("%Y-%m-%d %H:%M:%SZ")
                    );
                }
            }
            if page.more {
                let how_many = match page.total {
                    Some(total) => format!("showing {} of {total}", page.items.len()),
                    None => format!("showing the latest {}; there are more", a.limit),
                };
                eprintln!("{how_many}: narrow with --since, --role, --user or raise --limit");
            }
        }
    }
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
