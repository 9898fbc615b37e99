//! `check-config` (README "check-config"): the file, then what the first revocation will need, one
//! line each: `ok`, `FAIL` with the fix, or `not checked` with why. The table with its indexes and
//! point-in-time recovery; Slack (the bot token, every configured user group and channel, the app
//! token in Socket Mode); every account (its credentials, the IAM reads the bot makes on a role the
//! allow-list admits, the writes as `iam:SimulatePrincipalPolicy` sees them); Identity Center.
//!
//! Each group of lines comes from its own function, so a new check is one more function.

use anyhow::bail;
use aws_config::SdkConfig;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{Cli, settings};
use crate::aws::iam::{AwsIam, account_config};
use crate::config::{Account, Settings, SlackSecrets};
use crate::domain::ids::Principal;
use crate::domain::protection::{Protection, ProtectionRules};
use crate::domain::role_arn::RoleArn;
use crate::ports::{Iam, IamErrorKind, Slack};
use crate::slack::client::SlackWebApi;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Line {
    Ok(String),
    /// What is wrong and how to fix it.
    Fail(String),
    /// Why this could not be checked; not a failure.
    NotChecked(String),
}

impl Line {
    fn print(&self) {
        match self {
            Line::Ok(l) => println!("ok   {l}"),
            Line::Fail(l) => println!("FAIL {l}"),
            Line::NotChecked(l) => println!("not checked: {l}"),
        }
    }
}

/// Validate the file, then the live setup; exits non-zero when any line is `FAIL`.
pub(super) async fn check_config(cli: &Cli) -> anyhow::Result<()> {
    let s = settings(cli)?;
    println!(
        "ok   config: {} account(s), {} requester entries, {} approver entries, table {}",
        s.accounts.len(),
        s.requesters.len(),
        s.approvers.len(),
        s.table
    );
    let aws = crate::aws::load_config().await;
    let mut failures = 0;
    let mut report = |lines: Vec<Line>| {
        for line in lines {
            failures += usize::from(matches!(line, Line::Fail(_)));
            line.print();
        }
    };
    report(table_lines(&aws, &s).await);
    report(slack_lines(&s).await);
    let self_role = crate::aws::caller_identity(&aws)
        .await
        .ok()
        .and_then(|(_, r)| r);
    for account in &s.accounts {
        report(account_lines(&aws, &s, account, self_role.clone()).await);
    }
    // Per account, the roles each `roles.protect` pattern protects (cli/protected.rs): the same
    // rules the service refuses on and the type-ahead marks.
    let iam = AwsIam::new(&aws, &s.accounts).await;
    let rules = crate::service::protection_rules(&s, self_role.clone());
    for line in
        super::protected::lines(&super::protected::protected_roles(&iam, &s.accounts, &rules).await)
    {
        println!("{line}");
    }
    report(identity_center_lines(&aws, &s).await);
    if failures > 0 {
        bail!("{failures} check(s) failed");
    }
    Ok(())
}

// ---- DynamoDB ----

/// The table with its keys and indexes, and point-in-time recovery.
async fn table_lines(aws: &SdkConfig, s: &Settings) -> Vec<Line> {
    let table = match crate::aws::dynamodb::check_table(aws, &s.table).await {
        // The line names the service itself.
        Ok(line) => Line::Ok(line),
        Err(e) => Line::Fail(format!("dynamodb: {e}")),
    };
    vec![table, point_in_time_recovery(aws, &s.table).await]
}

async fn point_in_time_recovery(aws: &SdkConfig, table: &str) -> Line {
    let client = aws_sdk_dynamodb::Client::new(aws);
    match client
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => {
            let status = out
                .continuous_backups_description()
                .and_then(|d| d.point_in_time_recovery_description())
                .and_then(|p| p.point_in_time_recovery_status())
                .map(|s| s.as_str().to_string());
            match status.as_deref() {
                Some("ENABLED") => Line::Ok(format!(
                    "dynamodb: point-in-time recovery is on for table {table}"
                )),
                other => Line::Fail(format!(
                    "dynamodb: point-in-time recovery is {} for table {table}: turn it on (deploy/ does: PointInTimeRecoverySpecification), so the audit trail can be restored after a bad write",
                    other.unwrap_or("unknown").to_lowercase()
                )),
            }
        }
        Err(e) => {
            let why = match e.code() {
                Some("AccessDeniedException") => {
                    "grant dynamodb:DescribeContinuousBackups to check it"
                }
                Some("UnknownOperationException") => {
                    "this DynamoDB does not implement the call (DynamoDB Local does not)"
                }
                _ => "check the table's backups in the console",
            };
            Line::NotChecked(format!(
                "dynamodb: point-in-time recovery of table {table}: dynamodb:DescribeContinuousBackups failed ({}); {why}",
                error_text(&e)
            ))
        }
    }
}

