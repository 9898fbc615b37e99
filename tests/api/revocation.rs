//! The revocation engine against moto: the cut-off merge, a second account through an assumed
//! role, the built-in protections, the impact preview, every IAM error kind as a short line on the
//! card with the full error in the audit trail and the log, and recovery after a crash.

use chrono::Utc;
use revoke_role_bot::domain::audit::{AuditEvent, EventDraft, EventKind};
use revoke_role_bot::domain::ids::{ChannelId, RequestId, SlackUserId};
use revoke_role_bot::domain::policy::{MergeOutcome, read_existing};
use revoke_role_bot::domain::request::{Action, Decision, NewRequest, Request, State};
use revoke_role_bot::domain::role_arn::RoleArn;
use revoke_role_bot::ports::AuditStore;
use serde_json::{Value, json};

use crate::helpers::*;

const STAGING: &str = "222222222222";

fn trust_policy() -> String {
    json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"AWS":format!("arn:aws:iam::{ACCOUNT}:root")},"Action":"sts:AssumeRole"}]})
    .to_string()
}

/// Create a role with whatever IAM client (and so in whatever account) is given.
async fn create_role_with(iam: &aws_sdk_iam::Client, name: &str) -> String {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust_policy())
        .send()
        .await
        .expect("create role in moto")
        .role()
        .unwrap()
        .arn()
        .to_string()
}

async fn put_revoke_policy(iam: &aws_sdk_iam::Client, role: &str, document: &str) {
    iam.put_role_policy()
        .role_name(role)
        .policy_name("AWSRevokeOlderSessions")
        .policy_document(document)
        .send()
        .await
        .expect("put an existing AWSRevokeOlderSessions policy");
}

/// The cut-off a policy in IAM enforces, whatever shape it was written in.
fn enforced_cutoff(policy: &Value) -> Option<String> {
    read_existing(Some(&policy.to_string()))
        .into_policy()
        .and_then(|p| p.cutoff())
        .map(|c| c.to_string())
}

fn calls_for(calls: &std::collections::HashMap<String, u64>, key: &str) -> u64 {
    calls.get(key).copied().unwrap_or(0)
}

/// The text of the last card update that carries `marker`.
async fn card_update_with(app: &TestApp, marker: &str) -> String {
    eventually(&format!("a card update with `{marker}`"), || async {
        app.slack_received("/chat.update")
            .await
            .into_iter()
            .map(|u| u.to_string())
            .rfind(|u| u.contains(marker))
    })
    .await
}

/// Alice asks for `prod/<role>`; Bob approves; returns the request as it was approved.
async fn request_and_approve(app: &TestApp, role: &str, nth: usize) -> Request {
    app.command(ALICE, &format!("prod/{role} INC-4{nth} credentials leaked"))
        .await;
    let request = app.request_from_card(nth).await;
    app.click(BOB, "approve", request.id()).await;
    request
}

#[tokio::test]
async fn a_later_existing_cutoff_stays_in_place() {
    let app = spawn_app().await;
    let role = app.new_role("app-later").await;
    // The console's own shape: a single statement object, "*" strings, milliseconds.
    put_revoke_policy(
        &app.iam,
        &role,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2099-01-01T00:00:00.000Z"}}}}"#,
    )
    .await;

    let request = request_and_approve(&app, &role, 0).await;
    let done = app.wait_state(request.id(), State::Applied).await;

    assert_eq!(
        done.written().unwrap().in_force.to_string(),
        "2099-01-01T00:00:00Z"
    );
    assert!(done.cutoff().unwrap().to_string().as_str() < "2099");
    assert_eq!(done.outcome(), Some(MergeOutcome::AlreadyCovered));
    let policy = app.revoke_policy(&role).await.expect("policy still there");
    assert_eq!(
        enforced_cutoff(&policy).as_deref(),
        Some("2099-01-01T00:00:00Z"),
        "the later cut-off must not move backwards: {policy}"
    );
    let applied = app.events(request.id()).await.pop().unwrap();
    assert_eq!(applied.draft.kind, EventKind::Applied);
    assert_eq!(
        applied.draft.cutoff.as_deref(),
        Some("2099-01-01T00:00:00Z")
    );
    let card = card_update_with(&app, "Applied and verified").await;
    assert!(
        card.contains("*2099-01-01T00:00:00Z*")
            && card.contains("an existing, later cut-off was already in place and stays"),
        "{card}"
    );
}

