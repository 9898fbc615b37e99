//! The `IdentityCenter` contract: what the service relies on from sso-admin, run on
//! `MemoryIdentityCenter` (tests/memory_contracts.rs) and on `AwsIdentityCenter` against moto
//! (tests/api/identity_center_contract.rs, with scripts/moto_server.py answering the provisioning
//! status). Documents are compared as parsed JSON; names are unique (moto's state is shared).

use async_trait::async_trait;
use revoke_role_bot::domain::role_arn::AccountId;
use revoke_role_bot::ports::{IamErrorKind, IdentityCenter, PermissionSetInfo, Provisioning};
use serde_json::Value;

/// One Identity Center instance, with permission sets a test makes.
#[async_trait]
pub trait IdentityCenterFixture: Send + Sync {
    fn ic(&self) -> &dyn IdentityCenter;
    /// The account every permission set made here is provisioned to ([`super::ACCOUNT`]).
    fn account(&self) -> AccountId {
        AccountId::parse(super::ACCOUNT).unwrap()
    }
    /// The account that owns the instance: moto makes its one instance in the account it runs as
    /// ([`super::ACCOUNT`]); in an organization it is the management account.
    fn owner(&self) -> AccountId {
        AccountId::parse(super::ACCOUNT).unwrap()
    }
    /// A permission set with a fresh name, a session of `PT4H`, provisioned to `account()`, with
    /// `inline` as its inline policy; its ARN and name.
    async fn add_permission_set(&self, inline: Option<&str>) -> (String, String);
    /// The status checks of the next provisioning of `permission_set` report these states,
    /// first first, the last one staying; unscripted, the first check succeeds.
    async fn script(&self, permission_set: &str, states: &[Provisioning]);
    /// A well-formed permission set ARN on the instance that names no permission set.
    fn absent_arn(&self) -> String;
    /// A name no permission set has.
    fn unique(&self, prefix: &str) -> String;
}

pub type Fixture = Box<dyn IdentityCenterFixture>;

const READ_LAKE: &str = r#"{ "Version": "2012-10-17", "Statement": [ { "Sid": "ReadLake",
  "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::lake/*"] } ] }"#;

