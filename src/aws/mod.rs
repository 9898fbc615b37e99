//! AWS adapters: IAM (per configured account, through STS where set) and the DynamoDB audit store.

pub mod calls;
pub mod dynamodb;
pub mod iam;
pub mod identity_center;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::domain::role_arn::{AccountId, RoleArn};

/// One try of an AWS operation (README "Using it in Slack"): IAM and DynamoDB answer in well under a second.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// An AWS operation with all its SDK retries, well inside the 60 s apply lease.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

/// The standard AWS configuration: region, credential chain, `AWS_ENDPOINT_URL`, and timeouts.
pub async fn load_config() -> SdkConfig {
    with_timeouts(aws_config::defaults(BehaviorVersion::latest()).load().await)
}

/// `config` with a per-attempt and a total timeout on every operation, unless it sets its own;
/// the server applies it to whatever configuration it is given.
pub fn with_timeouts(config: SdkConfig) -> SdkConfig {
    let ours = TimeoutConfig::builder()
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT);
    let timeouts = match config.timeout_config() {
        Some(set) => set.to_builder().take_unset_from(ours).build(),
        None => ours.build(),
    };
    config.to_builder().timeout_config(timeouts).build()
}

/// An SDK error with its whole cause chain (plain `Display` says only "service error").
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    format!("{}", DisplayErrorContext(e))
}

/// An SDK error as the ports see it: `kind_of` maps the service's error codes, a timeout is
/// `Timeout`, anything else `Other`. The text is AWS's code and message, what a person needs, or
/// the whole chain when there is no code.
pub(crate) fn port_error<E, R>(
    action: &'static str,
    e: aws_sdk_iam::error::SdkError<E, R>,
    kind_of: fn(&str) -> Option<crate::ports::IamErrorKind>,
) -> crate::ports::IamError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use crate::ports::IamErrorKind;
    use aws_sdk_iam::error::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let kind = match e.code().and_then(kind_of) {
        Some(kind) => kind,
        None if matches!(e, SdkError::TimeoutError(_)) => IamErrorKind::Timeout,
        None => IamErrorKind::Other,
    };
    let full = match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        _ => describe(&e),
    };
    crate::ports::IamError::new(action, kind, full)
}

/// Who the bot runs as, from `sts:GetCallerIdentity`; an assumed-role session maps to its role.
pub async fn caller_identity(
    config: &SdkConfig,
) -> Result<(String, Option<RoleArn>), CallerIdentityError> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = sts.get_caller_identity().send().await?;
    let arn = out.arn().unwrap_or_default().to_string();
    Ok((arn.clone(), role_of_caller(&arn)))
}

/// `sts:GetCallerIdentity` failed; `describe` gives the whole chain.
pub type CallerIdentityError = aws_sdk_sts::error::SdkError<
    aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
>;

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

    #[test]
    fn every_operation_gets_an_attempt_and_a_total_timeout_and_keeps_its_connect_timeout() {
        let base = SdkConfig::builder()
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .build(),
            )
            .build();
        let t = with_timeouts(base);
        let t = t.timeout_config().unwrap();
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(3)));
        let own = SdkConfig::builder()
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(1))
                    .build(),
            )
            .build();
        let own = with_timeouts(own);
        assert_eq!(
            own.timeout_config().unwrap().operation_timeout(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            with_timeouts(SdkConfig::builder().build())
                .timeout_config()
                .unwrap()
                .operation_attempt_timeout(),
            Some(ATTEMPT_TIMEOUT)
        );
    }
}
