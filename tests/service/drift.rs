//! Revocations that stay in force (README "Revocations that stay in force"): the drift watch, re-apply, and clean-up after the
//! window, over the in-memory adapters with the fake clock. Time is paused, so the pause before a
//! drift is confirmed costs nothing.

use revoke_role_bot::clock::Clock;
use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::ids::SlackUserId;
use revoke_role_bot::domain::policy::{Cutoff, POLICY_NAME, PolicyDocument};
use revoke_role_bot::domain::request::{Action, Request, State};
use revoke_role_bot::ports::AuditStore;
use revoke_role_bot::service::ReapplyContext;
use revoke_role_bot::service::notice::{DriftKind, Notice, SubmitRefusal, ThreadNote};
use revoke_role_bot::slack::blocks;

use crate::support::*;

const MINUTE: chrono::Duration = chrono::Duration::minutes(1);

fn watch_config(cleanup: bool) -> String {
    format!(
        "{}\n[watch]\ndrift_check_every = \"1m\"\ncleanup_after_window = {cleanup}\n",
        config()
    )
}

/// An applied revocation of `name` (approved by Bob at t0: cut-off 12:00:01, window 1 h).
async fn applied(env: &Env, name: &str) -> Request {
    let request = env.role_and_request(name).await;
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(done.state(), State::Applied);
    done
}

fn drift_notes(env: &Env) -> Vec<(ThreadNote, String)> {
    env.slack
        .thread()
        .into_iter()
        .filter(|(n, _)| matches!(n, ThreadNote::Drift { .. }))
        .collect()
}

fn cleanup_notes(env: &Env) -> Vec<ThreadNote> {
    env.slack
        .thread()
        .into_iter()
        .filter_map(|(n, _)| matches!(n, ThreadNote::CleanedUp { .. }).then_some(n))
        .collect()
}

async fn count(env: &Env, request: &Request, kind: EventKind) -> usize {
    env.event_kinds(request.id())
        .await
        .into_iter()
        .filter(|k| *k == kind)
        .count()
}

/// Move the clock on and run one watch pass.
async fn pass_after(env: &Env, by: chrono::Duration) -> usize {
    env.clock.advance(by);
    env.app.watch_pass().await.unwrap()
}

fn deny_at(cutoff: &str) -> String {
    PolicyDocument::revoke_older_sessions(Cutoff::parse(cutoff).unwrap())
        .to_json()
        .unwrap()
        .to_string()
}

/// `audit verify` accounts for every item the watch, re-apply and clean-up leave (README "The audit
/// table (DynamoDB)").
async fn assert_every_item_is_accounted_for(env: &Env) {
    let snapshot = env.store.inner.chain_snapshot().await.unwrap();
    assert_eq!(
        revoke_role_bot::domain::audit::verify_snapshot(&snapshot, &[]),
        vec![]
    );
}

async fn reapply(env: &Env, user: &str, request: &Request) {
    env.app.on_reapply(ReapplyContext {
        user: SlackUserId::parse(user).unwrap(),
        request_id: request.id().clone(),
        response_url: response_url(user),
    });
    env.app.settle().await;
}

