//! Socket Mode: when `SLACK_APP_TOKEN` is set the bot opens a WebSocket to Slack instead of serving
//! HTTP, and feeds the same handlers. It reconnects after a dropped connection or a `disconnect`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tracing::{info, warn};

use super::handlers::{Interaction, decode_command_json, decode_interaction_json, reply_json};
use crate::http_client::HttpClient;
use crate::metrics::{Endpoint, Outcome};
use crate::service::App;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// `apps.connections.open`: a fresh WebSocket URL for this app.
async fn open_url(
    http: &HttpClient,
    api_url: &str,
    app_token: &SecretString,
) -> Result<String, String> {
    let headers = [
        (
            "authorization",
            format!("Bearer {}", app_token.expose_secret()),
        ),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    let (status, body) = http
        .post(
            &format!("{api_url}/apps.connections.open"),
            &headers,
            Vec::new(),
        )
        .await?;
    let v: Value = serde_json::from_str(&body)
        .map_err(|_| format!("apps.connections.open answered {status} without JSON"))?;
    match (v["ok"].as_bool(), v["url"].as_str()) {
        (Some(true), Some(url)) => Ok(url.to_string()),
        _ => Err(format!(
            "apps.connections.open refused: {}",
            v["error"].as_str().unwrap_or("no url")
        )),
    }
}

/// Keep a Socket Mode connection up until `stop` turns true.
pub async fn run(
    app: Arc<App>,
    app_token: SecretString,
    api_url: String,
    mut stop: watch::Receiver<bool>,
) {
    let http = match HttpClient::new() {
        Ok(h) => h,
        Err(e) => return warn!(error = %e, "Socket Mode cannot start: no HTTP client"),
    };
    let mut backoff = Duration::from_millis(250);
    while !*stop.borrow() {
        match open_url(&http, &api_url, &app_token).await {
            Ok(url) => match session(&app, &url, &mut stop).await {
                Ok(()) => {
                    info!("Socket Mode connection ended; reconnecting");
                    backoff = Duration::from_millis(250);
                    continue;
                }
                Err(e) => warn!(error = %e, "Socket Mode connection failed"),
            },
            Err(e) => warn!(error = %e, "cannot open a Socket Mode connection"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: answer every envelope until Slack or `stop` closes it.
async fn session(
    app: &Arc<App>,
    url: &str,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| e.to_string())?;
    let (mut tx, mut rx) = ws.split();
    info!("Socket Mode connected");
    loop {
        let msg = tokio::select! {
            m = rx.next() => m,
            _ = stop.changed() => {
                let _ = tx.send(Message::Close(None)).await;
                return Ok(());
            }
        };
        let Some(msg) = msg else { return Ok(()) };
        match msg.map_err(|e| e.to_string())? {
            Message::Text(text) => {
                let envelope: Value = match serde_json::from_str(text.as_str()) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                if envelope["type"] == "disconnect" {
                    info!(
                        reason = envelope["reason"].as_str().unwrap_or(""),
                        "Slack asked to reconnect"
                    );
                    return Ok(());
                }
                if let Some(ack) = answer(app, &envelope) {
                    tx.send(Message::Text(ack.to_string().into()))
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Message::Ping(p) => tx.send(Message::Pong(p)).await.map_err(|e| e.to_string())?,
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
}

/// The acknowledgement for one envelope, after handing its payload to the service.
fn answer(app: &Arc<App>, envelope: &Value) -> Option<Value> {
    let id = envelope["envelope_id"].as_str()?;
    let payload = &envelope["payload"];
    let metrics = app.metrics();
    let ack = match envelope["type"].as_str() {
        Some("slash_commands") => match decode_command_json(payload) {
            Ok(ctx) => {
                metrics.request(Endpoint::SocketMode, Outcome::Ok);
                json!({"envelope_id": id, "payload": reply_json(&app.on_command(ctx))})
            }
            Err(what) => {
                metrics.request(Endpoint::SocketMode, Outcome::BadRequest);
                info!(what, "malformed Socket Mode command");
                json!({"envelope_id": id})
            }
        },
        Some("interactive") => {
            match decode_interaction_json(payload) {
                Ok(Interaction::Click(ctx)) => {
                    metrics.request(Endpoint::SocketMode, Outcome::Ok);
                    app.on_click(ctx);
                }
                Ok(Interaction::Ignore) => metrics.request(Endpoint::SocketMode, Outcome::Ok),
                Err(what) => {
                    metrics.request(Endpoint::SocketMode, Outcome::BadRequest);
                    info!(what, "malformed Socket Mode interaction");
                }
            }
            json!({"envelope_id": id})
        }
        _ => json!({"envelope_id": id}),
    };
    Some(ack)
}
