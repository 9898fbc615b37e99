//! Authorization, the lifecycle, quorum, expiry, refusals, recovery and lookups.

use revoke_role_bot::domain::audit::{EventKind, Witness, verify_chain, verify_snapshot};
use revoke_role_bot::domain::request::{Action, Refusal, State};
use revoke_role_bot::ports::AuditStore;
use revoke_role_bot::service::notice::{ClickProblem, Notice, SubmitRefusal};

use crate::support::*;

#[tokio::test]
async fn a_second_person_approves_and_the_approval_cutoff_is_written_and_verified() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    let notice = env.command(ALICE, "prod/app INC-1 keys leaked").await;
    assert!(matches!(notice, Notice::Checking { .. }));
    let request = env.slack.cards().pop().unwrap().request;
    assert_eq!(request.state(), State::Pending);
    env.clock.advance(chrono::Duration::seconds(5));
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(done.state(), State::Applied);
    // 12:00:05.400 rounded up: the moment of approval, decided once.
    assert_eq!(done.cutoff().unwrap().to_string(), "2026-11-23T12:00:06Z");
    assert!(done.written().unwrap().verified);
    let policy = env.policy(&role("app")).unwrap();
    assert_eq!(token_issue_time(&policy), "2026-11-23T12:00:06Z");
    let kinds = env.event_kinds(request.id()).await;
    assert_eq!(
        kinds,
        vec![
            EventKind::Requested,
            EventKind::Approved,
            EventKind::Applied
        ]
    );
    let (events, head) = env.store.inner.whole_chain().await.unwrap();
    assert!(verify_chain(events, head).is_empty());
}

#[tokio::test]
async fn the_requester_cannot_approve_and_the_refusal_is_recorded() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    env.click(ALICE, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Pending);
    let replies = env.slack.replies_to(ALICE);
    assert!(matches!(
        replies.last().unwrap().0,
        Notice::ClickRefused {
            refusal: Refusal::SelfApproval,
            ..
        }
    ));
    let last = env.events(request.id()).await.pop().unwrap();
    assert_eq!(last.draft.kind, EventKind::ClickRefused);
    assert_eq!(last.draft.actor, ALICE);
    assert!(env.policy(&role("app")).is_none());
}

#[tokio::test]
async fn someone_not_on_the_requesters_list_is_refused_and_recorded() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    env.command(EVE, "prod/app INC-1 keys leaked").await;
    assert!(env.slack.cards().is_empty());
    assert!(matches!(
        env.last_reply(EVE),
        Notice::RequestRefused {
            why: SubmitRefusal::NotARequester,
            recorded: true
        }
    ));
    let (events, _) = env.store.inner.whole_chain().await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].draft.kind, EventKind::RequestRefused);
}

#[tokio::test]
async fn an_approver_through_a_user_group_counts_and_a_slack_failure_refuses_the_click() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    env.slack.set_group("S0SECLEAD", &[EVE]);
    let request = env.request("app").await;
    env.slack.fail_groups(true);
    env.click(EVE, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Pending);
    assert!(matches!(
        env.last_reply(EVE),
        Notice::ClickNotApplied(ClickProblem::MembershipUnknown)
    ));
    env.slack.fail_groups(false);
    env.click(EVE, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Applied);
}

#[tokio::test]
async fn an_empty_approvers_list_means_nobody_can_approve() {
    let env = Env::with_config(&config().replace(
        r#"approvers = ["U0BOB", "U0CAROL", "S0SECLEAD"]"#,
        "approvers = []",
    ));
    let request = env.role_and_request("app").await;
    env.click(BOB, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Pending);
    assert!(matches!(
        env.last_reply(BOB),
        Notice::ClickRefused {
            refusal: Refusal::NotAnApprover,
            ..
        }
    ));
}

#[tokio::test]
async fn two_approvals_need_two_distinct_approvers() {
    let env = Env::with_approvals(2);
    let request = env.role_and_request("app").await;
    env.click(BOB, Action::Approve, request.id()).await;
    env.click(BOB, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Pending);
    assert!(env.policy(&role("app")).is_none());
    let done = env.approve(CAROL, request.id()).await;
    assert_eq!(done.state(), State::Applied);
    assert_eq!(done.approvals().len(), 2);
}

