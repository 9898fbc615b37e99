//! The `/revoke-role` grammar (SPEC §2). Text arrives HTML-escaped by Slack; what a person typed is kept.

use std::time::Duration;

use super::ids::{RequestId, SlackUserId};
use super::role_arn::RoleSpec;

pub const REASON_MIN: usize = 3;
pub const REASON_MAX: usize = 500;
pub const AUDIT_DEFAULT_LIMIT: u32 = 10;
pub const AUDIT_MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Revoke {
        role: RoleSpec,
        reason: String,
    },
    /// `permission-set <name or ARN> <reason>` (SPEC §10).
    RevokePermissionSet {
        name: String,
        reason: String,
    },
    Status(RequestId),
    Audit(AuditQuery),
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    Latest,
    Role(RoleSpec),
    Request(RequestId),
    User(SlackUserId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub target: AuditTarget,
    pub since: Option<Duration>,
    pub limit: u32,
}

/// Why a command could not be understood; shown to the person with the usage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

pub const USAGE: &str = "\
*Usage*
• `/revoke-role <role> <reason>`: ask to cut off every session of <role> issued before approval. <role> is a role ARN, `account/RoleName`, or `RoleName` when one account is configured. A second authorized person must approve.
• `/revoke-role status <request-id>`: one request and its events
• `/revoke-role audit [<role>|<request-id>|@user] [--since 7d] [--limit 20]`: the audit trail
• `/revoke-role help`: this text";

