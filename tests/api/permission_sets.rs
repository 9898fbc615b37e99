//! Identity Center permission sets end to end (README "Identity Center permission sets"): the real server, moto's sso-admin (with
//! the fixture answering DescribePermissionSetProvisioningStatus), DynamoDB Local and the fake Slack.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ssoadmin::Client as SsoAdmin;
use revoke_role_bot::domain::audit::EventKind;
use revoke_role_bot::domain::request::State;
use serde_json::json;

use crate::helpers::*;

/// A permission set made for one test (also the Identity Center contract's, identity_center_contract.rs).
#[derive(Clone)]
pub(crate) struct PermissionSet {
    pub(crate) instance: String,
    pub(crate) arn: String,
    pub(crate) name: String,
}

pub(crate) async fn permission_set(inline: Option<&str>) -> PermissionSet {
    let sso = SsoAdmin::new(&aws_config().await);
    let instance = sso.list_instances().send().await.unwrap().instances()[0]
        .instance_arn()
        .unwrap()
        .to_string();
    let name = unique("DataEng");
    let arn = sso
        .create_permission_set()
        .instance_arn(&instance)
        .name(&name)
        .session_duration("PT4H")
        .send()
        .await
        .unwrap()
        .permission_set()
        .unwrap()
        .permission_set_arn()
        .unwrap()
        .to_string();
    if let Some(doc) = inline {
        sso.put_inline_policy_to_permission_set()
            .instance_arn(&instance)
            .permission_set_arn(&arn)
            .inline_policy(doc)
            .send()
            .await
            .unwrap();
    }
    sso.create_account_assignment()
        .instance_arn(&instance)
        .permission_set_arn(&arn)
        .target_id(ACCOUNT)
        .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
        .principal_type(aws_sdk_ssoadmin::types::PrincipalType::User)
        .principal_id("u-alice")
        .send()
        .await
        .unwrap();
    // Provisioned once already, as an assigned permission set is (moto lists its accounts then).
    sso.provision_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&arn)
        .target_type(aws_sdk_ssoadmin::types::ProvisionTargetType::AwsAccount)
        .target_id(ACCOUNT)
        .send()
        .await
        .unwrap();
    PermissionSet {
        instance,
        arn,
        name,
    }
}

async fn inline_policy(ps: &PermissionSet) -> serde_json::Value {
    let sso = SsoAdmin::new(&aws_config().await);
    let doc = sso
        .get_inline_policy_for_permission_set()
        .instance_arn(&ps.instance)
        .permission_set_arn(&ps.arn)
        .send()
        .await
        .unwrap()
        .inline_policy()
        .unwrap_or_default()
        .to_string();
    serde_json::from_str(&doc).expect("the inline policy is JSON")
}

pub(crate) async fn script_provisioning(ps: &PermissionSet, states: serde_json::Value) {
    reqwest::Client::new()
        .post(format!("{}/_test/provisioning", moto_endpoint()))
        .body(json!({ (ps.arn.clone()): states }).to_string())
        .send()
        .await
        .unwrap();
}

fn with_identity_center(instance: &str) -> impl FnOnce(String) -> String + 'static {
    let ic = format!(
        "\n[identity_center]\ninstance_arn = \"{instance}\"\nregion = \"us-east-1\"\naccount = \"prod\"\n"
    );
    move |c| c + &ic
}

async fn spawn_with_identity_center(instance: &str) -> TestApp {
    Spawn::new()
        .config(with_identity_center(instance))
        .start()
        .await
}