// ---- Slack ----

/// The bot token, every configured user group and channel, and the app token in Socket Mode.
async fn slack_lines(s: &Settings) -> Vec<Line> {
    let secrets = match SlackSecrets::from_env() {
        Ok(secrets) => secrets,
        Err(e) => return vec![Line::Fail(format!("slack: {e}"))],
    };
    let api = match SlackWebApi::new(&secrets.bot_token, secrets.api_url.as_deref()) {
        Ok(api) => api,
        Err(e) => return vec![Line::Fail(format!("slack: {e}"))],
    };
    let mut lines = vec![match api.auth_test().await {
        Ok(who) => Line::Ok(format!("slack: auth.test accepted the bot token ({who})")),
        Err(e) => {
            return vec![Line::Fail(format!(
                "slack: auth.test refused the bot token: {e}; check SLACK_BOT_TOKEN"
            ))];
        }
    }];
    lines.extend(group_lines(&api, s).await);
    lines.extend(channel_lines(&api, s).await);
    if let Some(app_token) = &secrets.app_token {
        lines.push(match api.open_socket_url(app_token).await {
            Ok(_) => Line::Ok(
                "slack: apps.connections.open accepted the app token (Socket Mode)".into(),
            ),
            Err(e) => Line::Fail(format!(
                "slack: apps.connections.open: {e}; set SLACK_APP_TOKEN to the app-level token (xapp-…) with connections:write, and turn Socket Mode on in the app's settings"
            )),
        });
    }
    lines
}

/// Every user group named in `access` and `approval.escalate_to`, through `usergroups.users.list`.
async fn group_lines(api: &SlackWebApi, s: &Settings) -> Vec<Line> {
    let mut groups = Vec::new();
    for (key, list) in [
        ("access.requesters", &s.requesters),
        ("access.approvers", &s.approvers),
        ("approval.escalate_to", &s.escalate_to),
    ] {
        for p in list {
            if let Principal::Group(g) = p
                && !groups.iter().any(|(_, seen)| seen == g)
            {
                groups.push((key, g.clone()));
            }
        }
    }
    let mut lines = Vec::new();
    for (key, group) in groups {
        lines.push(match api.group_members(&group).await {
            Ok(members) => Line::Ok(format!(
                "slack: user group {group} ({key}) has {} member(s)",
                members.len()
            )),
            Err(e) => Line::Fail(format!(
                "slack: user group {group} ({key}): usergroups.users.list said {}; {}",
                e.reason(),
                slack_fix(&e, "check the group id (S…) in the configuration; the app needs the usergroups:read scope")
            )),
        });
    }
    lines
}

/// Every channel in `access.channels`, through `conversations.info`: it exists and the bot is in it.
async fn channel_lines(api: &SlackWebApi, s: &Settings) -> Vec<Line> {
    let mut lines = Vec::new();
    for channel in &s.channels {
        lines.push(match api.channel_info(channel).await {
            Ok(info) if info.is_archived => Line::Fail(format!(
                "slack: channel {channel} (access.channels) is archived; name a live channel"
            )),
            Ok(info) if !info.is_member => Line::Fail(format!(
                "slack: channel {channel} (access.channels, #{}) does not have the bot in it: invite it (`/invite @revoke-role-bot` in the channel) so it can post cards there",
                info.name
            )),
            Ok(info) => Line::Ok(format!(
                "slack: channel {channel} (access.channels, #{}) has the bot in it",
                info.name
            )),
            Err(e) => Line::Fail(format!(
                "slack: channel {channel} (access.channels): conversations.info said {}; {}",
                e.reason(),
                slack_fix(&e, "check the channel id (C…/G…), and invite the bot to a private channel; the app needs the channels:read and groups:read scopes")
            )),
        });
    }
    lines
}

/// The fix for a Slack refusal: the scope when Slack names it, else `otherwise`.
fn slack_fix(e: &crate::ports::SlackError, otherwise: &str) -> String {
    match e {
        crate::ports::SlackError::Refused {
            code: Some(code), ..
        } if code == "missing_scope" => {
            "add the missing scope to the app (see manifest.yml) and reinstall it".into()
        }
        _ => otherwise.to_string(),
    }
}

// ---- accounts ----

