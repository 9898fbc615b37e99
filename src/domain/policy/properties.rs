//! Properties across reading, planning and verifying: every form AWS accepts for the deny, mixed
//! with other statements, plans to a cut-off no earlier than any in force, reads back as written,
//! and no input makes the reader panic.

use chrono::{NaiveTime, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;

use super::test_support::{arbitrary_json, understood};
use super::{Cutoff, DocumentShape, Existing, Verification, plan, read_existing, verify};

/// Strings a policy reader looks for, as leaves of [`arbitrary_json`].
const POLICY_WORDS: &[&str] = &[
    "*",
    "Deny",
    "Allow",
    "2026-01-01",
    "2099-01-01T00:00:00Z",
    "aws:TokenIssueTime",
    "DateLessThan",
    "AWSRevokeOlderSessions",
    "2012-10-17",
    "x",
];

/// Element and key names of a revoke-older-sessions policy, as object keys of [`arbitrary_json`].
const POLICY_KEYS: &[&str] = &[
    "Version",
    "Statement",
    "Effect",
    "Action",
    "Resource",
    "Condition",
    "DateLessThan",
    "aws:TokenIssueTime",
    "aws:tokenissuetime",
    "Sid",
    "Id",
];

/// Every way AWS lets the same cut-off be written, and how many whole seconds it is.
fn time_forms() -> impl Strategy<Value = (Value, i64)> {
    // 2000-01-01 .. 2100-01-01, whole seconds.
    (
        946_684_800i64..4_102_444_800,
        0u8..6,
        0u32..1000,
        -14i32..=14,
    )
        .prop_map(|(secs, form, millis, offset_h)| {
            let at = Utc.timestamp_opt(secs, 0).single().unwrap();
            match form {
                0 => (
                    Value::String(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                    secs,
                ),
                1 => (
                    Value::String(format!("{}.{millis:03}Z", at.format("%Y-%m-%dT%H:%M:%S"))),
                    secs,
                ),
                2 => {
                    let off = chrono::FixedOffset::east_opt(offset_h * 3600).unwrap();
                    (
                        Value::String(
                            at.with_timezone(&off)
                                .format("%Y-%m-%dT%H:%M:%S%:z")
                                .to_string(),
                        ),
                        secs,
                    )
                }
                3 => {
                    let day = at.date_naive();
                    (
                        Value::String(day.format("%Y-%m-%d").to_string()),
                        day.and_time(NaiveTime::MIN).and_utc().timestamp(),
                    )
                }
                4 => (Value::String(secs.to_string()), secs),
                _ => (Value::from(secs), secs),
            }
        })
}

fn deny_statement() -> impl Strategy<Value = (Value, i64)> {
    (
        prop::collection::vec(time_forms(), 1..4),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
        prop::sample::select(vec![
            "aws:TokenIssueTime",
            "aws:tokenissuetime",
            "AWS:TOKENISSUETIME",
        ]),
    )
        .prop_map(|(times, list, star_string, sid, key)| {
            let latest = times.iter().map(|(_, s)| *s).max().unwrap();
            let values = if list || times.len() > 1 {
                Value::Array(times.into_iter().map(|(v, _)| v).collect())
            } else {
                times.into_iter().next().unwrap().0
            };
            let star = if star_string {
                Value::from("*")
            } else {
                serde_json::json!(["*"])
            };
            let mut s = serde_json::json!({
                "Effect": "Deny", "Action": star.clone(), "Resource": star,
                "Condition": {"DateLessThan": {key: values}}
            });
            match sid {
                0 => {}
                1 => {
                    s["Sid"] = "AWSRevokeOlderSessions".into();
                }
                _ => {
                    s["Sid"] = "SomeoneElse".into();
                }
            }
            (s, latest)
        })
}

fn other_statement() -> impl Strategy<Value = Value> {
    ("[a-z]{1,8}", any::<bool>()).prop_map(|(name, allow)| {
        serde_json::json!({
            "Sid": format!("S{name}"),
            "Effect": if allow { "Allow" } else { "Deny" },
            "Action": format!("s3:{name}"),
            "Resource": format!("arn:aws:s3:::{name}/*"),
        })
    })
}

fn existing_document() -> impl Strategy<Value = (String, Option<i64>, Vec<Value>)> {
    (
        prop::collection::vec(
            prop_oneof![
                deny_statement().prop_map(|(s, t)| (s, Some(t))),
                other_statement().prop_map(|s| (s, None)),
            ],
            0..5,
        ),
        any::<bool>(),
    )
        .prop_filter("Sids are unique in IAM", |(ss, _)| {
            let sids: Vec<&str> = ss.iter().filter_map(|(s, _)| s["Sid"].as_str()).collect();
            let mut dedup = sids.clone();
            dedup.sort_unstable();
            dedup.dedup();
            dedup.len() == sids.len()
        })
        .prop_map(|(statements, single_object)| {
            let latest = statements.iter().filter_map(|(_, t)| *t).max();
            let others: Vec<Value> = statements
                .iter()
                .filter(|(s, t)| {
                    t.is_none()
                        || s["Sid"]
                            .as_str()
                            .is_some_and(|sid| sid != "AWSRevokeOlderSessions")
                })
                .map(|(s, _)| s.clone())
                .collect();
            let list: Vec<Value> = statements.into_iter().map(|(s, _)| s).collect();
            let statement = if single_object && list.len() == 1 {
                list.into_iter().next().unwrap()
            } else {
                Value::Array(list)
            };
            let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statement});
            (doc.to_string(), latest, others)
        })
}

proptest! {
    #[test]
    fn merging_never_yields_a_cutoff_earlier_than_any_in_the_input(
        (doc, latest, others) in existing_document(),
        ours_secs in 946_684_800i64..4_102_444_800,
        permission_set in any::<bool>(),
    ) {
        let shape = if permission_set { DocumentShape::PermissionSetInlinePolicy } else { DocumentShape::RoleInlinePolicy };
        let ours = Cutoff::from_unix(ours_secs).unwrap();
        let existing = understood(&doc);
        prop_assert_eq!(existing.cutoff().map(|c| c.time().timestamp()), latest);
        let p = plan(&existing, ours, shape).unwrap();
        prop_assert!(p.cutoff() >= ours);
        if let Some(l) = latest {
            prop_assert!(p.cutoff().time().timestamp() >= l);
        }
        // What would be written reads back as understood, with the same cut-off in force and the
        // other statements kept in order.
        let again = understood(p.json());
        prop_assert_eq!(again.cutoff(), Some(p.cutoff()));
        prop_assert_eq!(again.others(), others);
        prop_assert_eq!(verify(&p, p.json()), Verification::Matches);
        prop_assert_eq!(p.needs_write(), latest.is_none_or(|l| l < ours_secs));
    }

    #[test]
    fn reading_arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = read_existing(Some(&text));
    }

    #[test]
    fn reading_arbitrary_json_never_panics(v in arbitrary_json(POLICY_WORDS, POLICY_KEYS)) {
        let text = v.to_string();
        if let Existing::Understood(p) = read_existing(Some(&text)) {
            let ours = Cutoff::from_unix(1_767_225_600).unwrap();
            let planned = plan(&p, ours, DocumentShape::PermissionSetInlinePolicy).unwrap();
            prop_assert!(planned.cutoff() >= ours);
        }
    }
}
