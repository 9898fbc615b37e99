//! The `/revoke-role` grammar (README "Using it in Slack"). Text arrives as Slack sends it with `should_escape: true`:
//! `&`, `<` and `>` HTML-escaped, mentions as `<@U…|name>`, channels as `<#C…|name>`, links and
//! e-mail addresses as `<url|label>` or `<url>`. What a person typed is kept: markup is unwrapped
//! to its label, then the entities are decoded.

use std::time::Duration;

use super::access_key::{AccessKeyId, AccessKeyKind};
use super::ids::{RequestId, SlackUserId};
use super::role_arn::RoleSpec;
use super::user::UserSpec;

pub const REASON_MIN: usize = 3;
pub const REASON_MAX: usize = 500;
pub const AUDIT_DEFAULT_LIMIT: u32 = 10;
pub const AUDIT_MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Revoke {
        role: RoleSpec,
        reason: String,
        /// Leaked temporary keys attached with trailing `key ASIA…` words, in the order typed.
        keys: Vec<AccessKeyId>,
    },
    /// `permission-set <name or ARN> <reason>` (README "Identity Center permission sets").
    RevokePermissionSet {
        name: String,
        reason: String,
    },
    /// `key <access-key-id> <reason>`, or an access key id as the first word.
    RevokeKey {
        key: AccessKeyId,
        reason: String,
    },
    /// `user <name | account/name | ARN> <reason>`.
    RevokeUser {
        user: UserSpec,
        reason: String,
    },
    /// `restore <request-id> <reason>`: set the keys that request deactivated back to `Active`.
    Restore {
        request: RequestId,
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

impl Command {
    /// What to tell a person who asked for something this version parses but does not carry
    /// out yet: the form they used, and what to do meanwhile. `None` for every other command.
    pub fn not_available_yet(&self) -> Option<CommandError> {
        let what = match self {
            Command::RevokeKey { .. } => "`/revoke-role key …` (revoking a leaked access key)",
            Command::RevokeUser { .. } => "`/revoke-role user …` (revoking an IAM user's keys)",
            Command::Restore { .. } => "`/revoke-role restore …` (restoring deactivated keys)",
            Command::Revoke { keys, .. } if !keys.is_empty() => {
                "attaching leaked keys to a request (`… key ASIA…`)"
            }
            _ => return None,
        };
        Some(CommandError(format!(
            "{what} is not available yet in this version. Nothing was requested: deactivate a \
             leaked key in the IAM console, and ask for its role with `/revoke-role <role> <reason>`."
        )))
    }
}

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

/// What a person typed for one piece of Slack markup (the text between `<` and `>`, still
/// escaped): a mention's or channel's name, a link's label, or the bare link. Broadcasts and
/// group mentions (`<!…>`) stay markup.
fn unwrap_markup(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l).filter(|l| !l.is_empty())),
        None => (inner, None),
    };
    let typed = if let Some(id) = target.strip_prefix('@') {
        // <@U123|bob> was typed as @bob.
        format!("@{}", label.unwrap_or(id))
    } else if let Some(id) = target.strip_prefix('#') {
        format!("#{}", label.unwrap_or(id))
    } else if target.starts_with('!') {
        // <!here>, <!channel>, <!everyone>, <!subteam^S123|@oncall>: kept as the markup itself.
        // Unwrapped to `@channel`, Slack's automatic parsing of the bot's own message could turn
        // it back into a broadcast the person may not send; as markup, the bot's output escaping
        // shows it as text.
        format!("<{inner}>")
    } else {
        match label {
            Some(l) => l.to_string(),
            None => target.strip_prefix("mailto:").unwrap_or(target).to_string(),
        }
    };
    decode_slack_text(&typed)
}

/// Undo Slack's escaping of a whole text: markup unwrapped to what was typed, entities decoded.
/// A `<` without its `>` is kept as it is.
pub fn unwrap_slack_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode_slack_text(&rest[..open]));
        let after = &rest[open + 1..];
        match after.find(['<', '>']) {
            Some(close) if after[close..].starts_with('>') => {
                out.push_str(&unwrap_markup(&after[..close]));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(&decode_slack_text(rest));
    out
}

/// Split off the first word; whitespace inside Slack markup (`<url|a label>`) does not end it.
fn split_word(s: &str) -> (&str, &str) {
    let mut depth = false;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth = true,
            '>' => depth = false,
            c if c.is_whitespace() && !depth => return (&s[..i], s[i..].trim()),
            _ => {}
        }
    }
    (s, "")
}

