//! The one retry loop for every Slack call (Web API and `response_url`): what a failed try means
//! for the next (429 with `Retry-After`, 5xx and no answer with backoff, anything else not at all),
//! each try cut off after a time limit.

use std::time::Duration;

use slack_morphism::errors::SlackClientError;
use tracing::warn;

use crate::ports::SlackError;

/// Attempts per Slack call, and the longest `Retry-After` the bot will wait out: past that the
/// person is told at once rather than kept waiting.
pub const MAX_ATTEMPTS: u32 = 4;
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What a failed try means for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429, with its `Retry-After` when given.
    RateLimited(Option<Duration>),
    /// 5xx, no connection, or no answer in time.
    Transient,
    /// Anything else: the same request would fail the same way.
    Permanent,
}

impl Failure {
    pub fn of_status(status: u16) -> Failure {
        match status {
            429 => Failure::RateLimited(None),
            s if s >= 500 => Failure::Transient,
            _ => Failure::Permanent,
        }
    }
}

/// How long to wait before attempt `attempt + 1`, or `None` to give up. 429s are retried after
/// their `Retry-After`; transient failures with exponential backoff; anything else not at all.
pub fn retry_wait(failure: Failure, attempt: u32) -> Option<Duration> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let backoff = Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(1)));
    match failure {
        Failure::RateLimited(after) => {
            Some(after.unwrap_or(Duration::from_secs(1))).filter(|w| *w <= MAX_RETRY_AFTER)
        }
        Failure::Transient => Some(backoff),
        Failure::Permanent => None,
    }
}

pub(super) fn classify(e: &SlackClientError) -> Failure {
    match e {
        SlackClientError::RateLimitError(r) => Failure::RateLimited(r.retry_after),
        SlackClientError::HttpError(h) => Failure::of_status(h.status_code.as_u16()),
        SlackClientError::HttpProtocolError(_) | SlackClientError::EndOfStream(_) => {
            Failure::Transient
        }
        _ => Failure::Permanent,
    }
}

/// One failed try: what it means for the next, and what to log or report.
pub(super) struct Failed {
    pub(super) failure: Failure,
    pub(super) code: Option<String>,
    pub(super) detail: String,
}

/// The one retry loop for every Slack call (Web API and `response_url`): each try is cut off
/// after `try_timeout`, which counts as a transient failure.
pub(super) async fn with_retries<T, F, Fut>(
    what: &'static str,
    try_timeout: Duration,
    mut call: F,
) -> Result<T, SlackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failed>>,
{
    let mut attempt = 1;
    loop {
        let failed = match tokio::time::timeout(try_timeout, call()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(failed)) => failed,
            Err(_) => Failed {
                failure: Failure::Transient,
                code: None,
                detail: format!("no answer within {} ms", try_timeout.as_millis()),
            },
        };
        let Some(wait) = retry_wait(failed.failure, attempt) else {
            return Err(match failed.failure {
                Failure::Permanent => SlackError::Refused {
                    method: what,
                    code: failed.code,
                    detail: failed.detail,
                },
                _ => SlackError::Unavailable {
                    method: what,
                    detail: failed.detail,
                },
            });
        };
        warn!(method = what, attempt, wait_ms = wait.as_millis() as u64, error = %failed.detail, "Slack call failed; retrying");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_within_the_limit() {
        let limited = |s| Failure::RateLimited(Some(Duration::from_secs(s)));
        assert_eq!(retry_wait(limited(7), 1), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_wait(Failure::RateLimited(None), 1),
            Some(Duration::from_secs(1))
        );
        assert_eq!(retry_wait(limited(120), 1), None);
    }

    #[test]
    fn server_errors_back_off_and_client_errors_do_not_retry() {
        assert_eq!(
            retry_wait(Failure::of_status(500), 1),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            retry_wait(Failure::of_status(503), 2),
            Some(Duration::from_millis(400))
        );
        assert_eq!(
            retry_wait(Failure::Transient, 3),
            Some(Duration::from_millis(800))
        );
        assert_eq!(retry_wait(Failure::of_status(500), MAX_ATTEMPTS), None);
        assert_eq!(retry_wait(Failure::of_status(404), 1), None);
        assert_eq!(retry_wait(Failure::of_status(400), 1), None);
        assert_eq!(Failure::of_status(429), Failure::RateLimited(None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_that_hangs_is_cut_off_and_retried() {
        let tries = std::sync::atomic::AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let r = with_retries("chat.update", Duration::from_secs(10), || async {
            if tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                std::future::pending::<()>().await;
            }
            Ok::<_, Failed>("done")
        })
        .await;
        assert_eq!(r.unwrap(), "done");
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(started.elapsed(), Duration::from_millis(10_200));
    }

    #[tokio::test(start_paused = true)]
    async fn every_try_that_hangs_ends_in_an_error_after_max_attempts() {
        let started = tokio::time::Instant::now();
        let r: Result<(), SlackError> =
            with_retries("chat.update", Duration::from_secs(10), || {
                std::future::pending()
            })
            .await;
        assert_eq!(
            r.unwrap_err(),
            SlackError::Unavailable {
                method: "chat.update",
                detail: "no answer within 10000 ms".into()
            }
        );
        // 4 tries of 10 s, and 200 + 400 + 800 ms between them.
        assert_eq!(started.elapsed(), Duration::from_millis(41_400));
    }
}
