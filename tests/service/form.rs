//! The request form (issue 14 part 5, README "The request form, and who can come back"): `/revoke-role` with no arguments opens it, the
//! type-ahead lists the configured accounts' roles with protected ones marked, and a submission
//! makes the same request as the one-line form; refusals show in the form or, when they need IAM,
//! as an ephemeral message in the channel.

use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::ids::{ChannelId, SlackUserId};
use revoke_role_bot::domain::request::{Failure, State};
use revoke_role_bot::ports::AuditStore;
use revoke_role_bot::service::modal::{FormField, FormProblem, FormSubmission, RoleOptions};
use revoke_role_bot::service::notice::{Notice, SubmitRefusal};
use revoke_role_bot::slack::form;

use crate::support::*;

/// `user` submits the form `view`: the problems shown in the form, if any.
fn submit(
    env: &Env,
    user: &str,
    view: &str,
    role: Option<&str>,
    reason: &str,
) -> Result<(), Vec<(FormField, FormProblem)>> {
    env.app.on_form_submission(FormSubmission {
        user: SlackUserId::parse(user).unwrap(),
        channel: ChannelId::parse(CHANNEL).unwrap(),
        view_id: view.to_string(),
        role: role.map(str::to_string),
        reason: Some(reason.to_string()),
    })
}

/// The details of the refusals recorded in the audit chain.
async fn refusals_recorded(env: &Env) -> Vec<String> {
    let (events, _) = env.store.inner.whole_chain().await.unwrap();
    events
        .iter()
        .filter(|e| e.draft.kind == EventKind::RequestRefused)
        .map(|e| e.draft.detail.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn an_empty_command_opens_the_form_and_help_still_shows_usage() {
    let env = Env::new();
    let notice = env.command(ALICE, "  ").await;
    assert!(matches!(notice, Notice::OpeningForm), "{notice:?}");
    let forms = env.slack.forms();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0].0, "trigger.1");
    assert_eq!(forms[0].1.channel.as_str(), CHANNEL);
    assert!(matches!(env.command(ALICE, "help").await, Notice::Usage));
    assert_eq!(env.slack.forms().len(), 1, "help opens no form");
}

#[tokio::test]
async fn a_form_slack_refuses_to_open_is_said_with_the_usage() {
    let env = Env::new();
    *env.slack.forms_fail.lock().unwrap() = true;
    env.command(ALICE, "").await;
    let replies = env.slack.replies_to(ALICE);
    assert!(
        matches!(&replies[..], [(Notice::FormNotOpened { slack_error }, text)]
            if slack_error == "expired_trigger_id" && text.contains("could not be opened (expired_trigger_id)") && text.contains("/revoke-role <role> <reason>")),
        "{replies:?}"
    );
}

#[tokio::test]
async fn the_type_ahead_lists_configured_roles_and_marks_protected_ones() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    env.iam.inner.add_role(&role("app-deploy"), &[]);
    env.iam.inner.add_role(&role("break-glass-admin"), &[]);
    // A role in an account the bot is not configured for is never offered.
    env.iam
        .inner
        .add_role(&arn("arn:aws:iam::222222222222:role/app-elsewhere"), &[]);
    let alice = SlackUserId::parse(ALICE).unwrap();
    let RoleOptions::Roles {
        options,
        more,
        unavailable,
    } = env.app.role_options(&alice, "").await
    else {
        panic!()
    };
    assert!(!more && unavailable.is_empty());
    let names: Vec<_> = options.iter().map(|o| o.role.name().to_string()).collect();
    assert_eq!(names, vec!["app", "app-deploy", "break-glass-admin"]);
    assert!(options[0].protection.is_none());
    assert!(options[2].protection.is_some());
    let json = form::options_json(&env.app.role_options(&alice, "").await);
    assert_eq!(
        json["options"][0]["value"],
        "arn:aws:iam::111111111111:role/app"
    );
    assert_eq!(json["options"][0]["text"]["text"], "prod/app");
    assert_eq!(
        json["options"][2]["text"]["text"],
        "🔒 prod/break-glass-admin (protected: roles.protect)"
    );
    // Type-ahead: what was typed narrows the list, ignoring case.
    let RoleOptions::Roles { options, .. } = env.app.role_options(&alice, "DEPLOY").await else {
        panic!()
    };
    assert_eq!(options.len(), 1);
    assert_eq!(options[0].role, role("app-deploy"));
    // Someone who may not ask sees no role names.
    let eve = SlackUserId::parse(EVE).unwrap();
    assert_eq!(
        env.app.role_options(&eve, "").await,
        RoleOptions::NotARequester
    );
    assert_eq!(
        form::options_json(&RoleOptions::NotARequester)["options"][0]["value"],
        "!not-a-requester"
    );
}