/// Where each word of `s` starts and ends (byte offsets), markup kept whole.
fn word_spans(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut in_markup = false;
    for (i, c) in s.char_indices() {
        match c {
            c if c.is_whitespace() && !in_markup => {
                if let Some(st) = start.take() {
                    out.push((st, i));
                }
            }
            c => {
                if c == '<' {
                    in_markup = true;
                } else if c == '>' {
                    in_markup = false;
                }
                start.get_or_insert(i);
            }
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

/// Every word, markup kept whole.
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (w, r) = split_word(rest);
        out.push(w);
        rest = r;
    }
    out
}

/// A mention of a person, channel or group where a role is expected.
fn not_a_role(raw: &str) -> Option<CommandError> {
    not_a(raw, "a role (a role ARN, `account/RoleName` or `RoleName`)")
}

/// A mention of a person, channel or group where `expected` is.
fn not_a(raw: &str, expected: &str) -> Option<CommandError> {
    let what = if raw.starts_with("<@") || raw.starts_with("<!") {
        "a mention"
    } else if raw.starts_with("<#") {
        "a channel"
    } else {
        return None;
    };
    Some(CommandError(format!(
        "`{}` is {what}, not {expected}",
        unwrap_slack_text(raw)
    )))
}

/// `<subject> <reason>` after a keyword: the subject's word as typed (still escaped) and the
/// reason, unwrapped and checked.
fn subject_and_reason<'a>(
    rest: &'a str,
    keyword: &str,
    needs: &str,
) -> Result<(&'a str, String), CommandError> {
    let (subject, reason) = split_word(rest);
    if subject.is_empty() {
        return Err(CommandError(format!(
            "`{keyword}` needs {needs}, then a reason"
        )));
    }
    let reason = unwrap_slack_text(reason);
    check_reason(&reason)?;
    Ok((subject, reason))
}

/// An access key id a person pasted (Slack may have made it a link: unwrapped first).
fn access_key(raw: &str) -> Result<AccessKeyId, CommandError> {
    AccessKeyId::parse(&unwrap_slack_text(raw)).map_err(|e| CommandError(e.0))
}

/// Trailing `key <id>` pairs (README "Leaked access keys and IAM users"): recognised only at the end, repeatable. Returns what
/// comes before them and the keys in the order typed; a `key` followed by a word that is no
/// attempt at a key id is left in the reason.
fn trailing_keys(rest: &str) -> Result<(&str, Vec<AccessKeyId>), CommandError> {
    let spans = word_spans(rest);
    let mut end = spans.len();
    let mut keys = Vec::new();
    while end >= 2 {
        let (ks, ke) = spans[end - 2];
        let (is, ie) = spans[end - 1];
        let id = unwrap_slack_text(&rest[is..ie]);
        if !rest[ks..ke].eq_ignore_ascii_case("key") || !AccessKeyId::looks_like(&id) {
            break;
        }
        let key = AccessKeyId::parse(&id).map_err(|e| CommandError(e.0))?;
        if key.kind() == AccessKeyKind::LongTerm {
            return Err(CommandError(format!(
                "`{key}` is a long-term key, which belongs to an IAM user: revoke it with \
                 `/revoke-role key {key} <reason>`"
            )));
        }
        keys.push(key);
        end -= 2;
    }
    keys.reverse();
    let mut seen = Vec::new();
    keys.retain(|k| {
        let first = !seen.contains(k);
        seen.push(k.clone());
        first
    });
    let body_end = if end == 0 { 0 } else { spans[end - 1].1 };
    Ok((&rest[..body_end], keys))
}

