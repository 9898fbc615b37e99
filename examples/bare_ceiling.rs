//! The benchmark's ceiling: a bare axum server that only checks Slack's v0 HMAC, parses the slash-command
//! form and answers a small JSON. No service, no state, no logging.
//!
//!   SLACK_SIGNING_SECRET=… cargo run --release --example bare_ceiling -- 3000
//!
//! Listens on 127.0.0.1:PORT, `POST /slack/commands`. See bench/run.sh.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use revoke_role_bot::slack::verify::{MAX_BODY_BYTES, verify};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct CommandForm {
    user_id: Option<String>,
    text: Option<String>,
}

#[derive(Serialize)]
struct Ack {
    response_type: &'static str,
    text: String,
}

async fn command(State(secret): State<Arc<str>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if verify(
        &secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &bytes,
        now,
    )
    .is_err()
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(form) = serde_urlencoded::from_bytes::<CommandForm>(&bytes) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    Json(Ack {
        response_type: "ephemeral",
        text: format!(
            "{} asked for {}",
            form.user_id.unwrap_or_default(),
            form.text.unwrap_or_default()
        ),
    })
    .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .ok_or("usage: bare_ceiling PORT")?
        .parse()?;
    let secret: Arc<str> = std::env::var("SLACK_SIGNING_SECRET")
        .map_err(|_| "SLACK_SIGNING_SECRET is not set")?
        .into();
    let app = Router::new()
        .route("/slack/commands", post(command))
        .with_state(secret);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("ready");
    axum::serve(listener, app).await?;
    Ok(())
}
