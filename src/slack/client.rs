//! The Slack Web API adapter (slack-morphism): cards, `response_url` replies, user-group members.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::blocks;
pub use super::retry::MAX_ATTEMPTS;
use super::retry::{Failed, Failure, Resend, Tries, classify, tried, with_retries};
use crate::domain::ids::{ChannelId, SlackGroupId, SlackUserId};
use crate::domain::request::CardRef;
use crate::ports::{Slack, SlackError};
use crate::service::modal::RequestForm;
use crate::service::notice::{Card, Notice, ThreadNote};

type Connector =
    SlackClientHyperConnector<hyper_rustls::HttpsConnector<crate::http_client::ProxyConnector>>;

pub struct SlackWebApi {
    client: SlackClient<Connector>,
    http: crate::http_client::HttpClient,
    /// The outbound proxy (from the environment), which Socket Mode's WebSocket uses too.
    proxies: crate::http_client::Proxies,
    token: SlackApiToken,
    try_timeout: Duration,
}

/// How long one try of a Slack call may take (README "Using it in Slack").
pub const TRY_TIMEOUT: Duration = Duration::from_secs(10);

impl SlackWebApi {
    /// `api_url` overrides `https://slack.com/api` (tests point it at a local fake, over plain HTTP).
    /// Every call goes through the proxy the environment names, if any (`http_client`).
    pub fn new(bot_token: &SecretString, api_url: Option<&str>) -> std::io::Result<Self> {
        let proxies = crate::http_client::Proxies::from_env();
        let https = crate::http_client::https_connector(proxies.clone())?;
        let mut connector = SlackClientHyperConnector::with_connector(https);
        if let Some(url) = api_url {
            connector = connector.with_slack_api_url(url);
        }
        Ok(SlackWebApi {
            client: SlackClient::new(connector),
            http: crate::http_client::HttpClient::with_proxies(proxies.clone())?,
            proxies,
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.expose_secret().to_string())),
            try_timeout: TRY_TIMEOUT,
        })
    }

    /// The outbound proxy settings every connection of this adapter uses.
    pub fn proxies(&self) -> &crate::http_client::Proxies {
        &self.proxies
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

    async fn retrying<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, SlackError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SlackClientError>>,
    {
        self.tried(what, Tries::safe(self.try_timeout), call).await
    }

    async fn tried<T, F, Fut>(
        &self,
        what: &'static str,
        tries: Tries,
        mut call: F,
    ) -> Result<T, SlackError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SlackClientError>>,
    {
        tried(what, tries, || {
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

impl SlackWebApi {
    /// `chat.postMessage` through the one retry loop (cards, thread replies, direct messages).
    /// A card is not sent again after a try that may have arrived (README, "Slack").
    async fn post_message(
        &self,
        req: &SlackApiChatPostMessageRequest,
        resend: Resend,
    ) -> Result<SlackApiChatPostMessageResponse, SlackError> {
        let tries = Tries {
            resend,
            ..Tries::safe(self.try_timeout)
        };
        self.tried("chat.postMessage", tries, || async {
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

/// A message the bot posts: no previews of links (there are none the bot meant to show) and no
/// linking of bare names (README, "Slack").
fn post_request(channel: String, content: SlackMessageContent) -> SlackApiChatPostMessageRequest {
    SlackApiChatPostMessageRequest::new(SlackChannelId(channel), content)
        .with_unfurl_links(false)
        .with_unfurl_media(false)
        .with_link_names(false)
}

fn note_content(note: &ThreadNote) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(blocks::thread_note_text(note).into_string())
        .with_blocks(blocks::thread_note(note))
}

#[async_trait]
impl Slack for SlackWebApi {
    async fn post_card(&self, channel: &ChannelId, card: &Card) -> Result<CardRef, SlackError> {
        let req = post_request(channel.to_string(), content(card));
        let resp = self.post_message(&req, Resend::OnlyIfNotDone).await?;
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
        let req = post_request(card.channel.to_string(), note_content(note))
            .with_thread_ts(SlackTs(card.ts.clone()));
        self.post_message(&req, Resend::Safe).await?;
        Ok(())
    }

    async fn direct_message(
        &self,
        user: &SlackUserId,
        note: &ThreadNote,
    ) -> Result<(), SlackError> {
        // A user id as the channel posts to the bot's direct messages with that person.
        let req = post_request(user.to_string(), note_content(note));
        self.post_message(&req, Resend::Safe).await?;
        Ok(())
    }

    async fn respond(&self, response_url: &str, notice: &Notice) -> Result<(), SlackError> {
        // The same reply as an immediate answer, plus its blocks, never replacing the card.
        let mut body = super::handlers::reply_json(notice);
        body["replace_original"] = false.into();
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
        // A trigger id lives 3 s: no try after it expired, none running past it.
        let tries = Tries {
            deadline: Some(form.trigger_expires),
            ..Tries::safe(self.try_timeout)
        };
        self.tried("views.open", tries, || async {
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
                .with_text(blocks::notice_text(notice).into_string())
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

/// What `check-config` reads of a channel (`conversations.info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    pub name: String,
    pub is_member: bool,
    pub is_archived: bool,
}

/// `check-config`'s reads (README "check-config").
impl SlackWebApi {
    /// `conversations.info`: the channel exists, and whether the bot is in it.
    pub async fn channel_info(&self, channel: &ChannelId) -> Result<ChannelInfo, SlackError> {
        let req = SlackApiConversationsInfoRequest::new(SlackChannelId(channel.to_string()));
        let resp = self
            .retrying("conversations.info", || async {
                self.client
                    .open_session(&self.token)
                    .conversations_info(&req)
                    .await
            })
            .await?;
        Ok(ChannelInfo {
            name: resp.channel.name.unwrap_or_default(),
            is_member: resp.channel.flags.is_member.unwrap_or(false),
            is_archived: resp.channel.flags.is_archived.unwrap_or(false),
        })
    }
}
