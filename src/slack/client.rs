//! The Slack Web API adapter (slack-morphism): cards, `response_url` replies, user-group members.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::prelude::*;

use super::blocks;
use crate::domain::ids::{ChannelId, SlackGroupId, SlackUserId};
use crate::domain::request::CardRef;
use crate::ports::{Card, Reply, Slack, SlackError};

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

fn err(e: slack_morphism::errors::SlackClientError) -> SlackError {
    SlackError(e.to_string())
}

fn content(card: &Card) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(super::card::as_text(card))
        .with_blocks(blocks::card(card))
}

#[async_trait]
impl Slack for SlackWebApi {
    async fn post_card(&self, channel: &ChannelId, card: &Card) -> Result<CardRef, SlackError> {
        let req =
            SlackApiChatPostMessageRequest::new(SlackChannelId(channel.to_string()), content(card));
        let resp = self
            .client
            .open_session(&self.token)
            .chat_post_message(&req)
            .await
            .map_err(err)?;
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
        self.client
            .open_session(&self.token)
            .chat_update(&req)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn respond(&self, response_url: &str, reply: &Reply) -> Result<(), SlackError> {
        let body = serde_json::json!({
            "response_type": if reply.in_channel { "in_channel" } else { "ephemeral" },
            "replace_original": false,
            "text": reply.text(),
            "blocks": blocks::reply(reply),
        });
        let (status, text) = self
            .http
            .post(
                response_url,
                &[("content-type", "application/json".into())],
                body.to_string().into_bytes(),
            )
            .await
            .map_err(SlackError)?;
        if status >= 300 {
            return Err(SlackError(format!(
                "response_url answered {status}: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        Ok(())
    }

    async fn group_members(&self, group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError> {
        let req = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId(group.to_string()));
        let resp = self
            .client
            .open_session(&self.token)
            .usergroups_users_list(&req)
            .await
            .map_err(err)?;
        Ok(resp
            .users
            .into_iter()
            .filter_map(|u| SlackUserId::parse(&u.0).ok())
            .collect())
    }
}
