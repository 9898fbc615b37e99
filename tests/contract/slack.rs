//! The `Slack` contract: what the service relies on from Slack, run on `RecordingSlack`
//! (tests/memory_contracts.rs) and on `SlackWebApi` against a fake Slack Web API that keeps the
//! messages it posted (tests/api/slack_contract.rs). Each fixture reads back what Slack was given
//! as [`Delivered`] values, so the cases assert on what arrived, not on what was called.

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use revoke_role_bot::domain::ids::{ChannelId, RequestId, SlackGroupId, SlackUserId};
use revoke_role_bot::domain::policy::Cutoff;
use revoke_role_bot::domain::request::{CardRef, NewRequest, Request};
use revoke_role_bot::domain::role_arn::RoleArn;
use revoke_role_bot::notice::{Card, Notice, ThreadNote};
use revoke_role_bot::ports::Slack;

/// What Slack was given. `text` is everything text-like in it (fallback text and blocks), as
/// the fixture saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// A message in a channel; `ts` is the one Slack gave it.
    Card {
        channel: String,
        ts: String,
        text: String,
    },
    Update {
        channel: String,
        ts: String,
        text: String,
    },
    /// A reply in the thread of the message at `channel`/`ts`.
    Thread {
        channel: String,
        ts: String,
        text: String,
    },
    Direct {
        user: String,
        text: String,
    },
    Reply {
        url: String,
        text: String,
    },
    Ephemeral {
        channel: String,
        user: String,
        text: String,
    },
}

impl Delivered {
    pub fn text(&self) -> &str {
        match self {
            Delivered::Card { text, .. }
            | Delivered::Update { text, .. }
            | Delivered::Thread { text, .. }
            | Delivered::Direct { text, .. }
            | Delivered::Reply { text, .. }
            | Delivered::Ephemeral { text, .. } => text,
        }
    }
}

/// One Slack workspace and a way to see what it was given.
#[async_trait]
pub trait SlackFixture: Send + Sync {
    fn slack(&self) -> &dyn Slack;
    /// A `response_url` this Slack answers for `user`.
    fn response_url(&self, user: &str) -> String;
    /// User group `group` has these members.
    async fn set_group(&self, group: &str, members: &[&str]);
    /// From now on Slack cannot answer membership questions (an outage).
    async fn break_groups(&self);
    /// Everything Slack was given, in order.
    async fn delivered(&self) -> Vec<Delivered>;
}

pub type Fixture = Box<dyn SlackFixture>;

const CHANNEL: &str = "C0INCIDENT";

fn channel() -> ChannelId {
    ChannelId::parse(CHANNEL).unwrap()
}

fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).unwrap()
}

fn group(id: &str) -> SlackGroupId {
    SlackGroupId::parse(id).unwrap()
}

/// The card of a fresh request to revoke `role_name`.
fn card(role_name: &str) -> Card {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let request = Request::pending(
        NewRequest {
            role: RoleArn::parse(&format!("arn:aws:iam::123456789012:role/{role_name}")).unwrap(),
            requester: user("U0ALICE"),
            reason: format!("INC-7 {role_name} keys leaked"),
            channel: channel(),
            approvals_required: 1,
            preview: None,
        },
        at,
        Duration::days(1),
    );
    Card {
        request,
        account_name: Some("prod".into()),
        witness: None,
        minimal: false,
    }
}

fn cleaned_up(id: &RequestId, target: &str) -> ThreadNote {
    ThreadNote::CleanedUp {
        id: id.clone(),
        target: target.to_string(),
        cutoff: Cutoff::parse("2026-03-01T12:00:00Z").unwrap(),
    }
}

