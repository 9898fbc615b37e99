//! In-process adapters: the audit store, IAM and Identity Center kept in memory, and a Slack that
//! records what it is asked to send, for `demo`, the fast tests and the contract suites.

mod iam;
mod identity_center;
pub mod slack;
mod store;

pub use iam::MemoryIam;
pub use identity_center::MemoryIdentityCenter;
pub use slack::{RecordingSlack, Sent};
pub use store::MemoryStore;
