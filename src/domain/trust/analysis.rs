//! The analysis: each statement read into entries and warnings, then the warnings the entries call for.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::document::{action_matches, conditions, is_like, is_positive, strings};
use super::entry::{ConditionText, Entry, EntryPoint};
use super::principal::{
    PrincipalKind, aws_principal, federated_principal, oidc_key_prefix, subject_claim,
};
use super::warning::{Unclear, Warning};
use crate::domain::policy::{parse_strict_json, short};
use crate::domain::role_arn::AccountId;

/// Who can come back, and what to worry about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrustAnalysis {
    pub entries: Vec<Entry>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TrustError {
    #[error("the trust policy is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the trust policy is not a JSON object")]
    NotAnObject,
    #[error("the trust policy has no Statement")]
    NoStatement,
    #[error("the trust policy's Statement is neither a statement nor a list of statements")]
    StatementNotAList,
}

/// Analyse a role's trust policy (`AssumeRolePolicyDocument`, URL-decoded).
pub fn analyse(
    trust_json: &str,
    configured_accounts: &[AccountId],
) -> Result<TrustAnalysis, TrustError> {
    let Value::Object(top) = parse_strict_json(trust_json).map_err(TrustError::InvalidJson)? else {
        return Err(TrustError::NotAnObject);
    };
    let statements = match top.get("Statement") {
        None => return Err(TrustError::NoStatement),
        Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
        Some(obj @ Value::Object(_)) => vec![obj],
        Some(_) => return Err(TrustError::StatementNotAList),
    };
    let mut out = TrustAnalysis::default();
    let mut denies = 0;
    for (i, s) in statements.into_iter().enumerate() {
        let index = i + 1;
        let unclear = |reason| Warning::NotUnderstood {
            statement: index,
            reason,
        };
        let Value::Object(m) = s else {
            out.warnings.push(unclear(Unclear::StatementNotAnObject));
            continue;
        };
        match m.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => {}
            Some(Value::String(e)) if e == "Deny" => {
                denies += 1;
                continue;
            }
            other => {
                out.warnings.push(unclear(Unclear::UnknownEffect(
                    other.map_or_else(|| "missing".into(), |v| short(&v.to_string())),
                )));
                continue;
            }
        }
        let actions = match (m.get("Action"), m.get("NotAction")) {
            (Some(a), _) => match strings(a) {
                Some(patterns) => EntryPoint::ALL
                    .into_iter()
                    .filter(|ep| patterns.iter().any(|p| action_matches(p, ep.action())))
                    .collect::<Vec<_>>(),
                None => {
                    out.warnings.push(unclear(Unclear::MalformedAction));
                    continue;
                }
            },
            (None, Some(na)) => {
                out.warnings.push(unclear(Unclear::NotAction));
                match strings(na) {
                    Some(patterns) => EntryPoint::ALL
                        .into_iter()
                        .filter(|ep| !patterns.iter().any(|p| action_matches(p, ep.action())))
                        .collect(),
                    None => {
                        out.warnings.push(unclear(Unclear::MalformedAction));
                        continue;
                    }
                }
            }
            (None, None) => {
                out.warnings.push(unclear(Unclear::NoAction));
                continue;
            }
        };
        if actions.is_empty() {
            continue;
        }
        let conditions = match m.get("Condition") {
            None => Vec::new(),
            Some(c) => conditions(c).unwrap_or_else(|| {
                out.warnings.push(unclear(Unclear::MalformedCondition));
                Vec::new()
            }),
        };
        if m.contains_key("NotPrincipal") {
            out.warnings.push(unclear(Unclear::NotPrincipal));
            continue;
        }
        let Some(principal) = m.get("Principal") else {
            out.warnings.push(unclear(Unclear::NoPrincipal));
            continue;
        };
        let mut add = |kind, principal: &str, account| {
            out.entries.push(Entry {
                kind,
                principal: principal.to_string(),
                account,
                actions: actions.clone(),
                conditions: conditions.clone(),
                statement: index,
            });
        };
        match principal {
            Value::String(s) if s == "*" => add(PrincipalKind::Everyone, s, None),
            Value::Object(map) => {
                for (kind_name, values) in map {
                    let Some(values) = strings(values) else {
                        out.warnings.push(unclear(Unclear::MalformedPrincipal(short(
                            &Value::Object(map.clone()).to_string(),
                        ))));
                        continue;
                    };
                    for v in values {
                        match kind_name.as_str() {
                            "AWS" => {
                                let (kind, account) = aws_principal(v);
                                add(kind, v, account);
                            }
                            "Service" => add(PrincipalKind::Service, v, None),
                            "CanonicalUser" => add(PrincipalKind::CanonicalUser, v, None),
                            "Federated" => match federated_principal(v) {
                                Some((kind, account)) => add(kind, v, account),
                                None => {
                                    out.warnings.push(unclear(
                                        Unclear::UnrecognisedFederatedPrincipal(short(v)),
                                    ));
                                    add(PrincipalKind::Unrecognised, v, None);
                                }
                            },
                            other => out
                                .warnings
                                .push(unclear(Unclear::UnknownPrincipalType(short(other)))),
                        }
                    }
                }
            }
            other => out.warnings.push(unclear(Unclear::MalformedPrincipal(short(
                &other.to_string(),
            )))),
        }
    }
    let warnings = derived_warnings(&out.entries, configured_accounts);
    out.warnings.extend(warnings);
    if denies > 0 {
        out.warnings
            .push(Warning::DenyStatementsNotApplied { count: denies });
    }
    Ok(out)
}

