//! At 3 a.m. (README "Using it in Slack"): reminders that wake an approver, escalation, the thread as the timeline,
//! and the outcome sent to the requester.

use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::request::{Action, State};
use revoke_role_bot::service::notice::{Notice, ThreadNote};

use crate::support::*;

const ESCALATING: &str = r#"
remind_after = "5m"
escalate_after = "15m"
escalate_to = ["S0SECMGMT", "U0CISO"]
"#;

fn config_with_reminders() -> String {
    config().replace(
        "expires_after = \"30m\"\n",
        &format!("expires_after = \"60m\"\n{ESCALATING}"),
    )
}

fn reminders(env: &Env) -> Vec<String> {
    env.slack
        .thread()
        .into_iter()
        .filter(|(n, _)| matches!(n, ThreadNote::Reminder { .. }))
        .map(|(_, text)| text)
        .collect()
}

#[tokio::test]
async fn approvers_are_reminded_after_remind_after_then_with_doubling_gaps_and_escalated() {
    let env = Env::with_config(&config_with_reminders());
    let request = env.role_and_request("app").await;

    env.clock.advance(chrono::Duration::minutes(4));
    env.app.recover().await.unwrap();
    assert!(reminders(&env).is_empty(), "not before remind_after");

    env.clock.advance(chrono::Duration::minutes(1));
    env.app.recover().await.unwrap();
    env.app.recover().await.unwrap();
    let sent = reminders(&env);
    assert_eq!(sent.len(), 1, "one reminder, however many passes run");
    // The approvers from the configuration, as mentions the bot built itself.
    assert!(
        sent[0].contains("<@U0BOB>")
            && sent[0].contains("<@U0CAROL>")
            && sent[0].contains("<!subteam^S0SECLEAD>"),
        "{}",
        sent[0]
    );
    assert!(
        !sent[0].contains("S0SECMGMT"),
        "no escalation yet: {}",
        sent[0]
    );

    // The second reminder is due 15 min after the request (gaps double), not at 10.
    env.clock.advance(chrono::Duration::minutes(5));
    env.app.recover().await.unwrap();
    assert_eq!(reminders(&env).len(), 1);
    env.clock.advance(chrono::Duration::minutes(5));
    env.app.recover().await.unwrap();
    let sent = reminders(&env);
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].contains("<!subteam^S0SECMGMT>") && sent[1].contains("<@U0CISO>"),
        "escalated after 15 min: {}",
        sent[1]
    );
    let kinds = env.event_kinds(request.id()).await;
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Reminded).count(),
        2
    );

    // Decided: no more reminders.
    env.click(BOB, Action::Approve, request.id()).await;
    env.clock.advance(chrono::Duration::minutes(30));
    env.app.recover().await.unwrap();
    assert_eq!(reminders(&env).len(), 2);
}

#[tokio::test]
async fn a_second_replica_on_the_same_store_does_not_remind_again() {
    let env = Env::with_config(&config_with_reminders());
    env.role_and_request("app").await;
    let replica = env.replica();
    env.clock.advance(chrono::Duration::minutes(6));
    let (a, b) = tokio::join!(env.app.recover(), replica.recover());
    a.unwrap();
    b.unwrap();
    assert_eq!(reminders(&env).len(), 1);
    // A restart (a fresh App) remembers how many were sent.
    let restarted = env.replica();
    restarted.recover().await.unwrap();
    assert_eq!(reminders(&env).len(), 1);
}

#[tokio::test]
async fn the_thread_is_the_timeline_and_the_requester_gets_the_outcome() {
    let env = Env::with_approvals(2);
    let request = env.role_and_request("app").await;
    env.click(ALICE, Action::Approve, request.id()).await;
    env.click(BOB, Action::Approve, request.id()).await;
    env.click(CAROL, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Applied);
    let thread: Vec<ThreadNote> = env.slack.thread().into_iter().map(|(n, _)| n).collect();
    assert!(
        matches!(thread[0], ThreadNote::ClickRefused { .. }),
        "{thread:?}"
    );
    assert!(matches!(
        thread[1],
        ThreadNote::Approval {
            count: 1,
            required: 2,
            ..
        }
    ));
    assert!(matches!(
        thread[2],
        ThreadNote::Approval {
            count: 2,
            required: 2,
            ..
        }
    ));
    let ThreadNote::Outcome(done) = &thread[3] else {
        panic!("the outcome follows: {thread:?}")
    };
    assert_eq!(done.state(), State::Applied);
    let dms = env.slack.dms();
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0].0.as_str(), ALICE);
    assert!(matches!(&dms[0].1, ThreadNote::Outcome(r) if r.state() == State::Applied));
}

