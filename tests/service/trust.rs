//! Issue 8's defects, each as a test that failed on the old code: text the bot did not write
//! reaching Slack unescaped, a role written that was not the role checked, a second cut-off on
//! retry, IAM's lag ending in `failed`, and the audit chain's blind spots (see also
//! `domain::audit`'s unit tests).

use proptest::prelude::*;
use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::protection::Protection;
use revoke_role_bot::domain::request::{Action, Failure, NewRequest, Request, State};
use revoke_role_bot::domain::role_arn::AccountId;
use revoke_role_bot::service::accounts::AccountState;
use revoke_role_bot::service::notice::{Notice, SubmitRefusal};

use crate::support::*;

/// What may appear after `<` in text the bot sends: only mentions it built from validated ids.
fn mentions_only(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('<') {
        let rest = &text[i..];
        let ok = rest.starts_with("<@U") || rest.starts_with("<@W");
        if !ok {
            return Err(format!(
                "unexpected `{}` in: {text}",
                rest.chars().take(20).collect::<String>()
            ));
        }
    }
    Ok(())
}

fn assert_nothing_unescaped(env: &Env) {
    for s in env.slack.sent() {
        if let Err(e) = mentions_only(s.mrkdwn()) {
            panic!("{e}");
        }
    }
}

// ---- 1. nothing posted that the bot did not mean ----

#[tokio::test]
async fn a_typed_lookup_cannot_make_the_bot_ping_the_channel() {
    let env = Env::new();
    env.command(
        EVE,
        &format!("audit arn:aws:iam::{ACCOUNT}:role/<!channel>/x"),
    )
    .await;
    let replies = env.slack.replies_to(EVE);
    assert!(
        replies.iter().any(|(n, _)| n.in_channel()),
        "the lookup answered in the channel: {replies:?}"
    );
    assert_nothing_unescaped(&env);
    assert!(
        replies
            .iter()
            .any(|(_, text)| text.contains("&lt;!channel&gt;")),
        "the typed text is shown, escaped once: {replies:?}"
    );
}

#[tokio::test]
async fn a_role_path_holding_a_broadcast_cannot_ping_from_the_card() {
    let env = Env::new();
    env.iam.inner.add_role(
        &arn(&format!("arn:aws:iam::{ACCOUNT}:role/ops<!here>/app")),
        &[],
    );
    let request = env.request("app").await;
    assert_eq!(request.role().unwrap().path(), "/ops<!here>/");
    env.click(BOB, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Applied);
    assert_nothing_unescaped(&env);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn hostile_reasons_and_names_never_reach_slack_unescaped(
        reason in "[ -~]{3,80}",
        name in "[A-Za-z0-9+=,.@_-]{1,20}",
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let env = Env::new();
            env.iam.inner.add_role(&role(&name), &[]);
            env.command(ALICE, &format!("prod/{name} <!channel> {reason} <@U0EVE|eve> <https://evil.example|x>")).await;
            env.command(EVE, &format!("audit {reason}")).await;
            if let Some(card) = env.slack.cards().pop() {
                env.click(BOB, Action::Approve, card.request.id()).await;
                env.command(EVE, &format!("status {}", card.request.id())).await;
            }
            for s in env.slack.sent() {
                // The only mentions allowed are the bot's own, of validated ids (the requester
                // and approvers); a typed `<@U0EVE|eve>` is shown escaped.
                let text = s.mrkdwn();
                mentions_only(text).map_err(TestCaseError::fail)?;
                prop_assert!(!text.contains("<@U0EVE"), "{}", text);
            }
            Ok(())
        })?;
    }
}

// ---- 1b. nothing Slack would refuse, nothing Slack would link (issue 19) ----

const IC: &str = r#"
[identity_center]
instance_arn = "arn:aws:sso:::instance/ssoins-memory"
region = "us-east-1"
account = "prod"
"#;

/// The fast tier with Identity Center configured.
fn env_with_identity_center() -> Env {
    Env::with_config(&format!("{}{IC}", config()))
}

