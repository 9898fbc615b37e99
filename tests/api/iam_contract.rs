//! The `Iam` contract (tests/contract/iam.rs) on the IAM adapter, against IAM and STS on moto,
//! through credentials for two configured accounts: moto's own, and one whose credentials are
//! moto's too (misconfigured).

use async_trait::async_trait;
use revoke_role_bot::aws::iam::AwsIam;
use revoke_role_bot::config::Account;
use revoke_role_bot::domain::access_key::AccessKeyId;
use revoke_role_bot::domain::role_arn::{AccountId, RoleArn};
use revoke_role_bot::domain::user::UserArn;
use revoke_role_bot::ports::Iam;

use crate::contract::ACCOUNT;
use crate::contract::iam::{Fixture, IamFixture, MISCONFIGURED};
use crate::helpers::*;

struct Moto {
    adapter: AwsIam,
    /// The tests' own client, to make roles as infrastructure code would.
    iam: aws_sdk_iam::Client,
}

fn account(id: &str) -> Account {
    Account {
        id: AccountId::parse(id).unwrap(),
        name: None,
        partition: "aws".into(),
        assume_role_arn: None,
        external_id: None,
    }
}

async fn on_moto() -> Fixture {
    let aws = aws_config().await;
    Box::new(Moto {
        adapter: AwsIam::new(&aws, &[account(ACCOUNT), account(MISCONFIGURED)]).await,
        iam: aws_sdk_iam::Client::new(&aws),
    })
}

#[async_trait]
impl IamFixture for Moto {
    fn iam(&self) -> &dyn Iam {
        &self.adapter
    }
    fn unique(&self, prefix: &str) -> String {
        unique(prefix)
    }
    async fn create_role(&self, name: &str, path: &str, trust: &str, profiles: &[&str]) -> RoleArn {
        let out = self
            .iam
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("CreateRole in moto");
        for profile in profiles {
            self.iam
                .create_instance_profile()
                .instance_profile_name(*profile)
                .send()
                .await
                .expect("CreateInstanceProfile in moto");
            self.iam
                .add_role_to_instance_profile()
                .instance_profile_name(*profile)
                .role_name(name)
                .send()
                .await
                .expect("AddRoleToInstanceProfile in moto");
        }
        RoleArn::parse(out.role().unwrap().arn()).unwrap()
    }
    async fn put_inline(&self, role: &RoleArn, name: &str, document: &str) {
        self.iam
            .put_role_policy()
            .role_name(role.name())
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .expect("PutRolePolicy in moto");
    }
    async fn create_user(&self, name: &str, path: &str) -> UserArn {
        let out = self
            .iam
            .create_user()
            .user_name(name)
            .path(path)
            .send()
            .await
            .expect("CreateUser in moto");
        UserArn::parse(out.user().unwrap().arn()).unwrap()
    }
    async fn create_access_key(&self, user: &UserArn) -> AccessKeyId {
        let out = self
            .iam
            .create_access_key()
            .user_name(user.name())
            .send()
            .await
            .expect("CreateAccessKey in moto");
        AccessKeyId::parse(out.access_key().unwrap().access_key_id()).unwrap()
    }
    async fn create_login_profile(&self, user: &UserArn) {
        self.iam
            .create_login_profile()
            .user_name(user.name())
            .password("correct-Horse-battery-staple-1")
            .send()
            .await
            .expect("CreateLoginProfile in moto");
    }
    async fn enable_mfa_device(&self, user: &UserArn) -> String {
        let device = self
            .iam
            .create_virtual_mfa_device()
            .virtual_mfa_device_name(user.name())
            .send()
            .await
            .expect("CreateVirtualMFADevice in moto");
        let serial = device
            .virtual_mfa_device()
            .unwrap()
            .serial_number()
            .to_string();
        self.iam
            .enable_mfa_device()
            .user_name(user.name())
            .serial_number(&serial)
            .authentication_code1("123456")
            .authentication_code2("654321")
            .send()
            .await
            .expect("EnableMFADevice in moto");
        serial
    }
}

crate::iam_contract!(on_moto());
