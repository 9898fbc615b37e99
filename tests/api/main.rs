//! One integration-test binary: the real server on 127.0.0.1:0, a real moto_server (IAM, STS,
//! DynamoDB) and a wiremock Slack. Run through `scripts/test.sh`, which starts moto.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod come_back;
mod form;
mod helpers;
mod lifecycle;
mod operations;
mod refusals;
mod resilience;
mod revocation;
mod signatures;
mod socket_mode;
mod support;
mod timeline;
mod timeouts;
mod workflow;
