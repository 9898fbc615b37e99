//! Building and running the server: production wiring and the pieces tests and the demo reuse.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::aws::dynamodb::DynamoStore;
use crate::aws::iam::AwsIam;
use crate::clock::SystemClock;
use crate::config::{Settings, SlackSecrets};
use crate::service::{App, Ports};
use crate::slack::client::SlackWebApi;
use crate::slack::socket_mode::{SocketMode, Status};

pub use crate::service::accounts::ACCOUNT_RECHECK_INTERVAL;
pub use crate::service::recover::{RECOVERY_INTERVAL, recovery_interval};

pub struct Application {
    listener: TcpListener,
    app: Arc<App>,
    signing_secret: Option<SecretString>,
    socket_mode: Option<SocketMode>,
    /// How often every account's credentials are checked again (README "Resilience").
    account_recheck: Duration,
    /// Who the bot runs as (`sts:GetCallerIdentity`), the actor of `config_loaded`.
    caller: String,
}

/// How long shutdown waits for background work before leaving it to recovery.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(20);

impl Application {
    /// Bind (port 0 picks a free port) with the given service.
    pub async fn bind(
        addr: SocketAddr,
        app: Arc<App>,
        signing_secret: SecretString,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Application {
            listener,
            app,
            signing_secret: Some(signing_secret),
            socket_mode: None,
            account_recheck: ACCOUNT_RECHECK_INTERVAL,
            caller: "revoke-role-bot".into(),
        })
    }

    /// The production wiring: DynamoDB, IAM per account, the Slack Web API.
    pub async fn build(settings: Settings, secrets: SlackSecrets) -> anyhow::Result<Self> {
        Self::build_with(settings, secrets, crate::aws::load_config().await).await
    }

    /// The production wiring with an explicit AWS configuration (tests point it at moto).
    pub async fn build_with(
        settings: Settings,
        secrets: SlackSecrets,
        aws: aws_config::SdkConfig,
    ) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let aws = crate::aws::with_timeouts(aws);
        let (caller, self_role) = match crate::aws::caller_identity(&aws).await {
            Ok((caller, role)) => {
                info!(%caller, "running as");
                (caller, role)
            }
            Err(e) => anyhow::bail!(
                "cannot tell which AWS identity the bot runs as (sts:GetCallerIdentity): {}",
                crate::aws::describe(&e)
            ),
        };
        let store = Arc::new(DynamoStore::new(&aws, &settings.table));
        // Accounts are confirmed in the background (`run_until_stopped`): one that cannot be
        // reached, or whose credentials belong to another account, does not stop the start.
        let iam = Arc::new(AwsIam::new(&aws, &settings.accounts).await);
        let slack = Arc::new(
            SlackWebApi::new(&secrets.bot_token, secrets.api_url.as_deref())?
                .with_try_timeout(secrets.timeouts.http_try),
        );
        let socket_mode = secrets
            .app_token
            .map(|t| SocketMode::new(slack.clone(), t, secrets.timeouts.socket_silence));
        let identity_center = identity_center(&aws, &settings).await;
        let app = App::new(
            settings.clone(),
            Ports {
                store,
                iam,
                slack,
                clock: Arc::new(SystemClock),
                identity_center,
            },
            self_role,
        );
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        // In Socket Mode, Slack is not served over HTTP; only health and metrics are.
        let signing_secret = if socket_mode.is_some() {
            None
        } else {
            secrets.signing_secret
        };
        Ok(Application {
            listener,
            app,
            signing_secret,
            socket_mode,
            account_recheck: ACCOUNT_RECHECK_INTERVAL,
            caller,
        })
    }

    /// Record which config this process runs with (README "Configuration"): a `config_loaded`
    /// audit event naming the source kind and the text's SHA-256, by the AWS identity the bot
    /// runs as. Whoever can change the config can make themselves requester and approver, so a
    /// start whose config cannot be recorded does not serve.
    pub async fn record_config(&self, source: &str, sha256: &str) -> anyhow::Result<()> {
        let event = self
            .app
            .record_config_loaded(&self.caller, source, sha256)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot record the loaded config in the audit trail: {}",
                    crate::ports::error_chain(&e)
                )
            })?;
        info!(
            config_sha256 = sha256,
            config_source = source,
            audit_seq = event.seq,
            "config loaded"
        );
        Ok(())
    }

    /// Another pause between account checks than `ACCOUNT_RECHECK_INTERVAL` (tests shorten it).
    pub fn with_account_recheck(self, every: Duration) -> Self {
        Application {
            account_recheck: every,
            ..self
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    /// Serve until SIGTERM/ctrl-c, finishing approved requests on start and periodically.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.app.start_background();
        self.app.watch_accounts(self.account_recheck);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let app = self.app.clone();
        let addr = self.local_addr();
        let health = self.socket_mode.as_ref().map(SocketMode::health);
        let socket = self.socket_mode.map(|s| {
            info!("Slack over Socket Mode");
            tokio::spawn(s.run(app.clone(), stop_rx))
        });
        info!(%addr, "listening");
        let router = crate::http::router(self.app, self.signing_secret, health.clone());
        // Socket Mode giving up on a refused token stops the server too, so the process exits non-zero.
        let stopping = {
            let health = health.clone();
            async move {
                let Some(health) = health else {
                    return shutdown_signal().await;
                };
                tokio::select! {
                    _ = shutdown_signal() => {}
                    why = health.failed() => error!(error = %why, "Socket Mode gave up; stopping"),
                }
            }
        };
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(stopping)
            .await;
        let _ = stop_tx.send(true);
        if let Some(s) = socket {
            let _ = s.await;
        }
        let left = app.drain(DRAIN_LIMIT).await;
        if left > 0 {
            warn!(
                left,
                "stopping with background work unfinished; approved requests are finished by the next start"
            );
        }
        served.map_err(|e| {
            error!(error = %e, "server stopped");
            anyhow::anyhow!(e)
        })?;
        match health.map(|h| h.status()) {
            Some(Status::Failed(why)) => Err(anyhow::anyhow!(why)),
            _ => Ok(()),
        }
    }
}

/// The Identity Center adapter when `[identity_center]` is configured: its region, through the
/// administering account's credentials (its `assume_role_arn` as for IAM).
pub async fn identity_center(
    aws: &aws_config::SdkConfig,
    settings: &crate::config::Settings,
) -> Option<Arc<dyn crate::ports::IdentityCenter>> {
    let ic = settings.identity_center.as_ref()?;
    let account = settings.account(&ic.account)?;
    let config = crate::aws::iam::account_config(aws, account).await;
    Some(Arc::new(
        crate::aws::identity_center::AwsIdentityCenter::new(&config, &ic.region, &ic.instance_arn),
    ))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    info!("shutting down");
}