/// Every mrkdwn text object in a message is `verbatim` (Slack links nothing in it on its own),
/// and the message has blocks at all (a text-only message would be linked).
fn all_verbatim(text: &str) -> Result<(), String> {
    let mrkdwn = text.matches(r#""type":"mrkdwn""#).count();
    let verbatim = text.matches(r#""verbatim":true"#).count();
    if mrkdwn == 0 || mrkdwn != verbatim {
        return Err(format!(
            "{mrkdwn} mrkdwn objects, {verbatim} verbatim: {text}"
        ));
    }
    Ok(())
}

fn assert_nothing_refused_or_linked(env: &Env) {
    assert_eq!(env.slack.refusals(), Vec::<String>::new(), "Slack refused");
    for s in env.slack.sent() {
        if matches!(s, Sent::Form { .. }) {
            continue;
        }
        if let Err(e) = all_verbatim(s.mrkdwn()) {
            panic!("{e}");
        }
    }
}

/// Account ids for a permission set provisioned to `n` accounts.
fn accounts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{}", 200_000_000_000u64 + i as u64))
        .collect()
}

#[tokio::test]
async fn cards_slack_would_refuse_are_never_sent_whatever_the_path_reason_or_accounts() {
    let env = env_with_identity_center();
    let path = "&".repeat(500);
    env.iam.inner.add_role(
        &arn(&format!("arn:aws:iam::{ACCOUNT}:role/{path}/app")),
        &[],
    );
    let reason = "&".repeat(500);
    env.command(ALICE, &format!("prod/app {reason}")).await;
    let ids: Vec<_> = env
        .slack
        .cards()
        .iter()
        .map(|c| c.request.id().clone())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "the card was posted: {:?}",
        env.slack.refusals()
    );

    let list = accounts(150);
    let refs: Vec<&str> = list.iter().map(String::as_str).collect();
    env.ic.add_permission_set("Ops", "0123abcd", "PT8H", &refs);
    env.command(ALICE, &format!("permission-set Ops {reason}"))
        .await;
    assert_eq!(env.slack.cards().len(), 2, "{:?}", env.slack.refusals());
    let ps = env.slack.cards()[1].request.id().clone();

    // Approvable, and the whole text is in `status`.
    env.click(BOB, Action::Approve, &ids[0]).await;
    assert_eq!(env.state(&ids[0]).await, State::Applied);
    env.command(EVE, &format!("status {}", ids[0])).await;
    let (_, shown) = env.slack.replies_to(EVE).pop().unwrap();
    assert!(
        shown.contains(&"&amp;".repeat(500)),
        "the whole reason: {shown}"
    );
    assert!(
        shown.contains(&format!("/{}/app", "&amp;".repeat(500))),
        "the whole path"
    );
    env.command(EVE, &format!("status {ps}")).await;
    let (_, shown) = env.slack.replies_to(EVE).pop().unwrap();
    for account in &list {
        assert!(
            shown.contains(account.as_str()),
            "{account} missing from status"
        );
    }
    assert_nothing_refused_or_linked(&env);
}

#[tokio::test]
async fn a_bare_url_in_a_reason_is_posted_so_that_slack_links_nothing() {
    let env = Env::new();
    let request = {
        env.iam.inner.add_role(&role("app"), &[]);
        env.command(
            ALICE,
            "prod/app INC-1 see https://evil.example/reset-mfa and evil.example",
        )
        .await;
        env.slack.cards().pop().expect("a card").request
    };
    env.click(ALICE, Action::Approve, request.id()).await;
    env.click(BOB, Action::Approve, request.id()).await;
    env.command(EVE, &format!("status {}", request.id())).await;
    assert!(env.slack.thread().len() >= 2 && !env.slack.dms().is_empty());
    assert!(
        env.slack
            .sent()
            .iter()
            .all(|s| !s.mrkdwn().contains("<https://")),
        "no link built around the URL"
    );
    assert_nothing_refused_or_linked(&env);
}

