//! The one retry loop for every Slack call (Web API and `response_url`): what a failed try means
//! for the next (429 with `Retry-After`, 5xx and no answer with backoff, anything else not at all),
//! each try cut off after a time limit.

use std::time::Duration;

use slack_morphism::errors::SlackClientError;
use tokio::time::Instant;
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

/// Whether a call may be sent again after a try whose fate is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Doing it twice does no harm (reads, updates, replies): retried on any transient failure.
    Safe,
    /// Doing it twice leaves a second message (posting a card): retried only after a try Slack
    /// certainly did not act on (429). A try that timed out, lost its connection or got a 5xx
    /// may have arrived, so it ends in [`SlackError::Unconfirmed`].
    OnlyIfNotDone,
}

/// How one Slack call is tried.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tries {
    pub(super) try_timeout: Duration,
    pub(super) resend: Resend,
    /// No try starts after this, and none runs past it (a `views.open` trigger id expires).
    pub(super) deadline: Option<Instant>,
}

impl Tries {
    pub(super) fn safe(try_timeout: Duration) -> Tries {
        Tries {
            try_timeout,
            resend: Resend::Safe,
            deadline: None,
        }
    }
}

/// The one retry loop for every Slack call (Web API and `response_url`): each try is cut off
/// after `try_timeout`, which counts as a transient failure.
pub(super) async fn with_retries<T, F, Fut>(
    what: &'static str,
    try_timeout: Duration,
    call: F,
) -> Result<T, SlackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failed>>,
{
    tried(what, Tries::safe(try_timeout), call).await
}

/// The same loop, as `tries` says: resending only where safe, and never past a deadline.
pub(super) async fn tried<T, F, Fut>(
    what: &'static str,
    tries: Tries,
    mut call: F,
) -> Result<T, SlackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failed>>,
{
    let expired = || SlackError::Refused {
        method: what,
        code: Some("expired_trigger_id".into()),
        detail: "the trigger id expired before another try".into(),
    };
    let mut attempt = 1;
    loop {
        let limit = match tries.deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(expired());
                }
                left.min(tries.try_timeout)
            }
            None => tries.try_timeout,
        };
        let failed = match tokio::time::timeout(limit, call()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(failed)) => failed,
            Err(_) => Failed {
                failure: Failure::Transient,
                code: None,
                detail: format!("no answer within {} ms", limit.as_millis()),
            },
        };
        if tries.resend == Resend::OnlyIfNotDone && failed.failure == Failure::Transient {
            return Err(SlackError::Unconfirmed {
                method: what,
                detail: failed.detail,
            });
        }
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
        if tries
            .deadline
            .is_some_and(|deadline| Instant::now() + wait >= deadline)
        {
            return Err(expired());
        }
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
    async fn a_card_post_that_may_have_arrived_is_not_sent_again() {
        for failure in [Failure::Transient, Failure::of_status(503)] {
            let tries = std::sync::atomic::AtomicU32::new(0);
            let r: Result<(), SlackError> = tried(
                "chat.postMessage",
                Tries {
                    try_timeout: Duration::from_secs(10),
                    resend: Resend::OnlyIfNotDone,
                    deadline: None,
                },
                || {
                    tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async move {
                        Err(Failed {
                            failure,
                            code: None,
                            detail: "connection reset".into(),
                        })
                    }
                },
            )
            .await;
            assert!(matches!(r, Err(SlackError::Unconfirmed { .. })), "{r:?}");
            assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 1);
        }
        // A try that hangs is cut off, and not tried again either.
        let tries = std::sync::atomic::AtomicU32::new(0);
        let r: Result<(), SlackError> = tried(
            "chat.postMessage",
            Tries {
                try_timeout: Duration::from_secs(10),
                resend: Resend::OnlyIfNotDone,
                deadline: None,
            },
            || {
                tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::future::pending()
            },
        )
        .await;
        assert!(matches!(r, Err(SlackError::Unconfirmed { .. })), "{r:?}");
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limited_card_post_is_sent_again() {
        let tries = std::sync::atomic::AtomicU32::new(0);
        let r = tried(
            "chat.postMessage",
            Tries {
                try_timeout: Duration::from_secs(10),
                resend: Resend::OnlyIfNotDone,
                deadline: None,
            },
            || async {
                if tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    return Err(Failed {
                        failure: Failure::RateLimited(Some(Duration::from_secs(1))),
                        code: None,
                        detail: "ratelimited".into(),
                    });
                }
                Ok("posted")
            },
        )
        .await;
        assert_eq!(r.unwrap(), "posted");
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_try_runs_past_the_trigger_ids_deadline() {
        let started = Instant::now();
        let tries = std::sync::atomic::AtomicU32::new(0);
        let r: Result<(), SlackError> = tried(
            "views.open",
            Tries {
                try_timeout: Duration::from_secs(10),
                resend: Resend::Safe,
                deadline: Some(started + Duration::from_secs(3)),
            },
            || {
                tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::future::pending()
            },
        )
        .await;
        assert!(r.is_err());
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(3),
            "cut off when the trigger expired"
        );

        // Already expired (the work waited for a slot): no try at all.
        let tries = std::sync::atomic::AtomicU32::new(0);
        let r: Result<(), SlackError> = tried(
            "views.open",
            Tries {
                try_timeout: Duration::from_secs(10),
                resend: Resend::Safe,
                deadline: Some(Instant::now()),
            },
            || {
                tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Ok(()) }
            },
        )
        .await;
        assert_eq!(
            r.unwrap_err(),
            SlackError::Refused {
                method: "views.open",
                code: Some("expired_trigger_id".into()),
                detail: "the trigger id expired before another try".into()
            }
        );
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 0);
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
