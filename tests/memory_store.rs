//! The `AuditStore` contract (tests/contract) on the in-memory store: no emulator, in milliseconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;

use std::sync::Arc;

use revoke_role_bot::memory::MemoryStore;

contract_suite!(async { Arc::new(MemoryStore::default()) as contract::Store });
