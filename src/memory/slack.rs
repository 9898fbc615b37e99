//! Slack in memory: records what the bot asked Slack to send, rendered exactly as the Slack
//! adapter renders it (for the fast tests and the `Slack` contract).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::domain::ids::{ChannelId, SlackGroupId, SlackUserId};
use crate::domain::request::CardRef;
use crate::notice::{Card, Notice, RequestForm, ThreadNote};
use crate::ports::{Slack, SlackError};
use crate::slack::{blocks, form, handlers, limits};

/// What the bot asked Slack to do, as Slack would receive it.
#[derive(Debug, Clone)]
pub enum Sent {
    Card {
        /// Where it was posted, as `post_card` answered.
        at: CardRef,
        card: Card,
        mrkdwn: String,
    },
    Update {
        at: CardRef,
        card: Card,
        mrkdwn: String,
    },
    Reply {
        to: String,
        notice: Notice,
        mrkdwn: String,
    },
    Thread {
        /// The card whose thread it went to.
        card: CardRef,
        note: ThreadNote,
        mrkdwn: String,
    },
    Dm {
        to: SlackUserId,
        note: ThreadNote,
        mrkdwn: String,
    },
    /// An ephemeral message (the answers to the request form).
    Ephemeral {
        channel: ChannelId,
        to: SlackUserId,
        notice: Notice,
        mrkdwn: String,
    },
    /// `views.open`: the request form.
    Form {
        trigger_id: String,
        form: RequestForm,
    },
}

impl Sent {
    pub fn mrkdwn(&self) -> &str {
        match self {
            Sent::Card { mrkdwn, .. }
            | Sent::Update { mrkdwn, .. }
            | Sent::Reply { mrkdwn, .. }
            | Sent::Thread { mrkdwn, .. }
            | Sent::Dm { mrkdwn, .. }
            | Sent::Ephemeral { mrkdwn, .. } => mrkdwn,
            Sent::Form { .. } => "",
        }
    }
}

/// The `response_url` the fast tests give `user`'s commands and clicks.
pub fn response_url(user: &str) -> String {
    format!("https://hooks.slack.test/respond/{user}")
}

/// A Slack that records what it is asked to send. Cards get a fresh `ts`, and only a card it
/// posted can be updated (`message_not_found` otherwise, as in Slack); user groups are those set with `set_group` (any other is
/// unknown, an error as in Slack), and membership can be made to fail.
#[derive(Default)]
pub struct RecordingSlack {
    sent: Mutex<Vec<Sent>>,
    groups: Mutex<HashMap<SlackGroupId, Vec<SlackUserId>>>,
    groups_fail: Mutex<bool>,
    posts: Mutex<u32>,
    /// `views.open` fails (an expired trigger).
    pub forms_fail: Mutex<bool>,
    /// Messages refused as Slack refuses them (`invalid_blocks`), with why.
    refusals: Mutex<Vec<String>>,
    /// The next `chat.postMessage` of a card arrives, but its answer is lost (a timeout).
    lose_next_answer: Mutex<bool>,
    /// Full cards are refused (a limit the bot does not know of); minimal ones pass.
    refuse_full_cards: Mutex<bool>,
}

/// A lock that a panicking test thread does not poison for the others.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What Slack would be sent: the message body's top-level text and blocks, as the Slack adapter
/// renders them.
fn message(text: String, blocks: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"text": text, "blocks": blocks})
}

fn card_body(card: &Card) -> serde_json::Value {
    message(
        blocks::card_text(card).into_string(),
        serde_json::to_value(blocks::card(card)).unwrap_or_default(),
    )
}

fn note_body(note: &ThreadNote) -> serde_json::Value {
    message(
        blocks::thread_note_text(note).into_string(),
        serde_json::to_value(blocks::thread_note(note)).unwrap_or_default(),
    )
}

/// Everything text-like in a message body: its fallback text, then its blocks as JSON.
fn text_of(body: &serde_json::Value) -> String {
    format!(
        "{}\n{}",
        body["text"].as_str().unwrap_or_default(),
        serde_json::to_string(&body["blocks"]).unwrap_or_default()
    )
}

/// Slack's answer to a message beyond Block Kit's limits.
fn refused(method: &'static str, why: String) -> SlackError {
    SlackError::Refused {
        method,
        code: Some("invalid_blocks".into()),
        detail: format!("invalid_blocks: {why}"),
    }
}

