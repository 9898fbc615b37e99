//! Clicks on the card (README "Using it in Slack"–§5): approve, reject, cancel. Each valid click is one conditional
//! write; a click that loses a race is re-read and retried while it still applies.

use std::sync::Arc;
use std::time::Instant;

use tracing::{error, info, warn};

use super::notice::{ClickProblem, Notice, ThreadNote};
use super::{App, ClickContext};
use crate::domain::audit::{EventDraft, EventKind, Witness};
use crate::domain::ids::Actor;
use crate::domain::request::{Action, Decision, Refusal, Request, State};
use crate::ports::{StoreError, error_chain};

/// How often a click that lost a race is re-read and retried.
pub const MAX_RACE_RETRIES: usize = 64;

impl App {
    #[tracing::instrument(skip_all,
        fields(request_id = %ctx.request_id, user = %ctx.user, action = ctx.action.as_str()))]
    pub(super) async fn click(self: Arc<Self>, ctx: ClickContext) {
        let mut membership: Option<bool> = None;
        for _ in 0..MAX_RACE_RETRIES {
            let Some(request) = self
                .request_for_click(&ctx.request_id, &ctx.response_url)
                .await
            else {
                return;
            };
            let request = self.learn_card(request, &ctx).await;
            let is_approver = match (ctx.action, membership) {
                (Action::Cancel, _) => false,
                (_, Some(m)) => m,
                _ => match self
                    .authz
                    .is_member(&self.settings.approvers, &ctx.user)
                    .await
                {
                    Ok(m) => {
                        membership = Some(m);
                        m
                    }
                    Err(e) => {
                        warn!(error = %error_chain(&e), "approver check failed");
                        self.record_refused_click(
                            &request,
                            &ctx,
                            "approvers list could not be checked",
                        )
                        .await;
                        return self
                            .tell(
                                &ctx.response_url,
                                Notice::ClickNotApplied(ClickProblem::MembershipUnknown),
                            )
                            .await;
                    }
                },
            };
            let transition =
                match request.decide(ctx.action, &ctx.user, is_approver, self.clock.now()) {
                    Decision::Refuse(refusal) => {
                        info!(refusal = refusal.code(), "click refused");
                        let quiet = self.refused_this_minute(&request, &ctx).await;
                        self.record_refused_click(&request, &ctx, refusal.code())
                            .await;
                        if !quiet {
                            self.timeline(
                                &request,
                                ThreadNote::ClickRefused {
                                    by: ctx.user.clone(),
                                    refusal: refusal.clone(),
                                },
                            )
                            .await;
                        }
                        let expired = refusal == Refusal::Expired;
                        self.tell(
                            &ctx.response_url,
                            Notice::ClickRefused {
                                refusal,
                                id: request.id().clone(),
                            },
                        )
                        .await;
                        if expired {
                            self.expire(request).await;
                        }
                        return;
                    }
                    Decision::Transition(t) => *t,
                };
            let next = transition.next;
            match self.transition(&next, transition.event).await {
                Ok(appended) => {
                    info!(state = next.state().as_str(), "transition");
                    let witness = Witness::of(&appended);
                    let approval = (ctx.action == Action::Approve).then(|| ThreadNote::Approval {
                        by: ctx.user.clone(),
                        count: next.approvals().len() as u32,
                        required: next.approvals_required(),
                    });
                    if next.state() != State::Approved {
                        if let Some(note) = approval {
                            self.timeline(&next, note).await;
                        }
                        if next.state().is_open() {
                            self.update_card(&next, None).await;
                        } else {
                            self.show_outcome(&next, witness).await;
                        }
                        return;
                    }
                    // The policy does not wait for Slack: the thread reply, the "approved" card
                    // update and the IAM write run together, and the outcome's update follows.
                    let approved_at = Instant::now();
                    let slack = async {
                        if let Some(note) = approval {
                            self.timeline(&next, note).await;
                        }
                        self.update_card(&next, None).await;
                    };
                    let (_, outcome) = tokio::join!(
                        slack,
                        self.write_and_record(next.clone(), Some(approved_at))
                    );
                    if let Some((done, witness)) = outcome {
                        self.show_outcome(&done, witness).await;
                    }
                    return;
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => {
                    error!(error = %error_chain(&e), "could not record the transition");
                    return self
                        .tell(
                            &ctx.response_url,
                            Notice::ClickNotApplied(ClickProblem::NotRecorded),
                        )
                        .await;
                }
            }
        }
        error!("gave up after repeated write conflicts");
        self.tell(
            &ctx.response_url,
            Notice::ClickNotApplied(ClickProblem::KeptChanging),
        )
        .await;
    }

    /// Whether `ctx.user` already had a click on this request refused in this minute (of the
    /// clock): then the thread gets no second note, so it carries at most one per person, request
    /// and minute (each click is still an audit event). Read from the audit trail, so replicas
    /// and restarts agree; when it cannot be read, the thread stays quiet.
    async fn refused_this_minute(&self, request: &Request, ctx: &ClickContext) -> bool {
        let minute = |secs: i64| secs.div_euclid(60);
        let now = minute(self.clock.now().timestamp());
        match self.store.events_for(request.id()).await {
            Ok(events) => events.iter().any(|e| {
                e.draft.kind == EventKind::ClickRefused
                    && e.draft.actor == ctx.user.as_str()
                    && chrono::DateTime::parse_from_rfc3339(&e.draft.at)
                        .is_ok_and(|at| minute(at.timestamp()) == now)
            }),
            Err(e) => {
                warn!(error = %error_chain(&e), "could not read the request's refused clicks");
                true
            }
        }
    }

    /// A card whose posting Slack did not confirm: its place is learned from the first click on
    /// it (README, "Slack"), so that it is updated like any other. Only a message in the
    /// request's own channel is taken.
    async fn learn_card(&self, request: Request, ctx: &ClickContext) -> Request {
        let Some(at) = ctx.card.as_ref() else {
            return request;
        };
        if request.card().is_some() || &at.channel != request.channel() {
            return request;
        }
        match self.store.set_card(request.id(), at).await {
            Ok(()) => {
                info!(ts = %at.ts, "learned the card's place from a click");
                request.with_card(at.clone())
            }
            Err(e) => {
                warn!(error = %error_chain(&e), "could not remember the card learned from a click");
                request
            }
        }
    }

    /// The request a button names, or the clicker is told why there is none to act on.
    pub(super) async fn request_for_click(
        &self,
        id: &crate::domain::ids::RequestId,
        response_url: &String,
    ) -> Option<Request> {
        match self.store.get(id).await {
            Ok(Some(r)) => Some(r),
            Ok(None) => {
                self.tell(response_url, Notice::NoSuchRequest(id.clone()))
                    .await;
                None
            }
            Err(e) => {
                error!(error = %error_chain(&e), "could not read the request");
                self.tell(
                    response_url,
                    Notice::ClickNotApplied(ClickProblem::StoreUnreadable),
                )
                .await;
                None
            }
        }
    }

    /// A click that changed nothing is an audit event too, with who clicked and why it was refused.
    async fn record_refused_click(&self, request: &Request, ctx: &ClickContext, why: &str) {
        let event = EventDraft::by(
            request.id().clone(),
            EventKind::ClickRefused,
            &Actor::User(ctx.user.clone()),
            self.clock.now(),
        )
        .with_role_text(&request.target_arn())
        .with_detail(format!("{}: {why}", ctx.action.as_str()));
        self.record_quietly(event).await;
    }
}
