//! Principal classification: what kind of principal a trust policy names, and in which account.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::role_arn::AccountId;

/// How a principal reaches the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PrincipalKind {
    /// `"*"`, as the whole principal or as `"AWS": "*"`.
    Everyone,
    /// An account id or `arn:…:iam::<id>:root`: anyone in that account whom their own policies allow.
    Account,
    Role,
    User,
    /// `arn:…:sts::<id>:assumed-role/<role>/<session>`.
    AssumedRoleSession,
    /// `arn:…:sts::<id>:federated-user/<name>`.
    FederatedUser,
    /// `"Service": "ec2.amazonaws.com"` and the like.
    Service,
    /// `"Federated": "arn:…:saml-provider/<name>"`.
    SamlProvider,
    /// `"Federated": "arn:…:oidc-provider/<host>"`, or a web identity provider by name
    /// (`cognito-identity.amazonaws.com`, `accounts.google.com`, …).
    OidcProvider,
    CanonicalUser,
    /// An `AWS` value that is neither an account nor an ARN, e.g. a unique id (`AROA…`) that IAM puts
    /// in place of a role or user that was deleted.
    Unrecognised,
}

impl PrincipalKind {
    /// The kind in a few plain words, e.g. `IAM role`.
    pub fn noun(self) -> &'static str {
        match self {
            PrincipalKind::Everyone => "anyone",
            PrincipalKind::Account => "account",
            PrincipalKind::Role => "IAM role",
            PrincipalKind::User => "IAM user",
            PrincipalKind::AssumedRoleSession => "role session",
            PrincipalKind::FederatedUser => "federated user",
            PrincipalKind::Service => "AWS service",
            PrincipalKind::SamlProvider => "SAML provider",
            PrincipalKind::OidcProvider => "OIDC provider",
            PrincipalKind::CanonicalUser => "canonical user",
            PrincipalKind::Unrecognised => "unrecognised principal",
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// `arn:partition:service:region:account:resource` split into its six parts.
fn arn_parts(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    let parts = [
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ];
    (parts[0] == "arn").then_some(parts)
}

pub(super) fn aws_principal(s: &str) -> (PrincipalKind, Option<AccountId>) {
    if s == "*" {
        return (PrincipalKind::Everyone, None);
    }
    if let Ok(id) = AccountId::parse(s) {
        return (PrincipalKind::Account, Some(id));
    }
    let Some([_, _, service, _, account, resource]) = arn_parts(s) else {
        return (PrincipalKind::Unrecognised, None);
    };
    let Ok(account) = AccountId::parse(account) else {
        return (PrincipalKind::Unrecognised, None);
    };
    let kind = match (service, resource) {
        ("iam", "root") => PrincipalKind::Account,
        ("iam", r) if r.starts_with("role/") => PrincipalKind::Role,
        ("iam", r) if r.starts_with("user/") => PrincipalKind::User,
        ("sts", r) if r.starts_with("assumed-role/") => PrincipalKind::AssumedRoleSession,
        ("sts", r) if r.starts_with("federated-user/") => PrincipalKind::FederatedUser,
        _ => return (PrincipalKind::Unrecognised, Some(account)),
    };
    (kind, Some(account))
}

/// Web identity providers that are named rather than given as an IAM OIDC provider ARN.
const NAMED_WEB_IDENTITY_PROVIDERS: &[&str] = &[
    "cognito-identity.amazonaws.com",
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
];

pub(super) fn federated_principal(s: &str) -> Option<(PrincipalKind, Option<AccountId>)> {
    if NAMED_WEB_IDENTITY_PROVIDERS.contains(&s) {
        return Some((PrincipalKind::OidcProvider, None));
    }
    let [_, _, "iam", _, account, resource] = arn_parts(s)? else {
        return None;
    };
    let account = AccountId::parse(account).ok();
    if resource.starts_with("saml-provider/") {
        Some((PrincipalKind::SamlProvider, account))
    } else if resource.starts_with("oidc-provider/") {
        Some((PrincipalKind::OidcProvider, account))
    } else {
        None
    }
}

/// The prefix of the provider's condition keys: the host (and path) after `oidc-provider/`, or the
/// provider's name.
pub(super) fn oidc_key_prefix(principal: &str) -> &str {
    principal
        .split_once(":oidc-provider/")
        .map_or(principal, |(_, host)| host)
}

/// The claim that says who a token is for. Cognito identity pools are told apart by `aud` (the
/// identity pool id); every other provider by `sub`.
pub(super) fn subject_claim(provider: &str) -> &'static str {
    if provider == "cognito-identity.amazonaws.com" {
        "aud"
    } else {
        "sub"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trust::test_support::{HOME, OTHER, run};
    use crate::domain::trust::{ConditionText, EntryPoint, Warning};

    #[test]
    fn an_account_root_is_anyone_in_that_account() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        assert_eq!(a.entries.len(), 1);
        let e = &a.entries[0];
        assert_eq!(e.kind, PrincipalKind::Account);
        assert_eq!(e.account, Some(AccountId::parse(HOME).unwrap()));
        assert_eq!(e.actions, vec![EntryPoint::AssumeRole]);
        assert_eq!(
            e.to_string(),
            "account 111111111111 (anyone there whom their own policies allow)"
        );
        // The short form too.
        let short = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(short.entries[0].kind, PrincipalKind::Account);
    }

    #[test]
    fn a_cross_account_role_in_an_unconfigured_account_is_flagged() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/deploy","arn:aws:iam::111111111111:user/alice"]},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"abc123"}}}"#,
            &[HOME],
        );
        let kinds: Vec<_> = a.entries.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![PrincipalKind::Role, PrincipalKind::User]);
        assert_eq!(a.entries[0].actions, vec![EntryPoint::AssumeRole]);
        assert_eq!(
            a.entries[0].conditions,
            vec![ConditionText {
                operator: "StringEquals".into(),
                key: "sts:ExternalId".into(),
                values: vec!["abc123".into()],
            }]
        );
        assert_eq!(
            a.warnings,
            vec![Warning::UnconfiguredAccount {
                account: AccountId::parse(OTHER).unwrap(),
                principal: "arn:aws:iam::222222222222:role/deploy".into(),
            }]
        );
        assert_eq!(
            a.entries[0].to_string(),
            r#"IAM role "arn:aws:iam::222222222222:role/deploy" if StringEquals sts:ExternalId = "abc123""#
        );
        assert!(run(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/deploy"},"Action":"sts:AssumeRole"}"#, &[HOME, OTHER]).warnings.is_empty());
    }

    #[test]
    fn services_are_listed_without_warnings() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        let services: Vec<(&PrincipalKind, &str)> = a
            .entries
            .iter()
            .map(|e| (&e.kind, e.principal.as_str()))
            .collect();
        assert_eq!(
            services,
            vec![
                (&PrincipalKind::Service, "ec2.amazonaws.com"),
                (&PrincipalKind::Service, "lambda.amazonaws.com")
            ]
        );
    }

    #[test]
    fn a_saml_provider_is_listed_with_its_audience() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/Okta"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}"#,
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        let e = &a.entries[0];
        assert_eq!(e.kind, PrincipalKind::SamlProvider);
        assert_eq!(e.actions, vec![EntryPoint::AssumeRoleWithSaml]);
        assert_eq!(e.conditions[0].key, "SAML:aud");
        assert_eq!(
            e.to_string(),
            r#"SAML provider "arn:aws:iam::111111111111:saml-provider/Okta" if StringEquals SAML:aud = "https://signin.aws.amazon.com/saml""#
        );
    }

    #[test]
    fn a_deleted_principal_shows_as_its_unique_id() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"AROA1234567890EXAMPLE"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.entries[0].kind, PrincipalKind::Unrecognised);
        assert_eq!(a.warnings, vec![]);
    }
}
