//! Every AWS call the bot and its command line make, in one place: the API operation, the IAM
//! actions that authorize it, the resources it is authorized on, and who makes it.
//!
//! `deploy/` grants exactly these. `scripts/lint-deploy.sh` prints this list
//! (`cargo run --example aws_calls`) and evaluates the templates' IAM policies against every entry
//! offline (`scripts/deploy-check/`), so a new call without a permission fails the test suite; the
//! unit test below fails when the code makes an SDK call that is not listed here.
//!
//! Resources are ARN patterns with placeholders, filled in by the check:
//!
//! | placeholder | meaning |
//! |---|---|
//! | `{partition}` | `aws`, `aws-cn`, `aws-us-gov` |
//! | `{region}` | the bot's region |
//! | `{account}` | the account the call is made in |
//! | `{table}` | the audit table (`[audit] table`) |
//! | `{index}` | one of the table's indexes ([`super::dynamodb::INDEXES`]) |
//! | `{role}` | the path and name of a role the bot inspects or revokes, e.g. `team/app-deployer` |
//! | `{user}` | the path and name of an IAM user whose keys the bot inspects or revokes, e.g. `ci/deployer` |
//! | `{target_role}` | the role the bot assumes in other accounts (`revoke-role-bot-target`) |
//! | `{instance}` | an IAM Identity Center instance id (`ssoins-…`) |
//! | `{permission_set}` | a permission set id (`ps-…`) |
//! | `{member_account}` | an account a permission set is provisioned to |

use serde::Serialize;

/// Who makes a call, and so which role's policy must allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Caller {
    /// The bot's own task role (`TaskRole` in `deploy/bot.yaml`), in the bot's account.
    TaskRole,
    /// The role the bot acts as in the account of the role it revokes: its task role in its own
    /// account, `revoke-role-bot-target` (`deploy/target-account.yaml`) in every other account.
    AccountRole,
    /// A person running the command line (`audit`, `audit verify`), with the operator policy
    /// (`AuditReaderPolicy` in `deploy/bot.yaml`).
    Operator,
    /// `create-table`, against a local DynamoDB or moto; a deployment's table comes from
    /// `deploy/bot.yaml`, so no deployed role is granted it.
    LocalDevelopment,
}

/// Whether the code makes the call today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InUse,
    /// Coming with a planned feature; the templates grant it already.
    Planned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AwsCall {
    /// `service:Operation` as the API names it.
    pub api: &'static str,
    /// The IAM actions that authorize it (a DynamoDB transaction is authorized item by item).
    pub actions: &'static [&'static str],
    /// Every resource the request is authorized on (ARN patterns, see the module docs); `*` for
    /// actions without resource-level permissions.
    pub resources: &'static [&'static str],
    pub caller: Caller,
    pub status: Status,
    /// Whether IAM checks it at all (`sts:GetCallerIdentity` needs no permission).
    pub needs_permission: bool,
    /// What makes the call.
    pub why: &'static str,
}

const ROLE: &str = "arn:{partition}:iam::{account}:role/{role}";
const USER: &str = "arn:{partition}:iam::{account}:user/{user}";
const TARGET_ROLE: &str = "arn:{partition}:iam::{account}:role/{target_role}";
const TABLE: &str = "arn:{partition}:dynamodb:{region}:{account}:table/{table}";
const INDEX: &str = "arn:{partition}:dynamodb:{region}:{account}:table/{table}/index/{index}";
const SSO_INSTANCE: &str = "arn:{partition}:sso:::instance/{instance}";
const SSO_PERMISSION_SET: &str = "arn:{partition}:sso:::permissionSet/{instance}/{permission_set}";
const SSO_ACCOUNT: &str = "arn:{partition}:sso:::account/{member_account}";

const fn call(
    api: &'static str,
    actions: &'static [&'static str],
    resources: &'static [&'static str],
    caller: Caller,
    why: &'static str,
) -> AwsCall {
    AwsCall {
        api,
        actions,
        resources,
        caller,
        status: Status::InUse,
        needs_permission: true,
        why,
    }
}