/// A posted card's handle is Slack's: its `ts` is the one Slack gave the message, each card
/// gets its own, and `update_card` and `post_in_thread` reach that message with it. A card
/// Slack never posted cannot be updated.
pub async fn a_posted_card_is_updated_and_replied_to_through_its_handle(f: Fixture) {
    let slack = f.slack();
    let first = card("app-first");
    let second = card("app-second");
    let at = slack.post_card(&channel(), &first).await.unwrap();
    let other = slack.post_card(&channel(), &second).await.unwrap();
    assert_eq!((&at.channel, &other.channel), (&channel(), &channel()));
    assert_ne!(at.ts, other.ts, "each message has its own ts");

    slack.update_card(&at, &first).await.unwrap();
    let note = cleaned_up(
        first.request.id(),
        "arn:aws:iam::123456789012:role/app-first",
    );
    slack.post_in_thread(&at, &note).await.unwrap();
    let never = CardRef {
        channel: channel(),
        ts: "1600000000.000001".into(),
    };
    slack
        .update_card(&never, &first)
        .await
        .expect_err("no such message");

    let got = f.delivered().await;
    assert_eq!(got.len(), 4, "{got:#?}");
    let (id, other_id) = (first.request.id().as_str(), second.request.id().as_str());
    let at_card = |d: &Delivered| match d {
        Delivered::Card { channel, ts, .. }
        | Delivered::Update { channel, ts, .. }
        | Delivered::Thread { channel, ts, .. } => Some((channel.clone(), ts.clone())),
        _ => None,
    };
    let here = Some((CHANNEL.to_string(), at.ts.clone()));
    assert!(matches!(got[0], Delivered::Card { .. }) && at_card(&got[0]) == here);
    assert!(got[0].text().contains(id) && got[0].text().contains("app-first"));
    assert!(matches!(got[1], Delivered::Card { .. }));
    assert_eq!(at_card(&got[1]), Some((CHANNEL.to_string(), other.ts)));
    assert!(got[1].text().contains(other_id));
    assert!(matches!(got[2], Delivered::Update { .. }) && at_card(&got[2]) == here);
    assert!(got[2].text().contains(id) && !got[2].text().contains(other_id));
    assert!(matches!(got[3], Delivered::Thread { .. }) && at_card(&got[3]) == here);
    assert!(got[3].text().contains("app-first"), "{:?}", got[3]);
}

/// Answers reach their person: through the `response_url`, as an ephemeral message in the
/// channel, or as a direct message.
pub async fn notices_and_messages_reach_their_person(f: Fixture) {
    let slack = f.slack();
    let id = card("app-x").request.id().clone();
    let url = f.response_url("U0ALICE");
    slack
        .respond(&url, &Notice::NoSuchRequest(id.clone()))
        .await
        .unwrap();
    slack
        .post_ephemeral(
            &channel(),
            &user("U0BOB"),
            &Notice::AwaitingApproval(id.clone()),
        )
        .await
        .unwrap();
    slack
        .direct_message(
            &user("U0CAROL"),
            &cleaned_up(&id, "arn:aws:iam::123456789012:role/app-x"),
        )
        .await
        .unwrap();

    let got = f.delivered().await;
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        matches!(&got[0], Delivered::Reply { url: to, .. } if *to == url),
        "{url}: {got:#?}"
    );
    assert!(
        matches!(
            &got[1],
            Delivered::Ephemeral { channel, user, .. } if channel == CHANNEL && user == "U0BOB"
        ),
        "{got:#?}"
    );
    assert!(
        matches!(&got[2], Delivered::Direct { user, .. } if user == "U0CAROL"),
        "{got:#?}"
    );
    for d in &got {
        assert!(d.text().contains(id.as_str()), "{d:?}");
    }
    assert!(got[2].text().contains("app-x"), "{:?}", got[2]);
}

/// A card built from the longest path IAM allows and the longest reason, each of `&` (every one
/// escapes to `&amp;`): Slack accepts it (the fixtures refuse what Slack refuses), and so its
/// updates and thread replies.
pub async fn a_card_with_the_longest_path_and_reason_is_accepted(f: Fixture) {
    let slack = f.slack();
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let path = "&".repeat(510);
    let request = Request::pending(
        NewRequest {
            role: RoleArn::parse(&format!("arn:aws:iam::123456789012:role/{path}/app")).unwrap(),
            requester: user("U0ALICE"),
            reason: "&".repeat(500),
            channel: channel(),
            approvals_required: 1,
            preview: None,
        },
        at,
        Duration::days(1),
    );
    let card = Card {
        request,
        account_name: Some("<".repeat(200)),
        witness: None,
        minimal: false,
    };
    let posted = slack
        .post_card(&channel(), &card)
        .await
        .expect("Slack accepts the card");
    slack
        .update_card(&posted, &card)
        .await
        .expect("and its update");
    slack
        .post_in_thread(
            &posted,
            &ThreadNote::Outcome(Box::new(card.request.clone())),
        )
        .await
        .expect("and the outcome in its thread");
    let got = f.delivered().await;
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[0].text().contains("&amp;&amp;"));
}

