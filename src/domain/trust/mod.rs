//! Who can come back (README "The request form, and who can come back"): a role's trust policy read as the list of principals that can
//! assume the role again after its sessions are revoked, and what revocation alone does not stop.
//!
//! Only `Allow` statements whose actions include an entry point (`sts:AssumeRole`,
//! `sts:AssumeRoleWithSAML`, `sts:AssumeRoleWithWebIdentity`, wildcards included) count;
//! `sts:TagSession`, `sts:SetSourceIdentity` and the like only accompany an entry. What the bot cannot
//! read exactly (`NotPrincipal`, `NotAction`, odd shapes) is listed as a warning rather than guessed.
//!
//! Texts here are plain: principal strings and condition values come from the trust policy and are
//! untrusted. Quoted values use Rust's string escaping; whoever renders them still escapes them.

mod analysis;
mod document;
mod entry;
mod principal;
mod warning;

pub use analysis::{TrustAnalysis, TrustError, analyse};
pub use entry::{ConditionText, Entry, EntryPoint};
pub use principal::PrincipalKind;
pub use warning::{Unclear, Warning};

/// Trust policies and their analysis, shared by the tests of each concern.
#[cfg(test)]
mod test_support {
    use super::{TrustAnalysis, analyse};
    use crate::domain::role_arn::AccountId;

    pub const HOME: &str = "111111111111";
    pub const OTHER: &str = "222222222222";

    pub fn accounts(ids: &[&str]) -> Vec<AccountId> {
        ids.iter().map(|i| AccountId::parse(i).unwrap()).collect()
    }

    fn trust(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    pub fn run(statements: &str, configured: &[&str]) -> TrustAnalysis {
        analyse(&trust(statements), &accounts(configured)).unwrap()
    }
}