#[tokio::test]
async fn a_rejection_and_an_expiry_reach_the_requester_a_cancellation_does_not() {
    let env = Env::new();
    for n in ["a", "b", "c"] {
        env.iam.inner.add_role(&role(n), &[]);
    }
    let a = env.request("a").await;
    let b = env.request("b").await;
    let c = env.request("c").await;
    env.click(BOB, Action::Reject, a.id()).await;
    env.click(ALICE, Action::Cancel, b.id()).await;
    env.clock.advance(chrono::Duration::minutes(31));
    env.app.recover().await.unwrap();
    env.app.settle().await;
    assert_eq!(env.state(c.id()).await, State::Expired);
    let states: Vec<State> = env
        .slack
        .dms()
        .into_iter()
        .map(|(_, n)| match n {
            ThreadNote::Outcome(r) => r.state(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(states, vec![State::Rejected, State::Expired]);
}

/// Thirty refused clicks by one person: one thread reply a minute for that person and request,
/// while each click is still an audit event and still answered to the clicker.
#[tokio::test]
async fn refused_clicks_get_at_most_one_thread_reply_per_person_request_and_minute() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    let refused_notes = |env: &Env| {
        env.slack
            .thread()
            .into_iter()
            .filter(|(n, _)| matches!(n, ThreadNote::ClickRefused { .. }))
            .count()
    };
    for _ in 0..30 {
        // Alice asked: she cannot approve her own request.
        env.click(ALICE, Action::Approve, request.id()).await;
    }
    assert_eq!(refused_notes(&env), 1);
    let kinds = env.event_kinds(request.id()).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::ClickRefused)
            .count(),
        30,
        "every click is in the audit trail"
    );
    assert_eq!(
        env.slack.replies_to(ALICE).len(),
        1 + 30,
        "each click is answered"
    );

    // Someone else's refusal is their own.
    env.click(EVE, Action::Approve, request.id()).await;
    assert_eq!(refused_notes(&env), 2);
    // Still in the same minute (the clock is at 12:00:00.4): quiet. In the next minute, Alice's
    // next refusal is shown again; clicking on, one a minute.
    env.clock.advance(chrono::Duration::seconds(59));
    env.click(ALICE, Action::Approve, request.id()).await;
    assert_eq!(refused_notes(&env), 2);
    for (minute, notes) in [(1, 3), (2, 4)] {
        env.clock.advance(chrono::Duration::seconds(20));
        env.click(ALICE, Action::Approve, request.id()).await;
        env.clock.advance(chrono::Duration::seconds(20));
        env.click(ALICE, Action::Approve, request.id()).await;
        assert_eq!(refused_notes(&env), notes, "minute {minute}");
        env.clock.advance(chrono::Duration::seconds(20));
    }
}

/// The card's post was not confirmed (it timed out after Slack got it): the bot does not post a
/// second card, tells the requester, and learns the card's place from the first click on it.
#[tokio::test]
async fn a_card_whose_post_was_not_confirmed_is_learned_from_the_first_click() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    env.slack.lose_next_answer();
    let request = env.request("app").await;
    assert_eq!(env.slack.cards().len(), 1, "posted once");
    assert!(
        matches!(env.last_reply(ALICE), Notice::CardUnconfirmed(ref id) if id == request.id()),
        "{:?}",
        env.last_reply(ALICE)
    );
    assert_eq!(env.stored(request.id()).await.card(), None);

    env.click(BOB, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Applied);
    let at = env.slack.card_of(request.id()).unwrap();
    assert_eq!(env.stored(request.id()).await.card(), Some(&at));
    let Sent::Update {
        at: updated, card, ..
    } = env.last_update()
    else {
        unreachable!()
    };
    assert_eq!(updated, at);
    assert_eq!(card.request.state(), State::Applied);
    assert_eq!(env.slack.cards().len(), 1, "still one card");
}
