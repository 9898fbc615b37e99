//! IAM Identity Center permission sets (README "Identity Center permission sets"): what a permission-set request targets, and
//! how to recognise the roles Identity Center creates for them.

use serde::{Deserialize, Serialize};

use super::role_arn::{AccountId, RoleArn};

/// A permission set as Identity Center describes it, with the accounts it is provisioned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionSetTarget {
    pub instance_arn: String,
    /// `arn:aws:sso:::permissionSet/ssoins-…/ps-…`
    pub arn: String,
    pub name: String,
    /// Every account it is provisioned to: approving revokes older sessions in all of them.
    pub accounts: Vec<AccountId>,
    /// ISO 8601, e.g. `PT8H`.
    pub session_duration: Option<String>,
    /// Characters used by the inline policy, not counting an existing revoke statement.
    #[serde(default)]
    pub inline_policy_chars_used: usize,
    /// A revoke statement already in the inline policy, and its cut-off.
    #[serde(default)]
    pub existing_cutoff: Option<super::policy::Cutoff>,
}

impl PermissionSetTarget {
    pub fn session_duration_secs(&self) -> Option<i64> {
        self.session_duration.as_deref().and_then(iso_duration_secs)
    }
}

/// The permission set name carried by an Identity Center role name:
/// `AWSReservedSSO_<PermissionSetName>_<16 hex digits>`. Names may hold underscores.
pub fn name_from_reserved_role(role: &RoleArn) -> Option<&str> {
    let rest = role.name().strip_prefix("AWSReservedSSO_")?;
    let (name, suffix) = rest.rsplit_once('_')?;
    let hex = suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !name.is_empty()).then_some(name)
}

/// Whether `s` looks like a permission set ARN (`arn:aws:sso:::permissionSet/ssoins-…/ps-…`;
/// some tools write `…:instance/ssoins-…/ps-…`).
pub fn is_permission_set_arn(s: &str) -> bool {
    s.starts_with("arn:") && s.contains(":sso:::") && s.contains("/ssoins-") && s.contains("/ps-")
}

/// `PT8H`, `PT1H30M`, `PT45M`, `PT3600S` → seconds.
pub fn iso_duration_secs(s: &str) -> Option<i64> {
    let rest = s.strip_prefix("PT")?;
    let mut total = 0i64;
    let mut number = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'H' => 3600,
            'M' => 60,
            'S' => 1,
            _ => return None,
        };
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_role_names_carry_the_permission_set_name() {
        let r = RoleArn::parse("arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Data_Admin_0123456789abcdef").unwrap();
        assert_eq!(name_from_reserved_role(&r), Some("Data_Admin"));
        let plain = RoleArn::parse("arn:aws:iam::111111111111:role/AWSReservedSSO_Admin").unwrap();
        assert_eq!(name_from_reserved_role(&plain), None);
        let other = RoleArn::parse("arn:aws:iam::111111111111:role/app").unwrap();
        assert_eq!(name_from_reserved_role(&other), None);
    }

    #[test]
    fn iso_durations_read_as_seconds() {
        assert_eq!(iso_duration_secs("PT8H"), Some(28_800));
        assert_eq!(iso_duration_secs("PT1H30M"), Some(5_400));
        assert_eq!(iso_duration_secs("PT3600S"), Some(3_600));
        assert_eq!(iso_duration_secs("P1D"), None);
        assert_eq!(iso_duration_secs("PT8"), None);
    }
}