/// A call a coming feature will make; the templates may grant it ahead of the code.
#[allow(dead_code)] // none today: every listed call is in use
const fn planned(mut c: AwsCall) -> AwsCall {
    c.status = Status::Planned;
    c
}

/// Every AWS call, in the order a request meets them.
pub const CALLS: &[AwsCall] = &[
    AwsCall {
        needs_permission: false,
        ..call(
            "sts:GetCallerIdentity",
            &["sts:GetCallerIdentity"],
            &["*"],
            Caller::AccountRole,
            "start-up and check-config: who the bot runs as in each account",
        )
    },
    call(
        "sts:AssumeRole",
        &["sts:AssumeRole"],
        &[TARGET_ROLE],
        Caller::TaskRole,
        "the SDK's AssumeRoleProvider, for every account with assume_role_arn",
    ),
    // The role being revoked (aws/iam.rs).
    call(
        "iam:GetRole",
        &["iam:GetRole"],
        &[ROLE],
        Caller::AccountRole,
        "preview: the role's canonical ARN, path, last use and trust policy",
    ),
    call(
        "iam:ListInstanceProfilesForRole",
        &["iam:ListInstanceProfilesForRole"],
        &[ROLE],
        Caller::AccountRole,
        "preview: instance profiles whose sessions the cut-off also ends",
    ),
    call(
        "iam:ListRolePolicies",
        &["iam:ListRolePolicies"],
        &[ROLE],
        Caller::AccountRole,
        "preview: the inline policies, for the size left and an existing cut-off",
    ),
    call(
        "iam:GetRolePolicy",
        &["iam:GetRolePolicy"],
        &[ROLE],
        Caller::AccountRole,
        "preview and read-back of AWSRevokeOlderSessions",
    ),
    call(
        "iam:PutRolePolicy",
        &["iam:PutRolePolicy"],
        &[ROLE],
        Caller::AccountRole,
        "the revocation: writes AWSRevokeOlderSessions (and nothing else)",
    ),
    call(
        "iam:DeleteRolePolicy",
        &["iam:DeleteRolePolicy"],
        &[ROLE],
        Caller::AccountRole,
        "clean-up after the window (watch.cleanup_after_window, off by default): deletes AWSRevokeOlderSessions only",
    ),
    call(
        "iam:ListRoles",
        &["iam:ListRoles"],
        &["*"],
        Caller::AccountRole,
        "the request form's role type-ahead; check-config, to find a role the allow-list admits",
    ),
    call(
        "iam:SimulatePrincipalPolicy",
        &["iam:SimulatePrincipalPolicy"],
        // The principal simulated is the bot's own role in that account (its task role at home,
        // the target role elsewhere); `*` covers both without naming the task role here.
        &["*"],
        Caller::AccountRole,
        "check-config: whether the bot's role in each account may write the deny (PutRolePolicy, and DeleteRolePolicy with clean-up), before the first approval needs it; shown as not checked where it is not granted",
    ),
    // A leaked access key and its IAM user (aws/iam.rs, README "Leaked access keys and IAM users").
    call(
        "sts:GetAccessKeyInfo",
        &["sts:GetAccessKeyInfo"],
        &["*"],
        Caller::AccountRole,
        "a pasted access key: the account it belongs to",
    ),
    call(
        "iam:GetAccessKeyLastUsed",
        &["iam:GetAccessKeyLastUsed"],
        &[USER],
        Caller::AccountRole,
        "a pasted access key: the user it belongs to, and its last use for the card",
    ),
    call(
        "iam:ListAccessKeys",
        &["iam:ListAccessKeys"],
        &[USER],
        Caller::AccountRole,
        "the user's keys: confirm the pasted key is theirs, the card, the read-back, drift and restore",
    ),
    call(
        "iam:UpdateAccessKey",
        &["iam:UpdateAccessKey"],
        &[USER],
        Caller::AccountRole,
        "the revocation: sets the leaked keys Inactive (and, on an approved restore, Active again)",
    ),
    call(
        "iam:GetUser",
        &["iam:GetUser"],
        &[USER],
        Caller::AccountRole,
        "preview: the user's canonical ARN, which protection is checked on",
    ),
    call(
        "iam:GetLoginProfile",
        &["iam:GetLoginProfile"],
        &[USER],
        Caller::AccountRole,
        "preview: whether the user also has a console password",
    ),
    call(
        "iam:ListMFADevices",
        &["iam:ListMFADevices"],
        &[USER],
        Caller::AccountRole,
        "preview: whether the user has MFA",
    ),
    call(
        "iam:GetUserPolicy",
        &["iam:GetUserPolicy"],
        &[USER],
        Caller::AccountRole,
        "preview and read-back of the user's AWSRevokeOlderSessions",
    ),
    call(
        "iam:PutUserPolicy",
        &["iam:PutUserPolicy"],
        &[USER],
        Caller::AccountRole,
        "the revocation: writes AWSRevokeOlderSessions on the user (and nothing else)",
    ),
    call(
        "iam:DeleteUserPolicy",
        &["iam:DeleteUserPolicy"],
        &[USER],
        Caller::AccountRole,
        "clean-up after the window (watch.cleanup_after_window, off by default): deletes the user's AWSRevokeOlderSessions only",
    ),
    // The audit trail (aws/dynamodb.rs).
    call(
        "dynamodb:DescribeTable",
        &["dynamodb:DescribeTable"],
        &[TABLE],
        Caller::TaskRole,
        "/readyz and check-config",
    ),
    call(
        "dynamodb:DescribeContinuousBackups",
        &["dynamodb:DescribeContinuousBackups"],
        &[TABLE],
        Caller::TaskRole,
        "check-config: point-in-time recovery of the audit table is on",
    ),
    call(
        "dynamodb:GetItem",
        &["dynamodb:GetItem"],
        &[TABLE],
        Caller::TaskRole,
        "one request",
    ),
    call(
        "dynamodb:Query",
        &["dynamodb:Query"],
        &[TABLE, INDEX],
        Caller::TaskRole,
        "a request's events, open requests and audit lookups",
    ),
    call(
        "dynamodb:UpdateItem",
        &["dynamodb:UpdateItem"],
        &[TABLE],
        Caller::TaskRole,
        "the apply lease and the card's message id",
    ),
    call(
        "dynamodb:TransactWriteItems",
        &["dynamodb:PutItem", "dynamodb:UpdateItem"],
        &[TABLE],
        Caller::TaskRole,
        "every audit event: the event, the chain head and the request item in one transaction",
    ),
    // The command line.
    call(
        "dynamodb:Scan",
        &["dynamodb:Scan"],
        &[TABLE],
        Caller::Operator,
        "audit verify: the whole chain",
    ),
    call(
        "dynamodb:CreateTable",
        &["dynamodb:CreateTable"],
        &[TABLE],
        Caller::LocalDevelopment,
        "create-table, for local development (deploy/bot.yaml creates the real table)",
    ),
    // IAM Identity Center, for permission sets (aws/identity_center.rs).
    call(
        "sso:ListInstances",
        &["sso:ListInstances"],
        &["*"],
        Caller::AccountRole,
        "find the Identity Center instance",
    ),
    call(
        "sso:ListPermissionSets",
        &["sso:ListPermissionSets"],
        &[SSO_INSTANCE],
        Caller::AccountRole,
        "resolve a permission set by name",
    ),
    call(
        "sso:DescribePermissionSet",
        &["sso:DescribePermissionSet"],
        &[SSO_INSTANCE, SSO_PERMISSION_SET],
        Caller::AccountRole,
        "a permission set's name and session duration",
    ),
    call(
        "sso:GetInlinePolicyForPermissionSet",
        &["sso:GetInlinePolicyForPermissionSet"],
        &[SSO_INSTANCE, SSO_PERMISSION_SET],
        Caller::AccountRole,
        "read the inline policy before adding the cut-off",
    ),
    call(
        "sso:PutInlinePolicyToPermissionSet",
        &["sso:PutInlinePolicyToPermissionSet"],
        &[SSO_INSTANCE, SSO_PERMISSION_SET],
        Caller::AccountRole,
        "write the cut-off into the permission set's inline policy",
    ),
    call(
        "sso:ProvisionPermissionSet",
        &["sso:ProvisionPermissionSet"],
        &[SSO_INSTANCE, SSO_PERMISSION_SET, SSO_ACCOUNT],
        Caller::AccountRole,
        "push the changed permission set to its accounts",
    ),
    call(
        "sso:DescribePermissionSetProvisioningStatus",
        &["sso:DescribePermissionSetProvisioningStatus"],
        &[SSO_INSTANCE],
        Caller::AccountRole,
        "wait for the provisioning to finish",
    ),
    call(
        "sso:ListAccountsForProvisionedPermissionSet",
        &["sso:ListAccountsForProvisionedPermissionSet"],
        &[SSO_INSTANCE, SSO_PERMISSION_SET],
        Caller::AccountRole,
        "the accounts a permission set is provisioned to (drift)",
    ),
];

