//! The `Iam` contract: what the service relies on from IAM and STS, run on `MemoryIam`
//! (tests/memory_contracts.rs) and on `AwsIam` against moto (tests/api/iam_contract.rs).
//!
//! IAM documents come back as IAM keeps them (moto URL-encodes them and re-sorts their keys), so
//! documents are compared as parsed JSON. Role names come from the fixture's `unique`: moto's
//! state is shared by every test.

use async_trait::async_trait;
use revoke_role_bot::domain::access_key::{AccessKeyId, KeyStatus, LastUse};
use revoke_role_bot::domain::request::Failure;
use revoke_role_bot::domain::role_arn::{AccountId, RoleArn};
use revoke_role_bot::domain::user::UserArn;
use revoke_role_bot::ports::{Iam, IamError, IamErrorKind};
use serde_json::Value;

/// A configured account whose credentials are really those of [`super::ACCOUNT`].
pub const MISCONFIGURED: &str = "111111111111";

/// One IAM, with roles a test makes, through credentials for two configured accounts.
#[async_trait]
pub trait IamFixture: Send + Sync {
    fn iam(&self) -> &dyn Iam;
    /// The account the roles are made in ([`super::ACCOUNT`]); its credentials are its own.
    fn account(&self) -> AccountId {
        AccountId::parse(super::ACCOUNT).unwrap()
    }
    /// Another configured account ([`MISCONFIGURED`]) whose credentials really belong to
    /// `account()` (a misconfiguration the service must notice).
    fn misconfigured(&self) -> AccountId {
        AccountId::parse(MISCONFIGURED).unwrap()
    }
    /// A name no other test uses, starting with `prefix`.
    fn unique(&self, prefix: &str) -> String;
    /// Make role `name` at `path` (e.g. `/team/`) in `account()`, trusting as `trust` says, in
    /// one instance profile per name in `profiles`; its ARN.
    async fn create_role(&self, name: &str, path: &str, trust: &str, profiles: &[&str]) -> RoleArn;
    /// Put an inline policy other than the bot's on a role (as infrastructure code would).
    async fn put_inline(&self, role: &RoleArn, name: &str, document: &str);
    /// Make IAM user `name` at `path` in `account()`; its ARN.
    async fn create_user(&self, name: &str, path: &str) -> UserArn;
    /// A new access key for the user (`CreateAccessKey`).
    async fn create_access_key(&self, user: &UserArn) -> AccessKeyId;
    /// Give the user a console password (`CreateLoginProfile`).
    async fn create_login_profile(&self, user: &UserArn);
    /// Give the user an MFA device (`EnableMFADevice`); its serial number.
    async fn enable_mfa_device(&self, user: &UserArn) -> String;
}

pub type Fixture = Box<dyn IamFixture>;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// An `AWSRevokeOlderSessions` document with `cutoff` (spaced, as people write JSON).
fn deny(cutoff: &str) -> String {
    format!(
        r#"{{ "Version": "2012-10-17", "Statement": [{{ "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {{ "DateLessThan": {{ "aws:TokenIssueTime": "{cutoff}" }} }} }}] }}"#
    )
}

