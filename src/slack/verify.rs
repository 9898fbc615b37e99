//! Slack's v0 request signature (HMAC-SHA256), checked before anything is parsed.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::sync::Arc;

use crate::metrics::{Endpoint, Metrics, Outcome};

pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const WINDOW_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    Missing,
    Stale,
    Bad,
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes keys of any length, so this does not fail in practice.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).ok()?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

/// The `X-Slack-Signature` value Slack would send for this request.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let digest =
        mac(secret.as_bytes(), timestamp, body).map(|m| hex::encode(m.finalize().into_bytes()));
    format!("v0={}", digest.unwrap_or_default())
}

/// Check a request: constant-time comparison, and a timestamp within 300 s of `now` either way.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejection> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(Rejection::Missing);
    };
    let ts_num: i64 = ts.parse().map_err(|_| Rejection::Bad)?;
    if (now - ts_num).abs() > WINDOW_SECS {
        return Err(Rejection::Stale);
    }
    let hex_sig = sig.strip_prefix("v0=").ok_or(Rejection::Bad)?;
    let raw = hex::decode(hex_sig).map_err(|_| Rejection::Bad)?;
    mac(secret.as_bytes(), ts, body)
        .ok_or(Rejection::Bad)?
        .verify_slice(&raw)
        .map_err(|_| Rejection::Bad)
}

/// What the signature middleware needs: the secret, and where to count outcomes.
#[derive(Clone)]
pub struct SlackGate {
    pub secret: SecretString,
    pub metrics: Arc<Metrics>,
}

/// axum middleware for the Slack endpoints: 413 over 64 KiB, 401 (no detail) unless signed.
pub async fn require_slack_signature(
    State(gate): State<SlackGate>,
    req: Request,
    next: Next,
) -> Response {
    let endpoint = if req.uri().path().ends_with("/interactions") {
        Endpoint::Interactions
    } else {
        Endpoint::Commands
    };
    let too_big = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES);
    if too_big {
        gate.metrics.request(endpoint, Outcome::TooLarge);
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        gate.metrics.request(endpoint, Outcome::TooLarge);
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    match verify(
        gate.secret.expose_secret(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &bytes,
        now,
    ) {
        Ok(()) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(why) => {
            // Counted in /metrics; a log line each would let a flood of forgeries flood the log too.
            tracing::debug!(?why, "refused an unsigned or badly signed request");
            gate.metrics.request(endpoint, Outcome::Unauthorized);
            StatusCode::UNAUTHORIZED.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_published_example_signs_and_verifies() {
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), EXPECTED);
        assert_eq!(
            verify(
                SECRET,
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                1531420618 + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn tampering_staleness_and_absence_are_refused() {
        let now = 1531420618;
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), b"token=other", now),
            Err(Rejection::Bad)
        );
        assert_eq!(
            verify(
                "other-secret",
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                now
            ),
            Err(Rejection::Bad)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY.as_bytes(), now + 301),
            Err(Rejection::Stale)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY.as_bytes(), now - 301),
            Err(Rejection::Stale)
        );
        assert_eq!(
            verify(SECRET, None, Some(EXPECTED), BODY.as_bytes(), now),
            Err(Rejection::Missing)
        );
        assert_eq!(
            verify(SECRET, Some(TS), None, BODY.as_bytes(), now),
            Err(Rejection::Missing)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v1=abc"), BODY.as_bytes(), now),
            Err(Rejection::Bad)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v0=zz"), BODY.as_bytes(), now),
            Err(Rejection::Bad)
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(EXPECTED), BODY.as_bytes(), now),
            Err(Rejection::Bad)
        );
        let truncated = &EXPECTED[..EXPECTED.len() - 2];
        assert_eq!(
            verify(SECRET, Some(TS), Some(truncated), BODY.as_bytes(), now),
            Err(Rejection::Bad)
        );
    }
}
