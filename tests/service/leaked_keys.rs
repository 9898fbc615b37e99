//! Leaked access keys and IAM users (README "Leaked access keys and IAM users"): the forms the
//! grammar reads before the service carries them out.

use revoke_role_bot::service::notice::Notice;

use crate::support::*;

const AKIA: &str = "AKIAIOSFODNN7EXAMPLE";
const ASIA: &str = "ASIAY34FZKBOKMUTVV7A";

/// Every new form is answered at once, saying it is not available yet; nothing is requested,
/// no card is posted and IAM is not written.
#[tokio::test]
async fn key_user_restore_and_attached_keys_are_refused_as_not_available_yet() {
    let env = Env::new();
    env.iam.inner.add_role(&role("app"), &[]);
    for text in [
        format!("key {AKIA} INC-7 pushed to GitHub"),
        format!("{AKIA} INC-7 pushed to GitHub"),
        "user ci-bot INC-7 keys on a paste site".to_string(),
        "restore rr-7f3k2q9x INC-7 false alarm".to_string(),
        format!("prod/app INC-7 leaked key {ASIA}"),
    ] {
        let notice = env.command(ALICE, &text).await;
        let Notice::NotUnderstood(e) = &notice else {
            panic!("{text}: {notice:?}");
        };
        assert!(e.0.contains("not available yet"), "{text}: {}", e.0);
    }
    assert!(env.slack.cards().is_empty());
    assert!(env.iam.puts().is_empty());
    assert!(env.policy(&role("app")).is_none());
}