#[tokio::test]
async fn a_submitted_form_makes_the_same_request_as_the_one_line_form() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &["web"]);
    let chosen = role("app").to_string();
    submit(&env, ALICE, "V1", Some(&chosen), "  INC-7 keys leaked  ").unwrap();
    env.app.settle().await;
    let from_form = env.slack.cards().pop().expect("a card").request;
    // The same, typed.
    env.command(BOB, "prod/app INC-7 keys leaked").await;
    let typed = env.slack.cards().pop().expect("a card").request;
    assert_eq!(from_form.role(), typed.role());
    assert_eq!(from_form.reason(), "INC-7 keys leaked");
    assert_eq!(from_form.reason(), typed.reason());
    assert_eq!(from_form.preview(), typed.preview());
    assert_eq!(from_form.requester().as_str(), ALICE);
    assert_eq!(from_form.state(), State::Pending);
    assert_eq!(
        env.event_kinds(from_form.id()).await,
        vec![EventKind::Requested]
    );
    // The same form delivered twice makes one request.
    submit(&env, ALICE, "V1", Some(&chosen), "INC-7 keys leaked").unwrap();
    env.app.settle().await;
    assert_eq!(env.slack.cards().len(), 2);
    // What the one-line form answers through response_url comes ephemerally, once.
    let told = env.slack.ephemeral_to(ALICE);
    assert!(
        matches!(&told[..], [(c, Notice::AwaitingApproval(id), _)] if id == from_form.id() && c.as_str() == CHANNEL),
        "{told:?}"
    );
}

#[tokio::test]
async fn what_needs_no_network_is_refused_in_the_form() {
    let env = Env::new();
    let problems = submit(&env, ALICE, "V2", None, "no").unwrap_err();
    assert_eq!(
        problems,
        vec![
            (FormField::Role, FormProblem::NoRole),
            (FormField::Reason, FormProblem::ReasonLength { len: 2 })
        ]
    );
    let json = form::errors_json(&problems);
    assert_eq!(json["response_action"], "errors");
    assert_eq!(json["errors"]["role"], "Choose a role from the list.");
    assert!(
        json["errors"]["reason"]
            .as_str()
            .unwrap()
            .contains("3–500 characters (this one has 2)")
    );
    let long = "x".repeat(501);
    let problems = submit(&env, ALICE, "V3", Some(&role("app").to_string()), &long).unwrap_err();
    assert_eq!(
        problems,
        vec![(FormField::Reason, FormProblem::ReasonLength { len: 501 })]
    );
    // A placeholder option is not a role; a role in another account is not configured.
    let problems = submit(&env, ALICE, "V4", Some("!unavailable"), "INC-1 x").unwrap_err();
    assert_eq!(problems, vec![(FormField::Role, FormProblem::NoRole)]);
    let problems = submit(
        &env,
        ALICE,
        "V5",
        Some("arn:aws:iam::222222222222:role/app"),
        "INC-1 x",
    )
    .unwrap_err();
    assert!(
        matches!(
            &problems[..],
            [(FormField::Role, FormProblem::Unresolvable(_))]
        ),
        "{problems:?}"
    );
    env.app.settle().await;
    assert!(env.slack.cards().is_empty());
    // As for the one-line form, a role outside the configured accounts is a recorded refusal.
    assert_eq!(refusals_recorded(&env).await, vec!["unresolvable_role"]);
}

#[tokio::test]
async fn a_protected_role_is_refused_in_the_form_and_the_refusal_recorded() {
    let env = Env::new();
    env.iam.inner.add_role(&role("break-glass-admin"), &[]);
    let problems = submit(
        &env,
        ALICE,
        "V6",
        Some(&role("break-glass-admin").to_string()),
        "INC-1 <!channel>",
    )
    .unwrap_err();
    assert!(
        matches!(
            &problems[..],
            [(FormField::Role, FormProblem::Protected { .. })]
        ),
        "{problems:?}"
    );
    let json = form::errors_json(&problems);
    assert_eq!(
        json["errors"]["role"],
        "`arn:aws:iam::111111111111:role/break-glass-admin` is protected by the bot's configuration (`arn:aws:iam::*:role/break-glass-*`)."
    );
    env.app.settle().await;
    assert!(env.slack.cards().is_empty());
    let refusals = refusals_recorded(&env).await;
    assert!(
        refusals.iter().any(|d| d == "protected_role"),
        "{refusals:?}"
    );
}

