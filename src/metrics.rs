//! Prometheus metrics, kept in atomics so the hot path never takes a lock.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Commands = 0,
    Interactions = 1,
    SocketMode = 2,
}
const ENDPOINTS: [&str; 3] = ["commands", "interactions", "socket_mode"];

#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Ok = 0,
    BadRequest = 1,
    Unauthorized = 2,
    TooLarge = 3,
}
const OUTCOMES: [&str; 4] = ["ok", "bad_request", "unauthorized", "too_large"];

/// The transitions worth counting, by the event that records them.
pub const TRANSITIONS: [&str; 10] = [
    "requested",
    "request_refused",
    "approval_recorded",
    "approved",
    "rejected",
    "cancelled",
    "expired",
    "applied",
    "failed",
    "click_refused",
];

const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; 4]; 3],
    transitions: [AtomicU64; 10],
    apply_buckets: [AtomicU64; 10],
    apply_count: AtomicU64,
    apply_sum_micros: AtomicU64,
}

impl Metrics {
    pub fn request(&self, endpoint: Endpoint, outcome: Outcome) {
        self.requests[endpoint as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn transition(&self, kind: &str) {
        if let Some(i) = TRANSITIONS.iter().position(|k| *k == kind) {
            self.transitions[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Time from the approving click's transition to the verified policy and its audit event.
    pub fn approval_to_policy(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.apply_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.apply_count.fetch_add(1, Ordering::Relaxed);
        self.apply_sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP revoke_role_bot_requests_total Slack requests by endpoint and outcome."
        );
        let _ = writeln!(out, "# TYPE revoke_role_bot_requests_total counter");
        for (e, name) in ENDPOINTS.iter().enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let v = self.requests[e][o].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "revoke_role_bot_requests_total{{endpoint=\"{name}\",outcome=\"{outcome}\"}} {v}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP revoke_role_bot_events_total Audit events written, by kind."
        );
        let _ = writeln!(out, "# TYPE revoke_role_bot_events_total counter");
        for (i, kind) in TRANSITIONS.iter().enumerate() {
            let v = self.transitions[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "revoke_role_bot_events_total{{kind=\"{kind}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP revoke_role_bot_approval_to_policy_seconds Time from the approving click to the verified policy."
        );
        let _ = writeln!(
            out,
            "# TYPE revoke_role_bot_approval_to_policy_seconds histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let v = self.apply_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "revoke_role_bot_approval_to_policy_seconds_bucket{{le=\"{b}\"}} {v}"
            );
        }
        let count = self.apply_count.load(Ordering::Relaxed);
        let sum = self.apply_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "revoke_role_bot_approval_to_policy_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(out, "revoke_role_bot_approval_to_policy_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "revoke_role_bot_approval_to_policy_seconds_count {count}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.request(Endpoint::Commands, Outcome::Ok);
        m.request(Endpoint::Commands, Outcome::Unauthorized);
        m.transition("applied");
        m.transition("not-a-kind");
        m.approval_to_policy(Duration::from_millis(300));
        let text = m.render();
        assert!(
            text.contains("revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"ok\"} 1")
        );
        assert!(text.contains(
            "revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"unauthorized\"} 1"
        ));
        assert!(text.contains("revoke_role_bot_events_total{kind=\"applied\"} 1"));
        assert!(text.contains("revoke_role_bot_approval_to_policy_seconds_bucket{le=\"0.25\"} 0"));
        assert!(text.contains("revoke_role_bot_approval_to_policy_seconds_bucket{le=\"0.5\"} 1"));
        assert!(text.contains("revoke_role_bot_approval_to_policy_seconds_count 1"));
    }
}
