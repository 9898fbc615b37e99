//! IAM users and their access keys in memory, as strict as IAM: `NoSuchEntity` for an unknown
//! user or key (a key of another account is unknown, as AWS answers; moto finds it anyway), at
//! most two access keys per user, and 2,048 non-whitespace characters for all of a user's inline
//! policies together (IAM's quota for users; roles have 10,240).

use std::collections::HashMap;
use std::sync::MutexGuard;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::{MemoryIam, iam_err, policy_chars};
use crate::domain::access_key::{AccessKeyFacts, AccessKeyId, KeyStatus, LastUse};
use crate::domain::role_arn::AccountId;
use crate::domain::user::UserArn;
use crate::ports::{IamError, IamErrorKind, KeyOwner, UserInfo};

/// IAM's quota on the aggregate size of one user's inline policies (non-whitespace characters).
pub const USER_INLINE_POLICY_QUOTA: usize = 2_048;
/// IAM's quota on access keys per user.
pub const ACCESS_KEYS_PER_USER: usize = 2;

#[derive(Default)]
pub(super) struct MemoryUsers {
    /// By the account the user lives in and the lower-cased name (IAM names ignore case).
    users: HashMap<(AccountId, String), MemoryUser>,
}

struct MemoryUser {
    arn: UserArn,
    created: DateTime<Utc>,
    keys: Vec<MemoryKey>,
    password: bool,
    mfa: Vec<String>,
    inline: HashMap<String, String>,
}

struct MemoryKey {
    id: AccessKeyId,
    status: KeyStatus,
    created: DateTime<Utc>,
    last_use: LastUse,
}

/// Base32 as access key ids use it.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The value of base32 characters, most significant first.
fn base32_value(chars: &[u8]) -> Option<u64> {
    chars.iter().try_fold(0u64, |acc, c| {
        let v = ALPHABET.iter().position(|a| a == c)?;
        Some((acc << 5) | v as u64)
    })
}

/// A new access key id for `account`, shaped as AWS's: the account is encoded in the id (what
/// `sts:GetAccessKeyInfo` reads back), the rest random.
fn new_key_id(prefix: &str, account: &AccountId) -> String {
    let n: u64 = account.as_str().parse().unwrap_or_default();
    // 40 bits: the top one set, then the account halved; the next character carries its parity.
    let head = (n / 2) | (1 << 39);
    let mut rng = rand::rng();
    let mut id = String::from(prefix);
    for shift in (0..8).rev() {
        id.push(ALPHABET[((head >> (shift * 5)) & 31) as usize] as char);
    }
    let parity = (n % 2) as usize * 16;
    id.push(ALPHABET[parity + rng.random_range(0..16)] as char);
    while id.len() < 20 {
        id.push(ALPHABET[rng.random_range(0..32)] as char);
    }
    id
}

/// The account an access key id belongs to, read from the id as `sts:GetAccessKeyInfo` does:
/// it answers for any well-formed key, whether or not the key still exists.
pub(super) fn account_of_key(key: &AccessKeyId) -> Result<AccountId, IamError> {
    let bits = key
        .as_str()
        .as_bytes()
        .get(4..14)
        .and_then(base32_value)
        .ok_or_else(|| {
            iam_err(
                "GetAccessKeyInfo",
                IamErrorKind::Other,
                format!("InvalidParameterValue: {key}"),
            )
        })?;
    // The first 48 of these 50 bits; the account is bits 7 to 46 of them.
    let account = ((bits >> 2) & 0x7fff_ffff_ff80) >> 7;
    AccountId::parse(&format!("{account:012}")).map_err(|e| {
        iam_err(
            "GetAccessKeyInfo",
            IamErrorKind::Other,
            format!("InvalidParameterValue: {}", e.0),
        )
    })
}

fn no_user(action: &'static str, user: &UserArn) -> IamError {
    iam_err(
        action,
        IamErrorKind::NoSuchEntity,
        format!(
            "NoSuchEntity: The user with name {} cannot be found.",
            user.name()
        ),
    )
}

