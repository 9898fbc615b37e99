//! Who can come back: the trust policy's analysis, short on the card and complete in `status`.

use crate::domain::preview::WhoCanComeBack;
use crate::domain::trust::{ConditionText, Entry, PrincipalKind, TrustError, Warning};

use super::*;

/// Principals shown per kind on the card; `status` shows them all.
const CARD_PRINCIPALS_PER_KIND: usize = 4;

pub(super) fn kind_plural(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::Everyone => "anyone (`*`)",
        PrincipalKind::Account => "accounts (anyone there whom their own policies allow)",
        PrincipalKind::Role => "IAM roles",
        PrincipalKind::User => "IAM users",
        PrincipalKind::AssumedRoleSession => "role sessions",
        PrincipalKind::FederatedUser => "federated users",
        PrincipalKind::Service => "AWS services",
        PrincipalKind::SamlProvider => "SAML providers",
        PrincipalKind::OidcProvider => "OIDC providers",
        PrincipalKind::CanonicalUser => "canonical users",
        PrincipalKind::Unrecognised => "unrecognised principals",
    }
}

/// How an entry is named: an account by its id, anything else as written in the trust policy.
pub(super) fn entry_name(e: &Entry) -> String {
    match (e.kind, &e.account) {
        (PrincipalKind::Account, Some(a)) => a.to_string(),
        _ => e.principal.clone(),
    }
}

pub(super) fn conditions_msg(conditions: &[ConditionText]) -> Msg {
    let mut m = Msg::new();
    for (i, c) in conditions.iter().enumerate() {
        if i > 0 {
            m = m.lit(" and ");
        }
        m = m.code(c.to_string());
    }
    m
}

/// One warning: what revocation alone does not stop, or what the bot could not read.
pub fn trust_warning(w: &Warning) -> Msg {
    let m = Msg::new().lit(":warning: ");
    match w {
        Warning::Everyone {
            statement,
            conditions,
        } => {
            let m = m
                .lit("statement ")
                .text(statement.to_string())
                .lit(" trusts `*`: ");
            if conditions.is_empty() {
                m.lit("*anyone with AWS credentials* can assume this role, with no condition.")
            } else {
                m.lit("anyone can assume this role if ")
                    .append(conditions_msg(conditions))
                    .lit(".")
            }
        }
        Warning::UnconfiguredAccount { account, principal } => m
            .code(principal.clone())
            .lit(" is in account ")
            .text(account.to_string())
            .lit(", which this bot is not configured for: revoking here does not stop it from assuming the role again."),
        Warning::WebIdentityWithoutSubject {
            provider,
            missing_key,
            statement,
        } => {
            let m = m
                .lit("statement ")
                .text(statement.to_string())
                .lit(" trusts the web identity provider ")
                .code(provider.clone())
                .lit(" without a condition on ")
                .code(missing_key.clone())
                .lit(": anyone who can get a token from it can assume this role");
            if provider.contains("token.actions.githubusercontent.com") {
                m.lit(" (for GitHub Actions: a workflow in any repository).")
            } else {
                m.lit(".")
            }
        }
        Warning::BroadSubject {
            provider,
            pattern,
            statement,
        } => m
            .lit("statement ")
            .text(statement.to_string())
            .lit(" lets every subject of ")
            .code(provider.clone())
            .lit(" matching ")
            .code(pattern.clone())
            .lit(" assume this role."),
        Warning::DenyStatementsNotApplied { count } => m
            .lit("the trust policy has ")
            .text(count.to_string())
            .lit(" Deny statement(s); they are not applied to this list, which may name principals that are denied."),
        Warning::NotUnderstood { statement, reason } => m
            .lit("statement ")
            .text(statement.to_string())
            .lit(" is not fully understood: ")
            .text(reason.to_string())
            .lit("."),
    }
}

pub(super) fn unreadable_trust(e: &TrustError) -> Msg {
    Msg::new()
        .lit(":warning: The role's trust policy could not be read (")
        .text(e.to_string())
        .lit("): check in the IAM console who can assume this role again.")
}

