//! End to end (README "The request form, and who can come back"): the trust policy IAM returns is read into who can assume the role again,
//! and a GitHub Actions trust without a subject condition is flagged on the card and in `status`.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_github_oidc_trust_without_a_subject_is_flagged_on_the_card_and_in_status() {
    let app = spawn_app().await;
    let role = unique("gha-deploy");
    let provider =
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com");
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    }]});
    app.iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("create role in moto");
    app.command(ALICE, &format!("prod/{role} INC-91 workflow token leaked"))
        .await;
    let cards = app.wait_slack("/chat.postMessage", 1).await;
    let card = cards
        .iter()
        .find(|c| c.to_string().contains(&role))
        .expect("the card");
    let section = card["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .find(|t| t.starts_with("*Who can assume the role again*"))
        .unwrap_or_else(|| panic!("a who-can-come-back section: {card}"));
    assert!(
        section.contains(&format!("OIDC providers `{provider}` (with conditions)")),
        "{section}"
    );
    assert!(
        section.contains(":warning: statement 1 trusts the web identity provider")
            && section.contains("without a condition on `token.actions.githubusercontent.com:sub`")
            && section.contains("a workflow in any repository"),
        "{section}"
    );
    let id = request_id_on(card);
    app.command(EVE, &format!("status {id}")).await;
    let replies = app.wait_replies(EVE, 1).await;
    let text = replies[0]["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("• OIDC provider `{provider}` through sts:AssumeRoleWithWebIdentity if `StringEquals token.actions.githubusercontent.com:aud = \"sts.amazonaws.com\"`")),
        "{text}"
    );
    assert!(
        text.contains("without a condition on `token.actions.githubusercontent.com:sub`"),
        "{text}"
    );
}
