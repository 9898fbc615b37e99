//! The `IdentityCenter` contract (tests/contract/identity_center.rs) on the Identity Center
//! adapter, against moto's sso-admin on its one instance (scripts/moto_server.py answers the
//! provisioning status, from a script each case sets).

use std::sync::Mutex;

use async_trait::async_trait;
use revoke_role_bot::aws::identity_center::AwsIdentityCenter;
use revoke_role_bot::ports::{IdentityCenter, Provisioning};
use serde_json::{Value, json};

use crate::contract::identity_center::{Fixture, IdentityCenterFixture};
use crate::helpers::*;
use crate::permission_sets::{PermissionSet, permission_set, script_provisioning};

struct Moto {
    adapter: AwsIdentityCenter,
    instance: String,
    sets: Mutex<Vec<PermissionSet>>,
}

async fn on_moto() -> Fixture {
    let aws = aws_config().await;
    let sso = aws_sdk_ssoadmin::Client::new(&aws);
    let instance = sso.list_instances().send().await.unwrap().instances()[0]
        .instance_arn()
        .unwrap()
        .to_string();
    Box::new(Moto {
        adapter: AwsIdentityCenter::new(&aws, "us-east-1", &instance),
        instance,
        sets: Mutex::default(),
    })
}

/// A provisioning state as the test moto_server scripts it.
fn scripted(state: &Provisioning) -> Value {
    match state {
        Provisioning::InProgress => json!({"Status": "IN_PROGRESS"}),
        Provisioning::Succeeded => json!({"Status": "SUCCEEDED"}),
        Provisioning::Failed { reason } => json!({"Status": "FAILED", "FailureReason": reason}),
    }
}

#[async_trait]
impl IdentityCenterFixture for Moto {
    fn ic(&self) -> &dyn IdentityCenter {
        &self.adapter
    }
    async fn add_permission_set(&self, inline: Option<&str>) -> (String, String) {
        let ps = permission_set(inline).await;
        let made = (ps.arn.clone(), ps.name.clone());
        self.sets.lock().unwrap().push(ps);
        made
    }
    async fn script(&self, permission_set: &str, states: &[Provisioning]) {
        let ps = self
            .sets
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.arn == permission_set)
            .cloned()
            .expect("a permission set this fixture made");
        script_provisioning(&ps, states.iter().map(scripted).collect()).await;
    }
    fn absent_arn(&self) -> String {
        let id = self.instance.rsplit('/').next().unwrap();
        format!("arn:aws:sso:::permissionSet/{id}/ps-ffffffffffffffff")
    }
    fn unique(&self, prefix: &str) -> String {
        unique(prefix)
    }
}

crate::identity_center_contract!(on_moto());
