//! Prometheus metrics (`prometheus-client`), served as text format 0.0.4 on `/metrics`.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of what `render` returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Commands,
    Interactions,
    SocketMode,
}

impl Endpoint {
    const ALL: [Endpoint; 3] = [
        Endpoint::Commands,
        Endpoint::Interactions,
        Endpoint::SocketMode,
    ];
    fn as_str(self) -> &'static str {
        match self {
            Endpoint::Commands => "commands",
            Endpoint::Interactions => "interactions",
            Endpoint::SocketMode => "socket_mode",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    BadRequest,
    Unauthorized,
    TooLarge,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::BadRequest,
        Outcome::Unauthorized,
        Outcome::TooLarge,
    ];
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::BadRequest => "bad_request",
            Outcome::Unauthorized => "unauthorized",
            Outcome::TooLarge => "too_large",
        }
    }
}

impl EncodeLabelValue for Endpoint {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The transitions worth counting, by the event that records them.
pub const TRANSITIONS: [&str; 12] = [
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
    "drift",
    "cleanup",
];

/// The states an account's credentials can be in (README "Resilience").
pub const ACCOUNT_STATES: [&str; 4] = ["unchecked", "confirmed", "unreachable", "wrong_account"];

const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    endpoint: Endpoint,
    outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EventLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AccountLabels {
    account: String,
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    list_roles_calls: Counter,
    accounts: Family<AccountLabels, Gauge>,
    /// The request counters of the registry's family, by `[endpoint][outcome]`, looked up once:
    /// counting a request is an index and an atomic add, no lock and no hashing of labels.
    requests: [[Counter; Outcome::ALL.len()]; Endpoint::ALL.len()],
    events: Family<EventLabels, Counter>,
    approval_to_policy: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let events = Family::<EventLabels, Counter>::default();
        let approval_to_policy = Histogram::new(BUCKETS);
        // Every series exists from the start at 0, so a rate over it never starts with a gap.
        let counters = Endpoint::ALL.map(|endpoint| {
            Outcome::ALL.map(|outcome| {
                requests
                    .get_or_create(&RequestLabels { endpoint, outcome })
                    .clone()
            })
        });
        for kind in TRANSITIONS {
            drop(events.get_or_create(&EventLabels { kind }));
        }
        let mut registry = Registry::default();
        // The text encoder adds `_total` to counter names.
        registry.register(
            "revoke_role_bot_requests",
            "Slack requests by endpoint and outcome",
            requests.clone(),
        );
        registry.register(
            "revoke_role_bot_events",
            "Audit events written, by kind",
            events.clone(),
        );
        registry.register(
            "revoke_role_bot_approval_to_policy_seconds",
            "Time from the approving click to the verified policy",
            approval_to_policy.clone(),
        );
        let list_roles_calls = Counter::default();
        registry.register(
            "revoke_role_bot_list_roles_calls",
            "iam:ListRoles calls made for the request form's type-ahead (pages read)",
            list_roles_calls.clone(),
        );
        let accounts = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "revoke_role_bot_account_state",
            "1 for each configured account's current credentials state (unchecked, confirmed, unreachable, wrong_account), 0 for the others",
            accounts.clone(),
        );
        Metrics {
            registry,
            accounts,
            list_roles_calls,
            requests: counters,
            events,
            approval_to_policy,
        }
    }
}

impl Metrics {
    pub fn request(&self, endpoint: Endpoint, outcome: Outcome) {
        self.requests[endpoint as usize][outcome as usize].inc();
    }

    /// Counts `kind` if it is one of `TRANSITIONS`; anything else is ignored, so no caller can
    /// grow the label set.
    pub fn transition(&self, kind: &str) {
        if let Some(kind) = TRANSITIONS.iter().find(|k| **k == kind) {
            self.events.get_or_create(&EventLabels { kind }).inc();
        }
    }

    /// `account` is now in `state` (one of `ACCOUNT_STATES`): its series for `state` is 1,
    /// the others 0. Accounts come from the configuration, so the label set is bounded.
    pub fn account_state(&self, account: &str, state: &str) {
        for s in ACCOUNT_STATES {
            self.accounts
                .get_or_create(&AccountLabels {
                    account: account.to_string(),
                    state: s,
                })
                .set(i64::from(s == state));
        }
    }

    /// Time from the approving click's transition to the verified policy and its audit event.
    pub fn approval_to_policy(&self, d: Duration) {
        self.approval_to_policy.observe(d.as_secs_f64());
    }

    /// `ListRoles` calls (pages) one refresh of an account's role list took.
    pub fn role_list_calls(&self, pages: u32) {
        self.list_roles_calls.inc_by(u64::from(pages));
    }

    /// `ListRoles` calls made so far (tests and benchmarks read it).
    pub fn list_roles_calls(&self) -> u64 {
        self.list_roles_calls.get()
    }

    /// The Prometheus text exposition (`CONTENT_TYPE`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_and_outcome_counts_in_its_own_series() {
        let m = Metrics::default();
        let pairs = || {
            Endpoint::ALL
                .into_iter()
                .flat_map(|e| Outcome::ALL.map(|o| (e, o)))
                .zip(1..)
        };
        for ((endpoint, outcome), n) in pairs() {
            for _ in 0..n {
                m.request(endpoint, outcome);
            }
        }
        let text = m.render();
        for ((endpoint, outcome), n) in pairs() {
            let line = format!(
                "revoke_role_bot_requests_total{{endpoint=\"{}\",outcome=\"{}\"}} {n}",
                endpoint.as_str(),
                outcome.as_str()
            );
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
    }

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.request(Endpoint::Commands, Outcome::Ok);
        m.request(Endpoint::Commands, Outcome::Unauthorized);
        m.transition("applied");
        m.transition("not-a-kind");
        m.approval_to_policy(Duration::from_millis(300));
        let text = m.render();
        for line in [
            "# TYPE revoke_role_bot_requests_total counter",
            "revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"ok\"} 1",
            "revoke_role_bot_requests_total{endpoint=\"commands\",outcome=\"unauthorized\"} 1",
            "revoke_role_bot_requests_total{endpoint=\"socket_mode\",outcome=\"too_large\"} 0",
            "revoke_role_bot_events_total{kind=\"applied\"} 1",
            "revoke_role_bot_events_total{kind=\"expired\"} 0",
            "# TYPE revoke_role_bot_approval_to_policy_seconds histogram",
            "revoke_role_bot_approval_to_policy_seconds_bucket{le=\"0.25\"} 0",
            "revoke_role_bot_approval_to_policy_seconds_bucket{le=\"0.5\"} 1",
            "revoke_role_bot_approval_to_policy_seconds_bucket{le=\"+Inf\"} 1",
            "revoke_role_bot_approval_to_policy_seconds_count 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
        assert!(!text.contains("not-a-kind"));
        m.account_state("111111111111", "unchecked");
        m.account_state("111111111111", "unreachable");
        let text = m.render();
        for line in [
            "revoke_role_bot_account_state{account=\"111111111111\",state=\"unreachable\"} 1",
            "revoke_role_bot_account_state{account=\"111111111111\",state=\"unchecked\"} 0",
            "revoke_role_bot_account_state{account=\"111111111111\",state=\"confirmed\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("revoke_role_bot_requests_total{"))
                .count(),
            12,
            "every endpoint and outcome, even at 0"
        );
    }
}
