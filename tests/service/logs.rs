//! Log lines name their request through the span they run in, not by hand on each line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use revoke_role_bot::domain::request::Action;
use serde_json::Value;

use crate::support::*;

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn parsed(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The `request_id` of the innermost span of `line` that has one.
fn span_request_id(line: &Value) -> Option<String> {
    line["spans"]
        .as_array()?
        .iter()
        .rev()
        .find_map(|s| s["request_id"].as_str().map(str::to_string))
}

/// The line with `message` logged while handling request `id` (other tests log here too).
fn line<'a>(lines: &'a [Value], message: &str, id: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["fields"]["message"] == message && span_request_id(l).as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no log line {message:?} in a span of {id}: {lines:#?}"))
}

#[tokio::test]
async fn a_request_and_its_approval_log_under_the_request_id() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    // Process-wide: a thread-local subscriber races with the other tests over tracing's cached
    // callsite interest. Nothing else in this test binary installs one.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let env = Env::new();
    let request = env.role_and_request("app").await;
    env.click(BOB, Action::Approve, request.id()).await;

    let lines = lines.parsed();
    let id = request.id().to_string();
    for message in ["request created", "revocation finished"] {
        let l = line(&lines, message, &id);
        assert!(
            l["fields"].get("request_id").is_none(),
            "added by hand: {l}"
        );
    }
}
