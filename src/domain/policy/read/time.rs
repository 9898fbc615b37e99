//! The time forms IAM takes for a date condition value.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;

use super::TimeProblem;
use crate::domain::policy::Cutoff;

/// A date condition value as IAM takes it: a W3C ISO 8601 date or date-time, or seconds since 1970
/// (as a string or a JSON number). Rounded down to the second (see [`Cutoff::in_force`]).
pub(super) fn policy_time(v: &Value) -> Result<Cutoff, TimeProblem> {
    match v {
        Value::String(s) => {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                if s.len() == 4 {
                    return Err(TimeProblem::Ambiguous);
                }
                let secs: i64 = s.parse().map_err(|_| TimeProblem::OutOfRange)?;
                Cutoff::from_unix(secs).ok_or(TimeProblem::OutOfRange)
            } else {
                parse_w3c(s).map(Cutoff::in_force)
            }
        }
        Value::Number(n) => {
            let secs = n.as_i64().ok_or(TimeProblem::NotAStringOrNumber)?;
            if secs < 0 {
                return Err(TimeProblem::OutOfRange);
            }
            Cutoff::from_unix(secs).ok_or(TimeProblem::OutOfRange)
        }
        _ => Err(TimeProblem::NotAStringOrNumber),
    }
}

/// `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDThh:mm[:ss[.s…]]TZD` with `TZD` = `Z` or `±hh:mm`.
fn parse_w3c(s: &str) -> Result<DateTime<Utc>, TimeProblem> {
    let b = s.as_bytes();
    let digits = |from: usize, to: usize| -> Result<u32, TimeProblem> {
        let part = b.get(from..to).ok_or(TimeProblem::Malformed)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(TimeProblem::Malformed);
        }
        part.iter()
            .try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
            .ok_or(TimeProblem::Malformed)
    };
    let sep = |at: usize, c: u8| -> Result<(), TimeProblem> {
        if b.get(at) == Some(&c) {
            Ok(())
        } else {
            Err(TimeProblem::Malformed)
        }
    };
    // `YYYY-MM` alone is a valid W3C form, but too coarse to be a revocation anyone meant.
    if b.len() == 7 && digits(0, 4).is_ok() && sep(4, b'-').is_ok() && digits(5, 7).is_ok() {
        return Err(TimeProblem::TooCoarse);
    }
    let year = digits(0, 4)?;
    sep(4, b'-')?;
    let month = digits(5, 7)?;
    sep(7, b'-')?;
    let day = digits(8, 10)?;
    let year = i32::try_from(year).map_err(|_| TimeProblem::OutOfRange)?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(TimeProblem::Malformed)?;
    if b.len() == 10 {
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    sep(10, b'T')?;
    let hour = digits(11, 13)?;
    sep(13, b':')?;
    let minute = digits(14, 16)?;
    let mut at = 16;
    let mut second = 0;
    if b.get(at) == Some(&b':') {
        second = digits(at + 1, at + 3)?;
        at += 3;
        if b.get(at) == Some(&b'.') {
            let start = at + 1;
            at = start;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start {
                return Err(TimeProblem::Malformed);
            }
            // Fractions are dropped: the instant is rounded down to the second anyway, and offsets
            // are whole minutes, so dropping them before or after the offset gives the same second.
        }
    }
    let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or(TimeProblem::Malformed)?;
    let local = date.and_time(time);
    let offset_secs: i64 = match b.get(at) {
        None => return Err(TimeProblem::NoTimeZone),
        Some(b'Z') if b.len() == at + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == at + 6 => {
            let oh = digits(at + 1, at + 3)?;
            sep(at + 3, b':')?;
            let om = digits(at + 4, at + 6)?;
            if oh > 23 || om > 59 {
                return Err(TimeProblem::Malformed);
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'+' { secs } else { -secs }
        }
        Some(_) => return Err(TimeProblem::Malformed),
    };
    local
        .checked_sub_signed(chrono::Duration::seconds(offset_secs))
        .map(|t| t.and_utc())
        .ok_or(TimeProblem::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::StatementProblem;
    use crate::domain::policy::test_support::{cutoff_of, deny_with, statement_problem};

    #[test]
    fn a_date_alone_is_midnight_utc() {
        assert_eq!(
            cutoff_of(&deny_with(r#""2026-01-01""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn fractional_seconds_are_rounded_down() {
        // The console writes milliseconds. Rounding down: what we call the cut-off in force never
        // claims more than the document denies.
        assert_eq!(
            cutoff_of(&deny_with(r#""2024-10-10T09:43:48.085Z""#)).as_deref(),
            Some("2024-10-10T09:43:48Z")
        );
        assert_eq!(
            cutoff_of(&deny_with(r#""2024-10-10T09:43:48.999999999999Z""#)).as_deref(),
            Some("2024-10-10T09:43:48Z")
        );
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        assert_eq!(
            cutoff_of(&deny_with(r#""2026-01-01T02:30:00+02:30""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            cutoff_of(&deny_with(r#""2025-12-31T19:00:00.250-05:00""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            cutoff_of(&deny_with(r#""2026-01-01T12:00Z""#)).as_deref(),
            Some("2026-01-01T12:00:00Z"),
            "hours and minutes only"
        );
    }

    #[test]
    fn epoch_seconds_are_read_as_string_or_number() {
        assert_eq!(
            cutoff_of(&deny_with(r#""1767225600""#)).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            cutoff_of(&deny_with("1767225600")).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn unreadable_times_are_not_understood() {
        for (value, problem) in [
            (r#""tomorrow""#, TimeProblem::Malformed),
            (r#""2026-13-01""#, TimeProblem::Malformed),
            (r#""2026-01-01T25:00:00Z""#, TimeProblem::Malformed),
            (r#""2026-01-01 00:00:00Z""#, TimeProblem::Malformed),
            (r#""2026-01-01T00:00:00""#, TimeProblem::NoTimeZone),
            (r#""2026-01-01T00:00:00.Z""#, TimeProblem::Malformed),
            (r#""2026-01-01T00:00:00+0200""#, TimeProblem::Malformed),
            (r#""2026""#, TimeProblem::Ambiguous),
            (r#""2026-01""#, TimeProblem::TooCoarse),
            ("true", TimeProblem::NotAStringOrNumber),
            ("1.5", TimeProblem::NotAStringOrNumber),
            ("-5", TimeProblem::OutOfRange),
            (r#""99999999999999999999999""#, TimeProblem::OutOfRange),
        ] {
            let doc = deny_with(value);
            match statement_problem(&doc) {
                StatementProblem::BadTime { problem: p, .. } => assert_eq!(p, problem, "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        assert_eq!(
            statement_problem(&deny_with("[]")),
            StatementProblem::NoValue
        );
        // One bad value in a list spoils the statement: the bot cannot tell the latest cut-off.
        assert!(matches!(
            statement_problem(&deny_with(r#"["2099-01-01T00:00:00Z","soon"]"#)),
            StatementProblem::BadTime { .. }
        ));
    }
}
