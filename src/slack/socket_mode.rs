//! Socket Mode: when `SLACK_APP_TOKEN` is set the bot opens a WebSocket to Slack instead of serving
//! HTTP, and feeds the same handlers. It reconnects after a dropped, closed or silent connection,
//! tells `/readyz` while it is not connected, and gives up when Slack keeps refusing the token.
//!
//! Hand-written over tokio-tungstenite, not slack-morphism's `SlackClientSocketModeListener`: that
//! listener tells its caller neither that a connection dropped nor that `apps.connections.open`
//! refused the token (it logs and retries for ever), so readiness and the exit below could not work.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tracing::{error, info, warn};

use super::client::{OpenError, SlackWebApi};
use super::handlers::{
    Interaction, decode_command_json, decode_interaction_json, form_envelope_ack, reply_json,
};
use crate::metrics::{Endpoint, Outcome};
use crate::service::App;

/// Refusals of the app token in a row after which the process stops, so that a deployment with
/// a wrong or under-scoped token fails visibly instead of running deaf.
pub const REFUSALS_BEFORE_EXIT: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Between refusals the bot waits at least this long, so one bad answer alone does not stop it.
const REFUSED_BACKOFF: Duration = Duration::from_secs(1);

/// The connection as `/readyz` and the server see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Connected, and Slack said hello.
    Up,
    /// Not connected now; the bot is trying. A short fixed reason, safe to show.
    Down(&'static str),
    /// Given up: the process should stop, with this message.
    Failed(String),
}

/// A view of the Socket Mode connection's status.
#[derive(Clone)]
pub struct Health(watch::Receiver<Status>);

