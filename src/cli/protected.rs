//! `check-config`'s list of protected roles: per account, the roles each `roles.protect` pattern
//! protects, read with `iam:ListRoles` and decided by `ProtectionRules::check`, the same function
//! that refuses a request and marks a role 🔒 in the request form's type-ahead.

use crate::config::Account;
use crate::domain::protection::{Protection, ProtectionRules};
use crate::domain::role_arn::RoleArn;
use crate::ports::Iam;

/// Roles read per account at most (IAM allows 5,000 per account by default).
pub const LIST_MAX: usize = 5000;

/// One account's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProtected {
    /// `name (id)`, or the id.
    pub account: String,
    /// Per `roles.protect` pattern (in the config's order), the roles it protects; or why the
    /// roles could not be listed.
    pub listed: Result<Listed, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub by_pattern: Vec<(String, Vec<RoleArn>)>,
    /// More roles exist than were read.
    pub more: bool,
}

/// Per account, the roles each `roles.protect` pattern protects. A role another protection
/// already refuses (built-in ones come first) is not listed under a pattern.
pub async fn protected_roles(
    iam: &dyn Iam,
    accounts: &[Account],
    rules: &ProtectionRules,
) -> Vec<AccountProtected> {
    let mut out = Vec::new();
    for account in accounts {
        let listed = match iam.list_roles(&account.id, "", LIST_MAX).await {
            Err(e) => Err(e.full()),
            Ok(list) => {
                let mut by_pattern: Vec<(String, Vec<RoleArn>)> = rules
                    .protect
                    .iter()
                    .map(|p| (p.as_str().to_string(), Vec::new()))
                    .collect();
                // As the type-ahead: only the roles of the account the credentials belong to.
                for role in list.roles.iter().filter(|r| r.account() == &account.id) {
                    if let Some(Protection::Configured { pattern }) = rules.check(role)
                        && let Some((_, roles)) = by_pattern.iter_mut().find(|(p, _)| *p == pattern)
                    {
                        roles.push(role.clone());
                    }
                }
                Ok(Listed {
                    by_pattern,
                    more: list.more,
                })
            }
        };
        out.push(AccountProtected {
            account: account.label(),
            listed,
        });
    }
    out
}

/// `check-config`'s lines: `ok` with the roles, or `not checked` with why.
pub fn lines(protected: &[AccountProtected]) -> Vec<String> {
    let mut out = Vec::new();
    for a in protected {
        match &a.listed {
            Err(why) => out.push(format!(
                "not checked protect: account {}: cannot list roles (iam:ListRoles): {why}",
                a.account
            )),
            Ok(listed) => {
                for (pattern, roles) in &listed.by_pattern {
                    let which = if roles.is_empty() {
                        "no role".to_string()
                    } else {
                        roles
                            .iter()
                            .map(|r| format!("role{}{}", r.path(), r.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    out.push(format!(
                        "ok   protect: account {}: {pattern} protects {which}{}",
                        a.account,
                        if listed.more {
                            format!(" (only the first {LIST_MAX} roles were read)")
                        } else {
                            String::new()
                        }
                    ));
                }
            }
        }
    }
    out
}
