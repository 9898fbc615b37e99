//! The application service: authorization, the request lifecycle and the revocation, over the ports.
//! Slack handlers call `on_command` / `on_click`, which answer at once and continue in the background.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use tracing::{Instrument, error, info, info_span, warn};

use crate::config::Settings;
use crate::domain::audit::{EventDraft, EventKind};
use crate::domain::command::{AuditQuery, AuditTarget, Command, USAGE, escape_slack_text};
use crate::domain::ids::{ChannelId, Principal, RequestId, SlackGroupId, SlackUserId};
use crate::domain::policy::{
    Cutoff, POLICY_NAME, PolicyDocument, existing_cutoff, merge, same_document,
};
use crate::domain::request::{Action, Decision, NewRequest, Refusal, Request, State};
use crate::domain::role_arn::{RoleArn, RoleSpec};
use crate::metrics::Metrics;
use crate::ports::{AuditStore, Card, Iam, IamError, Reply, Slack, SlackError, StoreError};

/// How long group memberships from `usergroups.users.list` are trusted.
const GROUP_CACHE_TTL: Duration = Duration::from_secs(60);
/// How often a click that lost a race is re-read and retried.
const MAX_RACE_RETRIES: usize = 64;

/// A slash command as it arrived, after the signature was checked.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub user: SlackUserId,
    pub channel: ChannelId,
    pub text: String,
    pub response_url: String,
    pub trigger_id: Option<String>,
}

/// A button click as it arrived, after the signature was checked.
#[derive(Debug, Clone)]
pub struct ClickContext {
    pub user: SlackUserId,
    pub action: Action,
    pub request_id: RequestId,
    pub response_url: String,
}

/// Members of each user group and when they were fetched.
type GroupCache = HashMap<SlackGroupId, (Instant, Arc<Vec<SlackUserId>>)>;

pub struct App {
    settings: Arc<Settings>,
    store: Arc<dyn AuditStore>,
    iam: Arc<dyn Iam>,
    slack: Arc<dyn Slack>,
    /// The role the bot runs as, which it must never revoke.
    self_role: Option<RoleArn>,
    groups: Mutex<GroupCache>,
    metrics: Arc<Metrics>,
    /// Background tasks still running, so shutdown can let them finish.
    in_flight: AtomicUsize,
    idle: Notify,
    /// Bounds the background work running at once, so a burst of commands queues here instead of
    /// opening hundreds of connections to AWS and Slack at the same moment.
    work_slots: Arc<Semaphore>,
}

/// Background tasks that may run at once; the rest wait their turn (their Slack answer went out already).
pub const MAX_CONCURRENT_WORK: usize = 64;

#[derive(Debug, thiserror::Error)]
#[error("could not check membership of {group}: {source}")]
struct MembershipError {
    group: SlackGroupId,
    source: SlackError,
}

impl App {
    pub fn new(
        settings: Arc<Settings>,
        store: Arc<dyn AuditStore>,
        iam: Arc<dyn Iam>,
        slack: Arc<dyn Slack>,
        self_role: Option<RoleArn>,
    ) -> Arc<Self> {
        Arc::new(App {
            settings,
            store,
            iam,
            slack,
            self_role,
            groups: Mutex::new(HashMap::new()),
            metrics: Arc::new(Metrics::default()),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
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

    /// Run slow work in the background, counted so that shutdown can wait for it.
    fn spawn<F>(self: &Arc<Self>, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let app = self.clone();
        app.in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let slot = app.work_slots.clone().acquire_owned().await;
            fut.await;
            drop(slot);
            if app.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
                app.idle.notify_waiters();
            }
        });
    }