fn no_key(action: &'static str, key: &AccessKeyId) -> IamError {
    iam_err(
        action,
        IamErrorKind::NoSuchEntity,
        format!("NoSuchEntity: The Access Key with id {key} cannot be found"),
    )
}

impl MemoryUsers {
    fn user(
        &self,
        account: &AccountId,
        user: &UserArn,
        action: &'static str,
    ) -> Result<&MemoryUser, IamError> {
        self.users
            .get(&(account.clone(), user.name().to_ascii_lowercase()))
            .ok_or_else(|| no_user(action, user))
    }

    fn user_mut(
        &mut self,
        account: &AccountId,
        user: &UserArn,
        action: &'static str,
    ) -> Result<&mut MemoryUser, IamError> {
        self.users
            .get_mut(&(account.clone(), user.name().to_ascii_lowercase()))
            .ok_or_else(|| no_user(action, user))
    }

    pub(super) fn key_owner(
        &self,
        account: &AccountId,
        key: &AccessKeyId,
    ) -> Result<KeyOwner, IamError> {
        self.users
            .iter()
            .filter(|((a, _), _)| a == account)
            .find_map(|(_, u)| {
                u.keys.iter().find(|k| &k.id == key).map(|k| KeyOwner {
                    user_name: u.arn.name().to_string(),
                    last_use: k.last_use.clone(),
                })
            })
            .ok_or_else(|| no_key("GetAccessKeyLastUsed", key))
    }

    pub(super) fn list_keys(
        &self,
        account: &AccountId,
        user: &UserArn,
    ) -> Result<Vec<AccessKeyFacts>, IamError> {
        let u = self.user(account, user, "ListAccessKeys")?;
        Ok(u.keys
            .iter()
            .map(|k| AccessKeyFacts {
                id: k.id.clone(),
                status: k.status,
                created: Some(k.created),
                last_use: None,
            })
            .collect())
    }

    pub(super) fn set_status(
        &mut self,
        account: &AccountId,
        user: &UserArn,
        key: &AccessKeyId,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        let u = self.user_mut(account, user, "UpdateAccessKey")?;
        let k = u
            .keys
            .iter_mut()
            .find(|k| &k.id == key)
            .ok_or_else(|| no_key("UpdateAccessKey", key))?;
        k.status = status;
        Ok(())
    }

    pub(super) fn user_info(
        &self,
        account: &AccountId,
        user: &UserArn,
    ) -> Result<UserInfo, IamError> {
        let u = self.user(account, user, "GetUser")?;
        Ok(UserInfo {
            arn: u.arn.clone(),
            created: Some(u.created),
            password_last_used: None,
        })
    }

    /// `GetLoginProfile`: no user and no password are both `NoSuchEntity`, read as "none".
    pub(super) fn has_password(&self, account: &AccountId, user: &UserArn) -> bool {
        self.user(account, user, "GetLoginProfile")
            .is_ok_and(|u| u.password)
    }

    pub(super) fn mfa_devices(
        &self,
        account: &AccountId,
        user: &UserArn,
    ) -> Result<Vec<String>, IamError> {
        Ok(self.user(account, user, "ListMFADevices")?.mfa.clone())
    }

    /// `GetUserPolicy`: a missing user reads like a missing policy (both `NoSuchEntity`).
    pub(super) fn inline(&self, account: &AccountId, user: &UserArn, name: &str) -> Option<String> {
        self.user(account, user, "GetUserPolicy")
            .ok()?
            .inline
            .get(name)
            .cloned()
    }

    pub(super) fn put_inline(
        &mut self,
        account: &AccountId,
        user: &UserArn,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        let u = self.user_mut(account, user, "PutUserPolicy")?;
        if serde_json::from_str::<serde_json::Value>(document).is_err() {
            return Err(iam_err(
                "PutUserPolicy",
                IamErrorKind::Other,
                "MalformedPolicyDocument: the policy is not JSON".into(),
            ));
        }
        let others: usize = u
            .inline
            .iter()
            .filter(|(k, _)| *k != name)
            .map(|(_, v)| policy_chars(v))
            .sum();
        if others + policy_chars(document) > USER_INLINE_POLICY_QUOTA {
            return Err(iam_err(
                "PutUserPolicy",
                IamErrorKind::LimitExceeded,
                format!(
                    "LimitExceeded: Maximum policy size of {USER_INLINE_POLICY_QUOTA} bytes exceeded for user {}",
                    user.name()
                ),
            ));
        }
        u.inline.insert(name.to_string(), document.to_string());
        Ok(())
    }