/// Undo Slack's escaping of `&`, `<` and `>` (exactly these three, in the right order).
pub fn decode_slack_text(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Escape text for display in Slack mrkdwn, exactly once.
pub fn escape_slack_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `30s`, `30m`, `12h`, `7d`, `2w`.
pub fn parse_duration(s: &str) -> Result<Duration, CommandError> {
    let bad = || CommandError(format!("`{s}` is not a duration (examples: 30m, 12h, 7d)"));
    let s = s.trim();
    let unit = s.chars().last().ok_or_else(bad)?;
    let digits = &s[..s.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        's' => n,
        'm' => n * 60,
        'h' => n * 3600,
        'd' => n * 86_400,
        'w' => n * 604_800,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(CommandError(format!("`{s}` is zero")));
    }
    Ok(Duration::from_secs(secs))
}

/// `<@U123ABC>` or `<@U123ABC|name>` as Slack sends a mention.
fn parse_mention(raw: &str) -> Option<Result<SlackUserId, CommandError>> {
    let inner = raw.strip_prefix("<@")?.strip_suffix('>')?;
    let id = inner.split('|').next().unwrap_or_default();
    Some(SlackUserId::parse(id).map_err(|e| CommandError(e.0)))
}

impl Command {
    /// Parse the `text` field of a slash command as Slack delivers it (escaped).
    pub fn parse(raw: &str) -> Result<Command, CommandError> {
        let raw = raw.trim();
        let (first, rest) = match raw.split_once(char::is_whitespace) {
            Some((f, r)) => (f, r.trim()),
            None => (raw, ""),
        };
        match first.to_ascii_lowercase().as_str() {
            "" | "help" | "-h" | "--help" => Ok(Command::Help),
            "status" => {
                let mut words = rest.split_whitespace();
                let id = words.next().ok_or_else(|| {
                    CommandError("`status` needs a request id, e.g. `status rr-7f3k2q9x`".into())
                })?;
                if words.next().is_some() {
                    return Err(CommandError("`status` takes exactly one request id".into()));
                }
                RequestId::parse(&decode_slack_text(id))
                    .map(Command::Status)
                    .map_err(|e| CommandError(e.0))
            }
            "audit" => parse_audit(rest).map(Command::Audit),
            "permission-set" => {
                let (name, reason) = match rest.split_once(char::is_whitespace) {
                    Some((n, r)) => (decode_slack_text(n), decode_slack_text(r.trim())),
                    None => (decode_slack_text(rest), String::new()),
                };
                let ok_name = !name.is_empty()
                    && name.len() <= 256
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-:/".contains(c));
                if !ok_name {
                    return Err(CommandError(
                        "`permission-set` needs a permission set name or ARN, then a reason".into(),
                    ));
                }
                check_reason(&reason)?;
                Ok(Command::RevokePermissionSet { name, reason })
            }
            _ => {
                let role =
                    RoleSpec::parse(&decode_slack_text(first)).map_err(|e| CommandError(e.0))?;
                let reason = decode_slack_text(rest);
                check_reason(&reason)?;
                Ok(Command::Revoke { role, reason })
            }
        }
    }
}

fn check_reason(reason: &str) -> Result<(), CommandError> {
    let len = reason.chars().count();
    if len < REASON_MIN {
        return Err(CommandError(format!(
            "a reason is required after the role ({REASON_MIN}–{REASON_MAX} characters, e.g. an incident id)"
        )));
    }
    if len > REASON_MAX {
        return Err(CommandError(format!(
            "the reason is {len} characters; keep it to {REASON_MAX}"
        )));
    }
    Ok(())
}

fn parse_audit(rest: &str) -> Result<AuditQuery, CommandError> {
    let mut target = AuditTarget::Latest;
    let mut since = None;
    let mut limit = AUDIT_DEFAULT_LIMIT;
    let mut words = rest.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "--since" => {
                let v = words.next().ok_or_else(|| {
                    CommandError("`--since` needs a duration, e.g. `--since 7d`".into())
                })?;
                since = Some(parse_duration(v)?);
            }
            "--limit" => {
                let v = words
                    .next()
                    .ok_or_else(|| CommandError("`--limit` needs a number".into()))?;
                limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=AUDIT_MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        CommandError(format!("`--limit` takes 1 to {AUDIT_MAX_LIMIT}"))
                    })?;
            }
            flag if flag.starts_with("--") => {
                return Err(CommandError(format!(
                    "unknown option `{}` (audit takes --since and --limit)",
                    decode_slack_text(flag)
                )));
            }
            word => {
                if target != AuditTarget::Latest {
                    return Err(CommandError(
                        "audit takes one role, request id or @user".into(),
                    ));
                }
                target = if let Some(m) = parse_mention(word) {
                    AuditTarget::User(m?)
                } else {
                    let word = decode_slack_text(word);
                    if RequestId::looks_like(&word) {
                        AuditTarget::Request(
                            RequestId::parse(&word).map_err(|e| CommandError(e.0))?,
                        )
                    } else {
                        AuditTarget::Role(RoleSpec::parse(&word).map_err(|e| CommandError(e.0))?)
                    }
                };
            }
        }
    }
    Ok(AuditQuery {
        target,
        since,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn revoke(s: &str) -> (RoleSpec, String) {
        match Command::parse(s).unwrap() {
            Command::Revoke { role, reason } => (role, reason),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help_for_empty_and_help() {
        assert_eq!(Command::parse("").unwrap(), Command::Help);
        assert_eq!(Command::parse("   ").unwrap(), Command::Help);
        assert_eq!(Command::parse("help").unwrap(), Command::Help);
        assert_eq!(Command::parse("HELP").unwrap(), Command::Help);
    }

    #[test]
    fn revoke_with_arn_account_and_bare_role() {
        let (role, reason) = revoke("arn:aws:iam::111111111111:role/app INC-42 leaked keys");
        assert!(matches!(role, RoleSpec::Arn(_)));
        assert_eq!(reason, "INC-42 leaked keys");
        let (role, _) = revoke("prod/app INC-42");
        assert_eq!(
            role,
            RoleSpec::InAccount {
                account: "prod".into(),
                name: "app".into()
            }
        );
        let (role, _) = revoke("app   INC-42");
        assert_eq!(role, RoleSpec::Bare("app".into()));
    }

    #[test]
    fn reason_is_decoded_once() {
        let (_, reason) = revoke("app INC-1 &lt;b&gt; &amp;amp; Tom &amp; Jerry");
        assert_eq!(reason, "INC-1 <b> &amp; Tom & Jerry");
        assert_eq!(
            escape_slack_text(&reason),
            "INC-1 &lt;b&gt; &amp;amp; Tom &amp; Jerry"
        );
    }

    #[test]
    fn reason_is_required_and_bounded() {
        assert!(
            Command::parse("app")
                .unwrap_err()
                .0
                .contains("reason is required")
        );
        assert!(
            Command::parse("app ab")
                .unwrap_err()
                .0
                .contains("reason is required")
        );
        assert!(Command::parse("app abc").is_ok());
        assert!(Command::parse(&format!("app {}", "x".repeat(500))).is_ok());
        assert!(
            Command::parse(&format!("app {}", "x".repeat(501)))
                .unwrap_err()
                .0
                .contains("500")
        );
    }

    #[test]
    fn bad_roles_say_what_is_wrong() {
        assert!(
            Command::parse("arn:aws:iam::12:role/x INC-1")
                .unwrap_err()
                .0
                .contains("12 digits")
        );
        assert!(
            Command::parse("my$role INC-1")
                .unwrap_err()
                .0
                .contains("not allowed")
        );
    }

    #[test]
    fn status_takes_one_request_id() {
        assert_eq!(
            Command::parse("status rr-7f3k2q9x").unwrap(),
            Command::Status(RequestId::parse("rr-7f3k2q9x").unwrap())
        );
        assert!(Command::parse("status").is_err());
        assert!(Command::parse("status nope").is_err());
        assert!(Command::parse("status rr-7f3k2q9x extra").is_err());
    }

    #[test]
    fn audit_forms() {
        let q = |s: &str| match Command::parse(s).unwrap() {
            Command::Audit(q) => q,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            q("audit"),
            AuditQuery {
                target: AuditTarget::Latest,
                since: None,
                limit: 10
            }
        );
        assert_eq!(
            q("audit rr-7f3k2q9x").target,
            AuditTarget::Request(RequestId::parse("rr-7f3k2q9x").unwrap())
        );
        assert_eq!(
            q("audit <@U01BOB|bob>").target,
            AuditTarget::User(SlackUserId::parse("U01BOB").unwrap())
        );
        assert_eq!(
            q("audit <@U01BOB>").target,
            AuditTarget::User(SlackUserId::parse("U01BOB").unwrap())
        );
        assert_eq!(
            q("audit prod/app").target,
            AuditTarget::Role(RoleSpec::parse("prod/app").unwrap())
        );
        let full = q("audit app --since 7d --limit 20");
        assert_eq!(full.since, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(full.limit, 20);
        assert!(Command::parse("audit --limit 0").is_err());
        assert!(Command::parse("audit --limit 1000").is_err());
        assert!(Command::parse("audit --since").is_err());
        assert!(Command::parse("audit --since 7y").is_err());
        assert!(Command::parse("audit --frobnicate").is_err());
        assert!(Command::parse("audit a b").is_err());
        assert!(Command::parse("audit rr-bad").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
        for bad in ["", "m", "0m", "7", "7y", "-1d", "1.5h", "9999999d", "٣d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,300}") {
            let _ = Command::parse(&s);
        }

        #[test]
        fn accepted_reasons_are_within_bounds(s in "[a-z]{1,10} [ -~]{0,600}") {
            if let Ok(Command::Revoke { reason, .. }) = Command::parse(&s) {
                let n = reason.chars().count();
                prop_assert!((REASON_MIN..=REASON_MAX).contains(&n));
            }
        }

        #[test]
        fn escape_then_decode_is_identity(s in "\\PC{0,100}") {
            prop_assert_eq!(decode_slack_text(&escape_slack_text(&s)), s);
        }
    }
}
