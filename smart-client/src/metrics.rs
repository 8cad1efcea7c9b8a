//! The client's figures through the [`metrics`] facade, so an application
//! that already exports metrics (e.g. Prometheus) sees them next to its own.
//! Without a recorder installed these calls do nothing. Names:
//!
//! * `smart_client_requests_total{op}` and `smart_client_errors_total{op}`:
//!   calls made by the application and those that returned an error (`op`:
//!   `put`, `delete`, `get_eventual`, `get_lease`, `get_linearizable`);
//! * `smart_client_retries_total`: attempts beyond a call's first;
//! * `smart_client_leader_changes_total`: cached leader switched to another node;
//! * `smart_client_attempt_duration_seconds{node}`: round trip of each
//!   successful attempt, per node (histogram);
//! * `smart_client_staleness_skips_total`: followers left out of an eventual
//!   read's selection by `max_staleness`;
//! * `smart_client_min_index_not_reached_total`: session reads a node could
//!   not serve yet (it had not applied the session's index).
//!
//! [`crate::SmartClient::stats`] keeps the same figures per client.

use std::time::Duration;

/// One call of `op` ended, successfully or not.
pub(crate) fn call(op: &'static str, ok: bool) {
    metrics::counter!("smart_client_requests_total", "op" => op).increment(1);
    if !ok {
        metrics::counter!("smart_client_errors_total", "op" => op).increment(1);
    }
}

/// One retry.
pub(crate) fn retry() {
    metrics::counter!("smart_client_retries_total").increment(1);
}

/// The cached leader changed.
pub(crate) fn leader_change() {
    metrics::counter!("smart_client_leader_changes_total").increment(1);
}

/// A successful attempt on the node labelled `node` (its id, formatted
/// once per node) took `rtt`.
pub(crate) fn attempt(node: &metrics::SharedString, rtt: Duration) {
    metrics::histogram!("smart_client_attempt_duration_seconds", "node" => node.clone())
        .record(rtt.as_secs_f64());
}

/// `n` followers were left out by the staleness bound.
pub(crate) fn staleness_skips(n: u64) {
    if n > 0 {
        metrics::counter!("smart_client_staleness_skips_total").increment(n);
    }
}

/// A node answered `min_index_not_reached`.
pub(crate) fn min_index_not_reached() {
    metrics::counter!("smart_client_min_index_not_reached_total").increment(1);
}