const READ_LAKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadLake","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::lake/*"]}]}"#;

#[tokio::test]
async fn a_permission_set_is_revoked_provisioned_after_waiting_and_verified() {
    let ps = permission_set(Some(READ_LAKE)).await;
    let app = spawn_with_identity_center(&ps.instance).await;
    script_provisioning(
        &ps,
        json!([{"Status": "IN_PROGRESS"}, {"Status": "IN_PROGRESS"}, {"Status": "SUCCEEDED"}]),
    )
    .await;

    app.command(
        ALICE,
        &format!("permission-set {} INC-70 laptop stolen", ps.name),
    )
    .await;
    let request = app.request_from_card(0).await;
    assert_eq!(request.permission_set().unwrap().arn, ps.arn);
    let card = app.slack_received("/chat.postMessage").await[0].to_string();
    for expected in [
        ps.name.as_str(),
        "Every user of this permission set",
        "4 h",
        ACCOUNT,
    ] {
        assert!(card.contains(expected), "{expected} missing: {card}");
    }

    app.click(BOB, "approve", request.id()).await;
    let done = app.wait_state(request.id(), State::Applied).await;
    assert!(done.written().unwrap().verified);
    let policy = inline_policy(&ps).await;
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{policy}");
    assert_eq!(statements[0]["Sid"], "ReadLake");
    assert_eq!(statements[1]["Sid"], "AWSRevokeOlderSessions");
    assert_eq!(
        statements[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        done.cutoff().unwrap().to_string()
    );
    let calls = moto_calls().await;
    let waited = format!("DescribePermissionSetProvisioningStatus:{}", ps.arn);
    // Accepted in progress, then asked until it succeeded: in progress twice, then succeeded.
    assert_eq!(calls.get(&waited).copied(), Some(3), "{calls:?}");
    assert!(
        !app.thread_saying("provisioning the permission set")
            .await
            .is_empty(),
        "{:?}",
        app.slack_thread().await
    );
    let events = app.events(request.id()).await;
    assert_eq!(events[0].draft.role_arn.as_deref(), Some(ps.arn.as_str()));
    assert_eq!(events.last().unwrap().draft.kind, EventKind::Applied);

    app.command(CAROL, &format!("status {}", request.id()))
        .await;
    let status = app.reply_text(CAROL, 1).await;
    assert!(
        status.contains("applied") && status.contains(&ps.arn),
        "{status}"
    );
}

#[tokio::test]
async fn a_failed_provisioning_ends_failed_with_awss_reason_and_unknown_sets_are_refused() {
    let ps = permission_set(None).await;
    let app = spawn_with_identity_center(&ps.instance).await;
    script_provisioning(
        &ps,
        json!([{"Status": "FAILED", "FailureReason": "Account 123456789012 is suspended <!here>"}]),
    )
    .await;
    app.command(ALICE, &format!("permission-set {} INC-71 keys", ps.name))
        .await;
    let request = app.request_from_card(0).await;
    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Failed).await;
    let update = eventually("the card shows the provisioning failure", || async {
        app.slack_received("/chat.update")
            .await
            .into_iter()
            .map(|v| v.to_string())
            .find(|t| t.contains("suspended"))
    })
    .await;
    assert!(
        update.contains("&lt;!here&gt;") && !update.contains("<!here>"),
        "{update}"
    );

    app.command(ALICE, "permission-set NoSuchSet INC-72 keys")
        .await;
    let text = app.reply_text(ALICE, 2).await;
    assert!(text.contains("There is no permission set"), "{text}");
}

#[tokio::test]
async fn without_identity_center_a_permission_set_is_refused_with_how_to_configure_it() {
    let app = spawn_app().await;
    app.command(ALICE, "permission-set DataEngineer INC-73 keys")
        .await;
    let text = app.reply_text(ALICE, 1).await;
    assert!(text.contains("[identity_center]"), "{text}");
}

#[tokio::test]
async fn a_permission_set_whose_inline_policy_is_full_is_refused() {
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::{}"]}}]}}"#,
        "x".repeat(32_600)
    );
    let ps = permission_set(Some(&big)).await;
    let app = spawn_with_identity_center(&ps.instance).await;
    app.command(ALICE, &format!("permission-set {} INC-74 keys", ps.name))
        .await;
    let text = app.reply_text(ALICE, 1).await;
    assert!(text.contains("is full"), "{text}");
    assert!(app.slack_received("/chat.postMessage").await.is_empty());
}

/// An allowed statement whose resource holds `%25` and `%2F`, and whose condition value, were it
/// percent-decoded, would close the statement and add a deny with a 2099 cut-off (its key
/// percent-encoded too, so that the plain text does not name `aws:TokenIssueTime`).
const HIDDEN_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadPii","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::data/100%25-pii/a%2Fb/*"],"Condition":{"StringEquals":{"aws:PrincipalTag/team":"x%22}}},{%22Sid%22:%22AWSRevokeOlderSessions%22,%22Effect%22:%22Deny%22,%22Action%22:%22*%22,%22Resource%22:%22*%22,%22Condition%22:{%22DateLessThan%22:{%22aws:Token%49ssueTime%22:%222099-01-01T00:00:00Z"}}}]}"#;

#[tokio::test]
async fn a_deny_hidden_in_a_condition_value_does_not_pass_for_one_and_the_real_deny_is_provisioned()
{
    let ps = permission_set(Some(HIDDEN_DENY)).await;
    let app = spawn_with_identity_center(&ps.instance).await;
    app.command(ALICE, &format!("permission-set {} INC-72 keys", ps.name))
        .await;
    let request = app.request_from_card(0).await;
    app.click(BOB, "approve", request.id()).await;
    let done = app.wait_state(request.id(), State::Applied).await;
    let written = done.written().unwrap();
    assert_eq!(
        written.outcome,
        revoke_role_bot::domain::policy::MergeOutcome::Created,
        "not already covered"
    );
    assert_eq!(written.in_force, done.cutoff().unwrap());

    let policy = inline_policy(&ps).await;
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{policy}");
    let before: serde_json::Value = serde_json::from_str(HIDDEN_DENY).unwrap();
    assert_eq!(statements[0], before["Statement"][0], "kept as it was");
    assert_eq!(
        statements[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        done.cutoff().unwrap().to_string()
    );
    let calls = moto_calls().await;
    let provisioned = format!("ProvisionPermissionSet:{}", ps.arn);
    // Once when the test made it, once by the revocation.
    assert_eq!(calls.get(&provisioned).copied(), Some(2), "{calls:?}");
}

#[tokio::test]
async fn a_process_killed_between_the_write_and_the_provisioning_is_finished_by_provisioning() {
    let ps = permission_set(Some(READ_LAKE)).await;
    let first = Spawn::new()
        .config(with_identity_center(&ps.instance))
        .proxied()
        .process()
        .await;
    first
        .command(ALICE, &format!("permission-set {} INC-73 keys", ps.name))
        .await;
    let request = first.request_from_card(0).await;
    // The process dies while its `ProvisionPermissionSet` is on its way: after the write.
    let held = first.proxies().moto.hold(
        &["ALL_PROVISIONED_ACCOUNTS", &ps.arn],
        std::time::Duration::from_secs(30),
        500,
    );
    first.click(BOB, "approve", request.id()).await;
    held.arrived().await;
    first.process().kill().await;
    assert_eq!(first.stored(request.id()).await.state(), State::Approved);
    let written = inline_policy(&ps).await;
    assert_eq!(
        written["Statement"].as_array().unwrap().len(),
        2,
        "{written}"
    );
    let provisioned = format!("ProvisionPermissionSet:{}", ps.arn);
    assert_eq!(moto_calls().await.get(&provisioned).copied(), Some(1));

    // The dead process's lease runs out (moved to the past here rather than waited for).
    first
        .env()
        .ddb
        .update_item()
        .table_name(&first.env().table)
        .key("pk", AttributeValue::S(format!("REQ#{}", request.id())))
        .key("sk", AttributeValue::S("REQ".into()))
        .update_expression("SET lease_until = :past")
        .expression_attribute_values(
            ":past",
            AttributeValue::S("2000-01-01T00:00:00.000Z".into()),
        )
        .send()
        .await
        .unwrap();

    let second = Spawn::new()
        .on(first.env())
        .config(with_identity_center(&ps.instance))
        .start()
        .await;
    second.app().recover().await.unwrap();
    let done = second.wait_state(request.id(), State::Applied).await;
    assert!(done.written().unwrap().verified);
    let calls = moto_calls().await;
    assert_eq!(
        calls.get(&provisioned).copied(),
        Some(2),
        "provisioned by recovery: {calls:?}"
    );
    let waited = format!("DescribePermissionSetProvisioningStatus:{}", ps.arn);
    assert!(calls.get(&waited).copied().unwrap_or(0) >= 1, "{calls:?}");
}
