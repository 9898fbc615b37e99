//! Slack at the edge: request verification, handlers, Block Kit and the Web API adapter.

pub mod blocks;
pub mod card;
pub mod client;
pub mod form;
pub mod handlers;
pub mod limits;
pub mod messages;
pub mod mrkdwn;
pub mod retry;
pub mod socket_mode;
pub mod verify;
