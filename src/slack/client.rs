//! The Slack Web API adapter (slack-morphism): cards, `response_url` replies, user-group members.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tracing::warn;

use super::blocks;
use crate::domain::ids::{ChannelId, SlackGroupId, SlackUserId};
use crate::domain::request::CardRef;
use crate::ports::{Slack, SlackError};
use crate::service::modal::RequestForm;
use crate::service::notice::{Card, Notice, ThreadNote};

type Connector = SlackClientHyperConnector<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

pub struct SlackWebApi {
    client: SlackClient<Connector>,
    http: crate::http_client::HttpClient,
    token: SlackApiToken,
    try_timeout: Duration,
}

/// How long one try of a Slack call may take (SPEC §5).
pub const TRY_TIMEOUT: Duration = Duration::from_secs(10);

impl SlackWebApi {
    /// `api_url` overrides `https://slack.com/api` (tests point it at a local fake, over plain HTTP).
    pub fn new(bot_token: &SecretString, api_url: Option<&str>) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        let mut connector = SlackClientHyperConnector::with_connector(https);
        if let Some(url) = api_url {
            connector = connector.with_slack_api_url(url);
        }
        Ok(SlackWebApi {
            client: SlackClient::new(connector),
            http: crate::http_client::HttpClient::new()?,
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.expose_secret().to_string())),
            try_timeout: TRY_TIMEOUT,
        })
    }

    /// Another limit for each try than `TRY_TIMEOUT` (tests shorten it).
    pub fn with_try_timeout(self, try_timeout: Duration) -> Self {
        SlackWebApi {
            try_timeout,
            ..self
        }
    }

    /// `auth.test`: whether the token is accepted.
    pub async fn auth_test(&self) -> Result<String, SlackError> {
        let r = self
            .retrying("auth.test", || async {
                self.client.open_session(&self.token).auth_test().await
            })
            .await?;
        Ok(format!("team {} as {}", r.team, r.user.unwrap_or_default()))
    }

    /// `apps.connections.open` with an app-level token: a fresh Socket Mode URL. One try, since
    /// the Socket Mode loop is what retries it.
    pub async fn open_socket_url(&self, app_token: &SecretString) -> Result<String, OpenError> {
        let token = SlackApiToken::new(SlackApiTokenValue(app_token.expose_secret().to_string()));
        let call = async {
            self.client
                .open_session(&token)
                .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
                .await
        };
        match tokio::time::timeout(self.try_timeout, call).await {
            Ok(Ok(r)) => Ok(r.url.0.to_string()),
            Ok(Err(SlackClientError::ApiError(e))) if is_fatal(&e.code) => {
                Err(OpenError::Refused(e.code))
            }
            Ok(Err(e)) => Err(OpenError::Failed(e)),
            Err(_) => Err(OpenError::TimedOut(self.try_timeout)),
        }
    }

    async fn retrying<T, F, Fut>(&self, what: &'static str, mut call: F) -> Result<T, SlackError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SlackClientError>>,
    {
        with_retries(what, self.try_timeout, || {
            let attempt = call();
            async move {
                attempt.await.map_err(|e| Failed {
                    failure: classify(&e),
                    code: match &e {
                        SlackClientError::ApiError(api) => Some(api.code.clone()),
                        _ => None,
                    },
                    detail: e.to_string(),
                })
            }
        })
        .await
    }
}

/// Why `apps.connections.open` gave no URL.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The token itself is refused: retrying cannot help.
    #[error("Slack refused the app token: {0}")]
    Refused(String),
    #[error("apps.connections.open failed")]
    Failed(#[source] SlackClientError),
    #[error("apps.connections.open: no answer within {} ms", .0.as_millis())]
    TimedOut(Duration),
}

/// Answers to `apps.connections.open` that mean the token is wrong, revoked or lacks
/// `connections:write`, not that Slack is having a bad moment.
fn is_fatal(code: &str) -> bool {
    matches!(
        code,
        "invalid_auth"
            | "not_authed"
            | "account_inactive"
            | "token_revoked"
            | "token_expired"
            | "not_allowed_token_type"
            | "missing_scope"
            | "no_permission"
    )
}

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