#[tokio::test]
async fn an_earlier_existing_cutoff_is_replaced_with_one_write() {
    let app = spawn_app().await;
    let role = app.new_role("app-earlier").await;
    put_revoke_policy(
        &app.iam,
        &role,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}}]}"#,
    )
    .await;
    let put = format!("PutRolePolicy:{role}");
    let writes_before = calls_for(&moto_calls().await, &put);

    let before = Utc::now();
    let request = request_and_approve(&app, &role, 0).await;
    let done = app.wait_state(request.id(), State::Applied).await;
    let after = Utc::now();

    let cutoff = done.cutoff().unwrap();
    assert!(
        cutoff.time() >= before - chrono::Duration::seconds(1)
            && cutoff.time() <= after + chrono::Duration::seconds(1),
        "the new cut-off is the moment of application, not 2020: {cutoff}"
    );
    assert_eq!(done.outcome(), Some(MergeOutcome::Extended));
    assert_eq!(
        app.revoke_policy(&role).await.unwrap(),
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],
            "Condition":{"DateLessThan":{"aws:TokenIssueTime": cutoff.to_string()}}}]})
    );
    app.drain().await;
    assert_eq!(calls_for(&moto_calls().await, &put) - writes_before, 1);
    let card = card_update_with(&app, "Applied and verified").await;
    assert!(
        card.contains(&format!("*{cutoff}*")) && card.contains("replacing an earlier cut-off"),
        "{card}"
    );
}

#[tokio::test]
async fn a_role_in_a_second_account_is_revoked_through_the_assumed_role() {
    let tag = unique("x");
    // The test's own way into the second account, separate from the role the bot assumes, so
    // that moto's AssumeRole count for the bot's role is the bot's alone.
    let staging_aws = assumed_config(&format!("arn:aws:iam::{STAGING}:role/setup-{tag}")).await;
    let staging_iam = aws_sdk_iam::Client::new(&staging_aws);
    let bot_role_arn =
        create_role_with(&staging_iam, &format!("revoke-role-bot-target-{tag}")).await;
    assert!(bot_role_arn.contains(STAGING), "{bot_role_arn}");
    let target = unique("app-staging");
    let target_arn = create_role_with(&staging_iam, &target).await;
    assert_eq!(target_arn, format!("arn:aws:iam::{STAGING}:role/{target}"));

    let account = format!(
        "\n[[accounts]]\nid = \"{STAGING}\"\nname = \"staging\"\nassume_role_arn = \"{bot_role_arn}\"\nexternal_id = \"x\"\n"
    );
    let app = Spawn::new()
        .config(move |c| format!("{c}{account}"))
        .start()
        .await;
    // A role of the same name in the bot's own account must stay untouched.
    app.create_role(&target, None).await;

    app.command(
        ALICE,
        &format!("staging/{target} INC-42 staging keys leaked"),
    )
    .await;
    let request = app.request_from_card(0).await;
    assert_eq!(request.target_arn(), target_arn);
    let card = app.slack_received("/chat.postMessage").await[0].to_string();
    assert!(card.contains(&format!("staging ({STAGING})")), "{card}");

    app.click(BOB, "approve", request.id()).await;
    let done = app.wait_state(request.id(), State::Applied).await;
    let cutoff = done.cutoff().unwrap().to_string();

    let policy = revoke_policy_with(&staging_iam, &target)
        .await
        .expect("the policy is on the role in the second account");
    assert_eq!(enforced_cutoff(&policy), Some(cutoff));
    assert!(
        app.revoke_policy(&target).await.is_none(),
        "nothing may land on the same-named role in {ACCOUNT}"
    );
    assert!(
        calls_for(&moto_calls().await, &format!("AssumeRole:{bot_role_arn}")) >= 1,
        "the bot reached the second account by assuming {bot_role_arn}"
    );
}

