//! The application: shared state (settings, ports, clock, metrics, background work) in [`App`],
//! and one module per use case: `submit` (a new request) and `permission_sets`, `modal` (the
//! request form), `decide` (clicks), `apply` (the revocation, writing through `slot`), `recover`
//! (finishing approved requests, expiring pending ones, reminders), `watch` (keeping applied
//! revocations in force, README "Revocations that stay in force", over the `deny` seam) with `cleanup` and `reapply`, and
//! `lookup`. `authz` (with its group cache) and `cards` (what is shown where) serve them all.
//! Slack handlers call [`App::on_command`] / [`App::on_click`] (in `entry`), which answer at once and continue
//! in the background; what people are told comes back as [`notice::Notice`] values.

pub mod accounts;
pub mod apply;
pub mod authz;
pub mod cards;
pub mod cleanup;
pub mod decide;
pub mod deny;
mod entry;
pub mod lookup;
pub mod modal;
/// What people are told, as data (below the ports, so `ports` does not depend on `service`).
pub use crate::notice;
pub mod permission_sets;
pub mod reapply;
pub mod recover;
pub mod role_cache;
pub mod slot;
pub mod submit;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info};

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::audit::{AuditEvent, EventDraft, WITNESS_HEX};
use crate::domain::protection::ProtectionRules;
use crate::domain::request::Request;
use crate::domain::role_arn::RoleArn;
use crate::metrics::Metrics;
use crate::ports::{AuditStore, Iam, IdentityCenter, Slack, StoreError, error_chain};
use authz::Authorizer;
pub use entry::{ClickContext, CommandContext, ReapplyContext, Recipient, ReplyTo};
use notice::Notice;

/// Background tasks that may run at once; the rest wait their turn (their Slack answer went out already).
pub const MAX_CONCURRENT_WORK: usize = 64;

/// The ports the application works over.
pub struct Ports {
    pub store: Arc<dyn AuditStore>,
    pub iam: Arc<dyn Iam>,
    pub slack: Arc<dyn Slack>,
    pub clock: Arc<dyn Clock>,
    /// Present when `[identity_center]` is configured.
    pub identity_center: Option<Arc<dyn IdentityCenter>>,
}

pub struct App {
    settings: Arc<Settings>,
    store: Arc<dyn AuditStore>,
    iam: Arc<dyn Iam>,
    slack: Arc<dyn Slack>,
    clock: Arc<dyn Clock>,
    identity_center: Option<Arc<dyn IdentityCenter>>,
    /// Each configured account's credentials, confirmed or not (`accounts`).
    accounts: Arc<accounts::AccountStates>,
    /// `iam` is this gate: only calls for a confirmed account reach the adapter.
    gate: Arc<accounts::GatedIam>,
    protection: ProtectionRules,
    authz: Authorizer,
    metrics: Arc<Metrics>,
    /// Background work, so shutdown can let it finish.
    tasks: TaskTracker,
    /// Stops the background loops (recovery, expiry).
    stop: CancellationToken,
    /// Bounds the background work running at once, so a burst of commands queues here instead of
    /// opening hundreds of connections to AWS and Slack at the same moment.
    work_slots: Arc<Semaphore>,
    /// The request form's role lists, per account (`role_cache`).
    roles: role_cache::RoleCache,
}

/// The protections of `settings` (with the role the bot runs as): what the service refuses on and
/// what `check-config` lists, from one place.
pub fn protection_rules(settings: &Settings, self_role: Option<RoleArn>) -> ProtectionRules {
    ProtectionRules {
        allow: settings.allow.clone(),
        protect: settings.protect.clone(),
        self_role,
        assumed_roles: settings
            .accounts
            .iter()
            .filter_map(|a| a.assume_role_arn.clone())
            .collect(),
        permission_sets: settings
            .identity_center
            .as_ref()
            .map(|ic| ic.protect.clone())
            .unwrap_or_default(),
    }
}

