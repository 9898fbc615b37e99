//! One integration-test binary: the real server on 127.0.0.1:0 (in process, or the binary as its
//! own process), moto_server for IAM and STS, DynamoDB Local, and a wiremock Slack. Run through
//! `scripts/test.sh`, which starts the emulators (scripts/emulators.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../contract/mod.rs"]
mod contract;

mod audit;
mod come_back;
mod drift;
mod form;
mod helpers;
mod iam_contract;
mod identity_center_contract;
mod lifecycle;
mod operations;
mod organization;
mod permission_sets;
mod refusals;
mod resilience;
mod revocation;
mod signatures;
mod slack_contract;
mod socket_mode;
mod store_contract;
mod support;
mod timeline;
mod timeouts;
mod workflow;