#[tokio::test(start_paused = true)]
async fn a_deleted_deny_is_noticed_within_one_interval_and_reported_once() {
    let env = Env::with_config(&watch_config(false));
    let request = applied(&env, "app").await;
    assert_eq!(pass_after(&env, MINUTE).await, 1, "checked while in force");
    assert!(drift_notes(&env).is_empty());

    env.iam.inner.delete_inline(&role("app"), POLICY_NAME);
    assert_eq!(pass_after(&env, MINUTE).await, 1);
    let notes = drift_notes(&env);
    assert_eq!(
        notes.len(),
        1,
        "noticed at the first check after the deletion"
    );
    let (note, text) = &notes[0];
    assert!(matches!(
        note,
        ThreadNote::Drift {
            kind: DriftKind::Gone,
            ..
        }
    ));
    assert!(
        text.contains("Drift") && text.contains(&role("app").to_string()),
        "{text}"
    );
    assert!(text.contains("2026-11-23T12:00:01Z"), "{text}");
    // The button Slack receives: re-apply, carrying this request's id.
    let blocks = serde_json::to_value(blocks::thread_note(note)).unwrap();
    let button = &blocks[1]["elements"][0];
    assert_eq!(button["action_id"], "reapply");
    assert_eq!(button["value"], request.id().as_str());
    let drift = env
        .events(request.id())
        .await
        .into_iter()
        .find(|e| e.draft.kind == EventKind::Drift)
        .expect("a drift event");
    assert_eq!(drift.draft.actor, "revoke-role-bot");
    assert_eq!(drift.draft.cutoff.as_deref(), Some("2026-11-23T12:00:01Z"));
    assert_eq!(drift.draft.detail.as_deref(), Some("gone"));
    assert!(
        env.app
            .metrics()
            .render()
            .contains("revoke_role_bot_events_total{kind=\"drift\"} 1")
    );

    // Still gone: no repeat, from this process or a restarted one on the same store.
    pass_after(&env, MINUTE).await;
    env.replica().watch_pass().await.unwrap();
    pass_after(&env, MINUTE).await;
    assert_eq!(drift_notes(&env).len(), 1);
    assert_eq!(count(&env, &request, EventKind::Drift).await, 1);

    // Put back, then gone again: a second disappearance is reported again.
    env.iam
        .inner
        .put_inline(&role("app"), POLICY_NAME, &deny_at("2026-11-23T12:00:01Z"));
    pass_after(&env, MINUTE).await;
    assert_eq!(drift_notes(&env).len(), 1);
    env.iam.inner.delete_inline(&role("app"), POLICY_NAME);
    pass_after(&env, MINUTE).await;
    assert_eq!(drift_notes(&env).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_cutoff_moved_back_is_drift_and_a_later_one_is_not() {
    let env = Env::with_config(&watch_config(false));
    let back = applied(&env, "back").await;
    let later = applied(&env, "later").await;
    env.iam
        .inner
        .put_inline(&role("back"), POLICY_NAME, &deny_at("2026-11-23T11:00:00Z"));
    env.iam.inner.put_inline(
        &role("later"),
        POLICY_NAME,
        &deny_at("2026-11-23T12:30:00Z"),
    );
    pass_after(&env, MINUTE).await;
    let notes = drift_notes(&env);
    assert_eq!(notes.len(), 1, "{notes:?}");
    match &notes[0].0 {
        ThreadNote::Drift { id, kind, .. } => {
            assert_eq!(id, back.id());
            assert_eq!(
                *kind,
                DriftKind::MovedBack {
                    now: Cutoff::parse("2026-11-23T11:00:00Z").unwrap()
                }
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        notes[0].1.contains("2026-11-23T11:00:00Z"),
        "{}",
        notes[0].1
    );
    assert_eq!(count(&env, &later, EventKind::Drift).await, 0);
}

#[tokio::test(start_paused = true)]
async fn a_document_the_bot_does_not_understand_is_drift() {
    let env = Env::with_config(&watch_config(false));
    let request = applied(&env, "app").await;
    env.iam.inner.put_inline(
        &role("app"),
        POLICY_NAME,
        // A time-based deny on some actions only: the bot cannot say what it still denies.
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:01Z"}}}]}"#,
    );
    pass_after(&env, MINUTE).await;
    let notes = drift_notes(&env);
    assert_eq!(notes.len(), 1);
    assert!(matches!(
        notes[0].0,
        ThreadNote::Drift {
            kind: DriftKind::NotUnderstood,
            ..
        }
    ));
    assert_eq!(count(&env, &request, EventKind::Drift).await, 1);
}

#[tokio::test(start_paused = true)]
async fn reapply_makes_a_new_pending_request_by_the_clicker_with_the_usual_checks() {
    let env = Env::with_config(&watch_config(false));
    let old = applied(&env, "app").await;
    env.iam.inner.delete_inline(&role("app"), POLICY_NAME);
    pass_after(&env, MINUTE).await;
    assert_eq!(drift_notes(&env).len(), 1);

    // Not a requester: refused like a slash command would be, and nothing is created.
    reapply(&env, CAROL, &old).await;
    assert!(matches!(
        env.last_reply(CAROL),
        Notice::RequestRefused {
            why: SubmitRefusal::NotARequester,
            ..
        }
    ));
    assert_eq!(env.slack.cards().len(), 1);

    reapply(&env, BOB, &old).await;
    let cards = env.slack.cards();
    assert_eq!(cards.len(), 2, "a new card for the new request");
    let new = env.stored(cards[1].request.id()).await;
    assert_ne!(new.id(), old.id());
    assert_eq!(new.state(), State::Pending);
    assert_eq!(new.role(), old.role());
    assert_eq!(new.requester().as_str(), BOB);
    assert_eq!(new.reason(), format!("re-apply {}: drift", old.id()));
    assert_eq!(new.channel(), old.channel());
    assert!(matches!(env.last_reply(BOB), Notice::AwaitingApproval(_)));

    // A second click while it waits points to it instead of opening another.
    reapply(&env, ALICE, &old).await;
    assert_eq!(env.slack.cards().len(), 2);
    match &env.last_reply(ALICE) {
        Notice::ReapplyAlreadyOpen { old: o, open } => {
            assert_eq!(o, old.id());
            assert_eq!(open, new.id());
        }
        other => panic!("{other:?}"),
    }

    // The usual two-person rule: Bob asked, so Bob cannot approve; Carol can.
    env.click(BOB, Action::Approve, new.id()).await;
    assert_eq!(env.state(new.id()).await, State::Pending);
    env.click(CAROL, Action::Approve, new.id()).await;
    assert_eq!(env.state(new.id()).await, State::Applied);
    // The old watch sees a later cut-off in force: no more drift.
    pass_after(&env, MINUTE).await;
    pass_after(&env, MINUTE).await;
    assert_eq!(drift_notes(&env).len(), 1);
    assert_every_item_is_accounted_for(&env).await;
}

#[tokio::test(start_paused = true)]
async fn reapply_on_a_request_that_was_never_applied_is_refused() {
    let env = Env::with_config(&watch_config(false));
    let pending = env.role_and_request("app").await;
    reapply(&env, BOB, &pending).await;
    assert!(matches!(
        env.last_reply(BOB),
        Notice::ReapplyNotApplicable(_)
    ));
    assert_eq!(env.slack.cards().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn cleanup_never_runs_before_the_window_and_removes_the_deny_after_it() {
    let env = Env::with_config(&watch_config(true));
    let request = applied(&env, "app").await;
    // The window: 1 h (the role's MaxSessionDuration) from the cut-off 12:00:01.
    for _ in 0..59 {
        pass_after(&env, MINUTE).await;
    }
    // 12:59:00.4, then 13:00:00.4: still inside the window.
    pass_after(&env, MINUTE).await;
    assert!(env.policy(&role("app")).is_some(), "not before the window");
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);

    pass_after(&env, MINUTE).await;
    assert!(
        env.policy(&role("app")).is_none(),
        "removed after the window"
    );
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 1);
    let notes = cleanup_notes(&env);
    assert_eq!(notes.len(), 1);
    assert!(drift_notes(&env).is_empty(), "a clean-up is not drift");
    // The watch is over: nothing more is checked for it.
    assert!(
        env.store
            .inner
            .watch_list(env.clock.now() + chrono::Duration::days(2))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(pass_after(&env, MINUTE).await, 0);
    assert_every_item_is_accounted_for(&env).await;
}

#[tokio::test(start_paused = true)]
async fn without_cleanup_the_deny_stays_and_the_watch_ends_after_the_window() {
    let env = Env::with_config(&watch_config(false));
    let request = applied(&env, "app").await;
    assert_eq!(pass_after(&env, chrono::Duration::hours(2)).await, 1);
    assert!(env.policy(&role("app")).is_some());
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);
    assert!(cleanup_notes(&env).is_empty());
    assert_eq!(pass_after(&env, MINUTE).await, 0, "watch ended");
    // A deny deleted after the window is not drift: it has done its job.
    env.iam.inner.delete_inline(&role("app"), POLICY_NAME);
    pass_after(&env, MINUTE).await;
    assert!(drift_notes(&env).is_empty());
}

#[tokio::test(start_paused = true)]
async fn cleanup_leaves_a_later_revocations_deny_alone() {
    let env = Env::with_config(&watch_config(true));
    let first = applied(&env, "app").await;
    // A second revocation of the same role 30 min later: its cut-off replaces the first.
    env.clock.advance(chrono::Duration::minutes(30));
    let second = env.request("app").await;
    env.click(CAROL, Action::Approve, second.id()).await;
    assert_eq!(env.state(second.id()).await, State::Applied);
    let later = token_issue_time(&env.policy(&role("app")).unwrap());
    assert_eq!(later, "2026-11-23T12:30:01Z");

    // Past the first window, before the second's: the first's watch ends and the deny stays.
    pass_after(&env, chrono::Duration::minutes(31)).await;
    assert_eq!(
        token_issue_time(&env.policy(&role("app")).unwrap()),
        later,
        "the later revocation's deny is left alone"
    );
    assert_eq!(count(&env, &first, EventKind::Cleanup).await, 0);
    assert!(drift_notes(&env).is_empty(), "a later cut-off is not drift");

    // Past the second's window: it removes its own.
    pass_after(&env, chrono::Duration::minutes(30)).await;
    assert!(env.policy(&role("app")).is_none());
    assert_eq!(count(&env, &second, EventKind::Cleanup).await, 1);
    assert_eq!(count(&env, &first, EventKind::Cleanup).await, 0);
}

#[tokio::test(start_paused = true)]
async fn cleanup_keeps_a_document_that_holds_more_than_the_deny() {
    let env = Env::with_config(&watch_config(true));
    let request = applied(&env, "app").await;
    let mixed = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:01Z"}}},
        {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;
    env.iam.inner.put_inline(&role("app"), POLICY_NAME, mixed);
    pass_after(&env, chrono::Duration::hours(2)).await;
    assert!(env.policy(&role("app")).is_some());
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);
}

#[tokio::test(start_paused = true)]
async fn cleanup_waits_for_a_session_length_raised_after_the_request() {
    let env = Env::with_config(&watch_config(true));
    let request = applied(&env, "app").await;
    // Read as 1 h when the request was made; raised to 4 h since: the longest seen counts.
    env.iam
        .inner
        .set_max_session_duration(&role("app"), 4 * 3600);
    pass_after(&env, chrono::Duration::hours(2)).await;
    pass_after(&env, chrono::Duration::hours(1)).await;
    assert!(env.policy(&role("app")).is_some(), "not before 4 h");
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);
    pass_after(&env, chrono::Duration::minutes(61)).await;
    assert!(env.policy(&role("app")).is_none(), "removed after 4 h");
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 1);
    assert_every_item_is_accounted_for(&env).await;
}

#[tokio::test(start_paused = true)]
async fn a_role_an_instance_profile_carries_keeps_its_deny_at_least_12_hours() {
    let env = Env::with_config(&watch_config(true));
    env.iam.inner.add_role(&role("web"), &["web-profile"]);
    let request = env.request("web").await;
    let request = env.approve(BOB, request.id()).await;
    assert_eq!(request.state(), State::Applied);
    pass_after(&env, chrono::Duration::hours(2)).await;
    pass_after(&env, chrono::Duration::hours(9)).await;
    assert!(env.policy(&role("web")).is_some(), "not before 12 h");
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);
    pass_after(&env, chrono::Duration::minutes(61)).await;
    assert!(env.policy(&role("web")).is_none(), "removed after 12 h");
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_role_a_compute_service_is_trusted_by_keeps_its_deny_at_least_12_hours() {
    let env = Env::with_config(&watch_config(true));
    let request = applied(&env, "tasks").await;
    // Trusted by ECS tasks since the request: what clean-up reads now counts too.
    env.iam.inner.set_trust_policy(
        &role("tasks"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
    pass_after(&env, chrono::Duration::hours(2)).await;
    pass_after(&env, chrono::Duration::hours(9)).await;
    assert!(env.policy(&role("tasks")).is_some(), "not before 12 h");
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);
    pass_after(&env, chrono::Duration::minutes(61)).await;
    assert!(env.policy(&role("tasks")).is_none(), "removed after 12 h");
}

#[tokio::test(start_paused = true)]
async fn cleanup_never_removes_a_deny_the_request_found_already_in_place() {
    let env = Env::with_config(&watch_config(true));
    let request = env.role_and_request("app").await;
    // Someone else's deny with a later cut-off is there before the approval: already covered.
    env.iam
        .inner
        .put_inline(&role("app"), POLICY_NAME, &deny_at("2026-11-23T13:00:00Z"));
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(
        done.outcome(),
        Some(revoke_role_bot::domain::policy::MergeOutcome::AlreadyCovered)
    );
    pass_after(&env, chrono::Duration::hours(3)).await;
    pass_after(&env, chrono::Duration::hours(20)).await;
    assert_eq!(
        token_issue_time(&env.policy(&role("app")).expect("the deny stays")),
        "2026-11-23T13:00:00Z"
    );
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);
    assert!(cleanup_notes(&env).is_empty());
    assert_every_item_is_accounted_for(&env).await;
}

#[tokio::test(start_paused = true)]
async fn two_replicas_on_one_store_check_a_revocation_once() {
    let env = Env::with_config(&watch_config(false));
    let request = applied(&env, "app").await;
    let other = env.replica();
    env.iam.inner.delete_inline(&role("app"), POLICY_NAME);
    env.clock.advance(MINUTE);
    let (a, b) = tokio::join!(env.app.watch_pass(), other.watch_pass());
    assert_eq!(a.unwrap() + b.unwrap(), 1, "one replica took the check");
    assert_eq!(drift_notes(&env).len(), 1);
    assert_eq!(count(&env, &request, EventKind::Drift).await, 1);
    // The next check is due an interval later, whichever replica runs it.
    assert_eq!(other.watch_pass().await.unwrap(), 0);
    env.clock.advance(MINUTE);
    assert_eq!(other.watch_pass().await.unwrap(), 1);
    assert_eq!(drift_notes(&env).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_or_rejected_request_is_never_watched() {
    let env = Env::with_config(&watch_config(false));
    let r = env.role_and_request("app").await;
    env.click(CAROL, Action::Reject, r.id()).await;
    assert_eq!(env.state(r.id()).await, State::Rejected);
    assert_eq!(pass_after(&env, MINUTE).await, 0);
    // Failed after approval: a deny the bot does not understand is never overwritten.
    let failed = env.role_and_request("odd").await;
    env.iam.inner.put_inline(
        &role("odd"),
        POLICY_NAME,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:DateLessThan":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}}]}"#,
    );
    env.click(BOB, Action::Approve, failed.id()).await;
    assert_eq!(env.state(failed.id()).await, State::Failed);
    assert_eq!(pass_after(&env, MINUTE).await, 0);
}

const IC: &str = r#"
[identity_center]
instance_arn = "arn:aws:sso:::instance/ssoins-memory"
region = "us-east-1"
account = "prod"
"#;

#[tokio::test(start_paused = true)]
async fn a_permission_set_whose_inline_policy_was_replaced_is_drift_and_reapplies_as_one() {
    let env = Env::with_config(&format!("{}{IC}", watch_config(true)));
    let arn = env
        .ic
        .add_permission_set("DataEngineer", "0123abcd", "PT8H", &[ACCOUNT]);
    env.command(ALICE, "permission-set DataEngineer INC-7 laptop stolen")
        .await;
    let old = env.slack.cards().pop().unwrap().request;
    let old = env.approve(BOB, old.id()).await;
    assert_eq!(old.state(), State::Applied, "{:?}", old.status());
    pass_after(&env, MINUTE).await;
    assert!(drift_notes(&env).is_empty());

    // Infrastructure code puts its own inline policy back, without the deny.
    env.ic.set_inline(
        &arn,
        Some(r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadData","Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}"#),
    );
    pass_after(&env, MINUTE).await;
    let notes = drift_notes(&env);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].1.contains(&arn), "{}", notes[0].1);
    assert!(matches!(
        notes[0].0,
        ThreadNote::Drift {
            kind: DriftKind::Gone,
            ..
        }
    ));

    reapply(&env, BOB, &old).await;
    let new = env.slack.cards().pop().unwrap().request;
    assert_ne!(new.id(), old.id());
    assert_eq!(new.state(), State::Pending);
    assert_eq!(new.permission_set().unwrap().arn, arn);

    // After the window (8 h), clean-up leaves a permission set's inline policy alone.
    pass_after(&env, chrono::Duration::hours(9)).await;
    assert!(env.ic.inline(&arn).is_some());
    assert_eq!(count(&env, &old, EventKind::Cleanup).await, 0);
    assert_every_item_is_accounted_for(&env).await;
}

#[tokio::test(start_paused = true)]
async fn cleanup_waits_for_a_session_length_raised_before_the_approval_and_lowered_after() {
    let env = Env::with_config(&watch_config(true));
    env.iam.inner.add_role(&role("app"), &[]);
    // 1 h when the request is made, 4 h when it is approved (sessions issued before the cut-off
    // may last 4 h), back to 1 h before clean-up: the length seen at apply still counts.
    let request = env.request("app").await;
    env.iam
        .inner
        .set_max_session_duration(&role("app"), 4 * 3600);
    let request = env.approve(BOB, request.id()).await;
    assert_eq!(request.state(), State::Applied);
    assert_eq!(
        request.written().and_then(|w| w.session_secs_at_apply),
        Some(4 * 3600)
    );
    env.iam.inner.set_max_session_duration(&role("app"), 3600);
    pass_after(&env, chrono::Duration::hours(2)).await;
    pass_after(&env, chrono::Duration::hours(1)).await;
    assert!(env.policy(&role("app")).is_some(), "not before 4 h");
    assert_eq!(count(&env, &request, EventKind::Cleanup).await, 0);
    pass_after(&env, chrono::Duration::minutes(61)).await;
    assert!(env.policy(&role("app")).is_none(), "removed after 4 h");
    assert_every_item_is_accounted_for(&env).await;
}