fn derived_warnings(entries: &[Entry], configured: &[AccountId]) -> Vec<Warning> {
    let mut out: Vec<Warning> = Vec::new();
    let mut push = |w: Warning| {
        if !out.contains(&w) {
            out.push(w);
        }
    };
    for e in entries {
        match e.kind {
            PrincipalKind::Everyone => push(Warning::Everyone {
                statement: e.statement,
                conditions: e.conditions.clone(),
            }),
            PrincipalKind::OidcProvider => {
                let provider = oidc_key_prefix(&e.principal);
                let missing_key = format!("{provider}:{}", subject_claim(provider));
                let subject: Vec<&ConditionText> = e
                    .conditions
                    .iter()
                    .filter(|c| {
                        c.key.eq_ignore_ascii_case(&missing_key) && is_positive(&c.operator)
                    })
                    .collect();
                if subject.is_empty() {
                    push(Warning::WebIdentityWithoutSubject {
                        provider: e.principal.clone(),
                        missing_key,
                        statement: e.statement,
                    });
                }
                for c in subject.into_iter().filter(|c| is_like(&c.operator)) {
                    for v in c.values.iter().filter(|v| v.contains(['*', '?'])) {
                        push(Warning::BroadSubject {
                            provider: e.principal.clone(),
                            pattern: v.clone(),
                            statement: e.statement,
                        });
                    }
                }
            }
            _ => {}
        }
        if let Some(account) = &e.account
            && !configured.contains(account)
        {
            push(Warning::UnconfiguredAccount {
                account: account.clone(),
                principal: e.principal.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trust::test_support::{HOME, accounts, run};
    use proptest::prelude::*;

    const GITHUB: &str =
        "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";

    fn github(condition: &str) -> String {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"{GITHUB}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}"#
        )
    }

    #[test]
    fn github_oidc_with_only_an_audience_lets_any_repository_in() {
        let a = run(
            &github(
                r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}"#,
            ),
            &[HOME],
        );
        assert_eq!(a.entries[0].kind, PrincipalKind::OidcProvider);
        assert_eq!(
            a.warnings,
            vec![Warning::WebIdentityWithoutSubject {
                provider: GITHUB.into(),
                missing_key: "token.actions.githubusercontent.com:sub".into(),
                statement: 1,
            }]
        );
        assert!(
            a.warnings[0]
                .to_string()
                .contains("anyone who can get a token")
        );
    }

    #[test]
    fn github_oidc_with_an_exact_subject_is_not_flagged() {
        let a = run(
            &github(
                r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/payments:ref:refs/heads/main"}}"#,
            ),
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
        assert_eq!(a.entries[0].conditions.len(), 2);
    }

    #[test]
    fn a_wildcard_subject_is_flagged_as_broad() {
        let a = run(
            &github(
                r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":["repo:acme/*","repo:acme/payments:ref:refs/heads/main"]}}"#,
            ),
            &[HOME],
        );
        assert_eq!(
            a.warnings,
            vec![Warning::BroadSubject {
                provider: GITHUB.into(),
                pattern: "repo:acme/*".into(),
                statement: 1,
            }]
        );
    }

    #[test]
    fn a_negative_or_vacuous_subject_condition_does_not_count() {
        for op in ["StringNotEquals", "ForAllValues:StringLike"] {
            let a = run(
                &github(&format!(
                    r#"{{"{op}":{{"token.actions.githubusercontent.com:sub":"repo:evil/x:*"}}}}"#
                )),
                &[HOME],
            );
            assert!(
                matches!(
                    a.warnings.as_slice(),
                    [Warning::WebIdentityWithoutSubject { .. }]
                ),
                "{op}: {:?}",
                a.warnings
            );
        }
        // Condition keys are case-insensitive.
        let a = run(
            &github(
                r#"{"StringEquals":{"TOKEN.actions.githubusercontent.com:SUB":"repo:acme/x:ref:refs/heads/main"}}"#,
            ),
            &[HOME],
        );
        assert_eq!(a.warnings, vec![]);
    }

    #[test]
    fn cognito_is_told_apart_by_its_identity_pool_audience() {
        let without = run(
            r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}"#,
            &[HOME],
        );
        assert!(matches!(
            without.warnings.as_slice(),
            [Warning::WebIdentityWithoutSubject { missing_key, .. }] if missing_key == "cognito-identity.amazonaws.com:aud"
        ));
        let with = run(
            r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:12345678-1234-1234-1234-123456789012"}}}"#,
            &[HOME],
        );
        assert_eq!(with.warnings, vec![]);
    }

    #[test]
    fn a_star_principal_is_flagged_with_its_conditions() {
        const NO_CONDITION: &str = "statement 1 trusts \"*\": anyone with AWS credentials can assume this role, with no condition";
        let org = ConditionText {
            operator: "StringEquals".into(),
            key: "aws:PrincipalOrgID".into(),
            values: vec!["o-abc123".into()],
        };
        let cases = [
            (r#""*""#, "", vec![], NO_CONDITION),
            (r#"{"AWS":"*"}"#, "", vec![], NO_CONDITION),
            (
                r#""*""#,
                r#","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
                vec![org],
                "statement 1 trusts \"*\": anyone can assume this role if StringEquals aws:PrincipalOrgID = \"o-abc123\"",
            ),
        ];
        for (principal, condition, conditions, text) in cases {
            let a = run(
                &format!(
                    r#"{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"{condition}}}"#
                ),
                &[HOME],
            );
            assert_eq!(a.entries[0].kind, PrincipalKind::Everyone);
            assert_eq!(
                a.warnings,
                vec![Warning::Everyone {
                    statement: 1,
                    conditions
                }]
            );
            assert_eq!(a.warnings[0].to_string(), text);
        }
    }

    #[test]
    fn not_principal_is_not_understood() {
        let a = run(
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/bob"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert!(a.entries.is_empty());
        assert_eq!(
            a.warnings,
            vec![Warning::NotUnderstood {
                statement: 1,
                reason: Unclear::NotPrincipal
            }]
        );
        assert!(a.warnings[0].to_string().contains("everyone except"));
    }

    #[test]
    fn not_action_is_flagged_and_its_remaining_entry_points_listed() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"NotAction":"sts:AssumeRoleWith*"}"#,
            &[HOME],
        );
        assert_eq!(a.entries[0].actions, vec![EntryPoint::AssumeRole]);
        assert_eq!(
            a.warnings,
            vec![Warning::NotUnderstood {
                statement: 1,
                reason: Unclear::NotAction
            }]
        );
    }

    #[test]
    fn only_entry_point_actions_count() {
        let tag_only = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":["sts:TagSession","sts:SetSourceIdentity"]}"#,
            &[HOME],
        );
        assert_eq!(
            tag_only,
            TrustAnalysis::default(),
            "no way in, nothing to flag"
        );
        let wild = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:*"}"#,
            &[HOME],
        );
        assert_eq!(wild.entries[0].actions, EntryPoint::ALL.to_vec());
        let lower = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"STS:assumerole"}"#,
            &[HOME],
        );
        assert_eq!(lower.entries[0].actions, vec![EntryPoint::AssumeRole]);
    }

    #[test]
    fn deny_statements_are_reported_as_not_applied() {
        let a = run(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/mallory"},"Action":"sts:AssumeRole"}"#,
            &[HOME],
        );
        assert_eq!(a.entries.len(), 1);
        assert_eq!(
            a.warnings,
            vec![Warning::DenyStatementsNotApplied { count: 1 }]
        );
    }

    #[test]
    fn odd_shapes_are_warnings_and_broken_documents_errors() {
        assert!(matches!(
            analyse("nope", &[]),
            Err(TrustError::InvalidJson(_))
        ));
        assert!(matches!(
            analyse(r#"{"Statement":[],"Statement":[]}"#, &[]),
            Err(TrustError::InvalidJson(_))
        ));
        assert_eq!(analyse("[]", &[]), Err(TrustError::NotAnObject));
        assert_eq!(analyse("{}", &[]), Err(TrustError::NoStatement));
        assert_eq!(
            analyse(r#"{"Statement":1}"#, &[]),
            Err(TrustError::StatementNotAList)
        );
        let a = run(
            r#"1,{"Effect":"Allow","Principal":{"Weird":"x"},"Action":"sts:AssumeRole"},{"Effect":"allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Federated":"login.example.com"},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
            &[HOME],
        );
        assert_eq!(
            a.warnings,
            vec![
                Warning::NotUnderstood {
                    statement: 1,
                    reason: Unclear::StatementNotAnObject
                },
                Warning::NotUnderstood {
                    statement: 2,
                    reason: Unclear::UnknownPrincipalType("Weird".into())
                },
                Warning::NotUnderstood {
                    statement: 3,
                    reason: Unclear::UnknownEffect("\"allow\"".into())
                },
                Warning::NotUnderstood {
                    statement: 4,
                    reason: Unclear::UnrecognisedFederatedPrincipal("login.example.com".into())
                },
            ]
        );
        // A single statement object is read like a list of one.
        let single = analyse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
            &[],
        )
        .unwrap();
        assert_eq!(single.entries[0].kind, PrincipalKind::Service);
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "*",
                "Allow",
                "Deny",
                "sts:AssumeRole",
                "sts:*",
                GITHUB,
                "arn:aws:iam::222222222222:root",
                "arn:aws:iam::1:root",
                "arn:",
                "123456789012",
                "token.actions.githubusercontent.com:sub",
                "repo:a/*",
                "cognito-identity.amazonaws.com",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "Statement",
                        "Effect",
                        "Action",
                        "NotAction",
                        "Principal",
                        "NotPrincipal",
                        "AWS",
                        "Service",
                        "Federated",
                        "Condition",
                        "StringLike",
                        "StringEquals",
                        "token.actions.githubusercontent.com:sub"
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn analysing_arbitrary_documents_never_panics(v in arbitrary_json()) {
            if let Ok(a) = analyse(&v.to_string(), &accounts(&[HOME])) {
                for w in &a.warnings {
                    let _ = w.to_string();
                }
                for e in &a.entries {
                    prop_assert!(!e.actions.is_empty());
                    let _ = e.to_string();
                }
            }
        }

        #[test]
        fn analysing_arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = analyse(&text, &[]);
        }
    }
}
