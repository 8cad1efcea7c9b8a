//! Pure, deterministic node selection: which cluster node receives a request.
//!
//! Selection runs in three steps, each a reusable public function so the
//! client and the conformance tests exercise exactly the same code:
//!
//! 1. [`suitable_into`] / [`suitable`]: the nodes allowed to serve the
//!    operation, following the MongoDB server-selection rules (role, read
//!    preference, tag sets, deprioritized servers) plus ejection.
//! 2. [`retain_latency_window`] / [`in_latency_window`]: of those, the nodes
//!    whose RTT average is within `latency_window` of the fastest one.
//! 3. [`Balancer::pick`]: one node of the window, by [`BalancePolicy`].
//!
//! [`Selector::select`] chains the three steps with reusable scratch buffers,
//! so a pick allocates nothing once the buffers have grown to cluster size.
//! Every function returns indices into the caller's `&[Candidate]` slice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Cluster-wide node identifier (the Raft node id).
pub type NodeId = u32;

/// A node's role as last observed by the client; decides what it may serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Current Raft leader: serves writes and every kind of read.
    Leader,
    /// Voting follower: serves eventual reads.
    Follower,
    /// Non-voting learner: serves eventual reads only if
    /// [`SelectionConfig::allow_learner_reads`] is set.
    Learner,
    /// Unreachable or not yet classified: never selected.
    Unknown,
}

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
}

/// Default latency window (MongoDB's `localThresholdMS`).
pub const DEFAULT_LATENCY_WINDOW: Duration = Duration::from_millis(15);