impl RecordingSlack {
    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.sent).clone()
    }

    /// The members of user group `group` (ids that do not parse are left out).
    pub fn set_group(&self, group: &str, members: &[&str]) {
        if let Ok(group) = SlackGroupId::parse(group) {
            lock(&self.groups).insert(
                group,
                members
                    .iter()
                    .filter_map(|m| SlackUserId::parse(m).ok())
                    .collect(),
            );
        }
    }

    /// Membership questions fail (Slack cannot answer).
    pub fn fail_groups(&self, fail: bool) {
        *lock(&self.groups_fail) = fail;
    }

    fn push(&self, sent: Sent) {
        lock(&self.sent).push(sent);
    }

    /// Check a message body as Slack does: `invalid_blocks` for anything beyond Block Kit's limits.
    fn check(&self, method: &'static str, body: &serde_json::Value) -> Result<String, SlackError> {
        match limits::validate_message(body) {
            Ok(()) => Ok(text_of(body)),
            Err(why) => {
                lock(&self.refusals).push(format!("{method}: {why}"));
                Err(refused(method, why))
            }
        }
    }

    /// From now on Slack refuses every full card with `invalid_blocks`, as for a limit the
    /// renderer does not know of; the minimal card passes.
    pub fn refuse_full_cards(&self) {
        *lock(&self.refuse_full_cards) = true;
    }

    fn check_card(&self, method: &'static str, card: &Card) -> Result<String, SlackError> {
        if *lock(&self.refuse_full_cards) && !card.minimal {
            lock(&self.refusals).push(format!("{method}: a full card"));
            return Err(refused(method, "a full card".into()));
        }
        self.check(method, &card_body(card))
    }

    /// What was refused with `invalid_blocks`, and why.
    pub fn refusals(&self) -> Vec<String> {
        lock(&self.refusals).clone()
    }

    /// The next card posted arrives in the channel, but the bot never hears back (the call times
    /// out): Slack has a message whose `ts` the bot does not know.
    pub fn lose_next_answer(&self) {
        *lock(&self.lose_next_answer) = true;
    }

    /// Where the card of request `id` was posted, as a click on its buttons says
    /// (`container.channel_id`, `container.message_ts`).
    pub fn card_of(&self, id: &crate::domain::ids::RequestId) -> Option<CardRef> {
        self.sent().into_iter().find_map(|s| match s {
            Sent::Card { at, card, .. } if card.request.id() == id => Some(at),
            _ => None,
        })
    }

    /// `chat.update` of a message Slack never posted fails.
    fn posted(&self, at: &CardRef) -> Result<(), SlackError> {
        let known = lock(&self.sent)
            .iter()
            .any(|s| matches!(s, Sent::Card { at: posted, .. } if posted == at));
        if known {
            Ok(())
        } else {
            Err(SlackError::Refused {
                method: "chat.update",
                code: Some("message_not_found".into()),
                detail: "message_not_found".into(),
            })
        }
    }

    /// Replies sent to one person's `response_url`.
    pub fn replies_to(&self, user: &str) -> Vec<(Notice, String)> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Reply {
                    to, notice, mrkdwn, ..
                } if to == response_url(user) => Some((notice, mrkdwn)),
                _ => None,
            })
            .collect()
    }

    /// Ephemeral messages to one person.
    pub fn ephemeral_to(&self, user: &str) -> Vec<(ChannelId, Notice, String)> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Ephemeral {
                    channel,
                    to,
                    notice,
                    mrkdwn,
                } if to.as_str() == user => Some((channel, notice, mrkdwn)),
                _ => None,
            })
            .collect()
    }

    /// Forms opened (`views.open`).
    pub fn forms(&self) -> Vec<(String, RequestForm)> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Form { trigger_id, form } => Some((trigger_id, form)),
                _ => None,
            })
            .collect()
    }

    pub fn cards(&self) -> Vec<Card> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Card { card, .. } => Some(card),
                _ => None,
            })
            .collect()
    }

    /// Replies in card threads, as Slack receives them.
    pub fn thread(&self) -> Vec<(ThreadNote, String)> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Thread { note, mrkdwn, .. } => Some((note, mrkdwn)),
                _ => None,
            })
            .collect()
    }

    pub fn dms(&self) -> Vec<(SlackUserId, ThreadNote)> {
        self.sent()
            .into_iter()
            .filter_map(|s| match s {
                Sent::Dm { to, note, .. } => Some((to, note)),
                _ => None,
            })
            .collect()
    }

    /// The card as last shown (posted or updated).
    pub fn last_card(&self) -> Option<Card> {
        self.sent().into_iter().rev().find_map(|s| match s {
            Sent::Card { card, .. } | Sent::Update { card, .. } => Some(card),
            _ => None,
        })
    }
}