impl Command {
    /// Parse the `text` field of a slash command as Slack delivers it (escaped).
    pub fn parse(raw: &str) -> Result<Command, CommandError> {
        let (first, rest) = split_word(raw.trim());
        match first.to_ascii_lowercase().as_str() {
            "" | "help" | "-h" | "--help" => Ok(Command::Help),
            "status" => {
                let mut words = words(rest).into_iter();
                let id = words.next().ok_or_else(|| {
                    CommandError("`status` needs a request id, e.g. `status rr-7f3k2q9x`".into())
                })?;
                if words.next().is_some() {
                    return Err(CommandError("`status` takes exactly one request id".into()));
                }
                RequestId::parse(&unwrap_slack_text(id))
                    .map(Command::Status)
                    .map_err(|e| CommandError(e.0))
            }
            "audit" => parse_audit(rest).map(Command::Audit),
            "key" => {
                let (key, reason) =
                    subject_and_reason(rest, "key", "an access key id (AKIA… or ASIA…)")?;
                if let Some(e) = not_a(key, "an access key id (AKIA… or ASIA…)") {
                    return Err(e);
                }
                Ok(Command::RevokeKey {
                    key: access_key(key)?,
                    reason,
                })
            }
            "user" => {
                let needs = "an IAM user (a user ARN, `account/UserName` or `UserName`)";
                let (user, reason) = subject_and_reason(rest, "user", needs)?;
                if let Some(e) = not_a(user, needs) {
                    return Err(e);
                }
                let user =
                    UserSpec::parse(&unwrap_slack_text(user)).map_err(|e| CommandError(e.0))?;
                Ok(Command::RevokeUser { user, reason })
            }
            "restore" => {
                let (id, reason) = subject_and_reason(
                    rest,
                    "restore",
                    "the request id whose keys to restore, e.g. `restore rr-7f3k2q9x`,",
                )?;
                let request =
                    RequestId::parse(&unwrap_slack_text(id)).map_err(|e| CommandError(e.0))?;
                Ok(Command::Restore { request, reason })
            }
            _ if AccessKeyId::looks_like(&unwrap_slack_text(first)) => {
                let key = access_key(first)?;
                let reason = unwrap_slack_text(rest);
                check_reason(&reason)?;
                Ok(Command::RevokeKey { key, reason })
            }
            "permission-set" => {
                let (name, reason) = match rest.split_once(char::is_whitespace) {
                    Some((n, r)) => (unwrap_slack_text(n), unwrap_slack_text(r.trim())),
                    None => (unwrap_slack_text(rest), String::new()),
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
                if let Some(e) = not_a_role(first) {
                    return Err(e);
                }
                let role =
                    RoleSpec::parse(&unwrap_slack_text(first)).map_err(|e| CommandError(e.0))?;
                let (reason, keys) = trailing_keys(rest)?;
                let reason = unwrap_slack_text(reason);
                check_reason(&reason)?;
                Ok(Command::Revoke { role, reason, keys })
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
    let mut words = words(rest).into_iter();
    while let Some(w) = words.next() {
        match w {
            "--since" => {
                let v = words.next().ok_or_else(|| {
                    CommandError("`--since` needs a duration, e.g. `--since 7d`".into())
                })?;
                since = Some(parse_duration(&unwrap_slack_text(v))?);
            }
            "--limit" => {
                let v = words
                    .next()
                    .ok_or_else(|| CommandError("`--limit` needs a number".into()))?;
                limit = unwrap_slack_text(v)
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
                    unwrap_slack_text(flag)
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
                } else if let Some(e) = not_a_role(word) {
                    return Err(e);
                } else {
                    let word = unwrap_slack_text(word);
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
            Command::Revoke { role, reason, keys } if keys.is_empty() => (role, reason),
            other => panic!("{other:?}"),
        }
    }

    const AKIA: &str = "AKIAIOSFODNN7EXAMPLE";
    const ASIA: &str = "ASIAY34FZKBOKMUTVV7A";
    const ASIA2: &str = "ASIAY34FZKBOKMUTVV7B";

    fn key(s: &str) -> AccessKeyId {
        AccessKeyId::parse(s).unwrap()
    }

    #[test]
    fn key_then_an_access_key_id_and_a_reason() {
        assert_eq!(
            Command::parse(&format!("key {AKIA} INC-7 pushed to GitHub")).unwrap(),
            Command::RevokeKey {
                key: key(AKIA),
                reason: "INC-7 pushed to GitHub".into()
            }
        );
        assert_eq!(
            Command::parse(&format!("KEY {ASIA} INC-7")).unwrap(),
            Command::RevokeKey {
                key: key(ASIA),
                reason: "INC-7".into()
            }
        );
    }

    #[test]
    fn a_first_word_that_is_an_access_key_id_means_key() {
        assert_eq!(
            Command::parse(&format!("{AKIA}   INC-7 &lt;paste&gt;")).unwrap(),
            Command::RevokeKey {
                key: key(AKIA),
                reason: "INC-7 <paste>".into()
            }
        );
        assert_eq!(
            Command::parse(&format!("{ASIA} INC-7")).unwrap(),
            Command::RevokeKey {
                key: key(ASIA),
                reason: "INC-7".into()
            }
        );
    }

    #[test]
    fn a_pasted_key_that_is_not_quite_a_key_says_what_is_wrong() {
        for (text, says) in [
            ("AKIAIOSFODNN7EXAMPL INC-7", "19 characters"),
            ("AKIAIOSFODNN0EXAMPLE INC-7", "`0` is not allowed"),
            ("key akiaiosfodnn7example INC-7", "start with AKIA or ASIA"),
            ("key AIDAIOSFODNN7EXAMPLE INC-7", "start with AKIA or ASIA"),
            ("key", "`key` needs an access key id"),
            (
                "key <@U01BOB|bob> INC-7",
                "is a mention, not an access key id",
            ),
        ] {
            let e = Command::parse(text).unwrap_err();
            assert!(e.0.contains(says), "{text}: {}", e.0);
        }
        assert!(
            Command::parse(&format!("key {AKIA}"))
                .unwrap_err()
                .0
                .contains("reason is required")
        );
        assert!(
            Command::parse(&format!("{AKIA} ab"))
                .unwrap_err()
                .0
                .contains("reason is required")
        );
    }

    #[test]
    fn a_role_whose_name_starts_like_a_key_is_still_a_role() {
        let (role, _) = revoke("AKIAProcessorRoleForEtl INC-7");
        assert_eq!(role, RoleSpec::Bare("AKIAProcessorRoleForEtl".into()));
    }

    #[test]
    fn a_key_slack_turned_into_a_link_is_unwrapped() {
        assert_eq!(
            Command::parse(&format!("key <http://{AKIA}|{AKIA}> INC-7")).unwrap(),
            Command::RevokeKey {
                key: key(AKIA),
                reason: "INC-7".into()
            }
        );
    }

    #[test]
    fn user_by_name_account_or_arn() {
        let user = |s: &str| match Command::parse(s).unwrap() {
            Command::RevokeUser { user, reason } => (user, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            user("user ci-bot INC-7 keys on pastebin"),
            (
                UserSpec::Bare("ci-bot".into()),
                "INC-7 keys on pastebin".into()
            )
        );
        assert_eq!(
            user("USER prod/ci-bot INC-7").0,
            UserSpec::InAccount {
                account: "prod".into(),
                name: "ci-bot".into()
            }
        );
        assert!(matches!(
            user("user arn:aws:iam::111111111111:user/build/ci-bot INC-7").0,
            UserSpec::Arn(a) if a.path() == "/build/" && a.name() == "ci-bot"
        ));
        for (text, says) in [
            ("user", "`user` needs an IAM user"),
            ("user ci-bot", "reason is required"),
            ("user ci$bot INC-7", "not allowed"),
            ("user arn:aws:iam::111111111111:role/x INC-7", "not a user"),
            (
                "user <@U01BOB|bob> INC-7",
                "`@bob` is a mention, not an IAM user",
            ),
        ] {
            let e = Command::parse(text).unwrap_err();
            assert!(e.0.contains(says), "{text}: {}", e.0);
        }
    }

    #[test]
    fn restore_takes_a_request_id_and_a_reason() {
        assert_eq!(
            Command::parse("restore RR-7F3K2Q9X INC-7 false alarm, key rotated").unwrap(),
            Command::Restore {
                request: RequestId::parse("rr-7f3k2q9x").unwrap(),
                reason: "INC-7 false alarm, key rotated".into()
            }
        );
        for (text, says) in [
            ("restore", "`restore` needs the request id"),
            ("restore rr-7f3k2q9x", "reason is required"),
            ("restore app INC-7", "not a request id"),
        ] {
            let e = Command::parse(text).unwrap_err();
            assert!(e.0.contains(says), "{text}: {}", e.0);
        }
    }

    #[test]
    fn trailing_key_words_attach_temporary_keys_to_a_role_request() {
        let parsed = |s: &str| match Command::parse(s).unwrap() {
            Command::Revoke { role, reason, keys } => (role, reason, keys),
            other => panic!("{other:?}"),
        };
        let (role, reason, keys) = parsed(&format!("prod/app INC-7 leaked key {ASIA}"));
        assert_eq!(
            role,
            RoleSpec::InAccount {
                account: "prod".into(),
                name: "app".into()
            }
        );
        assert_eq!(reason, "INC-7 leaked");
        assert_eq!(keys, [key(ASIA)]);

        let (_, reason, keys) = parsed(&format!("app INC-7  key {ASIA2} KEY {ASIA}	key {ASIA2}"));
        assert_eq!(reason, "INC-7");
        assert_eq!(
            keys,
            [key(ASIA2), key(ASIA)],
            "in the order typed, once each"
        );
    }

    #[test]
    fn key_words_count_only_at_the_end() {
        let (_, reason) = revoke(&format!("app INC-7 key {ASIA} was in the log"));
        assert_eq!(reason, format!("INC-7 key {ASIA} was in the log"));
        let (_, reason) = revoke("app INC-7 lost the key yesterday");
        assert_eq!(reason, "INC-7 lost the key yesterday");
        let (_, reason) = revoke("app INC-7 rotate the key");
        assert_eq!(reason, "INC-7 rotate the key");
    }

    #[test]
    fn trailing_keys_are_checked_and_still_need_a_reason() {
        for (text, says) in [
            (format!("app INC-7 key {}", &ASIA[..19]), "19 characters"),
            (format!("app INC-7 key {AKIA}"), "long-term key"),
            (format!("app key {ASIA}"), "reason is required"),
            (format!("app ab key {ASIA}"), "reason is required"),
        ] {
            let e = Command::parse(&text).unwrap_err();
            assert!(e.0.contains(says), "{text}: {}", e.0);
        }
    }

    #[test]
    fn forms_not_carried_out_yet_say_so_and_nothing_else_does() {
        for text in [
            format!("key {AKIA} INC-7"),
            format!("{AKIA} INC-7"),
            "user ci-bot INC-7".to_string(),
            "restore rr-7f3k2q9x INC-7".to_string(),
            format!("app INC-7 key {ASIA}"),
        ] {
            let c = Command::parse(&text).unwrap();
            let e = c.not_available_yet().unwrap_or_else(|| panic!("{text}"));
            assert!(e.0.contains("not available yet"), "{text}: {}", e.0);
        }
        for text in ["app INC-7", "help", "status rr-7f3k2q9x", "audit"] {
            assert_eq!(Command::parse(text).unwrap().not_available_yet(), None);
        }
    }

    #[test]
    fn word_spans_keep_markup_whole() {
        let s = " a <http://x|b c>  d\t";
        let words: Vec<&str> = word_spans(s).into_iter().map(|(a, b)| &s[a..b]).collect();
        assert_eq!(words, ["a", "<http://x|b c>", "d"]);
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

    /// Exactly what Slack sends with `should_escape: true` (mentions, channels, links, e-mail).
    #[test]
    fn slack_markup_in_the_reason_is_what_was_typed() {
        let (_, reason) = revoke(
            "app INC-7 <@U01ALICE|alice> saw it in <#C01SEC|security>, see \
             <https://tracker.example.com/INC-7?a=1&amp;b=2> and \
             <http://example.com|example.com>; mail <mailto:sec@example.com|sec@example.com>",
        );
        assert_eq!(
            reason,
            "INC-7 @alice saw it in #security, see https://tracker.example.com/INC-7?a=1&b=2 and \
             example.com; mail sec@example.com"
        );
        // A link with its own label (formatted in the composer), spaces and all.
        let (_, reason) = revoke("app INC-8 <https://x.example/a|the runbook &amp; notes>");
        assert_eq!(reason, "INC-8 the runbook & notes");
        // Newer payloads send channels with an empty name.
        let (_, reason) = revoke("app INC-9 <#C01SEC|> <@U01BOB>");
        assert_eq!(reason, "INC-9 #C01SEC @U01BOB");
    }

    /// A broadcast or group mention is never turned into text Slack could parse as one again.
    #[test]
    fn broadcasts_stay_markup() {
        let (_, reason) =
            revoke("app INC-9 <!here> <!channel> <!everyone> <!subteam^S01ONCALL|@oncall>");
        assert_eq!(
            reason,
            "INC-9 <!here> <!channel> <!everyone> <!subteam^S01ONCALL|@oncall>"
        );
        assert!(!reason.contains(" @here") && !reason.contains(" @channel"));
    }

    #[test]
    fn typed_angle_brackets_are_never_markup() {
        // A person who types <@U01BOB> gets it escaped by Slack: it is text, not a mention.
        let (_, reason) = revoke("app INC-1 &lt;@U01BOB&gt; &lt;!channel&gt; a &lt; b");
        assert_eq!(reason, "INC-1 <@U01BOB> <!channel> a < b");
        assert!(matches!(
            Command::parse("audit &lt;@U01BOB&gt;"),
            Err(_)
                | Ok(Command::Audit(AuditQuery {
                    target: AuditTarget::Role(_),
                    ..
                }))
        ));
        // Unbalanced markup is kept, not dropped.
        let (_, reason) = revoke("app INC-1 <oops and <b|c> <");
        assert_eq!(reason, "INC-1 <oops and c <");
    }

    #[test]
    fn a_role_typed_as_an_address_or_link_is_unwrapped() {
        let (role, reason) =
            revoke("<mailto:deploy@corp.example|deploy@corp.example> INC-3 leaked");
        assert_eq!(role, RoleSpec::Bare("deploy@corp.example".into()));
        assert_eq!(reason, "INC-3 leaked");
        let (role, _) = revoke("<http://prod.example|prod.example>/app INC-3");
        assert_eq!(
            role,
            RoleSpec::InAccount {
                account: "prod.example".into(),
                name: "app".into()
            }
        );
        let (role, _) = revoke("prod/<http://app.example|app.example> INC-3");
        assert_eq!(
            role,
            RoleSpec::InAccount {
                account: "prod".into(),
                name: "app.example".into()
            }
        );
    }

    #[test]
    fn a_mention_is_not_a_role() {
        for (text, shown) in [
            ("<@U01BOB|bob> INC-1 leaked", "`@bob` is a mention"),
            (
                "<#C01SEC|security> INC-1 leaked",
                "`#security` is a channel",
            ),
            ("<!channel> INC-1 leaked", "`<!channel>` is a mention"),
            ("audit <#C01SEC|security>", "`#security` is a channel"),
            ("audit <!here>", "`<!here>` is a mention"),
        ] {
            let e = Command::parse(text).unwrap_err();
            assert!(e.0.contains(shown), "{text}: {}", e.0);
        }
    }

    #[test]
    fn audit_of_a_mentioned_user_as_slack_sends_it() {
        let q = |s: &str| match Command::parse(s).unwrap() {
            Command::Audit(q) => q,
            other => panic!("{other:?}"),
        };
        let bob = AuditTarget::User(SlackUserId::parse("U01BOB").unwrap());
        assert_eq!(q("audit <@U01BOB|bob>").target, bob);
        assert_eq!(q("audit <@U01BOB|bob> --since 7d").target, bob);
        assert_eq!(q("audit --limit 5 <@U01BOB>").target, bob);
        assert_eq!(
            q("audit <@W01ENT|ent.user>").target,
            AuditTarget::User(SlackUserId::parse("W01ENT").unwrap())
        );
        assert!(Command::parse("audit <@U01BOB|bob> <@U01ALICE|alice>").is_err());
        assert!(Command::parse("audit <@nope|bob>").is_err());
    }

    /// Slack's escaping of typed text (kept here so that these tests do not depend on how the
    /// bot escapes its own output).
    fn slack_escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    /// A piece of what a person types, and what Slack sends for it with escaping on.
    fn typed_and_sent() -> impl Strategy<Value = (String, String)> {
        let name = "[a-z0-9][a-z0-9._-]{0,15}";
        let host = "[a-z]{1,10}\\.(com|io|example)";
        prop_oneof![
            // Plain text, with the three characters Slack escapes.
            "[!-~&&[^<>&]]{1,12}|[&<>]{1,3}".prop_map(|t| {
                let sent = slack_escape(&t);
                (t, sent)
            }),
            ("[A-Z0-9]{8}", name).prop_map(|(id, n)| (format!("@{n}"), format!("<@U{id}|{n}>"))),
            ("[A-Z0-9]{8}", name).prop_map(|(id, n)| (format!("#{n}"), format!("<#C{id}|{n}>"))),
            (host, "(/[a-z0-9]{1,6}){0,2}", "(\\?a=1&b=[0-9])?").prop_map(|(h, path, q)| {
                let typed = format!("{h}{path}{q}");
                let e = slack_escape(&typed);
                (typed, format!("<http://{e}|{e}>"))
            }),
            (host, "(/[a-z0-9]{1,6}){0,2}").prop_map(|(h, path)| {
                let typed = format!("https://{h}{path}");
                (typed.clone(), format!("<{typed}>"))
            }),
            (name, host).prop_map(|(u, h)| {
                let typed = format!("{u}@{h}");
                (typed.clone(), format!("<mailto:{typed}|{typed}>"))
            }),
        ]
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,300}") {
            let _ = Command::parse(&s);
        }

        #[test]
        fn accepted_reasons_are_within_bounds(s in "[a-z]{1,10} [ -~]{0,600}") {
            if let Ok(Command::Revoke { reason, .. } | Command::RevokeKey { reason, .. }
                | Command::RevokeUser { reason, .. } | Command::Restore { reason, .. }) = Command::parse(&s) {
                let n = reason.chars().count();
                prop_assert!((REASON_MIN..=REASON_MAX).contains(&n));
            }
        }

        #[test]
        fn the_reason_is_what_was_typed(pieces in prop::collection::vec(typed_and_sent(), 1..12)) {
            let typed: Vec<String> = pieces.iter().map(|(t, _)| t.clone()).collect();
            let sent: Vec<String> = pieces.iter().map(|(_, s)| s.clone()).collect();
            let typed = format!("INC-1 {}", typed.join(" "));
            let parsed = Command::parse(&format!("app INC-1 {}", sent.join(" ")));
            if typed.chars().count() <= REASON_MAX {
                prop_assert_eq!(parsed, Ok(Command::Revoke { role: RoleSpec::Bare("app".into()), reason: typed, keys: vec![] }));
            }
        }

        #[test]
        fn a_mention_is_the_user_wherever_it_stands(
            id in "U[A-Z0-9]{8}", name in "[a-z0-9._-]{1,20}", before in any::<bool>()
        ) {
            let text = if before {
                format!("audit <@{id}|{name}> --since 7d")
            } else {
                format!("audit --since 7d <@{id}|{name}>")
            };
            let Ok(Command::Audit(q)) = Command::parse(&text) else {
                return Err(TestCaseError::fail(format!("{text} did not parse")));
            };
            prop_assert_eq!(q.target, AuditTarget::User(SlackUserId::parse(&id).unwrap()));
        }

        #[test]
        fn unwrapping_never_panics_and_leaves_no_markup_it_understood(s in "[<>|@#!a-z &;]{0,60}") {
            let out = unwrap_slack_text(&s);
            // Every `<…>` Slack could have sent is gone; what is left came from an unbalanced `<`.
            prop_assert!(out.matches('<').count() <= s.matches('<').count());
        }

        #[test]
        fn the_new_forms_never_panic(kw in "(key|user|restore|AKIA|ASIA)", s in "\\PC{0,120}") {
            let _ = Command::parse(&format!("{kw}{s}"));
            let _ = Command::parse(&format!("app INC-7 key {kw}{s}"));
            let _ = Command::parse(&format!("app INC-7 {s} key {kw}{s}"));
        }

        #[test]
        fn attached_keys_are_temporary_and_leave_the_reason_intact(
            reason in "[a-z]{3,10}( [a-z]{1,8}){0,3}", ids in prop::collection::vec("ASIA[A-Z2-7]{16}", 1..4)
        ) {
            let tail: String = ids.iter().map(|k| format!(" key {k}")).collect();
            let Ok(Command::Revoke { reason: got, keys, .. }) = Command::parse(&format!("app {reason}{tail}")) else {
                return Err(TestCaseError::fail("did not parse"));
            };
            prop_assert_eq!(got, reason);
            prop_assert!(keys.iter().all(|k| k.kind() == AccessKeyKind::Temporary));
            prop_assert!(!keys.is_empty() && keys.len() <= ids.len());
        }

        #[test]
        fn escape_then_decode_is_identity(s in "\\PC{0,100}") {
            prop_assert_eq!(decode_slack_text(&escape_slack_text(&s)), s);
        }
    }
}
