//! The cut-off: the instant before which sessions are denied.

use std::fmt;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The instant before which sessions are denied, whole seconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cutoff(DateTime<Utc>);

impl TryFrom<String> for Cutoff {
    type Error = CutoffError;
    fn try_from(s: String) -> Result<Self, CutoffError> {
        Cutoff::parse(&s)
    }
}
impl From<Cutoff> for String {
    fn from(c: Cutoff) -> String {
        c.to_string()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a cut-off time (expected e.g. 2026-11-23T12:00:00Z)")]
pub struct CutoffError(pub String);

impl Cutoff {
    /// The moment of application rounded up to the whole second (README "Using it in Slack").
    pub fn at_or_after(now: DateTime<Utc>) -> Self {
        let floor = now.trunc_subsecs(0);
        if floor == now {
            Cutoff(floor)
        } else {
            Cutoff(floor + chrono::Duration::seconds(1))
        }
    }

    /// A cut-off a person typed (or the bot stored): rounded up to the whole second.
    pub fn parse(s: &str) -> Result<Self, CutoffError> {
        let t = DateTime::parse_from_rfc3339(s.trim()).map_err(|_| CutoffError(s.into()))?;
        Ok(Cutoff::at_or_after(t.with_timezone(&Utc)))
    }

    pub fn from_unix(secs: i64) -> Option<Self> {
        Utc.timestamp_opt(secs, 0).single().map(Cutoff)
    }

    /// A cut-off found in a document, rounded *down*: every session the rounded cut-off denies is
    /// denied by the real one, so "already covered" is never claimed for a cut-off that falls short
    /// of ours, and our whole-second cut-off that is later than the rounded one is later than the
    /// real one too.
    pub(super) fn in_force(t: DateTime<Utc>) -> Self {
        Cutoff(t.trunc_subsecs(0))
    }

    pub fn time(&self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for Cutoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn cutoff_rounds_up_to_the_whole_second() {
        assert_eq!(
            Cutoff::at_or_after(t("2026-11-23T12:00:00.001Z")).to_string(),
            "2026-11-23T12:00:01Z"
        );
        assert_eq!(
            Cutoff::at_or_after(t("2026-11-23T12:00:00Z")).to_string(),
            "2026-11-23T12:00:00Z"
        );
        assert_eq!(
            Cutoff::at_or_after(t("2026-11-23T23:59:59.5Z")).to_string(),
            "2026-11-24T00:00:00Z"
        );
    }
}