#[async_trait]
impl Slack for RecordingSlack {
    async fn post_card(&self, channel: &ChannelId, card: &Card) -> Result<CardRef, SlackError> {
        let mrkdwn = self.check_card("chat.postMessage", card)?;
        let n = {
            let mut p = lock(&self.posts);
            *p += 1;
            *p
        };
        let at = CardRef {
            channel: channel.clone(),
            ts: format!("1700000000.{n:06}"),
        };
        self.push(Sent::Card {
            at: at.clone(),
            card: card.clone(),
            mrkdwn,
        });
        if std::mem::take(&mut *lock(&self.lose_next_answer)) {
            return Err(SlackError::Unconfirmed {
                method: "chat.postMessage",
                detail: "no answer within 10000 ms".into(),
            });
        }
        Ok(at)
    }

    async fn update_card(&self, at: &CardRef, card: &Card) -> Result<(), SlackError> {
        self.posted(at)?;
        let mrkdwn = self.check_card("chat.update", card)?;
        self.push(Sent::Update {
            at: at.clone(),
            card: card.clone(),
            mrkdwn,
        });
        Ok(())
    }

    async fn respond(&self, response_url: &str, notice: &Notice) -> Result<(), SlackError> {
        let mrkdwn = self.check("response_url", &handlers::reply_json(notice))?;
        self.push(Sent::Reply {
            to: response_url.to_string(),
            notice: notice.clone(),
            mrkdwn,
        });
        Ok(())
    }

    async fn post_in_thread(&self, card: &CardRef, note: &ThreadNote) -> Result<(), SlackError> {
        let mrkdwn = self.check("chat.postMessage", &note_body(note))?;
        self.push(Sent::Thread {
            card: card.clone(),
            note: note.clone(),
            mrkdwn,
        });
        Ok(())
    }

    async fn direct_message(
        &self,
        user: &SlackUserId,
        note: &ThreadNote,
    ) -> Result<(), SlackError> {
        let mrkdwn = self.check("chat.postMessage", &note_body(note))?;
        self.push(Sent::Dm {
            to: user.clone(),
            note: note.clone(),
            mrkdwn,
        });
        Ok(())
    }

    async fn open_request_form(
        &self,
        trigger_id: &str,
        form: &RequestForm,
    ) -> Result<(), SlackError> {
        if *lock(&self.forms_fail) {
            return Err(SlackError::Refused {
                method: "views.open",
                code: Some("expired_trigger_id".into()),
                detail: "expired_trigger_id".into(),
            });
        }
        let view = serde_json::to_value(form::view(form)).unwrap_or_default();
        if let Err(why) = limits::validate_view(&view) {
            lock(&self.refusals).push(format!("views.open: {why}"));
            return Err(refused("views.open", why));
        }
        self.push(Sent::Form {
            trigger_id: trigger_id.to_string(),
            form: form.clone(),
        });
        Ok(())
    }

    async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &SlackUserId,
        notice: &Notice,
    ) -> Result<(), SlackError> {
        let body = message(
            blocks::notice_text(notice).into_string(),
            serde_json::to_value(blocks::notice(notice)).unwrap_or_default(),
        );
        let mrkdwn = self.check("chat.postEphemeral", &body)?;
        self.push(Sent::Ephemeral {
            channel: channel.clone(),
            to: user.clone(),
            notice: notice.clone(),
            mrkdwn,
        });
        Ok(())
    }

    async fn group_members(&self, group: &SlackGroupId) -> Result<Vec<SlackUserId>, SlackError> {
        if *lock(&self.groups_fail) {
            return Err(SlackError::Unavailable {
                method: "usergroups.users.list",
                detail: "ratelimited".into(),
            });
        }
        lock(&self.groups)
            .get(group)
            .cloned()
            .ok_or_else(|| SlackError::Refused {
                method: "usergroups.users.list",
                code: Some("no_such_subteam".into()),
                detail: "no_such_subteam".into(),
            })
    }
}
