//! The state every client handle shares with the I/O thread and its actors:
//! configuration, topology cache, per-node state, balancer and retry budget,
//! counters, and the leader-change bookkeeping.
//!
//! Every field is readable without blocking from any thread; the I/O thread
//! (`worker`, `refresher`, `prober`) updates it, the handle (`client`) reads it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::ClientConfig;
use crate::node_state::NodeRegistry;
use crate::refresh_trigger::RefreshTrigger;
use crate::retry::RetryBudget;
use crate::selection::{Balancer, NodeId};
use crate::stats::Counters;
use crate::topology::{LeaderUpdate, TopologyCache, TopologyView};

/// State shared by every handle, the I/O thread and its actors.
pub(crate) struct Shared {
    /// Validated configuration.
    pub config: ClientConfig,
    /// Cached topology and leader.
    pub cache: TopologyCache,
    /// Per-node counters, RTT and health.
    pub registry: NodeRegistry,
    /// Round-robin / weighted state of the balancing policies.
    pub balancer: Balancer,
    /// Retry budget shared by all calls.
    pub budget: RetryBudget,
    /// Wakes the refresher (coalesced).
    pub refresh: Arc<RefreshTrigger>,
    /// Wakes calls waiting for a new leader.
    pub leader_changed: Notify,
    /// Client-wide counters.
    pub counters: Counters,
    /// Last known leader + 1 (0 = none yet), to count real changes only.
    last_leader: AtomicU32,
    /// Set when the last handle is dropped: workers cached on callers'
    /// threads let go of this state at their thread's next call.
    closed: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: ClientConfig) -> Self {
        Self {
            registry: NodeRegistry::new(config.ejection),
            config,
            cache: TopologyCache::default(),
            balancer: Balancer::new(),
            budget: RetryBudget::default(),
            refresh: Arc::new(RefreshTrigger::default()),
            leader_changed: Notify::new(),
            counters: Counters::default(),
            last_leader: AtomicU32::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Marks the client closed (its last handle is gone).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Whether the last handle is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Offers a leader observation (reply header or topology); on a change
    /// wakes waiting calls and counts it.
    pub(crate) fn observe_leader(&self, term: Option<u64>, leader: Option<NodeId>) {
        let update = self.cache.offer_leader(term, leader);
        self.on_leader_update(update);
    }

    fn on_leader_update(&self, update: LeaderUpdate) {
        let LeaderUpdate::Changed(leader) = update else {
            return;
        };
        if let Some(id) = leader {
            let prev = self.last_leader.swap(id + 1, Ordering::Relaxed);
            if prev != 0 && prev != id + 1 {
                Counters::bump(&self.counters.leader_changes_seen);
                crate::metrics::leader_change();
            }
            tracing::debug!(leader = id, "cached leader changed");
        }
        self.leader_changed.notify_waiters();
    }

    /// Installs a fetched topology: members (new ones get state, removed
    /// ones are dropped) and the leader.
    pub(crate) fn install_topology(&self, view: TopologyView) {
        for m in &view.members {
            self.registry.get_or_insert(m.id);
        }
        let ids: Vec<NodeId> = view.members.iter().map(|m| m.id).collect();
        self.registry.retain(|id| ids.contains(&id));
        let update = self.cache.install(view);
        self.on_leader_update(update);
    }
}
