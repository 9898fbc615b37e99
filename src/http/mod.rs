//! The HTTP surface: routes, health and readiness.

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

pub fn router(app: Arc<App>, signing_secret: SecretString) -> Router {
    let slack = Router::new()
        .route("/slack/commands", post(handlers::command))
        .route("/slack/interactions", post(handlers::interaction))
        .route_layer(from_fn_with_state(
            signing_secret,
            verify::require_slack_signature,
        ));
    Router::new()
        .merge(slack)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(app)
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
