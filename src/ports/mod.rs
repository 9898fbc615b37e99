//! The outside world, as the service sees it: small traits that speak domain types.
//! Real adapters live in `aws` and `slack`; in-process ones in `memory` (demo and the fast tests).

mod iam;
mod identity_center;
mod slack;
mod store;

pub use iam::*;
pub use identity_center::*;
pub use slack::*;
pub use store::*;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error with its whole cause chain, for logs and the audit record (never for Slack).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
