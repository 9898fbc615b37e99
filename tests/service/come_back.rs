//! Who can come back (issue 14 part 4, README "The request form, and who can come back"): the trust policy read with the request's
//! preview, short on the card and complete in `status`, over real trust documents.

use revoke_role_bot::domain::preview::WhoCanComeBack;
use revoke_role_bot::service::notice::Notice;
use revoke_role_bot::slack::{card, messages};

use crate::support::*;

const GITHUB: &str = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";

fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

/// A statement trusting GitHub's OIDC provider on `condition`.
fn github(condition: &str) -> String {
    format!(
        r#"{{"Effect":"Allow","Principal":{{"Federated":"{GITHUB}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}"#
    )
}

/// Asks for `name` with `trust` as its trust policy; returns the card's "who can come back" lines
/// (as Slack receives them) and the `status` answer (likewise).
async fn card_and_status(env: &Env, name: &str, trust: &str) -> (Vec<String>, String) {
    env.iam.inner.add_role(&role(name), &[]);
    env.iam.inner.set_trust_policy(&role(name), trust);
    let request = env.request(name).await;
    let card = env.slack.cards().pop().unwrap();
    let lines = card::view(&card)
        .who_can_come_back
        .iter()
        .map(|m| m.to_mrkdwn().into_string())
        .collect::<Vec<_>>();
    // The card as Block Kit holds the same lines, in their own section.
    let blocks = serde_json::to_string(&revoke_role_bot::slack::blocks::card(&card)).unwrap();
    assert!(blocks.contains("Who can assume the role again"), "{blocks}");
    env.command(EVE, &format!("status {}", request.id())).await;
    let (notice, _) = env
        .slack
        .replies_to(EVE)
        .into_iter()
        .rev()
        .find(|(n, _)| matches!(n, Notice::Found(_)))
        .expect("status answered");
    let status = messages::notice(&notice).to_mrkdwn().into_string();
    assert!(
        status.contains("*Who can assume the role again*"),
        "{status}"
    );
    (lines, status)
}

/// `card_and_status` on a fresh environment, for a trust policy of the one `statement`.
async fn trusted_by(name: &str, statement: &str) -> (Vec<String>, String) {
    card_and_status(&Env::new(), name, &doc(statement)).await
}

fn warnings(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.starts_with(":warning:"))
        .collect()
}

#[tokio::test]
async fn an_account_root_is_an_account_and_not_flagged_when_configured() {
    let (card, status) = trusted_by(
        "root-trust",
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}"#,
    )
    .await;
    assert_eq!(
        card[0],
        "Can assume it again: accounts (anyone there whom their own policies allow) `111111111111`. Revoking ends their current sessions, not their right to start new ones; `/revoke-role status` lists every condition."
    );
    assert!(warnings(&card).is_empty(), "{card:?}");
    assert!(
        status.contains("• account `111111111111` (anyone there whom their own policies allow) through sts:AssumeRole (statement 1)"),
        "{status}"
    );
}

#[tokio::test]
async fn a_cross_account_role_is_flagged_with_its_condition_in_status() {
    let (card, status) = trusted_by(
        "cross",
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/deploy"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc123"}}}"#,
    )
    .await;
    assert!(
        card[0].starts_with(
            "Can assume it again: IAM roles `arn:aws:iam::222222222222:role/deploy` (with conditions)."
        ),
        "{card:?}"
    );
    assert_eq!(
        warnings(&card),
        vec![
            ":warning: `arn:aws:iam::222222222222:role/deploy` is in account 222222222222, which this bot is not configured for: revoking here does not stop it from assuming the role again."
        ]
    );
    assert!(
        status.contains("• IAM role `arn:aws:iam::222222222222:role/deploy` through sts:AssumeRole if `StringEquals sts:ExternalId = \"abc123\"` (statement 1)"),
        "{status}"
    );
    assert!(
        status.contains("which this bot is not configured for"),
        "{status}"
    );
}

#[tokio::test]
async fn services_are_listed_without_warnings() {
    let (card, _) = trusted_by(
        "svc",
        r#"{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}"#,
    )
    .await;
    assert!(
        card[0].starts_with(
            "Can assume it again: AWS services `ec2.amazonaws.com`, `lambda.amazonaws.com`."
        ),
        "{card:?}"
    );
    assert_eq!(card.len(), 1, "no warnings: {card:?}");
}

#[tokio::test]
async fn a_saml_provider_is_listed_with_its_audience_in_status() {
    let (card, status) = trusted_by(
        "saml",
        r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/Okta"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"],"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}"#,
    )
    .await;
    assert!(
        card[0].starts_with("Can assume it again: SAML providers `arn:aws:iam::111111111111:saml-provider/Okta` (with conditions)."),
        "{card:?}"
    );
    assert_eq!(card.len(), 1, "{card:?}");
    assert!(
        status.contains("• SAML provider `arn:aws:iam::111111111111:saml-provider/Okta` through sts:AssumeRoleWithSAML if `StringEquals SAML:aud = \"https://signin.aws.amazon.com/saml\"`"),
        "{status}"
    );
}