/// Who can come back, short (the card): the principals by kind on one line, then every warning.
pub fn who_can_come_back_short(w: &WhoCanComeBack) -> Vec<Msg> {
    let a = match w {
        WhoCanComeBack::Analysed(a) => a,
        WhoCanComeBack::Unreadable(e) => return vec![unreadable_trust(e)],
    };
    let mut by_kind: std::collections::BTreeMap<PrincipalKind, Vec<(String, bool)>> =
        Default::default();
    for e in &a.entries {
        let names = by_kind.entry(e.kind).or_default();
        let name = entry_name(e);
        match names.iter_mut().find(|(n, _)| *n == name) {
            Some((_, conditional)) => *conditional |= !e.conditions.is_empty(),
            None => names.push((name, !e.conditions.is_empty())),
        }
    }
    let mut line = if by_kind.is_empty() {
        Msg::new().lit("No principal in the trust policy can assume this role.")
    } else {
        Msg::new().lit("Can assume it again: ")
    };
    for (i, (kind, names)) in by_kind.iter().enumerate() {
        if i > 0 {
            line = line.lit("; ");
        }
        line = line.lit(kind_plural(*kind));
        if *kind == PrincipalKind::Everyone {
            continue;
        }
        line = line.lit(" ");
        for (j, (name, conditional)) in names.iter().take(CARD_PRINCIPALS_PER_KIND).enumerate() {
            if j > 0 {
                line = line.lit(", ");
            }
            line = line.code(name.clone());
            if *conditional {
                line = line.lit(" (with conditions)");
            }
        }
        if names.len() > CARD_PRINCIPALS_PER_KIND {
            line = line
                .lit(" and ")
                .text((names.len() - CARD_PRINCIPALS_PER_KIND).to_string())
                .lit(" more");
        }
    }
    if !by_kind.is_empty() {
        line = line.lit(". Revoking ends their current sessions, not their right to start new ones; `/revoke-role status` lists every condition.");
    }
    let mut out = vec![line];
    out.extend(a.warnings.iter().map(trust_warning));
    out
}

/// Who can come back, complete (`status`): every principal with its entry points and conditions,
/// then every warning.
pub fn who_can_come_back_full(w: &WhoCanComeBack) -> Vec<Msg> {
    let a = match w {
        WhoCanComeBack::Analysed(a) => a,
        WhoCanComeBack::Unreadable(e) => return vec![unreadable_trust(e)],
    };
    let mut out = Vec::new();
    if a.entries.is_empty() {
        out.push(Msg::new().lit("No principal in the trust policy can assume this role."));
    }
    for e in &a.entries {
        let mut m = Msg::new().lit("• ").lit(e.kind.noun()).lit(" ");
        m = match e.kind {
            PrincipalKind::Everyone => m.code("*"),
            _ => m.code(entry_name(e)),
        };
        if e.kind == PrincipalKind::Account {
            m = m.lit(" (anyone there whom their own policies allow)");
        }
        m = m.lit(" through ").text(
            e.actions
                .iter()
                .map(|a| a.action())
                .collect::<Vec<_>>()
                .join(", "),
        );
        if !e.conditions.is_empty() {
            m = m.lit(" if ").append(conditions_msg(&e.conditions));
        }
        m = m.lit(" (statement ").text(e.statement.to_string()).lit(")");
        out.push(m);
    }
    out.extend(a.warnings.iter().map(trust_warning));
    out
}

/// Lines packed into sections that stay under Slack's 3,000-character cap once rendered.
pub fn pack(head: Msg, lines: Vec<Msg>) -> Vec<Msg> {
    const BUDGET: usize = 2_800;
    let mut out = Vec::new();
    let mut current = head;
    let mut len = current.to_mrkdwn().as_str().chars().count();
    for l in lines {
        let n = l.to_mrkdwn().as_str().chars().count() + 1;
        if len > 0 && len + n > BUDGET {
            out.push(std::mem::take(&mut current));
            len = 0;
        }
        if len > 0 {
            current = current.lit("\n");
        }
        current = current.append(l);
        len += n;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

// ---- the request form (README "The request form, and who can come back") ----