/// The placeholders a resource pattern may use.
pub const PLACEHOLDERS: &[&str] = &[
    "partition",
    "region",
    "account",
    "table",
    "index",
    "role",
    "user",
    "target_role",
    "instance",
    "permission_set",
    "member_account",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// `get_caller_identity` → `GetCallerIdentity`.
    fn pascal(snake: &str) -> String {
        snake
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The SDK operations a source file calls: `<client>.<operation>()` with the whitespace of a
    /// builder chain removed, where the client is named `client`, `iam`, `sts`, `sso` or is the
    /// result of `self.client(...)?`.
    fn sdk_operations(source: &str) -> BTreeSet<String> {
        let compact: String = source.chars().filter(|c| !c.is_whitespace()).collect();
        let mut ops = BTreeSet::new();
        let mut rest = compact.as_str();
        while let Some(i) = rest.find('.') {
            let (before, after) = rest.split_at(i);
            let after = &after[1..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let is_client = ["client", "iam", "sts", "sso", ")?"]
                .iter()
                .any(|r| before.ends_with(r))
                && !before.ends_with("clients");
            if is_client && !name.is_empty() && after[name.len()..].starts_with("()") {
                // An SDK waiter polls the operation it waits on.
                let op = match name.as_str() {
                    "wait_until_table_exists" | "wait_until_table_not_exists" => "describe_table",
                    other => other,
                };
                ops.insert(pascal(op));
            }
            rest = after;
        }
        ops
    }

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs")
                && let Ok(text) = std::fs::read_to_string(&p)
                && text.contains("aws_sdk_")
                && !p.ends_with("calls.rs")
            {
                out.push((p.display().to_string(), text));
            }
        }
    }

    #[test]
    fn the_scanner_finds_builder_chains() {
        let src = "let out = iam\n    .get_role()\n    .role_name(x)\n    .send();\n\
                   self.client(role)?\n .put_role_policy()\n .send();\n\
                   let c = self.clients.get(role.account()).ok();\n\
                   client.describe_table().table_name(t).send();\n\
                   self.iam(role, \"GetRolePolicy\")?\n .get_role_policy()\n .send();\n\
                   self.client\n .wait_until_table_exists()\n .wait(t, d);";
        assert_eq!(
            sdk_operations(src).into_iter().collect::<Vec<_>>(),
            ["DescribeTable", "GetRole", "GetRolePolicy", "PutRolePolicy"]
        );
    }

    /// Every SDK call in the code is listed (so the deploy check tests its permission), and every
    /// listed call that is in use is really made.
    #[test]
    fn every_sdk_call_in_the_code_is_listed_and_no_more() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(
            files.iter().any(|(p, _)| p.contains("dynamodb")),
            "the scan found no AWS code: {files:?}"
        );
        let mut found = BTreeSet::new();
        for (path, text) in &files {
            for op in sdk_operations(text) {
                // Operation names keep AWS's capitals (`ListMFADevices`); the SDK's method does
                // not (`list_mfa_devices`).
                assert!(
                    CALLS.iter().any(|c| c
                        .api
                        .split(':')
                        .nth(1)
                        .is_some_and(|api| api.eq_ignore_ascii_case(&op))),
                    "{path} calls {op}, which src/aws/calls.rs does not list"
                );
                found.insert(op.to_ascii_lowercase());
            }
            if text.contains("AssumeRoleProvider") {
                found.insert("assumerole".into());
            }
        }
        for c in CALLS.iter().filter(|c| c.status == Status::InUse) {
            let op = c.api.split(':').nth(1).unwrap_or_default();
            assert!(
                found.contains(&op.to_ascii_lowercase()),
                "{} is listed as in use but no code calls it",
                c.api
            );
        }
    }

    #[test]
    fn entries_are_well_formed() {
        let mut seen = BTreeSet::new();
        for c in CALLS {
            assert!(seen.insert(c.api), "{} is listed twice", c.api);
            let (service, op) = c.api.split_once(':').unwrap_or_default();
            assert!(!service.is_empty() && op.starts_with(|ch: char| ch.is_ascii_uppercase()));
            assert!(
                !c.actions.is_empty() && !c.resources.is_empty(),
                "{}",
                c.api
            );
            for a in c.actions {
                assert!(a.starts_with(&format!("{service}:")), "{}: {a}", c.api);
            }
            for r in c.resources {
                // Never a literal partition: aws-cn and aws-us-gov must work too.
                assert!(
                    *r == "*" || r.starts_with("arn:{partition}:"),
                    "{}: {r}",
                    c.api
                );
                let mut rest = *r;
                while let Some(i) = rest.find('{') {
                    let end = rest[i..].find('}').map(|j| i + j).unwrap_or(rest.len());
                    let name = &rest[i + 1..end];
                    assert!(PLACEHOLDERS.contains(&name), "{}: {{{name}}}", c.api);
                    rest = &rest[end.min(rest.len())..];
                }
            }
        }
        // The bot never deletes from the trail and never writes IAM other than the cut-off and a
        // leaked key's status (and, with clean-up enabled, removes that same policy after its
        // window).
        let all: Vec<&str> = CALLS
            .iter()
            .flat_map(|c| c.actions.iter().copied())
            .collect();
        assert!(!all.iter().any(|a| a.contains("Delete")
            && !["iam:DeleteRolePolicy", "iam:DeleteUserPolicy"].contains(a)));
        let iam_writes: Vec<&str> = all
            .iter()
            .copied()
            .filter(|a| {
                a.starts_with("iam:")
                    && !a.contains(":Get")
                    && !a.contains(":List")
                    && !a.contains(":Simulate")
            })
            .collect();
        assert_eq!(
            iam_writes,
            [
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:UpdateAccessKey",
                "iam:PutUserPolicy",
                "iam:DeleteUserPolicy"
            ]
        );
        // Deleting the deny is clean-up only.
        for c in CALLS.iter().filter(|c| c.api.contains("Delete")) {
            assert!(c.why.starts_with("clean-up"), "{}: {}", c.api, c.why);
        }
        // Scan and CreateTable are for people at the command line, not the running bot.
        for c in CALLS {
            if c.actions.contains(&"dynamodb:Scan") || c.actions.contains(&"dynamodb:CreateTable") {
                assert!(
                    matches!(c.caller, Caller::Operator | Caller::LocalDevelopment),
                    "{}",
                    c.api
                );
            }
        }
    }

    #[test]
    fn the_list_serializes_for_the_deploy_check() {
        let json = serde_json::to_value(CALLS).unwrap_or_default();
        let first = &json[0];
        assert_eq!(first["api"], "sts:GetCallerIdentity");
        assert_eq!(first["caller"], "account_role");
        assert_eq!(first["status"], "in_use");
        assert_eq!(first["needs_permission"], false);
    }
}