    /// Wait until background work is done, or `limit` passes. Work cut off here is recoverable:
    /// an `approved` request without an outcome is finished by the next process to start.
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.idle.notified();
            let n = self.in_flight.load(Ordering::SeqCst);
            if n == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.in_flight.load(Ordering::SeqCst);
            }
        }
    }

    // ---- the audit store, counted ----

    async fn create(
        &self,
        request: &Request,
        event: EventDraft,
        key: Option<&str>,
    ) -> Result<(), StoreError> {
        let kind = event.kind.as_str();
        self.store.create(request, event, key).await?;
        self.metrics.transition(kind);
        Ok(())
    }

    async fn transition(&self, next: &Request, event: EventDraft) -> Result<(), StoreError> {
        let kind = event.kind.as_str();
        self.store.transition(next, event).await?;
        self.metrics.transition(kind);
        Ok(())
    }

    async fn record(&self, event: EventDraft) -> Result<(), StoreError> {
        let kind = event.kind.as_str();
        self.store.record(event).await?;
        self.metrics.transition(kind);
        Ok(())
    }

    // ---- entry points: answer at once, work in the background ----

    /// The immediate answer to a slash command; slow work is spawned.
    pub fn on_command(self: &Arc<Self>, ctx: CommandContext) -> Reply {
        let command = match Command::parse(&ctx.text) {
            Ok(c) => c,
            Err(e) => {
                return Reply::ephemeral(format!(
                    ":warning: {}\n\n{USAGE}",
                    escape_slack_text(&e.0)
                ));
            }
        };
        if !self.settings.channels.is_empty() && !self.settings.channels.contains(&ctx.channel) {
            let app = self.clone();
            let event = EventDraft::new(
                RequestId::generate(),
                EventKind::RequestRefused,
                ctx.user.as_str(),
                Utc::now(),
            )
            .with_reason(&ctx.text)
            .with_detail(format!(
                "channel {} is not on the channels allow-list",
                ctx.channel
            ));
            self.spawn(async move { app.record_quietly(event).await });
            return Reply::ephemeral(
                ":no_entry: revoke-role-bot does not take commands in this channel. Use one of the incident channels it is configured for.",
            );
        }
        let app = self.clone();
        match command {
            Command::Help => Reply::ephemeral(USAGE),
            Command::Revoke { role, reason } => {
                let span = info_span!("revoke_request", user = %ctx.user, role = %role);
                let shown = escape_slack_text(&role.to_string());
                self.spawn(async move { app.submit(ctx, role, reason).await }.instrument(span));
                Reply::ephemeral(format!(
                    ":mag: Checking `{shown}`… the approval card follows in this channel."
                ))
            }
            Command::Status(id) => {
                let q = AuditQuery {
                    target: AuditTarget::Request(id),
                    since: None,
                    limit: 1,
                };
                self.spawn(
                    async move { app.lookup(ctx, q).await }.instrument(info_span!("status")),
                );
                Reply::ephemeral(":mag: Looking it up…")
            }
            Command::Audit(q) => {
                self.spawn(async move { app.lookup(ctx, q).await }.instrument(info_span!("audit")));
                Reply::ephemeral(":mag: Looking it up…")
            }
        }
    }

    /// A click is always acknowledged empty; the outcome arrives on the card or through `response_url`.
    pub fn on_click(self: &Arc<Self>, ctx: ClickContext) {
        let app = self.clone();
        let span = info_span!("click", request_id = %ctx.request_id, user = %ctx.user, action = ctx.action.as_str());
        self.spawn(async move { app.click(ctx).await }.instrument(span));
    }

    // ---- authorization ----

    async fn is_member(
        &self,
        list: &[Principal],
        user: &SlackUserId,
    ) -> Result<bool, MembershipError> {
        if list
            .iter()
            .any(|p| matches!(p, Principal::User(u) if u == user))
        {
            return Ok(true);
        }
        for p in list {
            if let Principal::Group(g) = p
                && self.group_members(g).await?.contains(user)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn group_members(
        &self,
        group: &SlackGroupId,
    ) -> Result<Arc<Vec<SlackUserId>>, MembershipError> {
        if let Ok(cache) = self.groups.lock()
            && let Some((at, members)) = cache.get(group)
            && at.elapsed() < GROUP_CACHE_TTL
        {
            return Ok(members.clone());
        }
        let members =
            Arc::new(
                self.slack
                    .group_members(group)
                    .await
                    .map_err(|source| MembershipError {
                        group: group.clone(),
                        source,
                    })?,
            );
        if let Ok(mut cache) = self.groups.lock() {
            cache.insert(group.clone(), (Instant::now(), members.clone()));
        }
        Ok(members)
    }

    /// Why this role may not be revoked, if it may not (SPEC §3).
    pub fn protection(&self, role: &RoleArn) -> Option<String> {
        if role.path().starts_with("/aws-service-role/") {
            return Some(format!(
                "`{}` is a service-linked role: AWS manages it and its sessions; it cannot be revoked here.",
                role.name()
            ));
        }
        if role.name().starts_with("AWSReservedSSO_") || role.path().starts_with("/aws-reserved/") {
            return Some(format!(
                "`{}` is an IAM Identity Center role. Revoke those sessions through the permission set: remove the user's assignment, or in IAM Identity Center revoke the user's active sessions, which also stops new role sessions.",
                role.name()
            ));
        }
        if let Some(me) = &self.self_role
            && me.account() == role.account()
            && me.name() == role.name()
        {
            return Some(format!(
                "`{}` is the role revoke-role-bot itself runs as; revoking it would stop the bot.",
                role.name()
            ));
        }
        if let Some(p) = self.settings.protect.iter().find(|p| p.matches(role)) {
            return Some(format!(
                "`{role}` is protected by the bot's configuration (`{}`).",
                p.as_str()
            ));
        }
        if !self.settings.allow.iter().any(|p| p.matches(role)) {
            return Some(format!(
                "`{role}` is not on the list of roles this bot may revoke (`roles.allow`)."
            ));
        }
        None
    }

    // ---- the request ----

    async fn submit(self: Arc<Self>, ctx: CommandContext, spec: RoleSpec, reason: String) {
        let refuse_with = |why: String, role_text: String, full: Option<String>| {
            let app = self.clone();
            let ctx = ctx.clone();
            let reason = reason.clone();
            async move {
                info!(%why, "request refused");
                let event = EventDraft::new(
                    RequestId::generate(),
                    EventKind::RequestRefused,
                    ctx.user.as_str(),
                    Utc::now(),
                )
                .with_role_text(&role_text)
                .with_reason(&reason)
                .with_detail(why.clone());
                let event = match full {
                    Some(full) => event.with_error(full),
                    None => event,
                };
                let recorded = app.record(event).await;
                let mut text = format!(":no_entry: {why}");
                if let Err(e) = recorded {
                    error!(error = %e, "could not record a refused request");
                    text.push_str("\n(The refusal could not be written to the audit trail.)");
                }
                app.reply(&ctx.response_url, Reply::ephemeral(text)).await;
            }
        };
        let refuse = |why: String, role_text: String| refuse_with(why, role_text, None);

        match self.is_member(&self.settings.requesters, &ctx.user).await {
            Ok(true) => {}
            Ok(false) => {
                return refuse(
                    "You are not on the requesters list, so you cannot ask for a revocation. Ask your security on-call to add you, or to make the request.".into(),
                    spec.to_string(),
                )
                .await;
            }
            Err(e) => {
                warn!(error = %e, "membership check failed");
                return refuse(
                    "Slack could not confirm that you are on the requesters list, so nothing was done. Try again in a moment.".into(),
                    spec.to_string(),
                )
                .await;
            }
        }

        let role = match self.settings.resolve_role(&spec) {
            Ok(r) => r,
            Err(why) => return refuse(escape_slack_text(&why), spec.to_string()).await,
        };
        if let Some(why) = self.protection(&role) {
            return refuse(why, role.to_string()).await;
        }
        let preview = match self.iam.preview(&role).await {
            Ok(p) => p,
            Err((action, e)) => {
                warn!(error = %e, action, "role lookup failed");
                return refuse_with(
                    format!("{}. Nothing was requested.", e.short(&role, action)),
                    role.to_string(),
                    Some(format!("iam:{action}: {e}")),
                )
                .await;
            }
        };
        // The real path can reveal a protected role named without it.
        let role = role.with_path(&preview.path);
        if let Some(why) = self.protection(&role) {
            return refuse(why, role.to_string()).await;
        }

        let now = Utc::now();
        let expires = chrono::Duration::from_std(self.settings.expires_after)
            .unwrap_or(chrono::Duration::minutes(30));
        let request = Request::pending(
            NewRequest {
                role: role.clone(),
                requester: ctx.user.clone(),
                reason: reason.clone(),
                channel: ctx.channel.clone(),
                approvals_required: self.settings.approvals_required,
                preview: Some(preview),
            },
            now,
            expires,
        );
        let event = EventDraft::new(
            request.id.clone(),
            EventKind::Requested,
            ctx.user.as_str(),
            now,
        )
        .with_role(&role)
        .with_reason(&reason);
        let key = ctx.trigger_id.as_deref().map(|t| format!("trigger#{t}"));
        match self.create(&request, event, key.as_deref()).await {
            Ok(()) => {}
            Err(StoreError::Duplicate) => {
                info!("slash command redelivered; the first delivery handles it");
                return;
            }
            Err(e) => {
                error!(error = %e, "could not record the request");
                return self
                    .reply(
                        &ctx.response_url,
                        Reply::ephemeral(":x: The request could not be written to the audit trail, so nothing was done. Try again; if it keeps failing, check the bot's DynamoDB access."),
                    )
                    .await;
            }
        }
        info!(request_id = %request.id, "request created");
        match self
            .slack
            .post_card(&request.channel, &self.card(&request))
            .await
        {
            Ok(card) => {
                let stored = self.store.set_card(&request.id, &card).await;
                if let Err(e) = &stored {
                    error!(error = %e, "could not remember the card; it will not be updated");
                }
                self.reply(
                    &ctx.response_url,
                    Reply::ephemeral(format!(
                        "Request *{}* is waiting for approval by someone other than you.",
                        request.id
                    )),
                )
                .await;
                if stored.is_ok() {
                    self.catch_up_card(&request.id).await;
                }
            }
            Err(e) => {
                error!(error = %e, "could not post the approval card");
                self.reply(
                    &ctx.response_url,
                    Reply::ephemeral(format!(
                        ":x: Request {} is recorded but its approval card could not be posted in this channel ({}). Invite the bot to the channel and ask again.",
                        request.id,
                        escape_slack_text(&e.0)
                    )),
                )
                .await;
            }
        }
    }

    fn card(&self, request: &Request) -> Card {
        Card {
            request: request.clone(),
            account_name: self
                .settings
                .account(request.role.account())
                .and_then(|a| a.name.clone()),
        }
    }

    async fn update_card(&self, request: &Request) {
        // A click can be handled before the card's reference is stored (the reference is written
        // once Slack has answered the post): look it up again before giving up on the update.
        let at = match &request.card {
            Some(at) => at.clone(),
            None => match self.store.get(&request.id).await {
                Ok(Some(Request { card: Some(at), .. })) => at,
                _ => return,
            },
        };
        if let Err(e) = self.slack.update_card(&at, &self.card(request)).await {
            warn!(error = %e, request_id = %request.id, "could not update the card");
        }
    }

    /// Right after the card's reference is stored: if a click already closed the request (it
    /// may have found no card to update), show the outcome on the card now. A request still in
    /// progress is left to its own updates, so this never shows an older state over a newer one.
    async fn catch_up_card(&self, id: &RequestId) {
        match self.store.get(id).await {
            Ok(Some(current)) if !current.state.is_open() => self.update_card(&current).await,
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, request_id = %id, "could not re-read the request after posting its card")
            }
        }
    }

    async fn reply(&self, response_url: &str, reply: Reply) {
        if let Err(e) = self.slack.respond(response_url, &reply).await {
            warn!(error = %e, "could not answer through response_url");
        }
    }

    async fn record_quietly(&self, event: EventDraft) {
        if let Err(e) = self.record(event).await {
            error!(error = %e, "could not record an audit event");
        }
    }

    // ---- clicks ----

    async fn click(self: Arc<Self>, ctx: ClickContext) {
        let mut membership: Option<bool> = None;
        for _ in 0..MAX_RACE_RETRIES {
            let request = match self.store.get(&ctx.request_id).await {
                Ok(Some(r)) => r,
                Ok(None) => {
                    return self
                        .reply(
                            &ctx.response_url,
                            Reply::ephemeral(format!("There is no request {}.", ctx.request_id)),
                        )
                        .await;
                }
                Err(e) => {
                    error!(error = %e, "could not read the request");
                    return self
                        .reply(
                            &ctx.response_url,
                            Reply::ephemeral(":x: The audit trail could not be read, so your click was not applied. Try again in a moment."),
                        )
                        .await;
                }
            };
            let is_approver = match (ctx.action, membership) {
                (Action::Cancel, _) => false,
                (_, Some(m)) => m,
                _ => match self.is_member(&self.settings.approvers, &ctx.user).await {
                    Ok(m) => {
                        membership = Some(m);
                        m
                    }
                    Err(e) => {
                        warn!(error = %e, "approver check failed");
                        self.record_refused_click(
                            &request,
                            &ctx,
                            format!("approvers list could not be checked: {e}"),
                        )
                        .await;
                        return self
                            .reply(
                                &ctx.response_url,
                                Reply::ephemeral(":x: Slack could not confirm that you are an approver, so your click was not applied. Try again in a moment."),
                            )
                            .await;
                    }
                },
            };
            match request.decide(ctx.action, &ctx.user, is_approver, Utc::now()) {
                Decision::Refuse(refusal) => {
                    info!(refusal = refusal.code(), "click refused");
                    self.record_refused_click(&request, &ctx, refusal.code().to_string())
                        .await;
                    self.reply(
                        &ctx.response_url,
                        Reply::ephemeral(refusal.message(&request.id)),
                    )
                    .await;
                    if refusal == Refusal::Expired {
                        self.expire(request).await;
                    }
                    return;
                }
                Decision::Transition { next, event } => match self.transition(&next, event).await {
                    Ok(()) => {
                        info!(state = next.state.as_str(), "transition");
                        if next.state != State::Approved {
                            return self.update_card(&next).await;
                        }
                        // The policy does not wait for Slack: the "approved" card update and the
                        // IAM write run together, and the outcome's update follows both.
                        let approved_at = Instant::now();
                        let (_, outcome) = tokio::join!(
                            self.update_card(&next),
                            self.write_and_record(next.clone(), Some(approved_at))
                        );
                        if let Some(done) = outcome {
                            self.update_card(&done).await;
                        }
                        return;
                    }
                    Err(StoreError::Conflict) => continue,
                    Err(e) => {
                        error!(error = %e, "could not record the transition");
                        return self
                            .reply(
                                &ctx.response_url,
                                Reply::ephemeral(":x: Your click could not be written to the audit trail, so it was not applied and nothing was changed. Try again in a moment."),
                            )
                            .await;
                    }
                },
            }
        }
        error!("gave up after repeated write conflicts");
        self.reply(
            &ctx.response_url,
            Reply::ephemeral(
                ":x: The request kept changing under your click; look at the card and click again.",
            ),
        )
        .await;
    }

    /// A click that changed nothing is an audit event too, with who clicked and why it was refused.
    async fn record_refused_click(&self, request: &Request, ctx: &ClickContext, why: String) {
        let event = EventDraft::new(
            request.id.clone(),
            EventKind::ClickRefused,
            ctx.user.as_str(),
            Utc::now(),
        )
        .with_role(&request.role)
        .with_detail(format!("{}: {why}", ctx.action.as_str()));
        self.record_quietly(event).await;
    }

    async fn expire(&self, mut request: Request) {
        for _ in 0..MAX_RACE_RETRIES {
            let Some((next, event)) = request.expire(Utc::now()) else {
                return;
            };
            match self.transition(&next, event).await {
                Ok(()) => {
                    info!(request_id = %next.id, "expired");
                    return self.update_card(&next).await;
                }
                Err(StoreError::Conflict) => match self.store.get(&request.id).await {
                    Ok(Some(r)) => request = r,
                    _ => return,
                },
                Err(e) => return warn!(error = %e, "could not expire a request"),
            }
        }
    }

    // ---- the revocation ----

    /// Write the deny policy for an `approved` request, verify it, and record the outcome.
    /// Idempotent: running it again for the same request writes the same or a later cut-off.
    pub async fn apply(&self, request: Request) {
        if let Some(done) = self.write_and_record(request, None).await {
            self.update_card(&done).await;
        }
    }

    /// `apply` without the card update: the recorded outcome, if this worker recorded one.
    /// `approved_at`, when known, times the step for `/metrics`.
    async fn write_and_record(
        &self,
        request: Request,
        approved_at: Option<Instant>,
    ) -> Option<Request> {
        match self.store.claim(&request.id, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => {
                info!(request_id = %request.id, "another worker is applying this request");
                return None;
            }
            Err(e) => {
                // Nothing is written to IAM without the lease; recovery tries again.
                error!(error = %e, request_id = %request.id, "could not take the apply lease");
                return None;
            }
        }
        let role = &request.role;
        let result = self.write_policy(role).await;
        let now = Utc::now();
        let (next, event) = match &result {
            Ok((cutoff, outcome, sha)) => request.applied(*cutoff, *outcome, sha.clone(), now)?,
            Err((short, full)) => {
                error!(request_id = %request.id, role = %request.role, error = %full, "revocation failed: {short}");
                request.failed(short, full, now)?
            }
        };
        match self.transition(&next, event).await {
            Ok(()) => {
                info!(request_id = %next.id, state = next.state.as_str(), "revocation finished");
                if let (Some(t), State::Applied) = (approved_at, next.state) {
                    self.metrics.approval_to_policy(t.elapsed());
                }
                Some(next)
            }
            Err(StoreError::Conflict) => {
                info!(request_id = %next.id, "another worker recorded the outcome first");
                None
            }
            Err(e) => {
                // The request stays `approved`; recovery finishes it once the store is back.
                error!(error = %e, request_id = %next.id, "could not record the outcome; recovery will retry");
                None
            }
        }
    }

    /// Merge with what is on the role, write, and read back. IAM has no conditional writes, so two
    /// revocations of one role can interleave; the read-back settles it: a cut-off at or after ours
    /// (ours, or a later one written meanwhile) is success, an earlier one means another writer moved
    /// it back, and we write again. A cut-off never moves backwards.
    async fn write_policy(
        &self,
        role: &RoleArn,
    ) -> Result<(Cutoff, crate::domain::policy::MergeOutcome, String), (String, String)> {
        use crate::domain::policy::MergeOutcome;
        let iam_err = |e: IamError, action: &str| (e.short(role, action), e.to_string());
        let ours = Cutoff::at_or_after(Utc::now());
        let mut first_outcome = None;
        for _ in 0..3 {
            let existing = self
                .iam
                .get_revoke_policy(role)
                .await
                .map_err(|e| iam_err(e, "GetRolePolicy"))?
                .and_then(|doc| existing_cutoff(&doc));
            let (cutoff, outcome) = merge(ours, existing);
            let outcome = *first_outcome.get_or_insert(outcome);
            let doc = PolicyDocument::revoke_older_sessions(cutoff);
            self.iam
                .put_revoke_policy(role, &doc.to_json())
                .await
                .map_err(|e| iam_err(e, "PutRolePolicy"))?;
            let read_back = self
                .iam
                .get_revoke_policy(role)
                .await
                .map_err(|e| iam_err(e, "GetRolePolicy"))?;
            let Some(text) = read_back else {
                return Err((
                    format!("the {POLICY_NAME} policy was not found on the role after writing it"),
                    "GetRolePolicy returned no document".into(),
                ));
            };
            if same_document(&doc, &text) {
                return Ok((cutoff, outcome, doc.sha256()));
            }
            match existing_cutoff(&text) {
                // A later revocation landed meanwhile: it covers ours.
                Some(later)
                    if later > cutoff
                        && same_document(&PolicyDocument::revoke_older_sessions(later), &text) =>
                {
                    let in_force = PolicyDocument::revoke_older_sessions(later);
                    return Ok((later, MergeOutcome::AlreadyCovered, in_force.sha256()));
                }
                // Another writer moved it back: write ours again.
                Some(earlier) if earlier < cutoff => {
                    warn!(%role, %earlier, %cutoff, "the cut-off was moved back by a concurrent write (or IAM has not caught up); writing again");
                    // IAM is eventually consistent: give a stale read a moment before the next round.
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                _ => {
                    return Err((
                        format!(
                            "the {POLICY_NAME} policy read back from IAM differs from what was written"
                        ),
                        format!("wrote {} read {text}", doc.to_json()),
                    ));
                }
            }
        }
        Err((
            format!("the {POLICY_NAME} cut-off kept being moved back by concurrent writes"),
            "three write-and-verify rounds did not hold".into(),
        ))
    }

    /// Finish every approved request and expire overdue pending ones (on start and periodically).
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let open = self.store.open_requests().await?;
        let mut finished = 0;
        for r in open {
            match r.state {
                State::Approved => {
                    info!(request_id = %r.id, "finishing an approved request");
                    self.apply(r).await;
                    finished += 1;
                }
                State::Pending if Utc::now() >= r.expires_at => self.expire(r).await,
                _ => {}
            }
        }
        Ok(finished)
    }

    // ---- lookups ----

    async fn lookup(self: Arc<Self>, ctx: CommandContext, q: AuditQuery) {
        let reply = match crate::lookup::run(&self, &q).await {
            Ok(sections) => Reply::in_channel(sections),
            Err(msg) => Reply::ephemeral(format!(":warning: {msg}")),
        };
        self.reply(&ctx.response_url, reply).await;
    }
}
