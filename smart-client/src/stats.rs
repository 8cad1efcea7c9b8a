//! Counters a caller can read at any time with [`crate::SmartClient::stats`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::selection::{NodeId, Role};

/// Per-node view of the client's traffic.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeStats {
    /// Raft node id.
    pub id: NodeId,
    /// Role as the client currently sees it.
    pub role: Role,
    /// Attempts sent to the node.
    pub requests: u64,
    /// Attempts that failed on the node.
    pub errors: u64,
    /// Attempts outstanding right now.
    pub in_flight: u32,
    /// Smoothed round-trip time of successful attempts.
    pub latency_ewma: Option<Duration>,
    /// Whether outlier detection currently keeps the node out of rotation.
    pub ejected: bool,
}

/// Client-wide counters plus one [`NodeStats`] per known node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Per-node figures, sorted by id.
    pub nodes: Vec<NodeStats>,
    /// Times the cached leader switched to a different node.
    pub leader_changes_seen: u64,
    /// Attempts beyond the first, over all calls.
    pub retries: u64,
    /// Writes a follower had to forward (the cached leader was stale).
    pub forwarded_writes: u64,
    /// Calls made by the application.
    pub requests: u64,
    /// Calls that returned an error to the application.
    pub errors: u64,
    /// Calls that ran on the caller's own thread (an actix system thread),
    /// without the hop to the client's I/O thread and back.
    pub calls_on_caller_thread: u64,
}

impl Stats {
    /// Figures of node `id`.
    #[must_use]
    pub fn node(&self, id: NodeId) -> Option<&NodeStats> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Attempts sent to node `id` (0 if unknown).
    #[must_use]
    pub fn requests_to(&self, id: NodeId) -> u64 {
        self.node(id).map_or(0, |n| n.requests)
    }
}

/// The client-wide atomic counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub leader_changes_seen: AtomicU64,
    pub retries: AtomicU64,
    pub forwarded_writes: AtomicU64,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub calls_on_caller_thread: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub(crate) fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
