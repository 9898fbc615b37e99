//! The HTTP surface: routes, health, readiness and metrics.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use secrecy::SecretString;

use crate::service::App;
use crate::slack::{handlers, verify};

/// The routes. Without a signing secret (Socket Mode) the Slack endpoints are not served at all.
pub fn router(app: Arc<App>, signing_secret: Option<SecretString>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if let Some(secret) = signing_secret {
        let gate = verify::SlackGate {
            secret,
            metrics: app.metrics().clone(),
        };
        let slack = Router::new()
            .route("/slack/commands", post(handlers::command))
            .route("/slack/interactions", post(handlers::interaction))
            .route_layer(from_fn_with_state(gate, verify::require_slack_signature));
        router = router.merge(slack);
    }
    router.with_state(app)
}

async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    match app.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "audit store unreachable")
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        app.metrics().render(),
    )
}
