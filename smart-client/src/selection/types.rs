//! The vocabulary of selection: node identity, roles, labels, the candidate
//! record a pick looks at, and the kinds of request and read routing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Cluster-wide node identifier (the Raft node id).
pub type NodeId = u32;

/// A node's role as last observed by the client; decides what it may serve.
///
/// The wire contract's role: a learner serves eventual reads only if
/// [`SelectionConfig::allow_learner_reads`](super::SelectionConfig::allow_learner_reads)
/// is set, and [`Role::Unknown`] (also given to a member that has not
/// published its URL yet) is never selected.
pub use kv_contract::Role;

/// Label set of one node, or a tag set to match labels against.
pub type TagSet = BTreeMap<String, String>;

/// Empty label set, for candidates that carry no labels.
pub static NO_LABELS: TagSet = BTreeMap::new();

/// What selection needs to know about one node at the moment of a pick.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Node identity, used for deprioritization, key hashing and WRR state.
    pub id: NodeId,
    /// Last observed role.
    pub role: Role,
    /// Node labels (e.g. `zone`, `rack`) matched against tag sets.
    pub labels: &'a TagSet,
    /// Smoothed round-trip time, `None` before the first sample.
    pub rtt_ewma: Option<Duration>,
    /// Requests currently outstanding on this node from this client.
    pub in_flight: u32,
    /// Relative capacity for weighted round robin (0 is treated as 1).
    pub weight: u32,
    /// Temporarily ejected by outlier detection (see `retry::HealthState`).
    pub ejected: bool,
    /// Lags the leader's commit by more than [`super::SelectionConfig::max_staleness`]:
    /// never chosen as a follower (the leader is never too stale).
    pub too_stale: bool,
}

impl<'a> Candidate<'a> {
    /// Candidate with no RTT sample, nothing in flight, weight 1, not ejected.
    #[must_use]
    pub fn new(id: NodeId, role: Role, labels: &'a TagSet) -> Self {
        Self {
            id,
            role,
            labels,
            rtt_ewma: None,
            in_flight: 0,
            weight: 1,
            ejected: false,
            too_stale: false,
        }
    }
}

/// How fresh a read must be; decides whether it may leave the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadConsistency {
    /// Read-index read on the leader: always leader-only.
    #[default]
    Linearizable,
    /// Leader-lease read: always leader-only.
    Lease,
    /// Possibly stale local read: follows the [`ReadPreference`].
    Eventual,
}

impl From<ReadConsistency> for kv_contract::Consistency {
    fn from(c: ReadConsistency) -> Self {
        match c {
            ReadConsistency::Linearizable => Self::Linearizable,
            ReadConsistency::Lease => Self::Lease,
            ReadConsistency::Eventual => Self::Eventual,
        }
    }
}

/// The kind of request being routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A write: leader only.
    Write,
    /// A read with the given consistency.
    Read(ReadConsistency),
}

impl Operation {
    /// True when only the leader can serve the operation (writes and
    /// linearizable/lease reads); read preference and tag sets are ignored.
    #[must_use]
    pub fn requires_leader(self) -> bool {
        !matches!(self, Operation::Read(ReadConsistency::Eventual))
    }
}

/// Where eventual reads go (MongoDB read-preference semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadPreference {
    /// Only the leader; tag sets are ignored.
    Leader,
    /// The leader if one is known, else followers matching the tag sets.
    LeaderPreferred,
    /// Only followers matching the tag sets.
    Follower,
    /// Followers matching the tag sets, else the leader.
    #[default]
    FollowerPreferred,
    /// Leader and followers matching the tag sets, lowest latency wins.
    Nearest,
}

/// How one node is chosen among the nodes in the latency window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalancePolicy {
    /// Strict rotation through the window.
    RoundRobin,
    /// Smooth weighted rotation (nginx algorithm) using [`Candidate::weight`].
    WeightedRoundRobin,
    /// The node with the fewest in-flight requests, ties rotated.
    LeastInFlight,
    /// Power of two random choices: fewer in flight wins, then lower RTT.
    #[default]
    P2cEwma,
    /// Rendezvous hash of the request key over the suitable nodes, so a key
    /// sticks to one node and removing a node moves only that node's keys.
    /// Requests without a key fall back to [`BalancePolicy::P2cEwma`].
    KeyHash,
    /// The client keeps the node it chose while that node stays suitable
    /// (latency jitter does not move it); once the node fails a request, is
    /// ejected or stops being suitable, a new one is chosen by round robin
    /// over the latency window and kept in turn.
    Sticky,
}