/// One account: its credentials, the IAM reads the bot makes on a role the allow-list admits,
/// and the writes as `iam:SimulatePrincipalPolicy` sees them.
async fn account_lines(
    aws: &SdkConfig,
    s: &Settings,
    account: &Account,
    self_role: Option<RoleArn>,
) -> Vec<Line> {
    let label = account.label();
    let conf = account_config(aws, account).await;
    let principal = match crate::aws::caller_identity(&conf).await {
        Ok((arn, _)) if arn.split(':').nth(4) == Some(account.id.as_str()) => arn,
        Ok((arn, _)) => {
            return vec![Line::Fail(format!(
                "account {label}: wrong account: the credentials belong to another account ({arn}); set assume_role_arn to a role in this account. The bot marks it and never writes there"
            ))];
        }
        Err(e) => {
            return vec![Line::Fail(format!(
                "account {label}: unreachable: cannot obtain credentials{}: {}. The bot starts anyway and refuses requests for this account until it is reachable",
                account
                    .assume_role_arn
                    .as_ref()
                    .map(|r| format!(" by assuming {r} (check its trust policy and external_id)"))
                    .unwrap_or_default(),
                crate::aws::describe(&e)
            ))];
        }
    };
    let mut lines = vec![Line::Ok(format!(
        "account {label}: credentials work, as {principal}"
    ))];
    let rules = crate::service::protection_rules(s, self_role);
    let iam = AwsIam::new(aws, std::slice::from_ref(account)).await;
    let sample = match iam.list_roles(&account.id, "", usize::MAX).await {
        Err(e) => {
            lines.push(iam_fail(&label, "ListRoles", &e));
            None
        }
        Ok(list) => {
            let (admitted, candidates) = allow_list_reach(&rules, &list.roles);
            match (&admitted, candidates) {
                (Some(_), _) => lines.push(Line::Ok(format!(
                    "account {label}: iam:ListRoles lists {} role(s); roles.allow admits some",
                    list.roles.len()
                ))),
                // Only roles no configuration could admit (the bot's own, service-linked, Identity
                // Center): nothing says the patterns are wrong.
                (None, 0) => lines.push(Line::NotChecked(format!(
                    "account {label}: iam:ListRoles lists no role here that roles.allow could admit ({} role(s), all protected by the built-in protections)",
                    list.roles.len()
                ))),
                (None, n) => lines.push(Line::Fail(format!(
                    "account {label}: roles.allow admits none of the {n} role(s) here that no built-in protection covers (roles.protect counted in): widen roles.allow, or remove the account"
                ))),
            }
            admitted
        }
    };
    let Some(role) = sample else {
        lines.push(Line::NotChecked(format!(
            "account {label}: iam:GetRole, iam:GetRolePolicy and the writes: no role the allow-list admits to try them on"
        )));
        return lines;
    };
    lines.extend(read_lines(&iam, &label, &role).await);
    lines.push(write_line(&conf, s, &label, &principal, &role).await);
    lines
}

/// The first role the allow-list admits, and how many roles the configuration decides on (those
/// no built-in protection covers).
fn allow_list_reach(rules: &ProtectionRules, roles: &[RoleArn]) -> (Option<RoleArn>, usize) {
    let mut admitted = None;
    let mut candidates = 0;
    for r in roles {
        match rules.check(r) {
            None => {
                candidates += 1;
                admitted.get_or_insert_with(|| r.clone());
            }
            Some(Protection::Configured { .. } | Protection::NotAllowed) => candidates += 1,
            Some(_) => {}
        }
    }
    (admitted, candidates)
}

/// The reads a request and its apply make, on `role`.
async fn read_lines(iam: &AwsIam, label: &str, role: &RoleArn) -> Vec<Line> {
    let mut lines = Vec::new();
    lines.push(match iam.get_role(role).await {
        Ok(_) => Line::Ok(format!("account {label}: iam:GetRole on {role}")),
        Err(e) => iam_fail(label, "GetRole", &e),
    });
    lines.push(match iam.role_details(role).await {
        Ok(_) => Line::Ok(format!(
            "account {label}: iam:ListRolePolicies, iam:ListInstanceProfilesForRole and iam:GetRolePolicy on {role} (the impact preview)"
        )),
        Err(e) => iam_fail(label, e.action, &e),
    });
    lines.push(match iam.get_revoke_policy(role).await {
        Ok(_) => Line::Ok(format!(
            "account {label}: iam:GetRolePolicy (AWSRevokeOlderSessions) on {role}"
        )),
        Err(e) => iam_fail(label, "GetRolePolicy", &e),
    });
    lines
}

fn iam_fail(label: &str, action: &str, e: &crate::ports::IamError) -> Line {
    let fix = match e.kind {
        IamErrorKind::AccessDenied => format!(
            "grant iam:{action} to the bot's role in this account (deploy/target-account.yaml)"
        ),
        _ => "see the error".into(),
    };
    Line::Fail(format!(
        "account {label}: iam:{action} failed: {}; {fix}",
        e.full()
    ))
}

