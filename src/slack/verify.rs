//! Slack's v0 request signature (HMAC-SHA256), checked before anything is parsed.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderName, StatusCode};
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
    let signed = check_headers(timestamp, signature, now)?;
    let key =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).map_err(|_| Rejection::Bad)?;
    signed.verify_body(&key, body)
}

/// What the signature headers claim, once they are known to be present, well formed and within
/// the 300 s window: all of that is decided before the body is read.
pub struct SignedHeaders<'a> {
    timestamp: &'a str,
    signature: [u8; 32],
}

/// The header half of [`verify`]: `Missing` without both headers, `Stale` outside the window,
/// `Bad` for a timestamp that is not a number or a signature that is not `v0=` and 64 hex digits.
pub fn check_headers<'a>(
    timestamp: Option<&'a str>,
    signature: Option<&str>,
    now: i64,
) -> Result<SignedHeaders<'a>, Rejection> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(Rejection::Missing);
    };
    let ts_num: i64 = ts.parse().map_err(|_| Rejection::Bad)?;
    if now.abs_diff(ts_num) > WINDOW_SECS.unsigned_abs() {
        return Err(Rejection::Stale);
    }
    let hex_sig = sig.strip_prefix("v0=").ok_or(Rejection::Bad)?;
    let mut signature = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut signature).map_err(|_| Rejection::Bad)?;
    Ok(SignedHeaders {
        timestamp: ts,
        signature,
    })
}

impl SignedHeaders<'_> {
    /// The body half: the HMAC of `v0:{timestamp}:{body}` under `key` (the HMAC already keyed with
    /// the signing secret), compared in constant time.
    pub fn verify_body(&self, key: &Hmac<Sha256>, body: &[u8]) -> Result<(), Rejection> {
        let mut mac = key.clone();
        mac.update(b"v0:");
        mac.update(self.timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.verify_slice(&self.signature)
            .map_err(|_| Rejection::Bad)
    }
}

/// What the signature middleware needs: the HMAC keyed with the signing secret (keyed once, at
/// start), and where to count outcomes. Cloned for every request, so it is one `Arc`.
#[derive(Clone)]
pub struct SlackGate(Arc<Gate>);

struct Gate {
    /// `None` only if the secret could not key an HMAC (HMAC takes keys of any length, so not in
    /// practice): then every request is refused.
    key: Option<Hmac<Sha256>>,
    metrics: Arc<Metrics>,
}

impl SlackGate {
    pub fn new(secret: &SecretString, metrics: Arc<Metrics>) -> Self {
        let key = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes()).ok();
        SlackGate(Arc::new(Gate { key, metrics }))
    }

    fn refuse(&self, endpoint: Endpoint, outcome: Outcome) -> Response {
        self.0.metrics.request(endpoint, outcome);
        match outcome {
            Outcome::TooLarge => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
            _ => StatusCode::UNAUTHORIZED.into_response(),
        }
    }
}

const TIMESTAMP: HeaderName = HeaderName::from_static("x-slack-request-timestamp");
const SIGNATURE: HeaderName = HeaderName::from_static("x-slack-signature");

