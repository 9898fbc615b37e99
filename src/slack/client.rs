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
use crate::service::notice::{Card, Notice, ThreadNote};

type Connector = SlackClientHyperConnector<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

pub struct SlackWebApi {
    client: SlackClient<Connector>,
    http: crate::http_client::HttpClient,
    token: SlackApiToken,
}

impl SlackWebApi {
    /// `api_url` overrides `https://slack.com/api` (tests point it at a local fake, over plain HTTP).
    pub fn new(bot_token: &SecretString, api_url: Option<&str>) -> Result<Self, SlackError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| SlackError(format!("no CA certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let mut connector = SlackClientHyperConnector::with_connector(https);
        if let Some(url) = api_url {
            connector = connector.with_slack_api_url(url);
        }
        Ok(SlackWebApi {
            client: SlackClient::new(connector),
            http: crate::http_client::HttpClient::new()
                .map_err(|e| SlackError(format!("no CA certificates: {e}")))?,
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.expose_secret().to_string())),
        })
    }

    /// `auth.test`: whether the token is accepted.
    pub async fn auth_test(&self) -> Result<String, SlackError> {
        let r = self
            .client
            .open_session(&self.token)
            .auth_test()
            .await
            .map_err(err)?;
        Ok(format!("team {} as {}", r.team, r.user.unwrap_or_default()))
    }
}

fn err(e: SlackClientError) -> SlackError {
    SlackError(e.to_string())
}

/// Attempts per Slack call, and the longest `Retry-After` the bot will wait out: past that the
/// person is told at once rather than kept waiting.
pub const MAX_ATTEMPTS: u32 = 4;
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// How long to wait before attempt `attempt + 1`, or `None` to give up. 429s are retried after
/// their `Retry-After`; 5xx and connection errors with exponential backoff; anything else not at all.
pub fn retry_wait(
    status: Option<u16>,
    retry_after: Option<Duration>,
    attempt: u32,
) -> Option<Duration> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let backoff = Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(1)));
    match status {
        Some(429) => {
            Some(retry_after.unwrap_or(Duration::from_secs(1))).filter(|w| *w <= MAX_RETRY_AFTER)
        }
        Some(s) if s >= 500 => Some(backoff),
        None => Some(backoff),
        Some(_) => None,
    }
}

fn classify(e: &SlackClientError) -> Option<(Option<u16>, Option<Duration>)> {
    match e {
        SlackClientError::RateLimitError(r) => Some((Some(429), r.retry_after)),
        SlackClientError::HttpError(h) => Some((Some(h.status_code.as_u16()), None)),
        SlackClientError::HttpProtocolError(_) | SlackClientError::EndOfStream(_) => {
            Some((None, None))
        }
        _ => None,
    }
}

async fn with_retries<T, F, Fut>(what: &str, mut call: F) -> Result<T, SlackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SlackClientError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let wait =
                    classify(&e).and_then(|(status, after)| retry_wait(status, after, attempt));
                let Some(wait) = wait else { return Err(err(e)) };
                warn!(method = what, attempt, wait_ms = wait.as_millis() as u64, error = %e, "Slack call failed; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
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
        let resp = with_retries("chat.postMessage", || async {
            self.client
                .open_session(&self.token)
                .chat_post_message(&req)
                .await
        })
        .await?;
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
        with_retries("chat.update", || async {
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
        let req = SlackApiChatPostMessageRequest::new(
            SlackChannelId(card.channel.to_string()),
            SlackMessageContent::new().with_text(text),
        )
        .with_thread_ts(SlackTs(card.ts.clone()));
        with_retries("chat.postMessage", || async {
            self.client
                .open_session(&self.token)
                .chat_post_message(&req)
                .await
        })
        .await?;
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
        with_retries("chat.postMessage", || async {
            self.client
                .open_session(&self.token)
                .chat_post_message(&req)
                .await
        })
        .await?;
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
        let mut attempt = 1;
        loop {
            let sent = self
                .http
                .post_full(
                    response_url,
                    &[("content-type", "application/json".into())],
                    body.clone(),
                )
                .await;
            let (status, retry_after, detail) = match sent {
                Ok(r) if r.status < 300 => return Ok(()),
                Ok(r) => (
                    Some(r.status),
                    r.retry_after.map(Duration::from_secs),
                    r.body.chars().take(200).collect(),
                ),
                Err(e) => (None, None, e),
            };
            let Some(wait) = retry_wait(status, retry_after, attempt) else {
                return Err(SlackError(format!(
                    "response_url answered {}: {detail}",
                    status.map_or("nothing".to_string(), |s| s.to_string())
                )));
            };
            warn!(
                attempt,
                wait_ms = wait.as_millis() as u64,
                "response_url failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn group_members(&self, group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError> {
        let req = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId(group.to_string()));
        let resp = with_retries("usergroups.users.list", || async {
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
        assert_eq!(
            retry_wait(Some(429), Some(Duration::from_secs(7)), 1),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_wait(Some(429), None, 1), Some(Duration::from_secs(1)));
        assert_eq!(
            retry_wait(Some(429), Some(Duration::from_secs(120)), 1),
            None
        );
    }

    #[test]
    fn server_errors_back_off_and_client_errors_do_not_retry() {
        assert_eq!(
            retry_wait(Some(500), None, 1),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            retry_wait(Some(503), None, 2),
            Some(Duration::from_millis(400))
        );
        assert_eq!(retry_wait(None, None, 3), Some(Duration::from_millis(800)));
        assert_eq!(retry_wait(Some(500), None, MAX_ATTEMPTS), None);
        assert_eq!(retry_wait(Some(404), None, 1), None);
        assert_eq!(retry_wait(Some(400), None, 1), None);
    }
}
