//! Every port's contract (tests/contract) on the in-memory adapters: no emulator, in
//! milliseconds. The real adapters run the same cases in tests/api/*_contract.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;

/// A name unique within one fixture (each case has its own in-memory adapter).
fn numbered(counter: &AtomicU32, prefix: &str) -> String {
    format!("{prefix}-{}", counter.fetch_add(1, Ordering::SeqCst))
}

mod store {
    use std::sync::Arc;

    use revoke_role_bot::memory::MemoryStore;

    crate::store_contract!(async {
        Arc::new(MemoryStore::default()) as crate::contract::store::Store
    });
}

mod iam {
    use revoke_role_bot::domain::access_key::AccessKeyId;
    use revoke_role_bot::domain::role_arn::{AccountId, RoleArn};
    use revoke_role_bot::domain::user::UserArn;
    use revoke_role_bot::memory::MemoryIam;
    use revoke_role_bot::ports::Iam;

    use super::*;
    use crate::contract::ACCOUNT;
    use crate::contract::iam::{Fixture, IamFixture, MISCONFIGURED};

    struct Memory {
        iam: MemoryIam,
        names: AtomicU32,
    }

    async fn fresh() -> Fixture {
        let iam = MemoryIam::default();
        iam.misconfigure(
            &AccountId::parse(MISCONFIGURED).unwrap(),
            &AccountId::parse(ACCOUNT).unwrap(),
        );
        Box::new(Memory {
            iam,
            names: AtomicU32::new(0),
        })
    }

    #[async_trait]
    impl IamFixture for Memory {
        fn iam(&self) -> &dyn Iam {
            &self.iam
        }
        fn unique(&self, prefix: &str) -> String {
            numbered(&self.names, prefix)
        }
        async fn create_role(
            &self,
            name: &str,
            path: &str,
            trust: &str,
            profiles: &[&str],
        ) -> RoleArn {
            let arn = RoleArn::parse(&format!("arn:aws:iam::{ACCOUNT}:role{path}{name}")).unwrap();
            self.iam.add_role(&arn, profiles);
            self.iam.set_trust_policy(&arn, trust);
            arn
        }
        async fn put_inline(&self, role: &RoleArn, name: &str, document: &str) {
            self.iam.put_inline(role, name, document);
        }
        async fn create_user(&self, name: &str, path: &str) -> UserArn {
            let arn = UserArn::parse(&format!("arn:aws:iam::{ACCOUNT}:user{path}{name}")).unwrap();
            self.iam.add_user(&arn, chrono::Utc::now());
            arn
        }
        async fn create_access_key(&self, user: &UserArn) -> AccessKeyId {
            self.iam
                .create_access_key(user, chrono::Utc::now())
                .unwrap()
        }
        async fn create_login_profile(&self, user: &UserArn) {
            self.iam.set_login_profile(user);
        }
        async fn enable_mfa_device(&self, user: &UserArn) -> String {
            let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/{}", user.name());
            self.iam.add_mfa_device(user, &serial);
            serial
        }
    }

    crate::iam_contract!(fresh());
}

mod identity_center {
    use revoke_role_bot::memory::MemoryIdentityCenter;
    use revoke_role_bot::ports::{IdentityCenter, Provisioning};

    use super::*;
    use crate::contract::ACCOUNT;
    use crate::contract::identity_center::{Fixture, IdentityCenterFixture};

    struct Memory {
        ic: MemoryIdentityCenter,
        names: AtomicU32,
    }

    async fn fresh() -> Fixture {
        let ic = MemoryIdentityCenter::default();
        // As moto: the instance is owned by the account the credentials are of.
        ic.set_owner(ACCOUNT);
        Box::new(Memory {
            ic,
            names: AtomicU32::new(0),
        })
    }

    #[async_trait]
    impl IdentityCenterFixture for Memory {
        fn ic(&self) -> &dyn IdentityCenter {
            &self.ic
        }
        async fn add_permission_set(&self, inline: Option<&str>) -> (String, String) {
            let name = self.unique("DataEng");
            let id = format!("{:016}", self.names.fetch_add(1, Ordering::SeqCst));
            let arn = self.ic.add_permission_set(&name, &id, "PT4H", &[ACCOUNT]);
            self.ic.set_inline(&arn, inline);
            (arn, name)
        }
        async fn script(&self, _permission_set: &str, states: &[Provisioning]) {
            self.ic.script(states.to_vec());
        }
        fn absent_arn(&self) -> String {
            "arn:aws:sso:::permissionSet/ssoins-memory/ps-ffffffffffffffff".into()
        }
        fn unique(&self, prefix: &str) -> String {
            numbered(&self.names, prefix)
        }
    }

    crate::identity_center_contract!(fresh());
}

mod slack {
    use revoke_role_bot::memory::slack::response_url;
    use revoke_role_bot::memory::{RecordingSlack, Sent};
    use revoke_role_bot::ports::Slack;

    use super::*;
    use crate::contract::slack::{Delivered, Fixture, SlackFixture};

    async fn fresh() -> Fixture {
        Box::new(RecordingSlack::default())
    }

    #[async_trait]
    impl SlackFixture for RecordingSlack {
        fn slack(&self) -> &dyn Slack {
            self
        }
        fn response_url(&self, user: &str) -> String {
            response_url(user)
        }
        async fn set_group(&self, group: &str, members: &[&str]) {
            RecordingSlack::set_group(self, group, members);
        }
        async fn break_groups(&self) {
            self.fail_groups(true);
        }
        async fn delivered(&self) -> Vec<Delivered> {
            self.sent()
                .into_iter()
                .filter_map(|s| {
                    let text = s.mrkdwn().to_string();
                    Some(match s {
                        Sent::Card { at, .. } => Delivered::Card {
                            channel: at.channel.to_string(),
                            ts: at.ts,
                            text,
                        },
                        Sent::Update { at, .. } => Delivered::Update {
                            channel: at.channel.to_string(),
                            ts: at.ts,
                            text,
                        },
                        Sent::Thread { card, .. } => Delivered::Thread {
                            channel: card.channel.to_string(),
                            ts: card.ts,
                            text,
                        },
                        Sent::Dm { to, .. } => Delivered::Direct {
                            user: to.to_string(),
                            text,
                        },
                        Sent::Reply { to, .. } => Delivered::Reply { url: to, text },
                        Sent::Ephemeral { channel, to, .. } => Delivered::Ephemeral {
                            channel: channel.to_string(),
                            user: to.to_string(),
                            text,
                        },
                        Sent::Form { .. } => return None,
                    })
                })
                .collect()
        }
    }

    crate::slack_contract!(fresh());
}
