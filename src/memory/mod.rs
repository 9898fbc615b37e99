//! In-process adapters: the audit store, IAM and Identity Center kept in memory, for `demo` and
//! the fast tests.

mod iam;
mod identity_center;
mod store;

pub use iam::MemoryIam;
pub use identity_center::MemoryIdentityCenter;
pub use store::MemoryStore;