#[tokio::test]
async fn reject_and_cancel_close_the_request_and_write_nothing() {
    let env = Env::new();
    let a = env.role_and_request("a").await;
    let b = env.role_and_request("b").await;
    env.click(BOB, Action::Cancel, a.id()).await;
    assert_eq!(env.state(a.id()).await, State::Pending);
    env.click(ALICE, Action::Cancel, a.id()).await;
    env.click(CAROL, Action::Reject, b.id()).await;
    assert_eq!(env.state(a.id()).await, State::Cancelled);
    assert_eq!(env.state(b.id()).await, State::Rejected);
    assert!(env.iam.puts().is_empty());
}

#[tokio::test]
async fn a_pending_request_expires_on_the_fake_clock_and_a_late_click_is_refused() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    env.clock.advance(chrono::Duration::minutes(29));
    env.app.recover().await.unwrap();
    assert_eq!(env.state(request.id()).await, State::Pending);
    env.clock.advance(chrono::Duration::minutes(2));
    env.app.recover().await.unwrap();
    env.app.settle().await;
    assert_eq!(env.state(request.id()).await, State::Expired);
    let card = env.slack.last_card().unwrap();
    assert_eq!(card.request.state(), State::Expired);
    env.click(BOB, Action::Approve, request.id()).await;
    assert!(matches!(
        env.last_reply(BOB),
        Notice::ClickRefused {
            refusal: Refusal::Closed(State::Expired),
            ..
        }
    ));
    assert!(env.iam.puts().is_empty());
}

#[tokio::test]
async fn an_audit_store_outage_refuses_the_request_and_writes_nothing() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    *env.store.down.lock().unwrap() = true;
    env.command(ALICE, "prod/app INC-1 keys leaked").await;
    assert!(env.slack.cards().is_empty());
    assert!(matches!(env.last_reply(ALICE), Notice::RequestNotRecorded));
}

#[tokio::test]
async fn a_closed_card_shows_its_last_events_place_in_the_chain() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    assert!(env.slack.cards()[0].witness.is_none());
    env.click(BOB, Action::Approve, request.id()).await;
    let card = env.slack.last_card().unwrap();
    let last = env.events(request.id()).await.pop().unwrap();
    assert_eq!(last.draft.kind, EventKind::Applied);
    let witness = card.witness.expect("a closed card shows its witness");
    assert_eq!(witness, Witness::of(&last));
    let sent = env.last_update();
    assert!(
        sent.mrkdwn()
            .contains(&format!("audit #{} {}", last.seq, &last.hash[..32])),
        "{}",
        sent.mrkdwn()
    );
}

#[tokio::test]
async fn status_and_audit_lookups_answer_in_the_channel() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    env.click(BOB, Action::Approve, request.id()).await;
    env.command(EVE, &format!("status {}", request.id())).await;
    env.command(EVE, "audit prod/app --since 1d").await;
    env.command(EVE, &format!("audit <@{BOB}>")).await;
    let replies = env.slack.replies_to(EVE);
    let found: Vec<_> = replies
        .iter()
        .filter(|(n, _)| matches!(n, Notice::Found(_)))
        .collect();
    assert_eq!(found.len(), 3, "{replies:?}");
    for (n, text) in found {
        assert!(n.in_channel());
        assert!(text.contains(request.id().as_str()), "{text}");
    }
}

/// Whatever the table holds after these flows, `audit verify` accounts for it (README "The audit
/// table (DynamoDB)"): every request item is what its events say, with its bookkeeping beside it.
async fn assert_every_item_is_accounted_for(env: &Env) {
    let snapshot = env.store.inner.chain_snapshot().await.unwrap();
    assert_eq!(verify_snapshot(&snapshot, &[]), vec![]);
}