    pub(super) fn delete_inline(
        &mut self,
        account: &AccountId,
        user: &UserArn,
        name: &str,
    ) -> Result<(), IamError> {
        let u = self.user_mut(account, user, "DeleteUserPolicy")?;
        u.inline.remove(name).map(|_| ()).ok_or_else(|| {
            iam_err(
                "DeleteUserPolicy",
                IamErrorKind::NoSuchEntity,
                format!("NoSuchEntity: The user policy with name {name} cannot be found."),
            )
        })
    }
}

/// Making users and keys, as a person or infrastructure code would (tests and the demo).
impl MemoryIam {
    pub(super) fn users(
        &self,
        action: &'static str,
    ) -> Result<MutexGuard<'_, MemoryUsers>, IamError> {
        self.users
            .lock()
            .map_err(|_| iam_err(action, IamErrorKind::Other, "memory IAM poisoned".into()))
    }

    /// A user as IAM would hold it: `arn` is its canonical ARN (partition, account, path, name).
    pub fn add_user(&self, arn: &UserArn, created: DateTime<Utc>) {
        if let Ok(mut users) = self.users.lock() {
            users.users.insert(
                (arn.account().clone(), arn.name().to_ascii_lowercase()),
                MemoryUser {
                    arn: arn.clone(),
                    created,
                    keys: vec![],
                    password: false,
                    mfa: vec![],
                    inline: HashMap::new(),
                },
            );
        }
    }

    /// A new `Active` access key for the user (`CreateAccessKey`): refused past two keys.
    pub fn create_access_key(
        &self,
        user: &UserArn,
        created: DateTime<Utc>,
    ) -> Result<AccessKeyId, IamError> {
        let mut users = self.users("CreateAccessKey")?;
        let u = users.user_mut(user.account(), user, "CreateAccessKey")?;
        if u.keys.len() >= ACCESS_KEYS_PER_USER {
            return Err(iam_err(
                "CreateAccessKey",
                IamErrorKind::LimitExceeded,
                format!(
                    "LimitExceeded: Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
                ),
            ));
        }
        let id = AccessKeyId::parse(&new_key_id("AKIA", user.account()))
            .map_err(|e| iam_err("CreateAccessKey", IamErrorKind::Other, e.0))?;
        u.keys.push(MemoryKey {
            id: id.clone(),
            status: KeyStatus::Active,
            created,
            last_use: LastUse::default(),
        });
        Ok(id)
    }

    /// The key was used (what `GetAccessKeyLastUsed` then reports).
    pub fn record_key_use(&self, key: &AccessKeyId, last_use: LastUse) {
        if let Ok(mut users) = self.users.lock() {
            for u in users.users.values_mut() {
                for k in u.keys.iter_mut().filter(|k| &k.id == key) {
                    k.last_use = last_use.clone();
                }
            }
        }
    }

    /// Give the user a console password (`CreateLoginProfile`).
    pub fn set_login_profile(&self, user: &UserArn) {
        if let Ok(mut users) = self.users.lock()
            && let Ok(u) = users.user_mut(user.account(), user, "CreateLoginProfile")
        {
            u.password = true;
        }
    }

    /// Give the user an MFA device (`EnableMFADevice`).
    pub fn add_mfa_device(&self, user: &UserArn, serial: &str) {
        if let Ok(mut users) = self.users.lock()
            && let Ok(u) = users.user_mut(user.account(), user, "EnableMFADevice")
        {
            u.mfa.push(serial.to_string());
        }
    }

    /// Put any inline policy on a user (as infrastructure code would), within IAM's quota.
    pub fn put_user_inline(
        &self,
        user: &UserArn,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.users("PutUserPolicy")?
            .put_inline(user.account(), user, name, document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Iam;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn user(s: &str) -> UserArn {
        UserArn::parse(s).unwrap()
    }

    fn account(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    #[test]
    fn key_ids_carry_their_account_as_aws_encodes_it() {
        for a in [
            "123456789012",
            "111111111111",
            "000000000001",
            "999999999999",
        ] {
            let id = AccessKeyId::parse(&new_key_id("AKIA", &account(a))).unwrap();
            assert_eq!(account_of_key(&id).unwrap(), account(a), "{id}");
        }
    }

    #[tokio::test]
    async fn a_user_has_at_most_two_access_keys() {
        let iam = MemoryIam::default();
        let u = user("arn:aws:iam::123456789012:user/ci");
        iam.add_user(&u, t0());
        iam.create_access_key(&u, t0()).unwrap();
        iam.create_access_key(&u, t0()).unwrap();
        let third = iam.create_access_key(&u, t0()).unwrap_err();
        assert_eq!(third.kind, IamErrorKind::LimitExceeded);
        assert_eq!(iam.list_access_keys(&u).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_users_inline_policies_share_2048_characters() {
        let iam = MemoryIam::default();
        let u = user("arn:aws:iam::123456789012:user/ci");
        iam.add_user(&u, t0());
        let doc = |n: usize| format!(r#"{{"Sid":"{}"}}"#, "x".repeat(n));
        // 10 characters of JSON around the Sid: 1,010 + 1,038 = 2,048.
        iam.put_user_inline(&u, "Other", &doc(1_000)).unwrap();
        iam.put_user_revoke_policy(&u, &doc(1_028)).await.unwrap();
        let over = iam
            .put_user_revoke_policy(&u, &doc(1_029))
            .await
            .unwrap_err();
        assert_eq!(over.kind, IamErrorKind::LimitExceeded, "{over:?}");
        // Whitespace does not count.
        iam.put_user_revoke_policy(&u, &format!("  {}\n", doc(1_028)))
            .await
            .unwrap();
        let bad = iam
            .put_user_revoke_policy(&u, "not json")
            .await
            .unwrap_err();
        assert!(bad.full().contains("MalformedPolicyDocument"), "{bad:?}");
    }

    #[tokio::test]
    async fn a_key_is_known_only_in_its_own_account() {
        let iam = MemoryIam::default();
        let u = user("arn:aws:iam::123456789012:user/ci");
        iam.add_user(&u, t0());
        let key = iam.create_access_key(&u, t0()).unwrap();
        let elsewhere = iam
            .access_key_last_used(&account("222222222222"), &key)
            .await
            .unwrap_err();
        assert_eq!(elsewhere.kind, IamErrorKind::NoSuchEntity);
        let owner = iam.access_key_last_used(u.account(), &key).await.unwrap();
        assert_eq!(owner.user_name, "ci");
        assert!(owner.last_use.never());
    }

    #[tokio::test]
    async fn a_recorded_use_is_what_last_used_reports() {
        let iam = MemoryIam::default();
        let u = user("arn:aws:iam::123456789012:user/ci");
        iam.add_user(&u, t0());
        let key = iam.create_access_key(&u, t0()).unwrap();
        let used = LastUse {
            when: Some(t0()),
            service: Some("s3".into()),
            region: Some("eu-west-1".into()),
        };
        iam.record_key_use(&key, used.clone());
        let owner = iam.access_key_last_used(u.account(), &key).await.unwrap();
        assert_eq!(owner.last_use, used);
    }

    #[tokio::test]
    async fn user_names_ignore_case_and_path_as_iam_does() {
        let iam = MemoryIam::default();
        let u = user("arn:aws:iam::123456789012:user/build/CI-Runner");
        iam.add_user(&u, t0());
        let typed = user("arn:aws:iam::123456789012:user/ci-runner");
        assert_eq!(iam.get_user(&typed).await.unwrap().arn, u);
    }
}
