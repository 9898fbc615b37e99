//! revoke-role-bot: two-person, audited revocation of an IAM role's sessions from Slack.

pub mod aws;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod http_client;
pub mod memory;
pub mod metrics;
pub mod notice;
pub mod ports;
pub mod service;
pub mod slack;
pub mod startup;
pub mod telemetry;