/// The IAM actions an approval writes with, on a role.
fn write_actions(s: &Settings) -> Vec<&'static str> {
    let mut actions = vec!["iam:PutRolePolicy"];
    if s.cleanup_after_window {
        actions.push("iam:DeleteRolePolicy");
    }
    actions
}

/// Whether the bot's principal in this account may write the deny on `role`, as
/// `iam:SimulatePrincipalPolicy` evaluates its identity policies (not SCPs or the role's own
/// resource policy). Where the bot may not call it, or the service does not answer it, the line
/// says `not checked` and why.
async fn write_line(
    conf: &SdkConfig,
    s: &Settings,
    label: &str,
    principal: &str,
    role: &RoleArn,
) -> Line {
    let actions = write_actions(s);
    // An assumed-role session is simulated as its role.
    let source = crate::aws::role_of_caller(principal)
        .map(|r| r.to_string())
        .unwrap_or_else(|| principal.to_string());
    let iam = aws_sdk_iam::Client::new(conf);
    let simulated = iam
        .simulate_principal_policy()
        .policy_source_arn(&source)
        .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()))
        .resource_arns(role.to_string())
        .send()
        .await;
    let out = match simulated {
        Ok(out) => out,
        Err(e) => {
            return Line::NotChecked(format!(
                "account {label}: {} on {role}: iam:SimulatePrincipalPolicy failed ({}); grant it to the bot's role to check the writes before the first approval",
                actions.join(", "),
                error_text(&e)
            ));
        }
    };
    let denied: Vec<String> = out
        .evaluation_results()
        .iter()
        .filter(|r| r.eval_decision().as_str() != "allowed")
        .map(|r| format!("{} ({})", r.eval_action_name(), r.eval_decision().as_str()))
        .collect();
    if out.evaluation_results().is_empty() {
        return Line::NotChecked(format!(
            "account {label}: {} on {role}: iam:SimulatePrincipalPolicy returned no decision",
            actions.join(", ")
        ));
    }
    if denied.is_empty() {
        Line::Ok(format!(
            "account {label}: {} allowed on {role} for {source} (iam:SimulatePrincipalPolicy)",
            actions.join(", ")
        ))
    } else {
        Line::Fail(format!(
            "account {label}: {} denied on {role} for {source} (iam:SimulatePrincipalPolicy): grant them to the bot's role in this account (deploy/target-account.yaml)",
            denied.join(", ")
        ))
    }
}

/// An SDK error as `code: message`, or its whole chain when it has no code.
fn error_text<E, R>(e: &aws_sdk_iam::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => crate::aws::describe(e),
    }
}

// ---- Identity Center ----

async fn identity_center_lines(aws: &SdkConfig, s: &Settings) -> Vec<Line> {
    let (Some(ic), Some(adapter)) = (
        &s.identity_center,
        crate::startup::identity_center(aws, s).await,
    ) else {
        return Vec::new();
    };
    vec![match adapter.check_instance().await {
        Err(e) => Line::Fail(format!(
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
            Ok(_) => Line::Ok(format!(
                "identity_center: instance {} in {} answers ListInstances, ListPermissionSets and DescribePermissionSet",
                ic.instance_arn, ic.region
            )),
            Err(e) => Line::Fail(format!(
                "identity_center: sso:{} refused: {}; grant the permissions in deploy/",
                e.action,
                e.full()
            )),
        },
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::role_arn::ArnPattern;

    fn arn(s: &str) -> RoleArn {
        RoleArn::parse(s).unwrap()
    }

    #[test]
    fn a_too_narrow_allow_list_counts_only_roles_the_configuration_decides_on() {
        let rules = ProtectionRules {
            allow: vec![ArnPattern::parse("arn:aws:iam::*:role/team/*").unwrap()],
            assumed_roles: vec![arn("arn:aws:iam::111111111111:role/revoke-role-bot-target")],
            ..Default::default()
        };
        let target = arn("arn:aws:iam::111111111111:role/revoke-role-bot-target");
        let linked = arn("arn:aws:iam::111111111111:role/aws-service-role/ecs.amazonaws.com/X");
        let app = arn("arn:aws:iam::111111111111:role/app");
        assert_eq!(
            allow_list_reach(&rules, &[target.clone(), linked.clone()]),
            (None, 0)
        );
        assert_eq!(
            allow_list_reach(&rules, &[target.clone(), app.clone()]),
            (None, 1)
        );
        let team = arn("arn:aws:iam::111111111111:role/team/app");
        assert_eq!(
            allow_list_reach(&rules, &[target, app, team.clone()]),
            (Some(team), 2)
        );
    }
}
