//! `check-config`: the file, then the live setup (the table and its indexes, Slack, every account,
//! Identity Center), one `ok` or `FAIL` line each.

use anyhow::bail;

use super::{Cli, settings};
use crate::config::SlackSecrets;

/// Validate the file, then the live setup: the table and its indexes, Slack, and every account.
pub(super) async fn check_config(cli: &Cli) -> anyhow::Result<()> {
    let s = settings(cli)?;
    println!(
        "ok   config: {} account(s), {} requester entries, {} approver entries, table {}",
        s.accounts.len(),
        s.requesters.len(),
        s.approvers.len(),
        s.table
    );
    let mut failures = 0;
    let mut report = |result: Result<String, String>| match result {
        Ok(line) => println!("ok   {line}"),
        Err(line) => {
            failures += 1;
            println!("FAIL {line}");
        }
    };
    let aws = crate::aws::load_config().await;
    report(
        crate::aws::dynamodb::check_table(&aws, &s.table)
            .await
            .map_err(|e| format!("dynamodb: {e}")),
    );
    report(match SlackSecrets::from_env() {
        Err(e) => Err(format!("slack: {e}")),
        Ok(secrets) => match crate::slack::client::SlackWebApi::new(
            &secrets.bot_token,
            secrets.api_url.as_deref(),
        ) {
            Err(e) => Err(format!("slack: {e}")),
            Ok(api) => api
                .auth_test()
                .await
                .map(|who| format!("slack: auth.test accepted the bot token ({who})"))
                .map_err(|e| {
                    format!("slack: auth.test refused the bot token: {e}; check SLACK_BOT_TOKEN")
                }),
        },
    });
    for account in &s.accounts {
        let label = account.label();
        let conf = crate::aws::iam::account_config(&aws, account).await;
        report(match crate::aws::caller_identity(&conf).await {
            Ok((arn, _)) if arn.split(':').nth(4) == Some(account.id.as_str()) => {
                Ok(format!("account {label}: credentials work, as {arn}"))
            }
            Ok((arn, _)) => Err(format!(
                "account {label}: credentials belong to another account ({arn}); set assume_role_arn for this account"
            )),
            Err(e) => Err(format!(
                "account {label}: cannot obtain credentials{}: {}",
                account
                    .assume_role_arn
                    .as_ref()
                    .map(|r| format!(" by assuming {r} (check its trust policy and external_id)"))
                    .unwrap_or_default(),
                crate::aws::describe(&e)
            )),
        });
    }
    // Per account, the roles each `roles.protect` pattern protects (cli/protected.rs).
    let iam = crate::aws::iam::AwsIam::new(&aws, &s.accounts).await;
    let self_role = crate::aws::caller_identity(&aws)
        .await
        .ok()
        .and_then(|(_, role)| role);
    let rules = crate::service::protection_rules(&s, self_role);
    for line in
        super::protected::lines(&super::protected::protected_roles(&iam, &s.accounts, &rules).await)
    {
        println!("{line}");
    }
    if let (Some(ic), Some(adapter)) = (
        &s.identity_center,
        crate::startup::identity_center(&aws, &s).await,
    ) {
        report(match adapter.check_instance().await {
            Err(e) => Err(format!(
                "identity_center: sso:{} failed for instance {} in {} with account {}'s credentials: {}",
                e.action,
                ic.instance_arn,
                ic.region,
                ic.account,
                e.full()
            )),
            Ok(()) => match adapter
                .find_permission_set("revoke-role-bot-check-config")
                .await
            {
                Ok(_) => Ok(format!(
                    "identity_center: instance {} in {} answers ListInstances, ListPermissionSets and DescribePermissionSet",
                    ic.instance_arn, ic.region
                )),
                Err(e) => Err(format!(
                    "identity_center: sso:{} refused: {}; grant the permissions in deploy/",
                    e.action,
                    e.full()
                )),
            },
        });
    }
    if failures > 0 {
        bail!("{failures} check(s) failed");
    }
    Ok(())
}
