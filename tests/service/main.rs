//! The fast tier: the service's behaviour over the in-memory adapters, a recording Slack and a
//! fake clock. No emulator, no network, no sleeping: runs in seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod come_back;
mod drift;
mod form;
mod leaked_keys;
mod lifecycle;
mod logs;
mod permission_sets;
mod support;
mod timeline;
mod trust;