/// The card Slack refuses anyway (a limit the bot does not know of): the minimal card, with the
/// buttons, so the request can still be approved.
#[tokio::test]
async fn a_card_slack_refuses_is_replaced_by_a_minimal_card_with_the_buttons() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    env.slack.refuse_full_cards();
    let request = env.request("app").await;
    let posted = env.slack.sent();
    let Some(Sent::Card { card, mrkdwn, .. }) = posted.first() else {
        panic!("{posted:?}")
    };
    assert!(card.minimal);
    for action in ["approve", "reject", "cancel"] {
        assert!(
            mrkdwn.contains(&format!(r#""action_id":"{action}""#)),
            "{mrkdwn}"
        );
    }
    assert!(matches!(env.last_reply(ALICE), Notice::AwaitingApproval(_)));
    env.click(BOB, Action::Approve, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Applied);
    assert!(matches!(env.last_update(), Sent::Update { card, .. } if card.minimal));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Hostile lengths and characters on every surface the bot sends (the card, its updates, the
    /// thread, direct messages, replies, lookups, the form and the type-ahead): Slack's limits
    /// hold, nothing is left unescaped, and nothing is linked.
    #[test]
    fn every_surface_stays_within_slacks_limits_with_hostile_lengths_and_characters(
        path in "[&<>!@|:.a-z]{1,500}",
        reason in "[&<>@!|:/. a-zA-Z0-9]{3,500}",
        junk in "[&<>@!|:/. a-z0-9-]{0,5000}",
        n_accounts in 1usize..400,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let env = env_with_identity_center();
            env.iam.inner.add_role(&arn(&format!("arn:aws:iam::{ACCOUNT}:role/{path}/app")), &[]);
            env.command(ALICE, &format!("prod/app {reason} <!channel> https://evil.example/x")).await;
            env.command(ALICE, &format!("prod/app {reason}")).await;
            let list = accounts(n_accounts);
            let refs: Vec<&str> = list.iter().map(String::as_str).collect();
            env.ic.add_permission_set("Ops", "0123abcd", "PT8H", &refs);
            env.command(ALICE, &format!("permission-set Ops {reason}")).await;
            env.command(EVE, &format!("audit {junk}")).await;
            env.command(EVE, &format!("prod/{junk}")).await;
            env.command(ALICE, "").await;
            let alice = revoke_role_bot::domain::ids::SlackUserId::parse(ALICE).unwrap();
            let query: String = junk.chars().take(128).collect();
            for q in [query.as_str(), "app", ""] {
                let options = revoke_role_bot::slack::form::options_json(&env.app.role_options(&alice, q).await);
                revoke_role_bot::slack::limits::validate_options(&options).map_err(TestCaseError::fail)?;
            }
            let cards = env.slack.cards();
            prop_assert!(cards.len() >= 2, "cards: {:?}", env.slack.refusals());
            for card in &cards {
                env.click(ALICE, Action::Approve, card.request.id()).await;
                env.click(BOB, Action::Approve, card.request.id()).await;
                env.command(EVE, &format!("status {}", card.request.id())).await;
            }
            env.command(EVE, "audit").await;
            prop_assert_eq!(env.slack.refusals(), Vec::<String>::new());
            for s in env.slack.sent() {
                if matches!(s, Sent::Form { .. }) {
                    continue;
                }
                mentions_only(s.mrkdwn()).map_err(TestCaseError::fail)?;
                all_verbatim(s.mrkdwn()).map_err(TestCaseError::fail)?;
            }
            Ok(())
        })?;
    }
}

// ---- 2. the role written is the role checked ----

#[tokio::test]
async fn a_typed_partition_does_not_select_a_protection_pattern() {
    // Allow every partition, protect break-glass roles in `aws`; the role lives in `aws`.
    let env = Env::with_config(&config().replace(
        r#"allow = ["arn:aws:iam::*:role/*"]"#,
        r#"allow = ["arn:*:iam::*:role/*"]"#,
    ));
    env.iam.inner.add_role(&role("break-glass-x"), &[]);
    env.command(
        ALICE,
        &format!("arn:aws-cn:iam::{ACCOUNT}:role/break-glass-x INC-1 keys leaked"),
    )
    .await;
    assert!(env.slack.cards().is_empty());
    let (notice, _) = env.slack.replies_to(ALICE).pop().unwrap();
    assert!(
        matches!(
            notice,
            Notice::RequestRefused {
                why: SubmitRefusal::Mismatch { .. },
                ..
            }
        ),
        "{notice:?}"
    );
    assert!(env.iam.puts().is_empty());
}

const GHOST: &str = r#"
[[accounts]]
id = "999999999999"
name = "ghost"
"#;