#[tokio::test]
async fn every_protected_kind_of_role_is_refused_with_its_reason() {
    // The bot runs as an assumed role, which it must never revoke.
    let me = unique("app-bot-itself");
    let me_arn = format!("arn:aws:iam::{ACCOUNT}:role/{me}");
    let app = Spawn::new()
        .identity(assumed_config(&me_arn).await)
        .config(|c| {
            c.replace(
                r#"allow = ["arn:aws:iam::*:role/*"]"#,
                r#"allow = ["arn:aws:iam::*:role/app-*"]"#,
            )
        })
        .start()
        .await;
    app.create_role(&me, None).await;
    let linked = unique("app-linked");
    app.create_role(&linked, Some("/aws-service-role/thing.amazonaws.com/"))
        .await;
    let sso = app.new_role("AWSReservedSSO_Admin").await;
    let reserved = unique("app-reserved");
    app.create_role(&reserved, Some("/aws-reserved/sso.amazonaws.com/"))
        .await;
    let glass = app.new_role("break-glass").await;
    let other = app.new_role("other").await;

    let cases = [
        // Named without its path: the path IAM reports reveals it.
        (format!("prod/{linked}"), "service-linked role"),
        (
            format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/thing.amazonaws.com/{linked}"),
            "service-linked role",
        ),
        (format!("prod/{sso}"), "IAM Identity Center role"),
        (format!("prod/{reserved}"), "IAM Identity Center role"),
        (
            format!("prod/{me}"),
            "the role revoke-role-bot itself runs as",
        ),
        (
            format!("prod/{glass}"),
            "protected by the bot's configuration",
        ),
        (
            format!("prod/{other}"),
            "not on the list of roles this bot may revoke",
        ),
    ];
    for (n, (target, says)) in cases.iter().enumerate() {
        app.command(ALICE, &format!("{target} INC-43 leaked")).await;
        let replies = app.wait_replies(ALICE, n + 1).await;
        let text = replies[n]["text"].as_str().unwrap();
        assert_eq!(replies[n]["response_type"], "ephemeral");
        assert!(
            text.contains(says),
            "`{target}`: expected `{says}` in {text}"
        );
        if says.contains("Identity Center") {
            assert!(text.contains("permission set"), "{text}");
        }
    }

    app.drain().await;
    assert!(app.slack_received("/chat.postMessage").await.is_empty());
    let (events, _) = app.store.whole_chain().await.unwrap();
    assert_eq!(events.len(), cases.len(), "one event per refusal");
    assert!(
        events
            .iter()
            .all(|e| e.draft.kind == EventKind::RequestRefused && e.draft.actor == ALICE)
    );
    let calls = moto_calls().await;
    for role in [&me, &linked, &sso, &reserved, &glass, &other] {
        assert_eq!(calls_for(&calls, &format!("PutRolePolicy:{role}")), 0);
    }
}