fn classify(e: &SlackClientError) -> Failure {
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
struct Failed {
    failure: Failure,
    code: Option<String>,
    detail: String,
}

/// The one retry loop for every Slack call (Web API and `response_url`): each try is cut off
/// after `try_timeout`, which counts as a transient failure.
async fn with_retries<T, F, Fut>(
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

impl SlackWebApi {
    /// `chat.postMessage` through the one retry loop (cards, thread replies, direct messages).
    async fn post_message(
        &self,
        req: &SlackApiChatPostMessageRequest,
    ) -> Result<SlackApiChatPostMessageResponse, SlackError> {
        self.retrying("chat.postMessage", || async {
            self.client
                .open_session(&self.token)
                .chat_post_message(req)
                .await
        })
        .await
    }
}

fn content(card: &Card) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(blocks::card_text(card).into_string())
        .with_blocks(blocks::card(card))
}

#[async_trait]
impl Slack for SlackWebApi {
    async fn post_card(&self, channel: &ChannelId, card: &Card) -> Result<CardRef, SlackError> {
        let req =
            SlackApiChatPostMessageRequest::new(SlackChannelId(channel.to_string()), content(card));
        let resp = self.post_message(&req).await?;
        Ok(CardRef {
            channel: channel.clone(),
            ts: resp.ts.0,
        })
    }

    async fn update_card(&self, at: &CardRef, card: &Card) -> Result<(), SlackError> {
        let req = SlackApiChatUpdateRequest::new(
            SlackChannelId(at.channel.to_string()),
            content(card),
            SlackTs(at.ts.clone()),
        );
        self.retrying("chat.update", || async {
            self.client
                .open_session(&self.token)
                .chat_update(&req)
                .await
        })
        .await?;
        Ok(())
    }

    async fn post_in_thread(&self, card: &CardRef, note: &ThreadNote) -> Result<(), SlackError> {
        let text = super::messages::thread_note(note).to_mrkdwn().into_string();
        let mut content = SlackMessageContent::new().with_text(text);
        if let Some(blocks) = super::blocks::thread_note(note) {
            content = content.with_blocks(blocks);
        }
        let req =
            SlackApiChatPostMessageRequest::new(SlackChannelId(card.channel.to_string()), content)
                .with_thread_ts(SlackTs(card.ts.clone()));
        self.post_message(&req).await?;
        Ok(())
    }

    async fn direct_message(
        &self,
        user: &SlackUserId,
        note: &ThreadNote,
    ) -> Result<(), SlackError> {
        // A user id as the channel posts to the bot's direct messages with that person.
        let text = super::messages::thread_note(note).to_mrkdwn().into_string();
        let req = SlackApiChatPostMessageRequest::new(
            SlackChannelId(user.to_string()),
            SlackMessageContent::new().with_text(text),
        );
        self.post_message(&req).await?;
        Ok(())
    }

    async fn respond(&self, response_url: &str, notice: &Notice) -> Result<(), SlackError> {
        let body = serde_json::json!({
            "response_type": if notice.in_channel() { "in_channel" } else { "ephemeral" },
            "replace_original": false,
            "text": super::messages::notice(notice).to_mrkdwn().into_string(),
            "blocks": blocks::notice(notice),
        });
        let body = body.to_string().into_bytes();
        with_retries("response_url", self.try_timeout, || async {
            let r = self
                .http
                .post_full(
                    response_url,
                    &[("content-type", "application/json".into())],
                    body.clone(),
                )
                .await
                .map_err(|e| Failed {
                    failure: Failure::Transient,
                    code: None,
                    detail: crate::ports::error_chain(&e),
                })?;
            if r.status < 300 {
                return Ok(());
            }
            let failure = match Failure::of_status(r.status) {
                Failure::RateLimited(_) => {
                    Failure::RateLimited(r.retry_after.map(Duration::from_secs))
                }
                f => f,
            };
            Err(Failed {
                failure,
                code: None,
                detail: format!(
                    "answered {}: {}",
                    r.status,
                    r.body.chars().take(200).collect::<String>()
                ),
            })
        })
        .await
    }

    async fn open_request_form(
        &self,
        trigger_id: &str,
        form: &RequestForm,
    ) -> Result<(), SlackError> {
        let req = SlackApiViewsOpenRequest::new(
            SlackTriggerId(trigger_id.to_string()),
            super::form::view(form),
        );
        self.retrying("views.open", || async {
            self.client.open_session(&self.token).views_open(&req).await
        })
        .await?;
        Ok(())
    }

    async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &SlackUserId,
        notice: &Notice,
    ) -> Result<(), SlackError> {
        let req = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId(channel.to_string()),
            slack_morphism::SlackUserId(user.to_string()),
            SlackMessageContent::new()
                .with_text(super::messages::notice(notice).to_mrkdwn().into_string())
                .with_blocks(blocks::notice(notice)),
        );
        self.retrying("chat.postEphemeral", || async {
            self.client
                .open_session(&self.token)
                .chat_post_ephemeral(&req)
                .await
        })
        .await?;
        Ok(())
    }

    async fn group_members(&self, group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError> {
        let req = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId(group.to_string()));
        let resp = self
            .retrying("usergroups.users.list", || async {
                self.client
                    .open_session(&self.token)
                    .usergroups_users_list(&req)
                    .await
            })
            .await?;
        Ok(resp
            .users
            .into_iter()
            .filter_map(|u| SlackUserId::parse(&u.0).ok())
            .collect())
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