#[tokio::test]
async fn credentials_of_another_account_mark_it_wrong_refuse_it_by_name_and_serve_the_others() {
    let env = Env::with_config(&format!("{}{GHOST}", config()));
    let ghost = AccountId::parse("999999999999").unwrap();
    // The ghost account has no assume_role_arn: its "credentials" are really the bot's own.
    env.iam
        .inner
        .misconfigure(&ghost, &AccountId::parse(ACCOUNT).unwrap());
    env.iam.inner.add_role(&role("foo"), &[]);
    // The check does not fail: it marks the account.
    assert_eq!(env.app.check_accounts().await, 1);
    let states = env.app.account_states();
    let ghost_state = states.iter().find(|s| s.account.id == ghost).unwrap();
    assert_eq!(
        ghost_state.state,
        AccountState::WrongAccount {
            actual: AccountId::parse(ACCOUNT).unwrap()
        }
    );
    assert!(ghost_state.checked_at.is_some());
    let metrics = env.app.metrics().render();
    assert!(
        metrics.lines().any(|l| l
            == "revoke_role_bot_account_state{account=\"999999999999\",state=\"wrong_account\"} 1"),
        "{metrics}"
    );

    env.command(ALICE, "ghost/foo INC-1 keys leaked").await;
    assert!(env.slack.cards().is_empty());
    let refused = env.last_reply(ALICE);
    assert!(
        matches!(
            &refused,
            Notice::RequestRefused {
                why: SubmitRefusal::Iam {
                    failure: Failure::AccountNotConfirmed { account, belongs_to: Some(actual) },
                    ..
                },
                ..
            } if account == "999999999999" && actual == ACCOUNT
        ),
        "{refused:?}"
    );
    assert!(env.iam.puts().is_empty());
    assert!(env.policy(&role("foo")).is_none());
    // The form's type-ahead lists the other account's roles and names this one as unavailable.
    let alice = revoke_role_bot::domain::ids::SlackUserId::parse(ALICE).unwrap();
    let revoke_role_bot::service::modal::RoleOptions::Roles {
        options,
        unavailable,
        ..
    } = env.app.role_options(&alice, "foo").await
    else {
        panic!("a list of roles")
    };
    assert_eq!(unavailable, vec!["ghost".to_string()]);
    assert!(options.iter().all(|o| o.role.account().as_str() == ACCOUNT));
    assert!(!options.is_empty());

    // The configured account next to it is served.
    let request = env.request("foo").await;
    env.approve(BOB, request.id()).await;
    assert_eq!(env.state(request.id()).await, State::Applied);
}