#[tokio::test]
async fn the_card_previews_instance_profiles_and_the_existing_cutoff() {
    let app = spawn_app().await;
    let role = unique("app-web");
    app.iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust_policy())
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    let profile = unique("web-profile");
    app.iam
        .create_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await
        .unwrap();
    app.iam
        .add_role_to_instance_profile()
        .instance_profile_name(&profile)
        .role_name(&role)
        .send()
        .await
        .unwrap();
    put_revoke_policy(
        &app.iam,
        &role,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2020-06-01T08:30:00Z"}}}]}"#,
    )
    .await;
    let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::web-assets/*"]}]}"#;
    app.iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("read-assets")
        .policy_document(other)
        .send()
        .await
        .unwrap();

    app.command(ALICE, &format!("prod/{role} INC-44 instance keys leaked"))
        .await;
    let request = app.request_from_card(0).await;
    let card = app.slack_received("/chat.postMessage").await[0].to_string();
    assert!(
        card.contains(&format!("Instance profiles: {profile}")),
        "{card}"
    );
    assert!(card.contains("keep old credentials until they refresh"));
    assert!(
        card.contains("Already revoked: sessions issued before 2020-06-01T08:30:00Z"),
        "{card}"
    );
    assert!(card.contains("Sessions last up to 2 h"), "{card}");
    assert!(
        card.contains(&format!(
            "Inline policy space left: {} of 10240",
            10_240 - other.len()
        )),
        "{card}"
    );
    let preview = request
        .preview()
        .expect("the preview is kept with the request");
    assert_eq!(preview.instance_profiles, [profile]);
    assert_eq!(
        preview.existing_cutoff.map(|c| c.to_string()).as_deref(),
        Some("2020-06-01T08:30:00Z")
    );
}

// ---- IAM errors: a short line on the card, the full error in the audit event (and the log) ----

/// A realistic AWS message with a marker that must reach the audit event but not the card.
fn aws_message(text: &str) -> String {
    format!("{text} (request 7d1f-{})", unique("marker"))
}

/// A request that failed: as stored, its card's failure text, and its `failed` event.
struct Failed {
    request: Request,
    card: String,
    event: AuditEvent,
}

/// Wait for the request to fail.
async fn failure(app: &TestApp, id: &RequestId) -> Failed {
    let request = app.wait_state(id, State::Failed).await;
    let card = card_update_with(app, ":x: Failed:").await;
    let event = app.events(id).await.pop().unwrap();
    assert_eq!(event.draft.kind, EventKind::Failed);
    assert_eq!(event.draft.actor, "revoke-role-bot");
    Failed {
        request,
        card,
        event,
    }
}

/// AWS's AccessDenied message for the bot calling `iam:<action>` on `role`.
fn access_denied(action: &str, role: &str) -> String {
    aws_message(&format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/revoke-role-bot-task/s is not authorized to perform: iam:{action} on resource: role {role}"
    ))
}

/// Alice asks to revoke a fresh role named after `prefix` while AWS denies the bot `action` on
/// it: the role, AWS's message and the text of Alice's answer.
async fn request_while_denied(
    app: &TestApp,
    prefix: &str,
    action: &str,
    reason: &str,
) -> (String, String, String) {
    let role = unique(prefix);
    app.create_role(&role, None).await;
    let msg = access_denied(action, &role);
    let faults = inject_faults(json!({
        format!("{action}:{role}"): {"status": 403, "code": "AccessDenied", "message": msg, "times": 100},
    }))
    .await;
    app.command(ALICE, &format!("prod/{role} {reason}")).await;
    let replies = app.wait_replies(ALICE, 1).await;
    faults.clear().await;
    let text = replies[0]["text"].as_str().unwrap_or_default().to_string();
    (role, msg, text)
}

/// Approve a request for `role` while AWS refuses its `PutRolePolicy` with `status`, `code` and
/// `message`; returns what `failure` returns.
async fn approved_while_put_refused(
    app: &TestApp,
    role: &str,
    status: u16,
    code: &str,
    message: &str,
) -> Failed {
    let faults = inject_faults(json!({
        format!("PutRolePolicy:{role}"): {"status": status, "code": code, "message": message, "times": 100},
    }))
    .await;
    let request = request_and_approve(app, role, 0).await;
    let outcome = failure(app, request.id()).await;
    faults.clear().await;
    outcome
}

impl Failed {
    /// The checks every error kind shares: a short line on the card that says each of
    /// `short_says`, and the full error (`code`, `full_message`) and the failure's kind in the
    /// audit event.
    fn assert_reported(&self, code: &str, full_message: &str, short_says: &[&str]) {
        let Failed {
            request,
            card,
            event,
        } = self;
        let short = &short_reason(request);
        for s in short_says {
            assert!(
                short.contains(s),
                "expected `{s}` in the short line: {short}"
            );
        }
        assert!(
            !short.contains(full_message) && short.len() < 200,
            "the card line is short: {short}"
        );
        assert!(card.contains(&format!(":x: Failed: {short}")), "{card}");
        assert!(
            !card.contains(full_message),
            "the full error stays off the card: {card}"
        );
        let error = event.draft.error.as_deref().expect("the error is recorded");
        assert!(
            error.contains(code) && error.contains(full_message),
            "the audit event has the full error: {error}"
        );
        let kind = event
            .draft
            .detail
            .as_deref()
            .expect("the failure kind is recorded");
        assert_eq!(
            kind,
            serde_json::to_value(request.failure().unwrap()).unwrap()["kind"],
            "the audit event names the kind of failure"
        );
    }
}

#[tokio::test]
async fn a_role_deleted_before_approval_fails_as_no_such_entity() {
    let app = spawn_app().await;
    let (role, request) = app.role_with_request("app-gone", "INC-45 leaked").await;
    app.iam.delete_role().role_name(&role).send().await.unwrap();

    app.click(BOB, "approve", request.id()).await;
    let failed = failure(&app, request.id()).await;
    failed.assert_reported(
        "NoSuchEntity",
        &format!("Role {role} not found"),
        &[&format!(
            "role `{role}` does not exist in account {ACCOUNT}"
        )],
    );
}

#[tokio::test]
async fn access_denied_names_the_missing_permission() {
    let app = spawn_app().await;
    let no_put = unique("app-noput");
    let no_get = unique("app-noget");
    app.create_role(&no_put, None).await;
    app.create_role(&no_get, None).await;
    let denied = |action: &str, role: &str| {
        aws_message(&format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/revoke-role-bot-task/s is not authorized to perform: iam:{action} on resource: role {role} because no identity-based policy allows the iam:{action} action"
        ))
    };
    let (put_msg, get_msg) = (
        denied("PutRolePolicy", &no_put),
        denied("GetRolePolicy", &no_get),
    );
    let faults = inject_faults(json!({
        format!("PutRolePolicy:{no_put}"): {"status": 403, "code": "AccessDenied", "message": put_msg, "times": 100},
        // The role has no inline policies, so the preview does not read one: the first
        // GetRolePolicy is the revocation's.
        format!("GetRolePolicy:{no_get}"): {"status": 403, "code": "AccessDenied", "message": get_msg, "times": 100},
    }))
    .await;

    let first = request_and_approve(&app, &no_put, 0).await;
    let failed = failure(&app, first.id()).await;
    failed.assert_reported(
        "AccessDenied",
        &put_msg,
        &[
            "not allowed to call iam:PutRolePolicy",
            &format!("`{no_put}`"),
        ],
    );

    let second = request_and_approve(&app, &no_get, 1).await;
    let failed = failure(&app, second.id()).await;
    let short = &short_reason(&failed.request);
    assert!(
        short.contains("not allowed to call iam:GetRolePolicy") && !short.contains("PutRolePolicy"),
        "{short}"
    );
    let error = failed.event.draft.error.as_deref().unwrap();
    assert!(error.contains(&get_msg), "{error}");
    let update = app.wait_slack("/chat.update", 4).await;
    assert!(
        update
            .iter()
            .any(|u| u.to_string().contains(&format!(":x: Failed: {short}")))
    );
    faults.clear().await;

    let calls = moto_calls().await;
    assert_eq!(calls_for(&calls, &format!("PutRolePolicy:{no_get}")), 0);
    assert!(app.revoke_policy(&no_put).await.is_none());
}

#[tokio::test]
async fn limit_exceeded_says_the_inline_policy_space_is_full() {
    let app = spawn_app().await;
    let role = app.new_role("app-full").await;
    let msg = aws_message(&format!(
        "Maximum policy size of 10240 bytes exceeded for role {role}"
    ));
    let failed = approved_while_put_refused(&app, &role, 409, "LimitExceeded", &msg).await;
    failed.assert_reported(
        "LimitExceeded",
        &msg,
        &[
            "no inline policy space left",
            "10,240",
            &format!("`{role}`"),
        ],
    );
}

#[tokio::test]
async fn unmodifiable_entity_says_aws_manages_the_role() {
    let app = spawn_app().await;
    let role = app.new_role("app-managed").await;
    let msg = aws_message(&format!(
        "Cannot perform the operation on the protected role '{role}' - this role is only modifiable by AWS"
    ));
    let failed = approved_while_put_refused(&app, &role, 400, "UnmodifiableEntity", &msg).await;
    failed.assert_reported(
        "UnmodifiableEntity",
        &msg,
        &[&format!("`{role}` is managed by AWS and cannot be changed")],
    );
}

#[tokio::test]
async fn throttling_fails_only_after_the_sdk_retries() {
    let app = spawn_app().await;
    let throttled = unique("app-throttled");
    let blip = unique("app-blip");
    app.create_role(&throttled, None).await;
    app.create_role(&blip, None).await;
    let msg = aws_message("Rate exceeded");
    let faults = inject_faults(json!({
        format!("PutRolePolicy:{throttled}"): {"status": 400, "code": "Throttling", "message": msg, "times": 100},
        // One throttled answer, then AWS recovers: the SDK's retry absorbs it.
        format!("PutRolePolicy:{blip}"): {"status": 400, "code": "Throttling", "message": msg, "times": 1},
    }))
    .await;

    let request = request_and_approve(&app, &throttled, 0).await;
    let failed = failure(&app, request.id()).await;
    let transient = request_and_approve(&app, &blip, 1).await;
    let applied = app.wait_state(transient.id(), State::Applied).await;
    faults.clear().await;

    failed.assert_reported(
        "Throttling",
        &msg,
        &["throttled the request even after retries"],
    );
    let calls = moto_calls().await;
    let attempts = calls_for(&calls, &format!("fault:PutRolePolicy:{throttled}"));
    assert!(
        attempts >= 2,
        "the SDK retried before giving up ({attempts} attempt(s))"
    );
    assert_eq!(calls_for(&calls, &format!("fault:PutRolePolicy:{blip}")), 1);
    assert_eq!(calls_for(&calls, &format!("PutRolePolicy:{blip}")), 1);
    assert_eq!(
        enforced_cutoff(&app.revoke_policy(&blip).await.unwrap()),
        applied.cutoff().map(|c| c.to_string())
    );
}

#[tokio::test]
async fn a_role_lookup_the_bot_may_not_make_is_refused_naming_iam_get_role() {
    // The real binary, so that its log can be read.
    let app = Spawn::new().process().await;
    let (_, msg, text) = request_while_denied(&app, "app-hidden", "GetRole", "INC-46 leaked").await;
    assert!(
        text.contains("not allowed to call iam:GetRole")
            && text.contains("Nothing was requested")
            && !text.contains(&msg),
        "{text}"
    );
    let (server, full) = (app.process(), &msg);
    eventually("the full error in the server's log", || async move {
        server.log().contains(full.as_str()).then_some(())
    })
    .await;
    app.drain().await;
    assert!(app.slack_received("/chat.postMessage").await.is_empty());
    let (events, _) = app.store.whole_chain().await.unwrap();
    // The process's start is recorded too (`config_loaded`).
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.draft.kind != EventKind::ConfigLoaded)
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].draft.kind, EventKind::RequestRefused);
}

#[tokio::test]
async fn a_refused_role_lookup_keeps_the_full_aws_error_in_the_audit_event() {
    let app = spawn_app().await;
    let (_, msg, _) = request_while_denied(&app, "app-hidden", "GetRole", "INC-47 leaked").await;
    let (events, _) = app.store.whole_chain().await.unwrap();
    let recorded = serde_json::to_string(&events[0].draft).unwrap();
    assert!(
        recorded.contains(&msg),
        "the full error belongs in the audit event: {recorded}"
    );
}

#[tokio::test]
async fn a_failed_revocation_logs_the_full_aws_error() {
    let app = Spawn::new().process().await;
    let role = app.new_role("app-logged").await;
    let msg = access_denied("PutRolePolicy", &role);
    let failed = approved_while_put_refused(&app, &role, 403, "AccessDenied", &msg)
        .await
        .request;
    assert!(short_reason(&failed).contains("not allowed to call iam:PutRolePolicy"));
    let (server, msg) = (app.process(), &msg);
    let line = eventually("the full error in the server's log", || async move {
        server
            .log()
            .lines()
            .find(|l| l.contains(msg.as_str()))
            .map(str::to_string)
    })
    .await;
    assert!(line.contains(failed.id().as_str()), "{line}");
}

// ---- recovery ----

#[tokio::test]
async fn an_approved_request_left_by_a_crash_is_finished_once_by_a_fresh_server() {
    let env = TestEnv::new().await;
    let store = &env.store;
    let role = unique("app-crashed");
    let arn = env.create_role(&role, None).await;

    // What a process that died between "approved" and the IAM write leaves behind.
    let now = Utc::now();
    let request = Request::pending(
        NewRequest {
            role: RoleArn::parse(&arn).unwrap(),
            requester: SlackUserId::parse(ALICE).unwrap(),
            reason: "INC-48 crashed mid-revocation".into(),
            channel: ChannelId::parse(CHANNEL).unwrap(),
            approvals_required: 1,
            preview: None,
        },
        now,
        chrono::Duration::minutes(30),
    );
    let requested = EventDraft::new(request.id().clone(), EventKind::Requested, ALICE, now)
        .with_role_text(&request.target_arn())
        .with_reason(request.reason());
    store.create(&request, requested, None).await.unwrap();
    let Decision::Transition(t) = request.decide(
        Action::Approve,
        &SlackUserId::parse(BOB).unwrap(),
        true,
        now,
    ) else {
        panic!("Bob may approve");
    };
    store.transition(&t.next, t.event).await.unwrap();
    assert_eq!(
        store.get(request.id()).await.unwrap().unwrap().state(),
        State::Approved
    );
    let put = format!("PutRolePolicy:{role}");
    assert_eq!(calls_for(&moto_calls().await, &put), 0);

    let app = Spawn::new().on(&env).start().await;
    let done = app.wait_state(request.id(), State::Applied).await;
    // Another recovery pass (as the timer would run) finds nothing left to finish.
    assert_eq!(app.app().recover().await.unwrap(), 0);
    app.drain().await;

    app.assert_applied_once(request.id(), &role).await;
    assert_eq!(
        enforced_cutoff(&app.revoke_policy(&role).await.unwrap()),
        done.cutoff().map(|c| c.to_string())
    );
    assert_eq!(done.decided_by().unwrap().as_str(), BOB);
}

#[tokio::test]
async fn a_denied_preview_call_names_its_own_permission() {
    let app = spawn_app().await;
    let (_, _, text) = request_while_denied(
        &app,
        "app-profiles-hidden",
        "ListInstanceProfilesForRole",
        "INC-49 leaked",
    )
    .await;
    assert!(
        text.contains("iam:ListInstanceProfilesForRole") && !text.contains("iam:GetRole "),
        "the missing permission is iam:ListInstanceProfilesForRole: {text}"
    );
}
