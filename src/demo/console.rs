//! Slack as a console for the demo: every message kept in order, rendered as plain text with who
//! would see it.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::ids::{ChannelId, SlackGroupId, SlackUserId};
use crate::domain::request::CardRef;
use crate::ports::{Slack, SlackError};
use crate::service::notice::{Card, Notice, ThreadNote};
use crate::slack::{card, messages};

pub(super) fn person(id: &str) -> &'static str {
    match id {
        "U0ALICE" => "alice",
        "U0BOB" => "bob",
        "U0EVE" => "eve",
        _ => "someone",
    }
}

/// Slack as a console: every message is kept, in order, with who would see it.
#[derive(Default)]
pub(super) struct ConsoleSlack {
    seen: Mutex<Vec<String>>,
}

impl ConsoleSlack {
    fn push(&self, s: String) {
        if let Ok(mut v) = self.seen.lock() {
            v.push(s);
        }
    }
    /// How many messages wait to be shown (a poisoned lock counts as all of them).
    pub(super) fn len(&self) -> usize {
        self.seen.lock().map(|v| v.len()).unwrap_or(usize::MAX)
    }
    pub(super) fn drain(&self) -> Vec<String> {
        self.seen
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Names for the cast's user ids in plain-text renderings.
pub(super) fn names(s: &str) -> String {
    s.replace("@U0ALICE", "@alice")
        .replace("@U0BOB", "@bob")
        .replace("@U0EVE", "@eve")
}

/// What Slack shows for the mrkdwn the server answered over HTTP: entities decoded, mentions named.
pub(super) fn as_slack_shows(s: &str) -> String {
    names(
        &s.replace("<@", "@")
            .replace('>', "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

pub(super) fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    │ {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[async_trait]
impl Slack for ConsoleSlack {
    async fn post_card(&self, channel: &ChannelId, c: &Card) -> Result<CardRef, SlackError> {
        self.push(format!(
            "  [#incident, everyone sees] approval card posted:\n{}",
            indent(&names(&card::as_text(c)))
        ));
        Ok(CardRef {
            channel: channel.clone(),
            ts: "1700000000.000100".into(),
        })
    }
    async fn update_card(&self, _at: &CardRef, c: &Card) -> Result<(), SlackError> {
        self.push(format!(
            "  [#incident, everyone sees] card updated: {}",
            names(&messages::status_line(&c.request).to_plain())
                + &c.witness
                    .as_ref()
                    .map(|w| format!("  (audit #{} {})", w.seq, w.hash_prefix))
                    .unwrap_or_default()
        ));
        Ok(())
    }
    async fn respond(&self, response_url: &str, notice: &Notice) -> Result<(), SlackError> {
        let who = response_url.rsplit('/').next().unwrap_or("someone");
        let to = if notice.in_channel() {
            "#incident, everyone sees".to_string()
        } else {
            format!("only {who} sees")
        };
        self.push(format!(
            "  [{to}]\n{}",
            indent(&names(&messages::notice(notice).to_plain()))
        ));
        Ok(())
    }
    async fn post_in_thread(&self, _card: &CardRef, note: &ThreadNote) -> Result<(), SlackError> {
        self.push(format!(
            "  [#incident, in the card's thread]\n{}",
            indent(&names(&messages::thread_note(note).to_plain()))
        ));
        Ok(())
    }
    async fn direct_message(
        &self,
        user: &SlackUserId,
        note: &ThreadNote,
    ) -> Result<(), SlackError> {
        self.push(format!(
            "  [direct message to {}]\n{}",
            person(user.as_str()),
            indent(&names(&messages::thread_note(note).to_plain()))
        ));
        Ok(())
    }
    async fn group_members(&self, _group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError> {
        Err(SlackError::Unsupported("user groups"))
    }
}