#[tokio::test]
async fn refusals_that_need_iam_or_slack_arrive_ephemerally_in_the_channel() {
    let env = Env::new();
    // No such role: only GetRole can tell.
    submit(
        &env,
        ALICE,
        "V7",
        Some(&role("ghost").to_string()),
        "INC-1 keys",
    )
    .unwrap();
    // Not a requester: only the access list (through Slack) can tell.
    env.iam.inner.add_role(&role("app"), &[]);
    submit(
        &env,
        EVE,
        "V8",
        Some(&role("app").to_string()),
        "INC-1 keys",
    )
    .unwrap();
    env.app.settle().await;
    assert!(env.slack.cards().is_empty());
    let alice = env.slack.ephemeral_to(ALICE);
    assert!(
        matches!(&alice[..], [(channel, Notice::RequestRefused { why: SubmitRefusal::Iam { failure: Failure::RoleNotFound, .. }, recorded: true }, text)]
            if channel.as_str() == CHANNEL && text.contains("does not exist")),
        "{alice:?}"
    );
    let eve = env.slack.ephemeral_to(EVE);
    assert!(
        matches!(
            &eve[..],
            [(
                _,
                Notice::RequestRefused {
                    why: SubmitRefusal::NotARequester,
                    ..
                },
                _
            )]
        ),
        "{eve:?}"
    );
    assert!(
        env.slack.replies_to(ALICE).is_empty(),
        "no response_url for a form"
    );
}

/// The names `role_options` offers for `query`.
async fn offered(env: &Env, query: &str) -> Vec<String> {
    let alice = SlackUserId::parse(ALICE).unwrap();
    let RoleOptions::Roles { options, .. } = env.app.role_options(&alice, query).await else {
        panic!("no roles for {query}")
    };
    options.iter().map(|o| o.role.name().to_string()).collect()
}

#[tokio::test]
async fn a_twenty_keystroke_search_over_5000_roles_reads_the_account_once() {
    let env = Env::new();
    for i in 0..5_000 {
        env.iam.inner.add_role(&role(&format!("svc-{i:04}")), &[]);
    }
    let typed = "svc-0042-and-more-xx";
    let keystrokes: Vec<&str> = (1..=20).map(|n| &typed[..n]).collect();
    // Keystrokes that arrive together share one read (single-flight)…
    let answers = futures::future::join_all(keystrokes.iter().map(|q| offered(&env, q))).await;
    assert_eq!(answers[7], vec!["svc-0042"]);
    assert_eq!(answers[6].len(), 10, "svc-0040 … svc-0049");
    assert_eq!(answers[3].len(), 100, "Slack shows at most 100 options");
    // …and later ones are answered from memory.
    for q in &keystrokes {
        offered(&env, q).await;
    }
    assert_eq!(env.iam.role_listings.lock().unwrap().len(), 1);
    // One read of 5,000 roles is five ListRoles pages, counted in /metrics.
    assert_eq!(env.app.metrics().list_roles_calls(), 5);
    assert!(
        env.app
            .metrics()
            .render()
            .contains("revoke_role_bot_list_roles_calls_total 5")
    );
}

#[tokio::test]
async fn the_role_list_is_refreshed_at_most_once_a_minute() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    assert_eq!(offered(&env, "").await, vec!["app"]);
    env.iam.inner.add_role(&role("app-new"), &[]);
    env.clock.advance(chrono::Duration::seconds(59));
    assert_eq!(
        offered(&env, "").await,
        vec!["app"],
        "still the cached list"
    );
    env.app.settle().await;
    assert_eq!(env.iam.role_listings.lock().unwrap().len(), 1);
    // Past a minute, the keystroke is answered at once from the old list while one refresh runs.
    env.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(offered(&env, "").await, vec!["app"]);
    assert_eq!(offered(&env, "").await, vec!["app"]);
    env.app.settle().await;
    assert_eq!(env.iam.role_listings.lock().unwrap().len(), 2);
    assert_eq!(offered(&env, "").await, vec!["app", "app-new"]);
}

#[tokio::test]
async fn an_account_that_cannot_be_listed_is_not_asked_again_on_every_keystroke() {
    let env = Env::new();
    env.iam
        .unlistable
        .lock()
        .unwrap()
        .push(revoke_role_bot::domain::role_arn::AccountId::parse(ACCOUNT).unwrap());
    let alice = SlackUserId::parse(ALICE).unwrap();
    for q in ["a", "ap", "app"] {
        let RoleOptions::Roles { unavailable, .. } = env.app.role_options(&alice, q).await else {
            panic!()
        };
        assert_eq!(unavailable, vec!["prod".to_string()]);
    }
    assert_eq!(env.iam.role_listings.lock().unwrap().len(), 1);
    // Once the retry pause has passed, the next keystroke asks IAM again.
    env.clock.advance(chrono::Duration::seconds(16));
    env.iam.unlistable.lock().unwrap().clear();
    env.iam.inner.add_role(&role("app"), &[]);
    assert_eq!(offered(&env, "app").await, vec!["app"]);
    assert_eq!(env.iam.role_listings.lock().unwrap().len(), 2);
}
