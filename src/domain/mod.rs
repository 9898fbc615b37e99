//! The domain: plain types with no knowledge of HTTP, Slack or AWS.

pub mod access_key;
pub mod audit;
pub mod chain;
pub mod command;
pub mod explain;
pub mod ids;
pub mod permission_set;
pub mod policy;
pub mod preview;
pub mod protection;
pub mod request;
pub mod role_arn;
pub mod trust;
pub mod user;