/// Every message reaches Slack with blocks whose mrkdwn is `verbatim`: Slack links nothing in a
/// reason (a bare URL stays text) that the bot did not write as a link.
pub async fn every_message_is_sent_as_verbatim_blocks(f: Fixture) {
    let slack = f.slack();
    let mut c = card("app-url");
    c.request = Request::pending(
        NewRequest {
            role: RoleArn::parse("arn:aws:iam::123456789012:role/app-url").unwrap(),
            requester: user("U0ALICE"),
            reason: "see https://evil.example/reset-mfa".into(),
            channel: channel(),
            approvals_required: 1,
            preview: None,
        },
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        Duration::days(1),
    );
    let at = slack.post_card(&channel(), &c).await.unwrap();
    let note = ThreadNote::Outcome(Box::new(c.request.clone()));
    slack.post_in_thread(&at, &note).await.unwrap();
    slack.direct_message(&user("U0ALICE"), &note).await.unwrap();
    let id = c.request.id().clone();
    slack
        .respond(
            &f.response_url("U0ALICE"),
            &Notice::AwaitingApproval(id.clone()),
        )
        .await
        .unwrap();
    slack
        .post_ephemeral(&channel(), &user("U0BOB"), &Notice::NoSuchRequest(id))
        .await
        .unwrap();
    let got = f.delivered().await;
    assert_eq!(got.len(), 5, "{got:#?}");
    for d in &got {
        let text = d.text().replace(' ', "");
        let mrkdwn = text.matches(r#""type":"mrkdwn""#).count();
        let verbatim = text.matches(r#""verbatim":true"#).count();
        assert!(mrkdwn > 0 && mrkdwn == verbatim, "{d:#?}");
    }
}

/// A user group's members are Slack's; a group Slack does not know is an error, not an empty
/// group, so that membership fails closed.
pub async fn group_members_are_slacks_and_an_unknown_group_fails(f: Fixture) {
    f.set_group("S0ONCALL", &["U0ALICE", "U0BOB"]).await;
    f.set_group("S0NOBODY", &[]).await;
    let slack = f.slack();
    assert_eq!(
        slack.group_members(&group("S0ONCALL")).await.unwrap(),
        [user("U0ALICE"), user("U0BOB")]
    );
    assert!(
        slack
            .group_members(&group("S0NOBODY"))
            .await
            .unwrap()
            .is_empty()
    );
    slack
        .group_members(&group("S0NOSUCH"))
        .await
        .expect_err("an unknown group is an error");
}

/// When Slack cannot answer, membership is an error (never an empty or stale answer).
pub async fn group_members_fail_when_slack_cannot_answer(f: Fixture) {
    f.set_group("S0ONCALL", &["U0ALICE"]).await;
    let slack = f.slack();
    assert_eq!(
        slack.group_members(&group("S0ONCALL")).await.unwrap(),
        [user("U0ALICE")]
    );
    f.break_groups().await;
    slack
        .group_members(&group("S0ONCALL"))
        .await
        .expect_err("Slack is down");
}

/// One `#[tokio::test]` per case over the fixtures `make` (an async expression) yields.
#[macro_export]
macro_rules! slack_contract {
    ($make:expr) => {
        $crate::contract_cases!(slack, $make;
            a_posted_card_is_updated_and_replied_to_through_its_handle,
            a_card_with_the_longest_path_and_reason_is_accepted,
            every_message_is_sent_as_verbatim_blocks,
            notices_and_messages_reach_their_person,
            group_members_are_slacks_and_an_unknown_group_fails,
            group_members_fail_when_slack_cannot_answer,
        );
    };
}