#[tokio::test]
async fn github_oidc_without_a_subject_is_flagged_on_the_card_and_in_status() {
    let (card, status) = trusted_by(
        "gha-any",
        &github(
            r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}"#,
        ),
    )
    .await;
    assert!(card[0].starts_with(&format!(
        "Can assume it again: OIDC providers `{GITHUB}` (with conditions)."
    )));
    let expected = format!(
        ":warning: statement 1 trusts the web identity provider `{GITHUB}` without a condition on `token.actions.githubusercontent.com:sub`: anyone who can get a token from it can assume this role (for GitHub Actions: a workflow in any repository)."
    );
    assert_eq!(warnings(&card), vec![&expected]);
    assert!(status.contains(&expected), "{status}");
}

#[tokio::test]
async fn github_oidc_with_a_subject_is_not_flagged() {
    let (card, status) = trusted_by("gha-main", &github(r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/payments:ref:refs/heads/main"}}"#)).await;
    assert!(warnings(&card).is_empty(), "{card:?}");
    assert!(!status.contains(":warning:"), "{status}");
    assert!(
        status.contains(
            "`StringEquals token.actions.githubusercontent.com:sub = \"repo:acme/payments:ref:refs/heads/main\"`"
        ),
        "{status}"
    );
}

#[tokio::test]
async fn a_star_principal_is_flagged_with_or_without_conditions() {
    let (card, _) = trusted_by(
        "open",
        r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}"#,
    )
    .await;
    assert!(
        card[0].starts_with("Can assume it again: anyone (`*`)."),
        "{card:?}"
    );
    assert_eq!(
        warnings(&card),
        vec![
            ":warning: statement 1 trusts `*`: *anyone with AWS credentials* can assume this role, with no condition."
        ]
    );
    let (card, status) = trusted_by(
        "org-only",
        r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}"#,
    )
    .await;
    let expected = ":warning: statement 1 trusts `*`: anyone can assume this role if `StringEquals aws:PrincipalOrgID = \"o-abc123\"`.";
    assert_eq!(warnings(&card), vec![expected]);
    assert!(status.contains(expected), "{status}");
    assert!(
        status.contains("• anyone `*` through sts:AssumeRole if `StringEquals aws:PrincipalOrgID = \"o-abc123\"` (statement 1)"),
        "{status}"
    );
}

#[tokio::test]
async fn hostile_principals_and_conditions_reach_slack_escaped() {
    let env = Env::new();
    let (card, status) = card_and_status(&env, "hostile", &doc(r#"{"Effect":"Allow","Principal":{"Service":"<!channel>`x"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"<@U0EVE> <https://evil.example|click>"}}},{"Effect":"Allow","Principal":{"Federated":"<!here>"},"Action":"sts:AssumeRoleWithWebIdentity"}"#)).await;
    for text in card.iter().chain([&status]) {
        assert!(!text.contains("<!"), "{text}");
        assert!(!text.contains("<@U0EVE>"), "{text}");
        assert!(!text.contains("<https"), "{text}");
    }
    assert!(card[0].contains("`&lt;!channel&gt;'x`"), "{card:?}");
    assert!(status.contains("&lt;@U0EVE&gt;"), "{status}");
    // Every message the bot sent (cards, replies) holds only mentions the bot built.
    for s in env.slack.sent() {
        let text = s.mrkdwn();
        for (i, _) in text.match_indices('<') {
            assert!(text[i..].starts_with("<@U0"), "{text}");
        }
    }
}

#[tokio::test]
async fn an_unreadable_trust_policy_is_said_not_guessed() {
    let (card, status) = card_and_status(&Env::new(), "broken", "{not json").await;
    assert_eq!(card.len(), 1);
    assert!(
        card[0].starts_with(":warning: The role's trust policy could not be read ("),
        "{card:?}"
    );
    assert!(status.contains("could not be read"), "{status}");
}

#[tokio::test]
async fn the_analysis_is_kept_with_the_stored_request_and_old_items_still_read() {
    let env = Env::new();
    env.iam.inner.add_role(&role("kept"), &[]);
    env.iam.inner.set_trust_policy(
        &role("kept"),
        &doc(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"sts:AssumeRole"}"#),
    );
    let request = env.request("kept").await;
    // Later changes to the trust policy do not change what the request showed.
    env.iam.inner.set_trust_policy(&role("kept"), &doc(""));
    let stored = env.stored(request.id()).await;
    let Some(WhoCanComeBack::Analysed(a)) =
        stored.preview().and_then(|p| p.who_can_come_back.clone())
    else {
        panic!("{:?}", stored.preview());
    };
    assert_eq!(a.entries.len(), 1);
    assert_eq!(
        a.warnings.len(),
        1,
        "account 333333333333 is not configured"
    );
    // A request stored before this field existed still reads, with nothing to show.
    let mut json = serde_json::to_value(&stored).unwrap();
    json["preview"]
        .as_object_mut()
        .unwrap()
        .remove("who_can_come_back");
    let old: revoke_role_bot::domain::request::Request = serde_json::from_value(json).unwrap();
    assert_eq!(old.preview().unwrap().who_can_come_back, None);
    // A role with no trust policy reported shows no section.
    env.role_and_request("none").await;
    let card = env.slack.cards().pop().unwrap();
    assert!(card::view(&card).who_can_come_back.is_empty());
}