impl App {
    /// `self_role` is the role the bot runs as (from `sts:GetCallerIdentity`), never revocable.
    pub fn new(settings: Arc<Settings>, ports: Ports, self_role: Option<RoleArn>) -> Arc<Self> {
        let protection = protection_rules(&settings, self_role);
        let metrics = Arc::new(Metrics::default());
        let tasks = TaskTracker::new();
        let accounts = Arc::new(accounts::AccountStates::new(
            &settings.accounts,
            metrics.clone(),
        ));
        let gate = Arc::new(accounts::GatedIam::new(
            ports.iam,
            accounts.clone(),
            ports.clock.clone(),
        ));
        Arc::new(App {
            authz: Authorizer::new(ports.slack.clone()),
            roles: role_cache::RoleCache::new(
                gate.clone(),
                ports.clock.clone(),
                metrics.clone(),
                tasks.clone(),
            ),
            settings,
            store: ports.store,
            iam: gate.clone(),
            accounts,
            gate,
            slack: ports.slack,
            clock: ports.clock,
            identity_center: ports.identity_center,
            protection,
            metrics,
            tasks,
            stop: CancellationToken::new(),
            work_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_WORK)),
        })
    }

    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn protection(&self) -> &ProtectionRules {
        &self.protection
    }

    /// Whether requests may come from `channel`: an empty allow-list allows every channel.
    fn channel_allowed(&self, channel: &crate::domain::ids::ChannelId) -> bool {
        self.settings.channels.is_empty() || self.settings.channels.contains(channel)
    }

    /// Run slow work in the background, tracked so that shutdown can wait for it.
    fn spawn<F>(self: &Arc<Self>, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let slots = self.work_slots.clone();
        self.tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            fut.await;
        });
    }

    /// Wait until background work is done, or `limit` passes; returns how many tasks are left.
    /// Work cut off here is recoverable: an `approved` request is finished by the next process.
    pub async fn drain(&self, limit: Duration) -> usize {
        self.stop.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(limit, self.tasks.wait()).await;
        let left = self.tasks.len();
        self.tasks.reopen();
        left
    }

    /// Wait for the background work spawned so far (tests: instead of sleeping).
    pub async fn settle(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    /// Cancelled when the application stops; background loops watch it.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// A background loop owned by the application: `pass` every `interval` until it drains. A
    /// pass returns how many requests it handled; a failed pass is logged and run again.
    fn every<F, Fut>(self: &Arc<Self>, name: &'static str, interval: Duration, pass: F)
    where
        F: Fn(Arc<App>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<usize, StoreError>> + Send,
    {
        let app = self.clone();
        let stop = self.stopping();
        let span = tracing::info_span!("background", task = name);
        self.tasks.spawn(tracing::Instrument::instrument(
            async move {
                loop {
                    match pass(app.clone()).await {
                        Ok(0) => {}
                        Ok(n) => info!(handled = n, "pass done"),
                        Err(e) => {
                            tracing::warn!(error = %error_chain(&e), "pass failed; will retry")
                        }
                    }
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(interval) => {}
                    }
                }
            },
            span,
        ));
    }

    // ---- the audit store, counted and logged with the chain position ----

    fn appended(&self, e: &AuditEvent) {
        self.metrics.transition(e.draft.kind.as_str());
        let prefix: String = e.hash.chars().take(WITNESS_HEX).collect();
        info!(
            audit_seq = e.seq,
            audit_hash = %prefix,
            kind = e.draft.kind.as_str(),
            request_id = %e.draft.request_id,
            "audit event appended"
        );
    }

    async fn create(
        &self,
        request: &Request,
        event: EventDraft,
        key: Option<&str>,
    ) -> Result<AuditEvent, StoreError> {
        let e = self.store.create(request, event, key).await?;
        self.appended(&e);
        Ok(e)
    }

    async fn transition(
        &self,
        next: &Request,
        event: EventDraft,
    ) -> Result<AuditEvent, StoreError> {
        let e = self.store.transition(next, event).await?;
        self.appended(&e);
        Ok(e)
    }

    async fn record(&self, event: EventDraft) -> Result<AuditEvent, StoreError> {
        let e = self.store.record(event).await?;
        self.appended(&e);
        Ok(e)
    }

    /// The `config_loaded` event of a start (README "Configuration"), by `caller`.
    pub async fn record_config_loaded(
        &self,
        caller: &str,
        source: &str,
        sha256: &str,
    ) -> Result<AuditEvent, StoreError> {
        let event = EventDraft::by(
            crate::domain::ids::RequestId::generate(),
            crate::domain::audit::EventKind::ConfigLoaded,
            &crate::domain::ids::Actor::Cli(caller.to_string()),
            self.clock.now(),
        )
        .with_detail(format!("sha256={sha256} source={source}"));
        self.record(event).await
    }

    async fn record_quietly(&self, event: EventDraft) {
        if let Err(e) = self.record(event).await {
            error!(error = %error_chain(&e), "could not record an audit event");
        }
    }

    async fn tell(&self, to: &(impl Recipient + ?Sized), notice: Notice) {
        let sent = match to.reply_to() {
            ReplyTo::ResponseUrl(url) => self.slack.respond(&url, &notice).await,
            ReplyTo::Ephemeral { channel, user } => {
                self.slack.post_ephemeral(&channel, &user, &notice).await
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not answer the person");
        }
    }
}
