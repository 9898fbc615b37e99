//! Prints every AWS call the bot makes (src/aws/calls.rs) as JSON, for the offline IAM check in
//! scripts/deploy-check/.
//!
//!   cargo run --quiet --example aws_calls > calls.json

use revoke_role_bot::aws::calls::{CALLS, PLACEHOLDERS};
use revoke_role_bot::aws::dynamodb::INDEXES;

fn main() -> anyhow::Result<()> {
    let indexes: Vec<&str> = INDEXES.iter().map(|(name, _, _)| *name).collect();
    let out = serde_json::json!({
        "placeholders": PLACEHOLDERS,
        "indexes": indexes,
        "calls": CALLS,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