#[tokio::test]
async fn an_approval_for_an_account_that_stopped_being_confirmed_fails_naming_it_and_writes_nothing()
 {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    // Between the card and the click, the account's credentials turn out to be another
    // account's (a re-check found it).
    env.iam.inner.misconfigure(
        &AccountId::parse(ACCOUNT).unwrap(),
        &AccountId::parse("999999999999").unwrap(),
    );
    assert_eq!(env.app.check_accounts().await, 0);
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(done.state(), State::Failed);
    assert!(
        matches!(
            done.failure(),
            Some(Failure::AccountNotConfirmed { account, belongs_to: Some(_) }) if account == ACCOUNT
        ),
        "{:?}",
        done.failure()
    );
    assert!(env.iam.puts().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_periodic_recheck_confirms_an_account_once_its_credentials_are_right() {
    let env = Env::with_config(&format!("{}{GHOST}", config()));
    let ghost = AccountId::parse("999999999999").unwrap();
    let state = |env: &Env| {
        env.app
            .account_states()
            .into_iter()
            .find(|s| s.account.id == ghost)
            .map(|s| s.state)
    };
    env.iam
        .inner
        .misconfigure(&ghost, &AccountId::parse(ACCOUNT).unwrap());
    env.app
        .watch_accounts(revoke_role_bot::startup::ACCOUNT_RECHECK_INTERVAL);
    while !matches!(state(&env), Some(AccountState::WrongAccount { .. })) {
        tokio::task::yield_now().await;
    }
    // Someone fixes the account's credentials; the next pass (time is paused and jumps ahead
    // whenever the loop sleeps) confirms it without a restart.
    env.iam.inner.misconfigure(&ghost, &ghost);
    while state(&env) != Some(AccountState::Confirmed) {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert_eq!(env.app.drain(std::time::Duration::from_secs(5)).await, 0);
}

#[tokio::test]
async fn the_roles_the_bot_assumes_in_target_accounts_are_protected() {
    let env = Env::with_config(&format!(
        "{}\n[[accounts]]\nid = \"222222222222\"\nname = \"payments\"\nassume_role_arn = \"arn:aws:iam::222222222222:role/automation/revoke-role-bot-target\"\n",
        config()
    ));
    env.iam.inner.add_role(
        &arn("arn:aws:iam::222222222222:role/automation/revoke-role-bot-target"),
        &[],
    );
    env.command(ALICE, "payments/revoke-role-bot-target INC-1 keys leaked")
        .await;
    assert!(env.slack.cards().is_empty());
    assert!(matches!(
        env.last_reply(ALICE),
        Notice::RequestRefused {
            why: SubmitRefusal::Protected {
                protection: Protection::BotTargetRole,
                ..
            },
            ..
        }
    ));
    assert!(env.iam.puts().is_empty());
}

#[tokio::test]
async fn recovery_rechecks_protection_before_writing_an_approved_request() {
    let env = Env::new();
    let protected = role("break-glass-admin");
    env.iam.inner.add_role(&protected, &[]);
    // An `approved` item nobody checked (written by hand, or by a buggy or older version).
    let request = Request::pending(
        NewRequest {
            role: protected.clone(),
            requester: revoke_role_bot::domain::ids::SlackUserId::parse(ALICE).unwrap(),
            reason: "INC-1".into(),
            channel: revoke_role_bot::domain::ids::ChannelId::parse(CHANNEL).unwrap(),
            approvals_required: 1,
            preview: None,
        },
        t0(),
        chrono::Duration::minutes(30),
    );
    let requested = revoke_role_bot::domain::audit::EventDraft::new(
        request.id().clone(),
        EventKind::Requested,
        ALICE,
        t0(),
    );
    use revoke_role_bot::ports::AuditStore;
    env.store.create(&request, requested, None).await.unwrap();
    let revoke_role_bot::domain::request::Decision::Transition(t) = request.decide(
        Action::Approve,
        &revoke_role_bot::domain::ids::SlackUserId::parse(BOB).unwrap(),
        true,
        t0(),
    ) else {
        panic!("Bob may approve");
    };
    env.store.transition(&t.next, t.event).await.unwrap();

    env.app.recover().await.unwrap();
    let done = env.stored(request.id()).await;
    assert_eq!(done.state(), State::Failed);
    assert!(matches!(
        done.failure(),
        Some(Failure::Protected {
            protection: Protection::Configured { .. }
        })
    ));
    assert!(env.iam.puts().is_empty());
}

// ---- 3. one request, one cut-off ----

#[tokio::test]
async fn a_recovery_pass_after_a_store_failure_writes_the_same_cutoff_again() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    // The policy is written, then the outcome cannot be recorded: the request stays approved.
    *env.store.fail_outcomes.lock().unwrap() = 1;
    let stuck = env.approve(BOB, request.id()).await;
    assert_eq!(stuck.state(), State::Approved);
    let first = token_issue_time(&env.policy(&role("app")).unwrap());
    assert_eq!(first, "2026-11-23T12:00:01Z");

    // 76 s later, past the lease, recovery finishes it: with the cut-off decided at approval.
    env.clock.advance(chrono::Duration::seconds(76));
    env.app.recover().await.unwrap();
    let done = env.stored(request.id()).await;
    assert_eq!(done.state(), State::Applied);
    assert_eq!(done.cutoff().unwrap().to_string(), first);
    // The deny with this request's cut-off is already there: nothing is written again, and
    // nothing later.
    let puts = env.iam.puts();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(puts[0].1.contains(&first));
    assert_eq!(token_issue_time(&env.policy(&role("app")).unwrap()), first);
}

// ---- 4. IAM's eventual consistency ----

#[tokio::test(start_paused = true)]
async fn a_read_back_that_lags_is_retried_and_ends_applied_and_verified() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    env.iam.lag(3);
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(done.state(), State::Applied);
    assert!(done.written().unwrap().verified);
    assert_eq!(env.iam.puts().len(), 1, "no second write for a stale read");
}

#[tokio::test(start_paused = true)]
async fn a_write_never_seen_back_ends_applied_as_written_not_verified_never_failed() {
    let env = Env::new();
    let request = env.role_and_request("app").await;
    env.iam.lag(1_000);
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(done.state(), State::Applied);
    assert!(!done.written().unwrap().verified);
    let card = env.last_update();
    assert!(
        card.mrkdwn().contains("Written, not verified"),
        "{}",
        card.mrkdwn()
    );
    assert_eq!(env.iam.puts().len(), 1);
}

// ---- 5. an existing cut-off in another form ----

#[tokio::test]
async fn an_existing_later_cutoff_written_as_a_list_is_kept() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":["2099-01-01T00:00:00Z"]}}}]}"#;
    env.iam
        .inner
        .put_inline(&role("app"), "AWSRevokeOlderSessions", list);
    let request = env.request("app").await;
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(done.state(), State::Applied);
    assert_eq!(
        done.written().unwrap().in_force.to_string(),
        "2099-01-01T00:00:00Z"
    );
    assert_eq!(
        token_issue_time(&env.policy(&role("app")).unwrap()),
        "2099-01-01T00:00:00Z"
    );
}

#[tokio::test]
async fn a_document_the_bot_does_not_understand_is_never_overwritten() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    let odd = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"ForAnyValue:DateLessThan":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}}]}"#;
    env.iam
        .inner
        .put_inline(&role("app"), "AWSRevokeOlderSessions", odd);
    let request = env.request("app").await;
    let done = env.approve(BOB, request.id()).await;
    assert_eq!(done.state(), State::Failed);
    assert!(matches!(
        done.failure(),
        Some(Failure::PolicyNotUnderstood { .. })
    ));
    assert_eq!(env.iam.inner.policy(&role("app")).as_deref(), Some(odd));
    assert!(env.iam.puts().is_empty());
}