/// Everything that shapes selection and is fixed per client (or per request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelectionConfig {
    /// Where eventual reads may go.
    pub read_preference: ReadPreference,
    /// Label filters, tried in order; the first set matching any eligible
    /// node wins. An empty list, or an empty set, matches every node.
    pub tag_sets: Vec<TagSet>,
    /// Nodes slower than the fastest suitable node by more than this are not
    /// used (serialized as `latency_window_ms`).
    #[serde(rename = "latency_window_ms", with = "duration_ms")]
    pub latency_window: Duration,
    /// How the node is picked inside the latency window.
    pub policy: BalancePolicy,
    /// Whether learners count as followers for eventual reads.
    pub allow_learner_reads: bool,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        Self {
            read_preference: ReadPreference::default(),
            tag_sets: Vec::new(),
            latency_window: DEFAULT_LATENCY_WINDOW,
            policy: BalancePolicy::default(),
            allow_learner_reads: false,
        }
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// True when every `(key, value)` of `tags` is present in `labels`.
#[must_use]
pub fn tags_match(tags: &TagSet, labels: &TagSet) -> bool {
    tags.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Computes the suitable set into `out` (cleared first) as indices into
/// `candidates`, in candidate order; reuse `out` to avoid allocating.
///
/// Role and read-preference rules follow MongoDB server selection. On top of
/// them two soft exclusions apply, each dropped only when it would leave
/// nothing: nodes in `deprioritized` (they just failed this request) and
/// ejected nodes. The passes run from strictest to loosest: without ejected
/// and deprioritized, without ejected, without deprioritized, everything.
/// Each pass runs the full rules, so a `FollowerPreferred` read whose
/// followers are all deprioritized goes to the leader before it goes back to
/// a deprioritized follower. [`Role::Unknown`] is never selected.
pub fn suitable_into(
    candidates: &[Candidate<'_>],
    op: Operation,
    cfg: &SelectionConfig,
    deprioritized: &[NodeId],
    out: &mut Vec<usize>,
) {
    out.clear();
    let any_ejected = candidates.iter().any(|c| c.ejected);
    let any_deprioritized =
        !deprioritized.is_empty() && candidates.iter().any(|c| deprioritized.contains(&c.id));
    const PASSES: [(bool, bool); 4] = [(true, true), (true, false), (false, true), (false, false)];
    let mut tried = [(false, false); 4];
    let mut n_tried = 0;
    for (skip_ejected, skip_deprioritized) in PASSES {
        let pass = (
            skip_ejected && any_ejected,
            skip_deprioritized && any_deprioritized,
        );
        if tried[..n_tried].contains(&pass) {
            continue;
        }
        tried[n_tried] = pass;
        n_tried += 1;
        let excluded =
            |c: &Candidate<'_>| (pass.0 && c.ejected) || (pass.1 && deprioritized.contains(&c.id));
        eligible_by_rules(candidates, op, cfg, excluded, out);
        if !out.is_empty() {
            return;
        }
    }
}

/// Allocating convenience wrapper around [`suitable_into`].
#[must_use]
pub fn suitable(
    candidates: &[Candidate<'_>],
    op: Operation,
    cfg: &SelectionConfig,
    deprioritized: &[NodeId],
) -> Vec<usize> {
    let mut out = Vec::with_capacity(candidates.len());
    suitable_into(candidates, op, cfg, deprioritized, &mut out);
    out
}

/// One pass of the role / read-preference / tag-set rules.
fn eligible_by_rules(
    candidates: &[Candidate<'_>],
    op: Operation,
    cfg: &SelectionConfig,
    excluded: impl Fn(&Candidate<'_>) -> bool + Copy,
    out: &mut Vec<usize>,
) {
    out.clear();
    let learners = cfg.allow_learner_reads;
    let follower_role = move |r: Role| r == Role::Follower || (learners && r == Role::Learner);
    let is_leader = |c: &Candidate<'_>| c.role == Role::Leader && !excluded(c);
    let is_follower = |c: &Candidate<'_>| follower_role(c.role) && !excluded(c);
    if op.requires_leader() {
        push_where(candidates, is_leader, out);
        return;
    }
    match cfg.read_preference {
        ReadPreference::Leader => push_where(candidates, is_leader, out),
        ReadPreference::LeaderPreferred => {
            push_where(candidates, is_leader, out);
            if out.is_empty() {
                push_tagged(candidates, &cfg.tag_sets, is_follower, out);
            }
        }
        ReadPreference::Follower => push_tagged(candidates, &cfg.tag_sets, is_follower, out),
        ReadPreference::FollowerPreferred => {
            push_tagged(candidates, &cfg.tag_sets, is_follower, out);
            if out.is_empty() {
                push_where(candidates, is_leader, out);
            }
        }
        ReadPreference::Nearest => push_tagged(
            candidates,
            &cfg.tag_sets,
            |c| (c.role == Role::Leader || follower_role(c.role)) && !excluded(c),
            out,
        ),
    }
}

fn push_where(
    candidates: &[Candidate<'_>],
    keep: impl Fn(&Candidate<'_>) -> bool,
    out: &mut Vec<usize>,
) {
    out.extend(
        candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| keep(c))
            .map(|(i, _)| i),
    );
}

/// Eligible nodes matching the first tag set that matches any of them.
fn push_tagged(
    candidates: &[Candidate<'_>],
    tag_sets: &[TagSet],
    eligible: impl Fn(&Candidate<'_>) -> bool,
    out: &mut Vec<usize>,
) {
    if tag_sets.is_empty() {
        push_where(candidates, eligible, out);
        return;
    }
    for set in tag_sets {
        push_where(
            candidates,
            |c| eligible(c) && tags_match(set, c.labels),
            out,
        );
        if !out.is_empty() {
            return;
        }
    }
}

/// Keeps, in place, the indices whose RTT average is at most the fastest
/// sampled one plus `window`. Nodes without a sample yet stay in the window
/// (so they get measured) and do not move its lower bound; out-of-range
/// indices are dropped.
pub fn retain_latency_window(candidates: &[Candidate<'_>], idx: &mut Vec<usize>, window: Duration) {
    idx.retain(|&i| i < candidates.len());
    let Some(fastest) = idx.iter().filter_map(|&i| candidates[i].rtt_ewma).min() else {
        return;
    };
    let limit = fastest.saturating_add(window);
    idx.retain(|&i| candidates[i].rtt_ewma.is_none_or(|rtt| rtt <= limit));
}

/// Allocating convenience wrapper around [`retain_latency_window`].
#[must_use]
pub fn in_latency_window(
    candidates: &[Candidate<'_>],
    suitable: &[usize],
    window: Duration,
) -> Vec<usize> {
    let mut out = suitable.to_vec();
    retain_latency_window(candidates, &mut out, window);
    out
}

/// Power of two random choices over `window` (indices into `candidates`):
/// two distinct nodes drawn uniformly, the one with fewer in-flight requests
/// wins, then the lower RTT average (unsampled counts as zero), then the
/// first drawn (a uniformly random tie-break).
pub fn p2c<R: Rng + ?Sized>(
    candidates: &[Candidate<'_>],
    window: &[usize],
    rng: &mut R,
) -> Option<usize> {
    let n = window.len();
    match n {
        0 => return None,
        1 => return window.first().copied(),
        _ => {}
    }
    let a = rng.gen_range(0..n);
    let mut b = rng.gen_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    let (ia, ib) = (window[a], window[b]);
    let (Some(ca), Some(cb)) = (candidates.get(ia), candidates.get(ib)) else {
        return None;
    };
    let load = |c: &Candidate<'_>| (c.in_flight, c.rtt_ewma.unwrap_or(Duration::ZERO));
    Some(if load(cb) < load(ca) { ib } else { ia })
}

/// Stable 64-bit hash of a request key (FNV-1a, then a SplitMix64 finalizer):
/// identical on every platform and Rust version, unlike `DefaultHasher`.
#[must_use]
pub fn hash_key(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Rendezvous (highest-random-weight) hashing of `key` over `nodes`: the node
/// with the highest `hash(key, id)` wins (ties to the lower id), independent
/// of the order of `nodes`; removing a node moves only the keys it owned.
pub fn key_hash(candidates: &[Candidate<'_>], nodes: &[usize], key: &[u8]) -> Option<usize> {
    let kh = hash_key(key);
    nodes
        .iter()
        .filter_map(|&i| candidates.get(i).map(|c| (i, c.id)))
        .max_by_key(|&(_, id)| (mix64(kh ^ mix64(u64::from(id))), std::cmp::Reverse(id)))
        .map(|(i, _)| i)
}

/// Shared, `Send + Sync` state of the stateful policies: the round-robin
/// cursor and the smooth-WRR current weights. Keep one per client.
#[derive(Debug, Default)]
pub struct Balancer {
    cursor: AtomicUsize,
    /// `(node id, current weight)` sorted by id; the mutex is held only for
    /// the few arithmetic steps of one pick, never across an await.
    smooth: Mutex<Vec<(NodeId, i64)>>,
}

impl Balancer {
    /// Fresh balancer: cursor at zero, no weighted state.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Picks one index of `window` (indices into `candidates`) by `policy`;
    /// `None` only when `window` is empty. `rng` feeds power of two choices.
    pub fn pick<R: Rng + ?Sized>(
        &self,
        policy: BalancePolicy,
        candidates: &[Candidate<'_>],
        window: &[usize],
        key: Option<&[u8]>,
        rng: &mut R,
    ) -> Option<usize> {
        match policy {
            BalancePolicy::RoundRobin => self.round_robin(window),
            BalancePolicy::WeightedRoundRobin => self.weighted_round_robin(candidates, window),
            BalancePolicy::LeastInFlight => self.least_in_flight(candidates, window),
            BalancePolicy::P2cEwma => p2c(candidates, window, rng),
            BalancePolicy::KeyHash => match key {
                Some(key) => key_hash(candidates, window, key),
                None => p2c(candidates, window, rng),
            },
        }
    }

    fn next_cursor(&self) -> usize {
        self.cursor.fetch_add(1, Ordering::Relaxed)
    }

    /// Strict rotation: the n-th call returns `window[n % len]`.
    pub fn round_robin(&self, window: &[usize]) -> Option<usize> {
        if window.is_empty() {
            return None;
        }
        window.get(self.next_cursor() % window.len()).copied()
    }

    /// Fewest in-flight requests; ties are rotated with the shared cursor.
    pub fn least_in_flight(&self, candidates: &[Candidate<'_>], window: &[usize]) -> Option<usize> {
        let in_flight = |i: usize| candidates.get(i).map(|c| c.in_flight);
        let min = window.iter().filter_map(|&i| in_flight(i)).min()?;
        let ties = window.iter().filter(|&&i| in_flight(i) == Some(min));
        let n = ties.clone().count();
        ties.copied().nth(self.next_cursor() % n)
    }

    /// Smooth weighted round robin (nginx): each node's current weight grows
    /// by its weight, the largest wins and pays back the total, so weights
    /// 5/1/1 give `a a b a c a a` rather than `a a a a a b c`.
    pub fn weighted_round_robin(
        &self,
        candidates: &[Candidate<'_>],
        window: &[usize],
    ) -> Option<usize> {
        match window {
            [] => return None,
            [only] => return Some(*only).filter(|&i| i < candidates.len()),
            _ => {}
        }
        let mut state = self.smooth.lock().unwrap_or_else(PoisonError::into_inner);
        let mut total: i64 = 0;
        // (candidate index, state position, current weight) of the best so far.
        let mut best: Option<(usize, usize, i64)> = None;
        // Windows usually come in id order: try the slot after the last one
        // before falling back to a binary search.
        let mut hint = 0;
        for &i in window {
            let Some(c) = candidates.get(i) else { continue };
            let pos = if state.get(hint).is_some_and(|e| e.0 == c.id) {
                hint
            } else {
                match state.binary_search_by_key(&c.id, |e| e.0) {
                    Ok(pos) => pos,
                    Err(pos) => {
                        state.insert(pos, (c.id, 0));
                        if let Some(b) = best.as_mut().filter(|b| b.1 >= pos) {
                            b.1 += 1;
                        }
                        pos
                    }
                }
            };
            hint = pos + 1;
            let w = i64::from(c.weight.max(1));
            state[pos].1 += w;
            total += w;
            if best.is_none_or(|(_, _, cw)| state[pos].1 > cw) {
                best = Some((i, pos, state[pos].1));
            }
        }
        let (i, pos, _) = best?;
        state[pos].1 -= total;
        Some(i)
    }
}

/// One request as selection sees it.
#[derive(Clone, Copy, Debug)]
pub struct PickRequest<'r> {
    /// What is being done.
    pub op: Operation,
    /// Routing key for [`BalancePolicy::KeyHash`] (ignored by other policies).
    pub key: Option<&'r [u8]>,
    /// Nodes that already failed this request (retries go elsewhere first).
    pub deprioritized: &'r [NodeId],
}

impl<'r> PickRequest<'r> {
    /// Request for `op` with no key and nothing deprioritized.
    #[must_use]
    pub fn new(op: Operation) -> Self {
        Self {
            op,
            key: None,
            deprioritized: &[],
        }
    }
}

/// Runs the whole pipeline with reusable scratch buffers; keep one per task
/// or thread (it is cheap to create, and allocation-free once warmed up).
#[derive(Debug, Default)]
pub struct Selector {
    suitable: Vec<usize>,
    window: Vec<usize>,
}

impl Selector {
    /// Empty selector; buffers grow on first use.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Selector with buffers pre-sized for `nodes` candidates.
    #[must_use]
    pub fn with_capacity(nodes: usize) -> Self {
        Self {
            suitable: Vec::with_capacity(nodes),
            window: Vec::with_capacity(nodes),
        }
    }

    /// Picks the node (index into `candidates`) for `req`, or `None` when no
    /// node is suitable (e.g. a write while no leader is known).
    ///
    /// Suitable set, then latency window, then the balancing policy; except
    /// that [`BalancePolicy::KeyHash`] with a key hashes over the whole
    /// suitable set, so RTT jitter never moves a key to another node.
    pub fn select<R: Rng + ?Sized>(
        &mut self,
        candidates: &[Candidate<'_>],
        req: &PickRequest<'_>,
        cfg: &SelectionConfig,
        balancer: &Balancer,
        rng: &mut R,
    ) -> Option<usize> {
        suitable_into(
            candidates,
            req.op,
            cfg,
            req.deprioritized,
            &mut self.suitable,
        );
        self.window.clear();
        self.window.extend_from_slice(&self.suitable);
        retain_latency_window(candidates, &mut self.window, cfg.latency_window);
        match (cfg.policy, req.key) {
            (BalancePolicy::KeyHash, Some(key)) => key_hash(candidates, &self.suitable, key),
            (policy, key) => balancer.pick(policy, candidates, &self.window, key, rng),
        }
    }

    /// Suitable set computed by the last [`Selector::select`] (diagnostics).
    #[must_use]
    pub fn last_suitable(&self) -> &[usize] {
        &self.suitable
    }

    /// Latency window computed by the last [`Selector::select`] (diagnostics).
    #[must_use]
    pub fn last_window(&self) -> &[usize] {
        &self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::HashMap;

    fn ms(v: u64) -> Option<Duration> {
        Some(Duration::from_millis(v))
    }

    fn labels(pairs: &[(&str, &str)]) -> TagSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn eventual(pref: ReadPreference) -> SelectionConfig {
        SelectionConfig {
            read_preference: pref,
            ..SelectionConfig::default()
        }
    }

    const EVENTUAL: Operation = Operation::Read(ReadConsistency::Eventual);

    fn ids(c: &[Candidate<'_>], idx: &[usize]) -> Vec<NodeId> {
        idx.iter().map(|&i| c[i].id).collect()
    }

    /// Leader 1, followers 2 and 3, learner 4, unknown 5.
    fn cluster(l: &TagSet) -> Vec<Candidate<'_>> {
        vec![
            Candidate::new(1, Role::Leader, l),
            Candidate::new(2, Role::Follower, l),
            Candidate::new(3, Role::Follower, l),
            Candidate::new(4, Role::Learner, l),
            Candidate::new(5, Role::Unknown, l),
        ]
    }

    #[test]
    fn writes_and_strong_reads_go_to_the_leader_only() {
        let c = cluster(&NO_LABELS);
        for pref in [
            ReadPreference::Follower,
            ReadPreference::FollowerPreferred,
            ReadPreference::Nearest,
        ] {
            let cfg = eventual(pref);
            for op in [
                Operation::Write,
                Operation::Read(ReadConsistency::Linearizable),
                Operation::Read(ReadConsistency::Lease),
            ] {
                assert_eq!(ids(&c, &suitable(&c, op, &cfg, &[])), vec![1], "{op:?}");
            }
        }
        // No leader known: nothing is suitable for a write.
        let no_leader = &c[1..];
        let cfg = SelectionConfig::default();
        assert!(suitable(no_leader, Operation::Write, &cfg, &[]).is_empty());
    }

    #[test]
    fn read_preferences_follow_mongodb_semantics() {
        let c = cluster(&NO_LABELS);
        let s = |pref| ids(&c, &suitable(&c, EVENTUAL, &eventual(pref), &[]));
        assert_eq!(s(ReadPreference::Leader), vec![1]);
        assert_eq!(s(ReadPreference::LeaderPreferred), vec![1]);
        assert_eq!(s(ReadPreference::Follower), vec![2, 3]);
        assert_eq!(s(ReadPreference::FollowerPreferred), vec![2, 3]);
        assert_eq!(s(ReadPreference::Nearest), vec![1, 2, 3]);

        let followers_only = &c[1..];
        let s = |pref| {
            ids(
                followers_only,
                &suitable(followers_only, EVENTUAL, &eventual(pref), &[]),
            )
        };
        assert_eq!(s(ReadPreference::Leader), Vec::<NodeId>::new());
        assert_eq!(s(ReadPreference::LeaderPreferred), vec![2, 3]);

        let leader_only = [c[0], c[3], c[4]];
        let s = |pref| {
            ids(
                &leader_only,
                &suitable(&leader_only, EVENTUAL, &eventual(pref), &[]),
            )
        };
        assert_eq!(s(ReadPreference::Follower), Vec::<NodeId>::new());
        assert_eq!(s(ReadPreference::FollowerPreferred), vec![1]);
    }

    #[test]
    fn learners_only_with_flag_and_unknown_never() {
        let c = cluster(&NO_LABELS);
        let mut cfg = eventual(ReadPreference::Nearest);
        assert!(!ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])).contains(&4));
        cfg.allow_learner_reads = true;
        assert_eq!(
            ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])),
            vec![1, 2, 3, 4]
        );
        // Learners never serve leader-only operations.
        assert_eq!(ids(&c, &suitable(&c, Operation::Write, &cfg, &[])), vec![1]);
        // Unknown is never picked, even as the only node, ejected or not.
        let only_unknown = [Candidate::new(9, Role::Unknown, &NO_LABELS)];
        for pref in [
            ReadPreference::Leader,
            ReadPreference::LeaderPreferred,
            ReadPreference::Follower,
            ReadPreference::FollowerPreferred,
            ReadPreference::Nearest,
        ] {
            assert!(suitable(&only_unknown, EVENTUAL, &eventual(pref), &[]).is_empty());
        }
        let mut sel = Selector::new();
        let b = Balancer::new();
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..100 {
            let i = sel
                .select(&c, &PickRequest::new(EVENTUAL), &cfg, &b, &mut rng)
                .unwrap();
            assert_ne!(c[i].role, Role::Unknown);
        }
    }

    #[test]
    fn tag_sets_are_tried_in_order() {
        let nyc1 = labels(&[("dc", "nyc"), ("rack", "1")]);
        let nyc2 = labels(&[("dc", "nyc"), ("rack", "2")]);
        let sf = labels(&[("dc", "sf")]);
        let c = [
            Candidate::new(1, Role::Leader, &sf),
            Candidate::new(2, Role::Follower, &nyc1),
            Candidate::new(3, Role::Follower, &nyc2),
        ];
        let mut cfg = eventual(ReadPreference::Follower);
        cfg.tag_sets = vec![labels(&[("dc", "tokyo")]), labels(&[("dc", "nyc")])];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![2, 3]);
        cfg.tag_sets = vec![labels(&[("dc", "nyc"), ("rack", "2")]), TagSet::new()];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![3]);
        cfg.tag_sets = vec![labels(&[("dc", "tokyo")]), TagSet::new()];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![2, 3]);
        cfg.tag_sets = vec![labels(&[("dc", "tokyo")])];
        assert!(suitable(&c, EVENTUAL, &cfg, &[]).is_empty());
        // FollowerPreferred falls back to the leader regardless of its tags.
        cfg.read_preference = ReadPreference::FollowerPreferred;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![1]);
        // Nearest filters the leader by tags too.
        cfg.read_preference = ReadPreference::Nearest;
        cfg.tag_sets = vec![labels(&[("dc", "sf")])];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![1]);
    }

    #[test]
    fn deprioritized_are_avoided_unless_nothing_else() {
        let c = cluster(&NO_LABELS);
        let cfg = eventual(ReadPreference::Follower);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[2])), vec![3]);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[2, 3])), vec![2, 3]);
        // FollowerPreferred prefers the leader over deprioritized followers.
        let cfg = eventual(ReadPreference::FollowerPreferred);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[2, 3])), vec![1]);
        // A deprioritized leader is still the only writer.
        assert_eq!(
            ids(&c, &suitable(&c, Operation::Write, &cfg, &[1])),
            vec![1]
        );
    }

    #[test]
    fn ejected_are_excluded_unless_all_are_ejected() {
        let mut c = cluster(&NO_LABELS);
        let cfg = eventual(ReadPreference::Follower);
        c[1].ejected = true;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![3]);
        c[2].ejected = true;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![2, 3]);
        // All ejected: deprioritization still applies among them.
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[3])), vec![2]);
        // Healthy but deprioritized beats ejected.
        c[2].ejected = false;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[3])), vec![3]);
        // An ejected leader still takes writes: there is nowhere else.
        c[0].ejected = true;
        assert_eq!(ids(&c, &suitable(&c, Operation::Write, &cfg, &[])), vec![1]);
        // FollowerPreferred: healthy leader beats ejected followers.
        c[0].ejected = false;
        c[2].ejected = true;
        let cfg = eventual(ReadPreference::FollowerPreferred);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![1]);
    }

    #[test]
    fn latency_window_keeps_fast_and_unsampled_nodes() {
        let mut c = cluster(&NO_LABELS);
        c[0].rtt_ewma = ms(26);
        c[1].rtt_ewma = ms(5);
        c[2].rtt_ewma = ms(100);
        let all = [0, 1, 2, 3];
        let w = |c: &[Candidate<'_>]| ids(c, &in_latency_window(c, &all, DEFAULT_LATENCY_WINDOW));
        // 4 has no sample: kept so that it gets measured.
        assert_eq!(w(&c), vec![2, 4]);
        c[0].rtt_ewma = ms(20);
        assert_eq!(w(&c), vec![1, 2, 4]);
        for x in &mut c {
            x.rtt_ewma = None;
        }
        assert_eq!(w(&c), vec![1, 2, 3, 4]);
        assert!(in_latency_window(&c, &[], DEFAULT_LATENCY_WINDOW).is_empty());
        // Out-of-range indices are dropped, not a panic.
        assert_eq!(
            in_latency_window(&c, &[0, 99], DEFAULT_LATENCY_WINDOW),
            vec![0]
        );
    }

    fn tally(
        c: &[Candidate<'_>],
        picks: impl IntoIterator<Item = usize>,
    ) -> HashMap<NodeId, usize> {
        let mut m = HashMap::new();
        for i in picks {
            *m.entry(c[i].id).or_default() += 1;
        }
        m
    }

    #[test]
    fn round_robin_is_exactly_even() {
        let c = cluster(&NO_LABELS);
        let cfg = SelectionConfig {
            read_preference: ReadPreference::Follower,
            policy: BalancePolicy::RoundRobin,
            allow_learner_reads: true,
            ..SelectionConfig::default()
        };
        let b = Balancer::new();
        let mut sel = Selector::new();
        let mut rng = SmallRng::seed_from_u64(7);
        let picks: Vec<usize> = (0..300)
            .map(|_| {
                sel.select(&c, &PickRequest::new(EVENTUAL), &cfg, &b, &mut rng)
                    .unwrap()
            })
            .collect();
        let t = tally(&c, picks.iter().copied());
        assert_eq!(t, HashMap::from([(2, 100), (3, 100), (4, 100)]));
        // Strict rotation, not just the right totals.
        assert!(picks.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn weighted_round_robin_is_exact_and_smooth() {
        let mut c = cluster(&NO_LABELS);
        c[0].weight = 5;
        c[1].weight = 1;
        c[2].weight = 0; // treated as 1
        let b = Balancer::new();
        let w = [0, 1, 2];
        let first: Vec<NodeId> = (0..7)
            .map(|_| c[b.weighted_round_robin(&c, &w).unwrap()].id)
            .collect();
        assert_eq!(first, vec![1, 1, 2, 1, 3, 1, 1]);
        let t = tally(
            &c,
            (0..693).map(|_| b.weighted_round_robin(&c, &w).unwrap()),
        );
        assert_eq!(t, HashMap::from([(1, 495), (2, 99), (3, 99)]));
        assert_eq!(b.weighted_round_robin(&c, &[]), None);
        assert_eq!(b.weighted_round_robin(&c, &[2]), Some(2));
    }

    #[test]
    fn weighted_round_robin_handles_any_window_order_and_new_nodes() {
        let mut c = cluster(&NO_LABELS);
        for (x, w) in c.iter_mut().zip([1, 2, 3, 4, 5]) {
            x.weight = w;
        }
        let b = Balancer::new();
        // Reverse id order, so new state entries land before the best one.
        let t = tally(
            &c,
            (0..72).map(|_| b.weighted_round_robin(&c, &[3, 2, 1]).unwrap()),
        );
        assert_eq!(t, HashMap::from([(2, 16), (3, 24), (4, 32)]));
        // Whole cycles leave the state at zero; nodes 1 and 5 join it now.
        let t = tally(
            &c,
            (0..150).map(|_| b.weighted_round_robin(&c, &[4, 2, 0, 3, 1]).unwrap()),
        );
        assert_eq!(
            t,
            HashMap::from([(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)])
        );
    }

    #[test]
    fn least_in_flight_picks_the_minimum_and_rotates_ties() {
        let mut c = cluster(&NO_LABELS);
        c[0].in_flight = 4;
        c[1].in_flight = 1;
        c[2].in_flight = 7;
        c[3].in_flight = 1;
        let b = Balancer::new();
        let w = [0, 1, 2, 3];
        let t = tally(&c, (0..100).map(|_| b.least_in_flight(&c, &w).unwrap()));
        assert_eq!(t, HashMap::from([(2, 50), (4, 50)]));
        c[3].in_flight = 2;
        assert!((0..10).all(|_| b.least_in_flight(&c, &w) == Some(1)));
        assert_eq!(b.least_in_flight(&c, &[]), None);
    }

    #[test]
    fn p2c_prefers_less_loaded_then_faster_and_is_deterministic() {
        let mut c = cluster(&NO_LABELS);
        c[0].in_flight = 0;
        c[1].in_flight = 5;
        let mut rng = SmallRng::seed_from_u64(3);
        assert!((0..100).all(|_| p2c(&c, &[0, 1], &mut rng) == Some(0)));
        // Equal load: lower RTT wins.
        c[1].in_flight = 0;
        c[0].rtt_ewma = ms(9);
        c[1].rtt_ewma = ms(3);
        assert!((0..100).all(|_| p2c(&c, &[0, 1], &mut rng) == Some(1)));
        // The most loaded of three is never picked; the least about 2/3.
        c[0].in_flight = 1;
        c[1].in_flight = 2;
        c[2].in_flight = 3;
        let t = tally(
            &c,
            (0..3000).map(|_| p2c(&c, &[0, 1, 2], &mut rng).unwrap()),
        );
        assert_eq!(t.get(&3), None);
        assert!((1900..2100).contains(&t[&1]), "{t:?}");
        // Same seed, same sequence.
        let run = |seed| {
            let mut r = SmallRng::seed_from_u64(seed);
            (0..50)
                .map(|_| p2c(&c, &[0, 1, 2, 3], &mut r).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_eq!(p2c(&c, &[], &mut rng), None);
        assert_eq!(p2c(&c, &[3], &mut rng), Some(3));
    }

    #[test]
    fn key_hash_is_sticky_and_moves_only_the_removed_nodes_keys() {
        let c: Vec<Candidate<'_>> = (1..=5)
            .map(|id| Candidate::new(id, Role::Follower, &NO_LABELS))
            .collect();
        let all = [0, 1, 2, 3, 4];
        let keys: Vec<Vec<u8>> = (0..5000).map(|k| format!("key-{k}").into_bytes()).collect();
        let before: Vec<NodeId> = keys
            .iter()
            .map(|k| c[key_hash(&c, &all, k).unwrap()].id)
            .collect();
        // Sticky, and independent of the order of the node list.
        for (k, &id) in keys.iter().zip(&before).take(200) {
            assert_eq!(c[key_hash(&c, &[4, 2, 0, 3, 1], k).unwrap()].id, id);
        }
        // Roughly even spread.
        let t = tally(&c, before.iter().map(|&id| (id - 1) as usize));
        assert!(t.values().all(|&n| (800..1200).contains(&n)), "{t:?}");
        // Remove node 3: only its keys move.
        let without = [0, 1, 3, 4];
        let mut moved = 0;
        for (k, &old) in keys.iter().zip(&before) {
            let new = c[key_hash(&c, &without, k).unwrap()].id;
            if old == 3 {
                assert_ne!(new, 3);
                moved += 1;
            } else {
                assert_eq!(new, old, "key of a surviving node moved");
            }
        }
        assert!((800..1200).contains(&moved), "{moved}");
        // Through the selector: same key, same node, whatever the RTTs.
        let cfg = SelectionConfig {
            read_preference: ReadPreference::Follower,
            policy: BalancePolicy::KeyHash,
            ..SelectionConfig::default()
        };
        let mut c2 = c.clone();
        c2[0].rtt_ewma = ms(1);
        c2[1].rtt_ewma = ms(500);
        let mut sel = Selector::new();
        let b = Balancer::new();
        let mut rng = SmallRng::seed_from_u64(0);
        let req = PickRequest {
            key: Some(b"user:42"),
            ..PickRequest::new(EVENTUAL)
        };
        let a = sel.select(&c, &req, &cfg, &b, &mut rng);
        assert_eq!(sel.select(&c2, &req, &cfg, &b, &mut rng), a);
        assert_eq!(key_hash(&c, &[], b"x"), None);
    }

    #[test]
    fn hash_key_is_stable() {
        // Pinned values: changing the hash would remap every key.
        assert_eq!(hash_key(b""), mix64(0xcbf2_9ce4_8422_2325));
        assert_eq!(hash_key(b"a"), hash_key(b"a"));
        assert_ne!(hash_key(b"a"), hash_key(b"b"));
    }

    #[test]
    fn config_serde_round_trip() {
        let cfg: SelectionConfig = serde_json::from_str(
            r#"{"read_preference":"nearest","policy":"key_hash","latency_window_ms":20,
                "tag_sets":[{"zone":"a"}]}"#,
        )
        .unwrap();
        assert_eq!(cfg.read_preference, ReadPreference::Nearest);
        assert_eq!(cfg.policy, BalancePolicy::KeyHash);
        assert_eq!(cfg.latency_window, Duration::from_millis(20));
        assert!(!cfg.allow_learner_reads);
        let back: SelectionConfig =
            serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        let d: SelectionConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(d, SelectionConfig::default());
        assert_eq!(d.policy, BalancePolicy::P2cEwma);
        assert_eq!(d.read_preference, ReadPreference::FollowerPreferred);
    }

    #[test]
    fn shared_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Balancer>();
        check::<Selector>();
        check::<SelectionConfig>();
        check::<Candidate<'static>>();
    }

    /// Rough cost of one full pick over 50 nodes; run with
    /// `cargo test --release -p smart-client -- --ignored pick_cost`.
    #[test]
    #[ignore = "timing; run in release"]
    fn pick_cost() {
        let l = labels(&[("zone", "a")]);
        let c: Vec<Candidate<'_>> = (0..50)
            .map(|i| Candidate {
                rtt_ewma: ms(1 + u64::from(i % 10)),
                in_flight: i % 7,
                weight: 1 + i % 3,
                ..Candidate::new(i, if i == 0 { Role::Leader } else { Role::Follower }, &l)
            })
            .collect();
        let b = Balancer::new();
        let mut sel = Selector::with_capacity(c.len());
        let mut rng = SmallRng::seed_from_u64(1);
        for (scenario, tag_sets, deprioritized) in [
            ("plain", vec![], &[][..]),
            (
                "tags+deprioritized",
                vec![labels(&[("zone", "a")])],
                &[3, 4][..],
            ),
        ] {
            for policy in [
                BalancePolicy::RoundRobin,
                BalancePolicy::WeightedRoundRobin,
                BalancePolicy::LeastInFlight,
                BalancePolicy::P2cEwma,
                BalancePolicy::KeyHash,
            ] {
                let cfg = SelectionConfig {
                    policy,
                    read_preference: ReadPreference::Nearest,
                    tag_sets: tag_sets.clone(),
                    ..SelectionConfig::default()
                };
                let req = PickRequest {
                    key: Some(b"some-key"),
                    deprioritized,
                    ..PickRequest::new(EVENTUAL)
                };
                let n = 200_000u32;
                let start = std::time::Instant::now();
                let mut acc = 0usize;
                for _ in 0..n {
                    let pick = sel.select(&c, &req, &cfg, &b, &mut rng);
                    acc = acc.wrapping_add(pick.unwrap_or_default());
                }
                let per = start.elapsed() / n;
                println!("{scenario} {policy:?}: {per:?} per pick ({acc})");
            }
        }
    }
}
