//! Per-node request statistics and health, shared lock-free between the
//! request path, the prober and `stats()`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dashmap::DashMap;
use tokio::time::Instant;

use crate::ewma::AtomicEwma;
use crate::retry::{EjectionPolicy, HealthState};
use crate::selection::NodeId;

/// Counters, RTT average and outlier-detection state of one node.
#[derive(Debug)]
pub(crate) struct NodeState {
    /// Attempts sent to this node.
    pub requests: AtomicU64,
    /// Attempts that failed on this node (transport errors, 5xx).
    pub errors: AtomicU64,
    /// Attempts currently outstanding.
    pub in_flight: AtomicU32,
    /// Smoothed RTT of successful attempts.
    pub rtt: AtomicEwma,
    /// Ejection state; the mutex is taken only when a failure is on record
    /// (a failure, a probe, or the first success after failures).
    health: Mutex<HealthState>,
    /// Lock-free mirrors of `health` for the request path, written under its
    /// lock: whether any failure or ejection is on record, and the end of the
    /// current ejection in nanoseconds since `epoch`, plus one (0: none).
    troubled: AtomicBool,
    ejected_until: AtomicU64,
    epoch: Instant,
    /// The node id as a metrics label value, formatted once.
    pub label: metrics::SharedString,
}

impl NodeState {
    pub(crate) fn new(id: NodeId, policy: EjectionPolicy) -> Self {
        Self {
            label: id.to_string().into(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            rtt: AtomicEwma::new(),
            health: Mutex::new(HealthState::new(policy)),
            troubled: AtomicBool::new(false),
            ejected_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Updates the health state under its lock and publishes the mirrors.
    fn update_health<R>(&self, f: impl FnOnce(&mut HealthState) -> R) -> R {
        let mut h = self.health();
        let r = f(&mut h);
        let until = h.ejected_until.map_or(0, |until| {
            let nanos = until.saturating_duration_since(self.epoch).as_nanos();
            u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
        });
        self.ejected_until.store(until, Ordering::Release);
        self.troubled.store(
            h.consecutive_failures != 0 || h.ejected_until.is_some(),
            Ordering::Release,
        );
        r
    }

    /// Starts an attempt: counts it and holds an in-flight slot until dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Records a healthy answer and its round-trip time.
    pub(crate) fn on_success(&self, rtt: Duration) {
        self.rtt.observe(rtt);
        if self.troubled.load(Ordering::Acquire) {
            self.update_health(HealthState::on_success);
        }
    }

    /// Records a successful probe (no RTT sample: probes are not requests).
    pub(crate) fn on_probe_success(&self) {
        self.update_health(HealthState::on_success);
    }

    /// Records a failure; returns true when it ejected the node.
    pub(crate) fn on_failure(&self, now: Instant) -> bool {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.update_health(|h| h.on_failure(now))
    }

    /// Records a failed probe; returns true when it ejected the node again.
    pub(crate) fn on_probe_failure(&self, now: Instant) -> bool {
        self.update_health(|h| h.on_failure(now))
    }

    /// True while the node must not be selected (no lock).
    pub(crate) fn is_ejected(&self, now: Instant) -> bool {
        match self.ejected_until.load(Ordering::Acquire) {
            0 => false,
            until => {
                let since = now.saturating_duration_since(self.epoch).as_nanos();
                since < u128::from(until - 1)
            }
        }
    }

    /// True when the node has failures on record and should be probed: its
    /// ejection ran out, or it failed recently without being ejected yet.
    pub(crate) fn wants_probe(&self, now: Instant) -> bool {
        let h = self.health();
        h.due_for_probe(now) || (h.ejected_until.is_none() && h.consecutive_failures > 0)
    }
}

/// In-flight guard: decrements the node's in-flight count on drop, so a
/// cancelled or panicking attempt cannot leak a slot.
pub(crate) struct InFlight(Arc<NodeState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// All nodes' state by id; entries are `Arc`s so nothing holds a shard lock
/// while a request is outstanding.
#[derive(Debug, Default)]
pub(crate) struct NodeRegistry {
    nodes: DashMap<NodeId, Arc<NodeState>>,
    policy: EjectionPolicy,
}

impl NodeRegistry {
    pub(crate) fn new(policy: EjectionPolicy) -> Self {
        Self {
            nodes: DashMap::new(),
            policy,
        }
    }

    /// State of node `id`, created on first sight.
    pub(crate) fn get_or_insert(&self, id: NodeId) -> Arc<NodeState> {
        if let Some(s) = self.nodes.get(&id) {
            return s.clone();
        }
        self.nodes
            .entry(id)
            .or_insert_with(|| Arc::new(NodeState::new(id, self.policy)))
            .clone()
    }

    /// State of node `id` if known.
    pub(crate) fn get(&self, id: NodeId) -> Option<Arc<NodeState>> {
        self.nodes.get(&id).map(|s| s.clone())
    }

    /// Drops nodes that are no longer members.
    pub(crate) fn retain(&self, keep: impl Fn(NodeId) -> bool) {
        self.nodes.retain(|id, _| keep(*id));
    }

    /// `(id, state)` of every node, sorted by id.
    pub(crate) fn all(&self) -> Vec<(NodeId, Arc<NodeState>)> {
        let mut v: Vec<_> = self
            .nodes
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect();
        v.sort_by_key(|e| e.0);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn guard_and_health() {
        let reg = NodeRegistry::new(EjectionPolicy::default());
        let s = reg.get_or_insert(1);
        {
            let _g = s.begin();
            assert_eq!(s.in_flight.load(Ordering::Relaxed), 1);
        }
        assert_eq!(s.in_flight.load(Ordering::Relaxed), 0);
        assert_eq!(s.requests.load(Ordering::Relaxed), 1);
        let now = Instant::now();
        assert!(!s.on_failure(now));
        assert!(s.wants_probe(now));
        assert!(!s.on_failure(now));
        assert!(s.on_failure(now));
        assert!(s.is_ejected(now) && !s.wants_probe(now));
        tokio::time::advance(Duration::from_millis(999)).await;
        assert!(s.is_ejected(Instant::now()), "ejected for 1 s");
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert!(!s.is_ejected(Instant::now()), "the ejection ran out");
        assert!(s.wants_probe(Instant::now()));
        s.on_probe_success();
        assert!(!s.is_ejected(Instant::now()) && !s.wants_probe(Instant::now()));
        // A request's success after failures clears them (the lock-free
        // path must not skip it).
        assert!(!s.on_failure(Instant::now()));
        s.on_success(Duration::from_millis(1));
        assert!(!s.wants_probe(Instant::now()));
        assert!(!s.on_failure(Instant::now()) && !s.on_failure(Instant::now()));
        assert!(
            !s.is_ejected(Instant::now()),
            "two failures after a success"
        );
        reg.retain(|id| id != 1);
        assert!(reg.get(1).is_none());
    }
}
