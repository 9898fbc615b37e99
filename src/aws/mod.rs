//! AWS adapters: IAM (per configured account, through STS where set) and the DynamoDB audit store.

pub mod calls;
pub mod dynamodb;
pub mod iam;
pub mod identity_center;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::domain::role_arn::{AccountId, RoleArn};

/// The standard AWS configuration: region, credential chain, `AWS_ENDPOINT_URL`.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An SDK error with its whole cause chain (plain `Display` says only "service error").
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    format!("{}", DisplayErrorContext(e))
}

/// Who the bot runs as, from `sts:GetCallerIdentity`; an assumed-role session maps to its role.
pub async fn caller_identity(config: &SdkConfig) -> Result<(String, Option<RoleArn>), String> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let arn = out.arn().unwrap_or_default().to_string();
    Ok((arn.clone(), role_of_caller(&arn)))
}

/// `arn:aws:sts::123:assumed-role/Name/session` or `arn:aws:iam::123:role/path/Name` → the role.
pub fn role_of_caller(arn: &str) -> Option<RoleArn> {
    if let Ok(r) = RoleArn::parse(arn) {
        return Some(r);
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, "sts", _, account, resource] = parts.as_slice() else {
        return None;
    };
    let name = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    RoleArn::new(partition, AccountId::parse(account).ok()?, name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_arns_map_to_roles() {
        assert_eq!(
            role_of_caller("arn:aws:sts::111111111111:assumed-role/revoke-role-bot-task/abc")
                .unwrap()
                .to_string(),
            "arn:aws:iam::111111111111:role/revoke-role-bot-task"
        );
        assert_eq!(role_of_caller("arn:aws:iam::111111111111:user/alice"), None);
    }
}
