//! Identity Center permission sets (SPEC §10) over the in-memory Identity Center.

use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::protection::Protection;
use revoke_role_bot::domain::request::{Action, Failure, State};
use revoke_role_bot::ports::Provisioning;
use revoke_role_bot::service::notice::{Notice, SubmitRefusal};
use revoke_role_bot::service::slot::PROVISIONING_BACKOFF;

use crate::support::*;

const IC: &str = r#"
[identity_center]
instance_arn = "arn:aws:sso:::instance/ssoins-memory"
region = "us-east-1"
account = "prod"
protect = ["AdministratorAccess"]
"#;

fn env() -> Env {
    Env::with_config(&format!("{}{IC}", config()))
}

const OTHER: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadData","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::data/*"]}]}"#;

fn statements(doc: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(doc).unwrap();
    v["Statement"].as_array().unwrap().clone()
}

fn refusal(env: &Env) -> SubmitRefusal {
    match env.last_reply(ALICE) {
        Notice::RequestRefused { why, .. } => why,
        other => panic!("expected a refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_permission_set_is_revoked_with_the_other_statements_kept_provisioned_and_verified() {
    let env = env();
    let arn = env.ic.add_permission_set(
        "DataEngineer",
        "0123abcd",
        "PT8H",
        &[ACCOUNT, "222222222222"],
    );
    env.ic.set_inline(&arn, Some(OTHER));
    env.command(ALICE, "permission-set DataEngineer INC-7 laptop stolen")
        .await;
    let card = env.slack.cards().pop().expect("a card");
    let text = env.slack.sent()[0].mrkdwn().to_string();
    for expected in [
        "DataEngineer",
        "Every user of this permission set, in every account it is provisioned to",
        "111111111111, 222222222222",
        "8 h",
        "infrastructure code",
    ] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
    let id = card.request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Applied, "{:?}", done.status());
    assert!(done.written().unwrap().verified);
    let doc = env.ic.inline(&arn).unwrap();
    let st = statements(&doc);
    assert_eq!(st.len(), 2, "{doc}");
    assert_eq!(st[0]["Sid"], "ReadData");
    assert_eq!(st[1]["Sid"], "AWSRevokeOlderSessions");
    assert_eq!(st[1]["Effect"], "Deny");
    assert_eq!(
        st[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        "2026-11-23T12:00:01Z"
    );
    assert_eq!(env.ic.provisioned(), 1);
    let events = env.events(&id).await;
    assert_eq!(events[0].draft.role_arn.as_deref(), Some(arn.as_str()));
    assert!(
        events[0]
            .draft
            .detail
            .as_deref()
            .unwrap()
            .contains("222222222222")
    );
    assert_eq!(events.last().unwrap().draft.kind, EventKind::Applied);
}

#[tokio::test]
async fn an_identity_center_role_becomes_a_permission_set_request() {
    let env = env();
    env.ic
        .add_permission_set("Data_Admin", "0456", "PT1H", &[ACCOUNT]);
    env.command(
        ALICE,
        "prod/AWSReservedSSO_Data_Admin_0123456789abcdef INC-7 keys leaked",
    )
    .await;
    let card = env.slack.cards().pop().expect("a card");
    assert_eq!(card.request.permission_set().unwrap().name, "Data_Admin");
}

#[tokio::test]
async fn without_identity_center_the_refusal_says_how_to_configure_it() {
    let env = Env::new();
    env.command(ALICE, "permission-set DataEngineer INC-7 laptop stolen")
        .await;
    assert_eq!(refusal(&env), SubmitRefusal::IdentityCenterNotConfigured);
    let text = env.slack.replies_to(ALICE).pop().unwrap().1;
    assert!(text.contains("[identity_center]"), "{text}");

    env.command(
        ALICE,
        "prod/AWSReservedSSO_Data_0123456789abcdef INC-7 keys leaked",
    )
    .await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::Protected {
            protection: Protection::IdentityCenter,
            ..
        }
    ));
    let text = env.slack.replies_to(ALICE).pop().unwrap().1;
    assert!(text.contains("[identity_center]"), "{text}");
}

#[tokio::test]
async fn unknown_protected_and_full_permission_sets_are_refused() {
    let env = env();
    env.command(ALICE, "permission-set Nope INC-7 keys").await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::UnknownPermissionSet { .. }
    ));

    env.ic
        .add_permission_set("AdministratorAccess", "0999", "PT1H", &[ACCOUNT]);
    env.command(ALICE, "permission-set AdministratorAccess INC-7 keys")
        .await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::PermissionSetProtected { .. }
    ));

    let arn = env.ic.add_permission_set("Big", "0777", "PT1H", &[ACCOUNT]);
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["{}"]}}]}}"#,
        "x".repeat(32_700)
    );
    env.ic.set_inline(&arn, Some(&big));
    env.command(ALICE, "permission-set Big INC-7 keys").await;
    assert!(matches!(
        refusal(&env),
        SubmitRefusal::PermissionSetPolicyFull { .. }
    ));
    assert!(env.slack.cards().is_empty());
}

#[tokio::test(start_paused = true)]
async fn provisioning_in_progress_is_waited_for_and_a_failure_is_reported_with_awss_reason() {
    let env = env();
    let arn = env.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    env.ic.script(vec![
        Provisioning::InProgress {
            request_id: "r-1".into(),
        },
        Provisioning::InProgress {
            request_id: "r-1".into(),
        },
        Provisioning::Succeeded,
    ]);
    env.command(ALICE, "permission-set Ops INC-8 keys").await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    let approved_at = tokio::time::Instant::now();
    env.click(BOB, Action::Approve, &id).await;
    assert_eq!(env.state(&id).await, State::Applied);
    // Applied only after both in-progress answers: the status read again after each pause.
    assert!(
        approved_at.elapsed() >= PROVISIONING_BACKOFF[0] + PROVISIONING_BACKOFF[1],
        "applied without waiting for provisioning: {:?}",
        approved_at.elapsed()
    );

    // A second revocation whose provisioning fails: AWS's reason, escaped, on the card.
    env.clock.advance(chrono::Duration::minutes(1));
    env.ic.script(vec![Provisioning::Failed {
        reason: "Account 222222222222 <!here> is suspended".into(),
    }]);
    env.command(ALICE, "permission-set Ops INC-9 keys again")
        .await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Failed);
    assert!(
        matches!(done.failure(), Some(Failure::ProvisioningFailed { reason }) if reason.contains("suspended"))
    );
    let card = env.slack.last_card().unwrap();
    let text = revoke_role_bot::slack::blocks::card_text(&card).into_string();
    assert!(
        text.contains("suspended") && text.contains("&lt;!here&gt;"),
        "{text}"
    );
    assert!(env.ic.inline(&arn).is_some());
}

#[tokio::test]
async fn a_later_cutoff_in_a_permission_set_stays() {
    let env = env();
    let arn = env
        .ic
        .add_permission_set("Later", "0bbb", "PT1H", &[ACCOUNT]);
    let later = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":["2099-01-01T00:00:00Z"]}}}]}"#;
    env.ic.set_inline(&arn, Some(later));
    env.command(ALICE, "permission-set Later INC-10 keys").await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Applied);
    assert_eq!(
        done.written().unwrap().in_force.to_string(),
        "2099-01-01T00:00:00Z"
    );
    assert_eq!(env.ic.inline(&arn).as_deref(), Some(later));
}

#[tokio::test(start_paused = true)]
async fn provisioning_still_in_progress_after_every_pause_is_reported_as_timed_out() {
    let env = env();
    env.ic.add_permission_set("Ops", "0aaa", "PT2H", &[ACCOUNT]);
    let in_progress = || Provisioning::InProgress {
        request_id: "r-1".into(),
    };
    // The answer to `ProvisionPermissionSet`, then one status check after each of the nine
    // pauses: the last check still in progress.
    env.ic.script(vec![in_progress(); 10]);
    env.command(ALICE, "permission-set Ops INC-8 keys").await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    let done = env.stored(&id).await;
    assert_eq!(done.state(), State::Failed);
    assert!(matches!(
        done.failure(),
        Some(Failure::ProvisioningTimedOut)
    ));

    // Done at the last status check: applied.
    env.clock.advance(chrono::Duration::minutes(1));
    let mut script = vec![in_progress(); 9];
    script.push(Provisioning::Succeeded);
    env.ic.script(script);
    env.command(ALICE, "permission-set Ops INC-9 keys again")
        .await;
    let id = env.slack.cards().pop().unwrap().request.id().clone();
    env.click(BOB, Action::Approve, &id).await;
    assert_eq!(env.state(&id).await, State::Applied);
}