/// Another team's inline policy, with whitespace that IAM does not count against the quota.
const OTHER: &str = r#"{ "Version": "2012-10-17",
  "Statement": [ { "Sid": "ReadLake", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*" } ] }"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn parsed(text: Option<String>) -> Option<Value> {
    text.as_deref().map(json)
}

/// The ARN the service would build from what a person typed: no path, just account and name.
fn typed(account: &AccountId, name: &str) -> RoleArn {
    RoleArn::parse(&format!("arn:aws:iam::{account}:role/{name}")).unwrap()
}

fn not_found<T: std::fmt::Debug>(r: Result<T, IamError>, what: &str) {
    let e = r.expect_err(what);
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity, "{what}: {e:?}");
    assert_eq!(e.failure(), Failure::RoleNotFound, "{what}");
}

/// `GetRole` finds a role by name, whatever path was typed, and answers with its canonical ARN;
/// through misconfigured credentials it answers for the account they belong to.
pub async fn get_role_answers_with_the_canonical_arn(f: Fixture) {
    let name = f.unique("ctr-get");
    let arn = f.create_role(&name, "/team/", TRUST, &[]).await;
    assert_eq!(arn.path(), "/team/");
    assert_eq!((arn.account(), arn.name()), (&f.account(), name.as_str()));

    let info = f.iam().get_role(&typed(&f.account(), &name)).await.unwrap();
    assert_eq!(info.arn, arn);
    assert_eq!(info.max_session_duration_secs, Some(3600));
    assert_eq!(parsed(info.trust_policy), Some(json(TRUST)));
    assert_eq!(info.last_used_at, None);

    let elsewhere = f
        .iam()
        .get_role(&typed(&f.misconfigured(), &name))
        .await
        .unwrap();
    assert_eq!(
        elsewhere.arn, arn,
        "IAM answers for the credentials' account"
    );
}

/// A role that is not there is `NoSuchEntity` (a request for it is told "no such role"), for
/// every read and write, except the revoke policy's read: IAM answers a missing role and a
/// missing policy alike, so there is simply no policy.
pub async fn an_absent_role_is_not_found(f: Fixture) {
    let absent = typed(&f.account(), &f.unique("ctr-absent"));
    not_found(f.iam().get_role(&absent).await, "GetRole");
    not_found(f.iam().role_details(&absent).await, "role details");
    not_found(
        f.iam()
            .put_revoke_policy(&absent, &deny("2026-03-01T12:00:00Z"))
            .await,
        "PutRolePolicy",
    );
    not_found(
        f.iam().delete_revoke_policy(&absent).await,
        "DeleteRolePolicy",
    );
    assert_eq!(f.iam().get_revoke_policy(&absent).await.unwrap(), None);
}

/// The revoke policy: absent, then what was put (replacing), then deleted; deleting it again is
/// `NoSuchEntity` (which clean-up takes as done). Other inline policies are left alone.
pub async fn the_revoke_policy_is_put_read_and_deleted(f: Fixture) {
    let name = f.unique("ctr-policy");
    let role = f.create_role(&name, "/", TRUST, &[]).await;
    f.put_inline(&role, "ReadLake", OTHER).await;
    let iam = f.iam();
    assert_eq!(iam.get_revoke_policy(&role).await.unwrap(), None);

    let first = deny("2026-03-01T12:00:00Z");
    iam.put_revoke_policy(&role, &first).await.unwrap();
    assert_eq!(
        parsed(iam.get_revoke_policy(&role).await.unwrap()),
        Some(json(&first))
    );
    let second = deny("2026-03-02T08:30:00Z");
    iam.put_revoke_policy(&role, &second).await.unwrap();
    assert_eq!(
        parsed(iam.get_revoke_policy(&role).await.unwrap()),
        Some(json(&second))
    );

    iam.delete_revoke_policy(&role).await.unwrap();
    assert_eq!(iam.get_revoke_policy(&role).await.unwrap(), None);
    let again = iam.delete_revoke_policy(&role).await.expect_err("gone");
    assert_eq!(again.kind, IamErrorKind::NoSuchEntity, "{again:?}");
    let details = iam.role_details(&role).await.unwrap();
    assert_eq!(details.inline_policy_chars_used, chars(OTHER));
}

/// A deny beside a statement whose values hold percent signs, one of them hiding a second deny
/// if it were percent-decoded twice.
const PERCENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-03-01T12:00:00Z"}}},{"Sid":"Pii","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/100%25-pii/a%2Fb/*","Condition":{"StringLike":{"aws:userid":"x%22}}},{%22Sid%22:%22y"}}}]}"#;

/// IAM returns documents URL-encoded: the adapter decodes them exactly once, so a value holding
/// `%25`, `%2F` or `%22` reads back as it was put (and the trust policy the same way).
pub async fn documents_read_back_as_they_were_put_whatever_their_percent_signs(f: Fixture) {
    let name = f.unique("ctr-percent");
    let role = f.create_role(&name, "/", TRUST, &[]).await;
    let iam = f.iam();
    iam.put_revoke_policy(&role, PERCENT).await.unwrap();
    assert_eq!(
        parsed(iam.get_revoke_policy(&role).await.unwrap()),
        Some(json(PERCENT))
    );
    assert_eq!(
        parsed(iam.role_details(&role).await.unwrap().revoke_policy),
        Some(json(PERCENT))
    );
}

/// What IAM counts against the inline-policy quota: every character but whitespace.
fn chars(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// The preview's reads: instance profiles, the room other inline policies take, and the
/// current revoke policy (kept apart from the others).
pub async fn role_details_show_profiles_other_policies_and_the_revoke_policy(f: Fixture) {
    let name = f.unique("ctr-details");
    let profile = f.unique("ctr-profile");
    let role = f.create_role(&name, "/", TRUST, &[&profile]).await;
    let plain = f.create_role(&f.unique("ctr-plain"), "/", TRUST, &[]).await;
    let iam = f.iam();

    let none = iam.role_details(&plain).await.unwrap();
    assert!(none.instance_profiles.is_empty(), "{none:?}");
    assert_eq!(
        (none.inline_policy_chars_used, none.revoke_policy),
        (0, None)
    );

    f.put_inline(&role, "ReadLake", OTHER).await;
    let cutoff = deny("2026-03-01T12:00:00Z");
    iam.put_revoke_policy(&role, &cutoff).await.unwrap();
    let details = iam.role_details(&role).await.unwrap();
    assert_eq!(details.instance_profiles, [profile]);
    assert_eq!(details.inline_policy_chars_used, chars(OTHER));
    assert_eq!(parsed(details.revoke_policy), Some(json(&cutoff)));
}

/// The form's type-ahead: roles whose name contains the query, ignoring case, with their
/// canonical ARNs; at most `limit`, saying when more matched. Through misconfigured credentials,
/// the roles of the account they belong to.
pub async fn list_roles_finds_roles_by_name_ignoring_case(f: Fixture) {
    let prefix = f.unique("ctr-list");
    let alpha = f
        .create_role(&format!("{prefix}-alpha"), "/", TRUST, &[])
        .await;
    let beta = f
        .create_role(&format!("{prefix}-Beta"), "/team/", TRUST, &[])
        .await;
    let gamma = f
        .create_role(&format!("{prefix}-gamma"), "/ops/eu/", TRUST, &[])
        .await;
    f.create_role(&f.unique("ctr-other"), "/", TRUST, &[]).await;
    let iam = f.iam();
    let sorted = |mut v: Vec<RoleArn>| {
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    };

    let all = iam
        .list_roles(&f.account(), &prefix.to_uppercase(), 10)
        .await
        .unwrap();
    let expected = sorted(vec![alpha.clone(), beta.clone(), gamma.clone()]);
    assert_eq!(sorted(all.roles), expected);
    assert!(!all.more);

    let two = iam.list_roles(&f.account(), &prefix, 2).await.unwrap();
    assert_eq!(two.roles.len(), 2);
    assert!(
        two.roles
            .iter()
            .all(|r| [&alpha, &beta, &gamma].contains(&r))
    );
    assert!(two.more);

    let one = iam
        .list_roles(&f.account(), &format!("{prefix}-bEtA"), 10)
        .await
        .unwrap();
    assert_eq!((one.roles, one.more), (vec![beta.clone()], false));

    let theirs = iam
        .list_roles(&f.misconfigured(), &prefix, 10)
        .await
        .unwrap();
    assert_eq!(sorted(theirs.roles), expected);

    let nothing = iam
        .list_roles(&f.account(), &f.unique("ctr-nothing"), 10)
        .await
        .unwrap();
    assert!(nothing.roles.is_empty() && !nothing.more, "{nothing:?}");
}

/// `GetCallerIdentity`: the account each account's credentials really belong to.
pub async fn credentials_answer_for_the_account_they_belong_to(f: Fixture) {
    let iam = f.iam();
    assert_eq!(
        iam.credentials_account(&f.account()).await.unwrap(),
        f.account()
    );
    assert_eq!(
        iam.credentials_account(&f.misconfigured()).await.unwrap(),
        f.account()
    );
}

/// An access key id of the right shape that no user has.
fn made_up_key(f: &Fixture) -> AccessKeyId {
    let tail: String = f
        .unique("k")
        .bytes()
        .map(|b| (b'A' + b % 26) as char)
        .chain(std::iter::repeat('Q'))
        .take(16)
        .collect();
    AccessKeyId::parse(&format!("AKIA{tail}")).unwrap()
}

/// The user ARN the service would build from a typed name: no path.
fn typed_user(account: &AccountId, name: &str) -> UserArn {
    UserArn::parse(&format!("arn:aws:iam::{account}:user/{name}")).unwrap()
}

fn not_found_user<T: std::fmt::Debug>(r: Result<T, IamError>, what: &str) {
    let e = r.expect_err(what);
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity, "{what}: {e:?}");
}

/// A pasted key: `GetAccessKeyInfo` names its account (through any configured account's
/// credentials), `GetAccessKeyLastUsed` in that account its user and, for a key never used, no
/// last use (IAM's `N/A` read as nothing).
pub async fn a_pasted_key_names_its_account_and_its_user(f: Fixture) {
    let name = f.unique("ctr-keyowner");
    let user = f.create_user(&name, "/ci/").await;
    let key = f.create_access_key(&user).await;
    let iam = f.iam();
    assert_eq!(
        iam.access_key_account(&f.account(), &key).await.unwrap(),
        f.account()
    );
    assert_eq!(
        iam.access_key_account(&f.misconfigured(), &key)
            .await
            .unwrap(),
        f.account()
    );
    let owner = iam.access_key_last_used(&f.account(), &key).await.unwrap();
    assert_eq!(owner.user_name, name);
    assert_eq!(owner.last_use, LastUse::default(), "never used");
}

/// A user or key that is not there is `NoSuchEntity` for every user call, except the two reads
/// where IAM answers a missing user and a missing item alike: no deny policy, no password.
pub async fn an_absent_user_or_key_is_not_found(f: Fixture) {
    let absent = typed_user(&f.account(), &f.unique("ctr-nouser"));
    let key = made_up_key(&f);
    let iam = f.iam();
    not_found_user(iam.get_user(&absent).await, "GetUser");
    not_found_user(iam.list_access_keys(&absent).await, "ListAccessKeys");
    not_found_user(iam.list_mfa_devices(&absent).await, "ListMFADevices");
    not_found_user(
        iam.set_access_key_status(&absent, &key, KeyStatus::Inactive)
            .await,
        "UpdateAccessKey",
    );
    not_found_user(
        iam.put_user_revoke_policy(&absent, &deny("2026-03-01T12:00:00Z"))
            .await,
        "PutUserPolicy",
    );
    not_found_user(
        iam.delete_user_revoke_policy(&absent).await,
        "DeleteUserPolicy",
    );
    assert_eq!(iam.get_user_revoke_policy(&absent).await.unwrap(), None);
    assert!(!iam.has_login_profile(&absent).await.unwrap());
    not_found_user(
        iam.access_key_last_used(&f.account(), &key).await,
        "GetAccessKeyLastUsed",
    );
    // A real user, a key that is not theirs.
    let user = f.create_user(&f.unique("ctr-keyless"), "/").await;
    not_found_user(
        iam.set_access_key_status(&user, &key, KeyStatus::Inactive)
            .await,
        "UpdateAccessKey of another key",
    );
    assert!(iam.list_access_keys(&user).await.unwrap().is_empty());
}

/// `GetUser` finds a user by name whatever path was typed, and answers with its canonical ARN;
/// through misconfigured credentials it answers for the account they belong to.
pub async fn get_user_answers_with_the_canonical_arn(f: Fixture) {
    let name = f.unique("ctr-getuser");
    let arn = f.create_user(&name, "/team/").await;
    assert_eq!((arn.path(), arn.name()), ("/team/", name.as_str()));
    let info = f
        .iam()
        .get_user(&typed_user(&f.account(), &name))
        .await
        .unwrap();
    assert_eq!(info.arn, arn);
    assert!(info.created.is_some());
    assert_eq!(info.password_last_used, None);
    let elsewhere = f
        .iam()
        .get_user(&typed_user(&f.misconfigured(), &name))
        .await
        .unwrap();
    assert_eq!(
        elsewhere.arn, arn,
        "IAM answers for the credentials' account"
    );
}

/// `ListAccessKeys` lists the user's keys with their status; `UpdateAccessKey` sets one key
/// `Inactive` and back to `Active`, leaving the other alone.
pub async fn key_status_is_set_and_read_back(f: Fixture) {
    let user = f.create_user(&f.unique("ctr-keys"), "/").await;
    let first = f.create_access_key(&user).await;
    let second = f.create_access_key(&user).await;
    let iam = f.iam();
    let sorted = |mut v: Vec<(AccessKeyId, KeyStatus)>| {
        v.sort();
        v
    };
    assert_eq!(
        statuses(iam, &user).await,
        sorted(vec![
            (first.clone(), KeyStatus::Active),
            (second.clone(), KeyStatus::Active)
        ])
    );
    iam.set_access_key_status(&user, &first, KeyStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        statuses(iam, &user).await,
        sorted(vec![
            (first.clone(), KeyStatus::Inactive),
            (second.clone(), KeyStatus::Active)
        ])
    );
    iam.set_access_key_status(&user, &first, KeyStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        statuses(iam, &user).await,
        sorted(vec![
            (first, KeyStatus::Active),
            (second, KeyStatus::Active)
        ])
    );
}

/// The user's keys and their status, by id; checks what `ListAccessKeys` says beside them.
async fn statuses(iam: &dyn Iam, user: &UserArn) -> Vec<(AccessKeyId, KeyStatus)> {
    let mut keys: Vec<(AccessKeyId, KeyStatus)> = iam
        .list_access_keys(user)
        .await
        .unwrap()
        .into_iter()
        .map(|k| {
            assert!(k.created.is_some(), "{k:?}");
            assert_eq!(k.last_use, None, "ListAccessKeys says nothing of use");
            (k.id, k.status)
        })
        .collect();
    keys.sort();
    keys
}

/// The card's facts: a console password and MFA devices, or none.
pub async fn login_profile_and_mfa_devices_are_reported(f: Fixture) {
    let plain = f.create_user(&f.unique("ctr-plainuser"), "/").await;
    let human = f.create_user(&f.unique("ctr-human"), "/").await;
    f.create_login_profile(&human).await;
    let serial = f.enable_mfa_device(&human).await;
    let iam = f.iam();
    assert!(!iam.has_login_profile(&plain).await.unwrap());
    assert_eq!(
        iam.list_mfa_devices(&plain).await.unwrap(),
        Vec::<String>::new()
    );
    assert!(iam.has_login_profile(&human).await.unwrap());
    assert_eq!(iam.list_mfa_devices(&human).await.unwrap(), [serial]);
}

/// The user's deny: absent, put, read back decoded exactly once (`GetUserPolicy` URL-encodes:
/// a literal `%2F` and `+` come back as they were put), replaced, deleted; deleting it again is
/// `NoSuchEntity`.
pub async fn the_user_revoke_policy_is_put_read_decoded_once_and_deleted(f: Fixture) {
    let user = f.create_user(&f.unique("ctr-userpolicy"), "/").await;
    let iam = f.iam();
    assert_eq!(iam.get_user_revoke_policy(&user).await.unwrap(), None);

    let first = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-03-01T12:00:00Z"}}},{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/a%2Fb+c 100%"}]}"#;
    iam.put_user_revoke_policy(&user, first).await.unwrap();
    let back = iam.get_user_revoke_policy(&user).await.unwrap();
    assert_eq!(parsed(back.clone()), Some(json(first)), "{back:?}");
    assert!(back.unwrap().contains("lake/a%2Fb+c 100%"));

    let second = deny("2026-03-02T08:30:00Z");
    iam.put_user_revoke_policy(&user, &second).await.unwrap();
    assert_eq!(
        parsed(iam.get_user_revoke_policy(&user).await.unwrap()),
        Some(json(&second))
    );
    iam.delete_user_revoke_policy(&user).await.unwrap();
    assert_eq!(iam.get_user_revoke_policy(&user).await.unwrap(), None);
    let again = iam
        .delete_user_revoke_policy(&user)
        .await
        .expect_err("gone");
    assert_eq!(again.kind, IamErrorKind::NoSuchEntity, "{again:?}");
}

/// One `#[tokio::test]` per case over the fixtures `make` (an async expression) yields.
#[macro_export]
macro_rules! iam_contract {
    ($make:expr) => {
        $crate::contract_cases!(iam, $make;
            get_role_answers_with_the_canonical_arn,
            an_absent_role_is_not_found,
            the_revoke_policy_is_put_read_and_deleted,
            documents_read_back_as_they_were_put_whatever_their_percent_signs,
            role_details_show_profiles_other_policies_and_the_revoke_policy,
            list_roles_finds_roles_by_name_ignoring_case,
            credentials_answer_for_the_account_they_belong_to,
            a_pasted_key_names_its_account_and_its_user,
            an_absent_user_or_key_is_not_found,
            get_user_answers_with_the_canonical_arn,
            key_status_is_set_and_read_back,
            login_profile_and_mfa_devices_are_reported,
            the_user_revoke_policy_is_put_read_decoded_once_and_deleted,
        );
    };
}