/// axum middleware for the Slack endpoints: 413 over 64 KiB, 401 (no detail) unless signed.
///
/// In this order, so that what anyone on the network can send costs as little as possible:
/// a `Content-Length` over 64 KiB is refused (413) and then the signature headers are checked
/// (401 when absent, malformed or outside the window), both before the body is read; then the
/// body is read up to 64 KiB (413 beyond) and its HMAC checked (401). Refusals are counted in
/// `/metrics` and not logged: a log line each would let a flood of forgeries flood the log too.
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
    let (parts, body) = req.into_parts();
    let too_big = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES);
    if too_big {
        return gate.refuse(endpoint, Outcome::TooLarge);
    }
    let header = |name: &HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let Ok(signed) = check_headers(header(&TIMESTAMP), header(&SIGNATURE), now) else {
        return gate.refuse(endpoint, Outcome::Unauthorized);
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return gate.refuse(endpoint, Outcome::TooLarge);
    };
    let signed_by_slack = gate
        .0
        .key
        .as_ref()
        .is_some_and(|key| signed.verify_body(key, &bytes).is_ok());
    if !signed_by_slack {
        return gate.refuse(endpoint, Outcome::Unauthorized);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
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

    #[test]
    fn the_headers_alone_decide_missing_stale_and_malformed() {
        let now = 1531420618;
        assert!(check_headers(Some(TS), Some(EXPECTED), now).is_ok());
        for (ts, sig, why) in [
            (None, Some(EXPECTED), Rejection::Missing),
            (Some(TS), None, Rejection::Missing),
            (Some("1531420000"), Some(EXPECTED), Rejection::Stale),
            (Some("soon"), Some(EXPECTED), Rejection::Bad),
            (Some(TS), Some("v1=abc"), Rejection::Bad),
            (
                Some(TS),
                Some(&EXPECTED[..EXPECTED.len() - 2]),
                Rejection::Bad,
            ),
            (Some(TS), Some(&format!("{EXPECTED}00")), Rejection::Bad),
        ] {
            assert_eq!(
                check_headers(ts, sig, now).err(),
                Some(why),
                "{ts:?} {sig:?}"
            );
        }
    }

    #[test]
    fn a_timestamp_at_the_ends_of_the_range_is_stale_not_an_overflow() {
        for ts in [i64::MIN.to_string(), i64::MAX.to_string()] {
            assert_eq!(
                verify(
                    SECRET,
                    Some(&ts),
                    Some(EXPECTED),
                    BODY.as_bytes(),
                    1531420618
                ),
                Err(Rejection::Stale)
            );
        }
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY.as_bytes(), i64::MIN),
            Err(Rejection::Stale)
        );
    }

    mod middleware {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::task::Poll;

        use axum::Router;
        use axum::body::Bytes;
        use axum::middleware::from_fn_with_state;
        use axum::routing::post;
        use tower::ServiceExt;

        use super::*;

        const SECRET: &str = "the-signing-secret";

        /// The commands route behind the gate, answering 200 "handled" when a request gets through.
        fn gated() -> (Router, Arc<Metrics>) {
            let metrics = Arc::new(Metrics::default());
            let gate = SlackGate::new(&SecretString::from(SECRET), metrics.clone());
            let router = Router::new()
                .route("/slack/commands", post(|| async { "handled" }))
                .route_layer(from_fn_with_state(gate, require_slack_signature));
            (router, metrics)
        }

        /// A body that notes that it was read, and fails.
        fn watched_body(read: Arc<AtomicBool>) -> Body {
            Body::from_stream(futures_util::stream::poll_fn(move |_| {
                read.store(true, Ordering::SeqCst);
                Poll::Ready(Some(Err::<Bytes, _>(std::io::Error::other("read"))))
            }))
        }

        async fn send(
            router: Router,
            headers: &[(&str, String)],
            body: Body,
        ) -> (StatusCode, String) {
            let mut req = axum::http::Request::builder()
                .method(axum::http::Method::POST)
                .uri("/slack/commands");
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let req = req.body(body).unwrap();
            let Ok(res) = router.oneshot(req).await;
            let status = res.status();
            let text = to_bytes(res.into_body(), usize::MAX)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            (status, text)
        }

        fn now() -> String {
            chrono::Utc::now().timestamp().to_string()
        }

        fn counted(metrics: &Metrics, outcome: &str) -> String {
            let prefix = format!(
                "revoke_role_bot_requests_total{{endpoint=\"commands\",outcome=\"{outcome}\"}} "
            );
            metrics
                .render()
                .lines()
                .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
                .unwrap_or_default()
        }

        #[tokio::test]
        async fn a_request_refused_from_its_headers_is_answered_401_without_its_body_being_read() {
            let fresh = sign(SECRET, &now(), b"x");
            let stale_ts = (chrono::Utc::now().timestamp() - 301).to_string();
            let stale = sign(SECRET, &stale_ts, b"x");
            let cases: [Vec<(&str, String)>; 4] = [
                vec![],
                vec![("x-slack-signature", fresh.clone())],
                vec![
                    ("x-slack-request-timestamp", stale_ts),
                    ("x-slack-signature", stale),
                ],
                vec![
                    ("x-slack-request-timestamp", now()),
                    ("x-slack-signature", "v0=nothex".into()),
                ],
            ];
            let (router, metrics) = gated();
            for headers in cases {
                let read = Arc::new(AtomicBool::new(false));
                let (status, text) =
                    send(router.clone(), &headers, watched_body(read.clone())).await;
                assert_eq!(
                    (status, text.as_str()),
                    (StatusCode::UNAUTHORIZED, ""),
                    "{headers:?}"
                );
                assert!(
                    !read.load(Ordering::SeqCst),
                    "the body was read for {headers:?}"
                );
            }
            assert_eq!(counted(&metrics, "unauthorized"), "4");
        }

        #[tokio::test]
        async fn a_well_formed_signature_is_checked_against_the_body() {
            let (router, metrics) = gated();
            let ts = now();
            let headers = [
                ("x-slack-request-timestamp", ts.clone()),
                ("x-slack-signature", sign(SECRET, &ts, b"text=help")),
            ];
            let (status, text) = send(router.clone(), &headers, Body::from("text=help")).await;
            assert_eq!((status, text.as_str()), (StatusCode::OK, "handled"));
            let (status, _) = send(router.clone(), &headers, Body::from("text=other")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            let wrong_secret = [
                ("x-slack-request-timestamp", ts.clone()),
                (
                    "x-slack-signature",
                    sign("another-secret", &ts, b"text=help"),
                ),
            ];
            let (status, _) = send(router, &wrong_secret, Body::from("text=help")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(counted(&metrics, "unauthorized"), "2");
        }

        #[tokio::test]
        async fn a_body_over_64_kib_gets_413_by_its_length_or_once_read() {
            let (router, metrics) = gated();
            let big = "x".repeat(MAX_BODY_BYTES + 1);
            // Declared too long: refused before the signature headers are looked at.
            let (status, _) = send(
                router.clone(),
                &[("content-length", big.len().to_string())],
                Body::from(big.clone()),
            )
            .await;
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
            // No length given (a stream), well-formed headers: cut off at 64 KiB while reading.
            let ts = now();
            let headers = [
                ("x-slack-request-timestamp", ts.clone()),
                ("x-slack-signature", sign(SECRET, &ts, big.as_bytes())),
            ];
            let chunks = futures_util::stream::iter(
                big.into_bytes()
                    .chunks(4096)
                    .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
                    .collect::<Vec<_>>(),
            );
            let (status, _) = send(router, &headers, Body::from_stream(chunks)).await;
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(counted(&metrics, "too_large"), "2");
        }
    }
}
