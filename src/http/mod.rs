//! The HTTP surface: routes, health, readiness and metrics.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use secrecy::SecretString;

use crate::service::App;
use crate::slack::socket_mode::Health;
use crate::slack::{handlers, verify};

/// How long `/readyz` waits for the audit store: a health check must answer before its own timeout.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The routes. Without a signing secret (Socket Mode) the Slack endpoints are not served at all;
/// `socket` is the Socket Mode connection that `/readyz` reports on, when there is one.
pub fn router(
    app: Arc<App>,
    signing_secret: Option<SecretString>,
    socket: Option<Health>,
) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        // Only `/readyz` reads the Socket Mode health: on the Slack routes, inserting it would cost
        // every request an allocation.
        .route("/readyz", get(readyz).layer(Extension(socket)))
        .route("/metrics", get(metrics));
    if let Some(secret) = signing_secret {
        let gate = verify::SlackGate::new(&secret, app.metrics().clone());
        let slack = Router::new()
            .route("/slack/commands", post(handlers::command))
            .route("/slack/interactions", post(handlers::interaction))
            .route("/slack/options", post(handlers::options))
            .route_layer(from_fn_with_state(gate, verify::require_slack_signature));
        router = router.merge(slack);
    }
    router.with_state(app)
}

/// Ready: the audit store answers and, in Socket Mode, Slack's connection is up. Each account's
/// state follows as detail, one line each: an account that is not confirmed does not make the
/// bot unready, since it serves the others (README "Resilience").
async fn readyz(
    State(app): State<Arc<App>>,
    Extension(socket): Extension<Option<Health>>,
) -> impl IntoResponse {
    let (status, head) = readiness(&app, socket.as_ref()).await;
    let mut body = head;
    for a in app.account_states() {
        body.push_str(&format!(
            "\naccount {}: {}",
            a.account.label(),
            a.state.describe()
        ));
    }
    (status, body)
}

async fn readiness(app: &App, socket: Option<&Health>) -> (StatusCode, String) {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why);
    if let Some(why) = socket.and_then(Health::not_ready) {
        return unavailable(format!("Slack Socket Mode not connected: {why}"));
    }
    match tokio::time::timeout(STORE_PING_TIMEOUT, app.store().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready".to_string()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            unavailable("audit store unreachable".into())
        }
        Err(_) => {
            tracing::warn!("not ready: the audit store did not answer in time");
            unavailable("audit store unreachable".into())
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        app.metrics().render(),
    )
}