#[tokio::test]
async fn every_item_the_lifecycle_writes_passes_audit_verify() {
    let config = config().replace(
        "expires_after = \"30m\"\n",
        "expires_after = \"60m\"\nremind_after = \"5m\"\n",
    );
    assert!(config.contains("remind_after"), "the edit took");
    let env = Env::with_config(&config);
    // Applied (with a card and a reminder before the approval).
    let applied = env.role_and_request("app").await;
    env.clock.advance(chrono::Duration::minutes(6));
    env.app.recover().await.unwrap();
    env.click(EVE, Action::Approve, applied.id()).await;
    env.click(BOB, Action::Approve, applied.id()).await;
    assert_eq!(env.state(applied.id()).await, State::Applied);
    let kinds = env.event_kinds(applied.id()).await;
    assert!(
        kinds.contains(&EventKind::Reminded) && kinds.contains(&EventKind::ClickRefused),
        "{kinds:?}"
    );
    // Rejected, cancelled, refused, expired.
    let rejected = env.role_and_request("rejected").await;
    env.click(BOB, Action::Reject, rejected.id()).await;
    let cancelled = env.role_and_request("cancelled").await;
    env.click(ALICE, Action::Cancel, cancelled.id()).await;
    env.command(EVE, "prod/app INC-9 not mine to ask").await;
    let expired = env.role_and_request("expired").await;
    env.clock.advance(chrono::Duration::hours(2));
    env.app.recover().await.unwrap();
    assert_eq!(env.state(expired.id()).await, State::Expired);
    assert_every_item_is_accounted_for(&env).await;

    // What a lookup shows is verified: nothing is marked.
    env.command(EVE, &format!("status {}", applied.id())).await;
    env.command(EVE, "audit --since 1d").await;
    for (n, text) in env.slack.replies_to(EVE) {
        if matches!(n, Notice::Found(_)) {
            assert!(!text.contains("NOT VERIFIED"), "{text}");
        }
    }
}

#[tokio::test]
async fn the_refused_roles_the_locked_options_and_check_configs_list_are_one_set() {
    use revoke_role_bot::domain::protection::Protection;
    use revoke_role_bot::service::modal::RoleOptions;
    use std::collections::BTreeSet;

    let env = Env::new();
    // `protect = ["arn:aws:iam::*:role/break-glass-*"]`: no path, so any path, in any case.
    let names = [
        "app",
        "break-glass-a",
        "ops/break-glass-b",
        "Break-Glass-Prod",
        "ops/deep/BREAK-GLASS-c",
        "break-glass/app",
        "my-break-glass",
    ];
    let arns: Vec<_> = names
        .iter()
        .map(|n| arn(&format!("arn:aws:iam::{ACCOUNT}:role/{n}")))
        .collect();
    for a in &arns {
        env.iam.inner.add_role(a, &[]);
    }
    let expected: BTreeSet<String> = [
        "break-glass-a",
        "ops/break-glass-b",
        "Break-Glass-Prod",
        "ops/deep/BREAK-GLASS-c",
    ]
    .iter()
    .map(|n| format!("arn:aws:iam::{ACCOUNT}:role/{n}"))
    .collect();

    let mut refused = BTreeSet::new();
    for a in &arns {
        env.command(ALICE, &format!("{a} INC-1 keys leaked")).await;
        if let Notice::RequestRefused {
            why:
                SubmitRefusal::Protected {
                    role,
                    protection: Protection::Configured { .. },
                },
            ..
        } = env.last_reply(ALICE)
        {
            refused.insert(role.to_string());
        }
    }

    let RoleOptions::Roles { options, .. } = env
        .app
        .role_options(
            &revoke_role_bot::domain::ids::SlackUserId::parse(ALICE).unwrap(),
            "",
        )
        .await
    else {
        panic!("Alice may list roles");
    };
    let locked: BTreeSet<String> = options
        .iter()
        .filter(|o| matches!(o.protection, Some(Protection::Configured { .. })))
        .map(|o| o.role.to_string())
        .collect();

    let listed = revoke_role_bot::cli::protected::protected_roles(
        env.iam.as_ref(),
        &env.settings.accounts,
        env.app.protection(),
    )
    .await;
    let check_config: BTreeSet<String> = listed
        .iter()
        .flat_map(|a| a.listed.as_ref().unwrap().by_pattern.clone())
        .flat_map(|(_, roles)| roles)
        .map(|r| r.to_string())
        .collect();
    let lines = revoke_role_bot::cli::protected::lines(&listed);
    assert!(
        lines[0].contains("protects role/Break-Glass-Prod")
            || lines[0].contains("role/ops/break-glass-b"),
        "{lines:?}"
    );

    assert_eq!(refused, expected, "refused");
    assert_eq!(locked, expected, "marked 🔒 in the type-ahead");
    assert_eq!(check_config, expected, "listed by check-config");
}