const REVOKED: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadLake","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::lake/*"]},{"Sid":"AWSRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-03-01T12:00:00Z"}}}]}"#;

/// A statement with percent signs in its values; its condition value, percent-decoded, would
/// close the statement and add a deny with a 2099 cut-off.
const HIDDEN_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadPii","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::data/100%25-pii/a%2Fb/*"],"Condition":{"StringEquals":{"aws:PrincipalTag/team":"x%22}}},{%22Sid%22:%22AWSRevokeOlderSessions%22,%22Effect%22:%22Deny%22,%22Action%22:%22*%22,%22Resource%22:%22*%22,%22Condition%22:{%22DateLessThan%22:{%22aws:Token%49ssueTime%22:%222099-01-01T00:00:00Z"}}}]}"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The permission set's inline policy reads as `expected` (compared as JSON).
async fn assert_inline(ic: &dyn IdentityCenter, permission_set: &str, expected: &str) {
    let read = ic.get_inline_policy(permission_set).await.unwrap();
    assert_eq!(read.as_deref().map(json), Some(json(expected)));
}

/// The configured instance is there; a permission set is found by its name or its ARN, with its
/// session duration, and one that is not there is `None` (not an error).
pub async fn a_permission_set_is_found_by_name_or_arn(f: Fixture) {
    let ic = f.ic();
    ic.check_instance().await.unwrap();
    let (arn, name) = f.add_permission_set(None).await;
    let expected = PermissionSetInfo {
        arn: arn.clone(),
        name: name.clone(),
        session_duration: Some("PT4H".into()),
    };
    assert_eq!(
        ic.find_permission_set(&name).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(ic.find_permission_set(&arn).await.unwrap(), Some(expected));
    assert_eq!(
        ic.find_permission_set(&f.unique("NoSuchSet"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(ic.find_permission_set(&f.absent_arn()).await.unwrap(), None);
    assert_eq!(ic.provisioned_accounts(&arn).await.unwrap(), [f.account()]);
}

/// The instance's owner account (`OwnerAccountId` in `ListInstances`) is read for the
/// configured instance: the service compares it with the administering account.
pub async fn the_instance_owner_is_the_account_that_owns_the_instance(f: Fixture) {
    assert_eq!(f.ic().instance_owner().await.unwrap(), f.owner());
}

/// The inline policy: `None` when there is none, what was put when there is (replacing), and
/// `NoSuchEntity` for a permission set that is not there.
pub async fn the_inline_policy_is_read_and_written(f: Fixture) {
    let ic = f.ic();
    let (bare, _) = f.add_permission_set(None).await;
    assert_eq!(ic.get_inline_policy(&bare).await.unwrap(), None);
    ic.put_inline_policy(&bare, READ_LAKE).await.unwrap();
    assert_inline(ic, &bare, READ_LAKE).await;

    let (with, _) = f.add_permission_set(Some(READ_LAKE)).await;
    assert_inline(ic, &with, READ_LAKE).await;
    ic.put_inline_policy(&with, REVOKED).await.unwrap();
    assert_inline(ic, &with, REVOKED).await;

    let absent = f.absent_arn();
    let e = ic.get_inline_policy(&absent).await.expect_err("absent");
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity, "{e:?}");
    let e = ic
        .put_inline_policy(&absent, READ_LAKE)
        .await
        .expect_err("absent");
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity, "{e:?}");
}

/// A policy whose values hold `%25`, `%2F` and, in a condition value, `%22}}},{%22Sid%22:…`: read
/// back as the JSON that was put. `GetInlinePolicyForPermissionSet` returns plain JSON, which
/// is never percent-decoded (decoded, the condition value would become a 2099 deny AWS does
/// not hold).
pub async fn the_inline_policy_comes_back_as_the_json_that_was_put(f: Fixture) {
    let ic = f.ic();
    let (arn, _) = f.add_permission_set(Some(HIDDEN_DENY)).await;
    assert_inline(ic, &arn, HIDDEN_DENY).await;
    let (bare, _) = f.add_permission_set(None).await;
    ic.put_inline_policy(&bare, HIDDEN_DENY).await.unwrap();
    assert_inline(ic, &bare, HIDDEN_DENY).await;
}

/// Provisioning is accepted `IN_PROGRESS` under a request id, which its status is then asked
/// with until it succeeds or fails with AWS's reason; an ended provisioning stays ended, and a
/// request id AWS never gave is `NoSuchEntity`.
pub async fn provisioning_reports_progress_until_it_ends(f: Fixture) {
    let ic = f.ic();
    let (quick, _) = f.add_permission_set(None).await;
    let started = ic.provision(&quick).await.unwrap();
    assert_eq!(started.status, Provisioning::InProgress);
    assert!(!started.request_id.is_empty());
    assert_eq!(
        ic.provisioning_status(&started.request_id).await.unwrap(),
        Provisioning::Succeeded
    );

    let (slow, _) = f.add_permission_set(None).await;
    f.script(
        &slow,
        &[
            Provisioning::InProgress,
            Provisioning::InProgress,
            Provisioning::Succeeded,
        ],
    )
    .await;
    let started = ic.provision(&slow).await.unwrap();
    assert_eq!(started.status, Provisioning::InProgress);
    let id = started.request_id;
    for _ in 0..2 {
        assert_eq!(
            ic.provisioning_status(&id).await.unwrap(),
            Provisioning::InProgress
        );
    }
    for _ in 0..2 {
        assert_eq!(
            ic.provisioning_status(&id).await.unwrap(),
            Provisioning::Succeeded
        );
    }

    let (broken, _) = f.add_permission_set(None).await;
    let reason = "Account 123456789012 is suspended";
    let failed = Provisioning::Failed {
        reason: reason.into(),
    };
    f.script(&broken, &[Provisioning::InProgress, failed.clone()])
        .await;
    let started = ic.provision(&broken).await.unwrap();
    assert_eq!(started.status, Provisioning::InProgress);
    assert_eq!(
        ic.provisioning_status(&started.request_id).await.unwrap(),
        Provisioning::InProgress
    );
    for _ in 0..2 {
        assert_eq!(
            ic.provisioning_status(&started.request_id).await.unwrap(),
            failed
        );
    }

    let e = ic
        .provisioning_status("00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("never given");
    assert_eq!(e.kind, IamErrorKind::NoSuchEntity, "{e:?}");
}

/// One `#[tokio::test]` per case over the fixtures `make` (an async expression) yields.
#[macro_export]
macro_rules! identity_center_contract {
    ($make:expr) => {
        $crate::contract_cases!(identity_center, $make;
            a_permission_set_is_found_by_name_or_arn,
            the_instance_owner_is_the_account_that_owns_the_instance,
            the_inline_policy_is_read_and_written,
            the_inline_policy_comes_back_as_the_json_that_was_put,
            provisioning_reports_progress_until_it_ends,
        );
    };
}
