//! End to end (README "Using it in Slack"): the card's thread carries the reminders, the approvals and the outcome,
//! and the requester gets the outcome as a direct message, all through the real Slack Web API
//! calls a workspace would receive.

use revoke_role_bot::domain::request::State;

use crate::helpers::*;

#[tokio::test]
async fn a_reminder_the_approval_and_the_outcome_arrive_in_the_thread_and_as_a_dm() {
    let app = Spawn::new()
        .config(|c| {
            c.replace(
                "[access]",
                "[approval]\nexpires_after = \"10m\"\nremind_after = \"1s\"\n[access]",
            )
        })
        .start()
        .await;
    let (role, request) = app
        .role_with_request(
            "app-timeline",
            "INC-90 keys in a log, see https://evil.example/reset-mfa",
        )
        .await;

    // Nobody decides: the server's own periodic pass reminds the approvers in the card's thread.
    let reminder = app.wait_thread_saying("waited").await;
    let text = reminder["text"].as_str().unwrap();
    for approver in ["<@U0ALICE>", "<@U0BOB>", "<@U0CAROL>"] {
        assert!(text.contains(approver), "{text}");
    }
    assert_eq!(reminder["thread_ts"], "1700000000.000100");
    assert_eq!(reminder["channel"], CHANNEL);

    app.click(BOB, "approve", request.id()).await;
    app.wait_state(request.id(), State::Applied).await;
    let dm = eventually(
        "the outcome as a direct message to the requester",
        || async { app.slack_dms().await.into_iter().next() },
    )
    .await;
    assert_eq!(dm["channel"], ALICE);
    assert!(
        dm["text"]
            .as_str()
            .is_some_and(|t| t.contains("Applied and verified") && t.contains(&role)),
        "{dm}"
    );
    let thread = app.slack_thread().await;
    let texts: Vec<&str> = thread.iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("<@U0BOB> approved")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("Applied and verified")),
        "{texts:?}"
    );

    // Everything posted (card, thread, direct message) reaches Slack as blocks whose mrkdwn is
    // verbatim, with previews and name linking off: the reason's URL stays text.
    let posts = app
        .slack
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/chat.postMessage")
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .collect::<Vec<_>>();
    assert!(posts.len() >= 4, "{posts:?}");
    for post in &posts {
        assert_eq!(post["unfurl_links"], false, "{post}");
        assert_eq!(post["unfurl_media"], false, "{post}");
        assert_eq!(post["link_names"], false, "{post}");
        assert_all_mrkdwn_verbatim(&post["blocks"]);
    }
    assert!(
        posts[0]
            .to_string()
            .contains("https://evil.example/reset-mfa"),
        "the reason is on the card"
    );
}

/// Every mrkdwn text object under `v` is `verbatim`, and there is at least one.
fn assert_all_mrkdwn_verbatim(v: &serde_json::Value) {
    fn walk(v: &serde_json::Value, found: &mut usize) {
        match v {
            serde_json::Value::Object(o) => {
                if o.get("type").and_then(|t| t.as_str()) == Some("mrkdwn") {
                    assert_eq!(o.get("verbatim"), Some(&serde_json::json!(true)), "{v}");
                    *found += 1;
                }
                o.values().for_each(|x| walk(x, found));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, found)),
            _ => {}
        }
    }
    let mut found = 0;
    walk(v, &mut found);
    assert!(found > 0, "no mrkdwn blocks: {v}");
}