impl Health {
    /// `None` when connected; otherwise why not.
    pub fn not_ready(&self) -> Option<&'static str> {
        match &*self.0.borrow() {
            Status::Up => None,
            Status::Down(why) => Some(why),
            Status::Failed(_) => Some("gave up"),
        }
    }

    /// Resolves with the message once Socket Mode has given up (never, while it has not).
    pub async fn failed(mut self) -> String {
        loop {
            if let Status::Failed(why) = &*self.0.borrow_and_update() {
                return why.clone();
            }
            if self.0.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    pub fn status(&self) -> Status {
        self.0.borrow().clone()
    }
}

pub struct SocketMode {
    api: Arc<SlackWebApi>,
    app_token: SecretString,
    silence: Duration,
    status: watch::Sender<Status>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A replacement connection being opened.
type Opening<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Ws, String>> + Send + 'a>>;

/// How a connection ended without an error.
enum Ended {
    Stopped,
    /// Slack closed it; `greeted` when it had said hello first.
    Closed {
        greeted: bool,
    },
    /// Slack asked to reconnect (`disconnect`): the new connection was opened first, and the old
    /// one closed only then, so no envelope falls in a gap between them.
    Replaced(Box<Ws>),
}

impl SocketMode {
    /// `silence`: a connection with no frame (nor pong to the bot's pings) for this long is dead.
    pub fn new(api: Arc<SlackWebApi>, app_token: SecretString, silence: Duration) -> Self {
        SocketMode {
            api,
            app_token,
            silence,
            status: watch::Sender::new(Status::Down("connecting")),
        }
    }

    pub fn health(&self) -> Health {
        Health(self.status.subscribe())
    }

    /// Keep a connection up until `stop` turns true, or until Slack has refused the token
    /// `REFUSALS_BEFORE_EXIT` times in a row (then the status is `Failed`).
    pub async fn run(self, app: Arc<App>, mut stop: watch::Receiver<bool>) {
        let mut backoff = FIRST_BACKOFF;
        let mut refusals = 0;
        // The connection opened to replace one Slack asked to reconnect.
        let mut replacement: Option<Box<Ws>> = None;
        while !*stop.borrow() {
            let mut wait = backoff;
            let opened = match replacement.take() {
                Some(ws) => Ok(Connection::Open(ws)),
                None => tokio::select! {
                    opened = self.api.open_socket_url(&self.app_token) => opened.map(Connection::Url),
                    _ = stop.changed() => break,
                },
            };
            match opened {
                Ok(connection) => {
                    refusals = 0;
                    match self.session(&app, connection, &mut stop).await {
                        Ok(Ended::Stopped) => break,
                        Ok(Ended::Replaced(ws)) => {
                            info!("Socket Mode connection replaced at Slack's request");
                            backoff = FIRST_BACKOFF;
                            replacement = Some(ws);
                            continue;
                        }
                        Ok(Ended::Closed { greeted }) => {
                            self.status.send_replace(Status::Down("reconnecting"));
                            if greeted {
                                info!("Socket Mode connection ended; reconnecting");
                                backoff = FIRST_BACKOFF;
                                continue;
                            }
                            warn!("Socket Mode connection closed before Slack said hello");
                        }
                        Err(e) => {
                            self.status.send_replace(Status::Down("connection lost"));
                            warn!(error = %crate::ports::error_chain(&e), "Socket Mode connection failed; reconnecting");
                        }
                    }
                }
                Err(OpenError::Refused(code)) => {
                    refusals += 1;
                    error!(
                        code,
                        refusals, "apps.connections.open refused the app token"
                    );
                    if refusals >= REFUSALS_BEFORE_EXIT {
                        self.status.send_replace(Status::Failed(format!(
                            "Slack refused the Socket Mode app token {refusals} times in a row ({code}): \
                             set SLACK_APP_TOKEN to the app-level token (xapp-…) with connections:write"
                        )));
                        return;
                    }
                    self.status.send_replace(Status::Down("app token refused"));
                    wait = backoff.max(REFUSED_BACKOFF);
                }
                Err(e) => {
                    self.status.send_replace(Status::Down("cannot reach Slack"));
                    warn!(error = %crate::ports::error_chain(&e), "cannot open a Socket Mode connection");
                }
            }
            tokio::select! {
                _ = sleep(wait) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
            backoff = (wait * 2).min(MAX_BACKOFF);
        }
        self.status.send_replace(Status::Down("stopped"));
    }

    /// The WebSocket at `url`.
    async fn connect(&self, url: &str) -> Result<Ws, SessionError> {
        let (ws, _) = timeout(self.silence, connect(url, self.api.proxies()))
            .await
            .map_err(|_| SessionError::NoHandshake)??;
        Ok(ws)
    }

    /// A connection to replace one Slack asked to reconnect: a fresh URL, then its WebSocket.
    async fn replacement(&self) -> Result<Ws, String> {
        let url = self
            .api
            .open_socket_url(&self.app_token)
            .await
            .map_err(|e| crate::ports::error_chain(&e))?;
        self.connect(&url)
            .await
            .map_err(|e| crate::ports::error_chain(&e))
    }

    /// One connection: answer every envelope until Slack or `stop` closes it, or it goes silent.
    async fn session(
        &self,
        app: &Arc<App>,
        connection: Connection,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Ended, SessionError> {
        let ws = match connection {
            Connection::Url(url) => self.connect(&url).await?,
            Connection::Open(ws) => *ws,
        };
        let (mut tx, mut rx) = ws.split();
        info!("Socket Mode connected");
        let ping_every = self.silence / 3;
        let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut heard = Instant::now();
        let mut greeted = false;
        // The form's acknowledgements, computed beside the read loop (see below).
        let (form_acks, mut form_acked) = tokio::sync::mpsc::unbounded_channel::<Value>();
        // After `disconnect`: the new connection being opened while this one still answers.
        let mut replacing: Option<Opening<'_>> = None;
        loop {
            let msg = tokio::select! {
                opened = async {
                    match replacing.as_mut() {
                        Some(opening) => opening.await,
                        None => std::future::pending().await,
                    }
                } => {
                    match opened {
                        Ok(new) => {
                            let _ = timeout(Duration::from_secs(1), tx.send(Message::Close(None))).await;
                            return Ok(Ended::Replaced(Box::new(new)));
                        }
                        Err(e) => {
                            warn!(error = %e, "could not open the connection Slack asked for; reconnecting");
                            return Ok(Ended::Closed { greeted });
                        }
                    }
                }
                m = rx.next() => m,
                Some(ack) = form_acked.recv() => {
                    self.send(&mut tx, Message::Text(ack.to_string().into())).await?;
                    continue;
                }
                _ = pings.tick() => {
                    self.send(&mut tx, Message::Ping(Vec::new().into())).await?;
                    continue;
                }
                _ = sleep_until(heard + self.silence) => {
                    return Err(SessionError::Silent(self.silence));
                }
                _ = stop.changed() => {
                    let _ = timeout(Duration::from_secs(1), tx.send(Message::Close(None))).await;
                    return Ok(Ended::Stopped);
                }
            };
            let Some(msg) = msg else {
                return self.closed(replacing, greeted).await;
            };
            heard = Instant::now();
            match msg? {
                Message::Text(text) => {
                    let Ok(envelope) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    match envelope["type"].as_str() {
                        Some("hello") => {
                            greeted = true;
                            self.status.send_replace(Status::Up);
                        }
                        Some("disconnect") => {
                            info!(
                                reason = envelope["reason"].as_str().unwrap_or(""),
                                "Slack asked to reconnect; opening the new connection first"
                            );
                            if replacing.is_none() {
                                replacing = Some(Box::pin(self.replacement()));
                            }
                        }
                        _ => {
                            // The form's options and submissions are answered in their
                            // acknowledgement; the type-ahead may wait on IAM (up to
                            // `service::modal::OPTIONS_BUDGET`), so it runs on its own task and
                            // the envelopes behind it (commands, clicks) are acknowledged at once.
                            if let Some(ack) = form_envelope_ack(app, &envelope) {
                                let form_acks = form_acks.clone();
                                tokio::spawn(async move {
                                    let _ = form_acks.send(ack.await);
                                });
                            } else if let Some(ack) = answer(app, &envelope) {
                                self.send(&mut tx, Message::Text(ack.to_string().into()))
                                    .await?;
                            }
                        }
                    }
                }
                Message::Ping(p) => self.send(&mut tx, Message::Pong(p)).await?,
                Message::Close(_) => return self.closed(replacing, greeted).await,
                _ => {}
            }
        }
    }

    /// Slack closed the connection. If a replacement is being opened, it is the next connection.
    async fn closed(
        &self,
        replacing: Option<Opening<'_>>,
        greeted: bool,
    ) -> Result<Ended, SessionError> {
        match replacing {
            Some(opening) => match opening.await {
                Ok(new) => Ok(Ended::Replaced(Box::new(new))),
                Err(e) => {
                    warn!(error = %e, "could not open the connection Slack asked for; reconnecting");
                    Ok(Ended::Closed { greeted })
                }
            },
            None => Ok(Ended::Closed { greeted }),
        }
    }

    /// A write that cannot hang on a dead connection.
    async fn send<S>(&self, tx: &mut S, msg: Message) -> Result<(), SessionError>
    where
        S: Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
    {
        Ok(timeout(self.silence, tx.send(msg))
            .await
            .map_err(|_| SessionError::WriteStuck)??)
    }
}

/// What a session starts from: a fresh URL, or a connection already open (a replacement).
enum Connection {
    Url(String),
    Open(Box<Ws>),
}

/// Open the WebSocket at `url`, through a `CONNECT` tunnel when a proxy applies to it (`wss` as
/// `https`, `ws` as `http`).
pub async fn connect(
    url: &str,
    proxies: &crate::http_client::Proxies,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    use tokio_tungstenite::tungstenite::Error;
    let parsed = url::Url::parse(url).map_err(|e| {
        Error::Url(tokio_tungstenite::tungstenite::error::UrlError::UnableToConnect(e.to_string()))
    })?;
    let (scheme, default_port) = match parsed.scheme() {
        "wss" => ("https", 443),
        _ => ("http", 80),
    };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port().unwrap_or(default_port);
    let dst: hyper::Uri = format!("{scheme}://{host}:{port}/")
        .parse()
        .map_err(|_| Error::Url(tokio_tungstenite::tungstenite::error::UrlError::NoHostName))?;
    let tcp = crate::http_client::ProxyConnector::new(proxies.clone())
        .tunnel(dst)
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?;
    tokio_tungstenite::client_async_tls(url, tcp).await
}

/// Why a Socket Mode connection ended other than by Slack closing it or by `stop`.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("no WebSocket handshake in time")]
    NoHandshake,
    #[error("nothing from Slack for {} ms", .0.as_millis())]
    Silent(Duration),
    #[error("a write to Slack did not finish in time")]
    WriteStuck,
    #[error("WebSocket")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
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
                Ok(Interaction::Reapply(ctx)) => {
                    metrics.request(Endpoint::SocketMode, Outcome::Ok);
                    app.on_reapply(ctx);
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
