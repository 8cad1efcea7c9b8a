//! The cluster view: `/topology` parsing, response-header hints, and the
//! shared cache the request path reads without blocking.
//!
//! The member list changes only when the refresher installs a new view
//! (a `RwLock<Arc<_>>` swapped in a few instructions, never held across an
//! await). The leader changes far more often and from any reply, so it lives
//! apart in one atomic word together with the Raft term it was seen in: a
//! hint only wins if its term is at least as new as the cached one, so a
//! lagging node cannot roll the cache back to a deposed leader.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use kv_contract::{headers, Topology};

use crate::selection::{NodeId, Role};

/// One cluster member as the client knows it: the wire contract's member,
/// with its API URL normalized (no trailing `/`).
pub use kv_contract::Member;

/// A snapshot of the cluster as cached by the client (built from a
/// [`Topology`], with the client's own view of the leader).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologyView {
    /// Node that served the last refresh.
    pub served_by: NodeId,
    /// Highest Raft term the client has seen.
    pub term: u64,
    /// Leader the client routes writes to (`None` while unknown).
    pub leader_id: Option<NodeId>,
    /// Topology version of the last refresh (change detection).
    pub version: u64,
    /// Known members, sorted by id (each with its `applied_index` as the
    /// answering node knew it).
    pub members: Vec<Member>,
    /// The leader's commit index as the answering node knew it (for
    /// `max_staleness`).
    pub commit_index: Option<u64>,
}

impl TopologyView {
    /// The member with id `id`.
    #[must_use]
    pub fn member(&self, id: NodeId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// API URL of the current leader, if known and published.
    #[must_use]
    pub fn leader_url(&self) -> Option<&str> {
        self.member(self.leader_id?)?.api_url.as_deref()
    }
}

/// Parses a `/topology` body ([`Topology`]; unknown fields are ignored).
pub fn parse_topology(body: &[u8]) -> Result<TopologyView, serde_json::Error> {
    let wire: Topology = serde_json::from_slice(body)?;
    let mut members = wire.members;
    for m in &mut members {
        if let Some(url) = &mut m.api_url {
            url.truncate(url.trim_end_matches('/').len());
        }
    }
    members.sort_by_key(|m| m.id);
    Ok(TopologyView {
        served_by: wire.node_id,
        term: wire.term,
        leader_id: wire.leader_id,
        version: wire.version,
        members,
        commit_index: wire.commit_index,
    })
}

/// What one reply's `x-kv-*` headers say about the cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplyHints {
    /// `x-kv-leader`: the leader that node knows (absent during an election).
    pub leader: Option<NodeId>,
    /// `x-kv-term`: that node's Raft term.
    pub term: Option<u64>,
    /// `x-kv-forwarded-to`: the leader a follower forwarded the request to.
    pub forwarded_to: Option<NodeId>,
    /// `x-kv-index` (writes) or else `x-kv-applied-index` (reads): the log
    /// index the answer reflects at least, a session's causal token.
    pub index: Option<u64>,
}

impl ReplyHints {
    /// Reads the hints from response headers; malformed values are ignored.
    pub fn from_headers(h: &awc::http::header::HeaderMap) -> Self {
        fn num<T: std::str::FromStr>(h: &awc::http::header::HeaderMap, name: &str) -> Option<T> {
            h.get(name)?.to_str().ok()?.trim().parse().ok()
        }
        Self {
            leader: num(h, headers::LEADER),
            term: num(h, headers::TERM),
            forwarded_to: num(h, headers::FORWARDED_TO),
            index: num(h, headers::INDEX).or_else(|| num(h, headers::APPLIED_INDEX)),
        }
    }
}

/// `(term, leader)` packed in one word: term in the high 32 bits, leader id
/// + 1 in the low 32 bits (0 = no leader).
fn pack(term: u64, leader: Option<NodeId>) -> u64 {
    let leader = leader.map_or(0, |id| u64::from(id) + 1) & 0xffff_ffff;
    (term.min(u64::from(u32::MAX)) << 32) | leader
}

fn unpack(word: u64) -> (u64, Option<NodeId>) {
    let low = word & 0xffff_ffff;
    let leader = (low != 0).then(|| u32::try_from(low - 1).unwrap_or(u32::MAX));
    (word >> 32, leader)
}

/// Outcome of offering a leader hint to the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderUpdate {
    /// The cache already said so, or the hint was older.
    Unchanged,
    /// The cached leader changed (to `Some` new leader or to unknown).
    Changed(Option<NodeId>),
}

/// The cached view plus the fast-changing leader word.
#[derive(Debug, Default)]
pub struct TopologyCache {
    view: RwLock<Arc<TopologyView>>,
    leader: AtomicU64,
}

impl TopologyCache {
    /// Cache holding `view` (its leader and term seed the leader word).
    #[cfg(test)]
    #[must_use]
    pub fn new(view: TopologyView) -> Self {
        let leader = AtomicU64::new(pack(view.term, view.leader_id));
        Self {
            view: RwLock::new(Arc::new(view)),
            leader,
        }
    }

    /// The member list of the last refresh (its `leader_id` may be stale:
    /// use [`TopologyCache::leader`]).
    #[must_use]
    pub fn members(&self) -> Arc<TopologyView> {
        self.view
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Current leader and term.
    #[must_use]
    pub fn leader(&self) -> (u64, Option<NodeId>) {
        unpack(self.leader.load(Ordering::Acquire))
    }

    /// A consistent-enough snapshot for callers: members plus current leader,
    /// with roles adjusted to that leader.
    #[must_use]
    pub fn snapshot(&self) -> TopologyView {
        let mut view = (*self.members()).clone();
        let (term, leader) = self.leader();
        view.term = view.term.max(term);
        view.leader_id = leader;
        for m in &mut view.members {
            m.role = effective_role(m.role, m.id, leader);
        }
        view
    }

    /// Offers a leader observation made at `term`. A `Some` leader wins at
    /// the same or a newer term; "no leader" wins only at a strictly newer
    /// term (an election started), so a lagging node cannot erase a leader.
    pub fn offer_leader(&self, term: Option<u64>, leader: Option<NodeId>) -> LeaderUpdate {
        let mut current = self.leader.load(Ordering::Acquire);
        loop {
            let (cur_term, cur_leader) = unpack(current);
            let term = term.unwrap_or(cur_term);
            let newer = term > cur_term;
            let accept = match leader {
                Some(_) => term >= cur_term && (leader != cur_leader || newer),
                None => newer && cur_leader.is_some(),
            };
            if !accept {
                return LeaderUpdate::Unchanged;
            }
            let next = pack(term, leader);
            match self
                .leader
                .compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if leader == cur_leader => return LeaderUpdate::Unchanged,
                Ok(_) => return LeaderUpdate::Changed(leader),
                Err(actual) => current = actual,
            }
        }
    }

    /// Installs a freshly fetched view: the member list always, the leader
    /// through [`TopologyCache::offer_leader`].
    pub fn install(&self, view: TopologyView) -> LeaderUpdate {
        let update = self.offer_leader(Some(view.term), view.leader_id);
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(view);
        update
    }
}

/// Role of `id` given the client's current leader: the cached leader is the
/// leader, a node reported as leader earlier is a follower now.
#[must_use]
pub fn effective_role(reported: Role, id: NodeId, leader: Option<NodeId>) -> Role {
    match (leader == Some(id), reported) {
        (true, _) => Role::Leader,
        (false, Role::Leader) => Role::Follower,
        (false, r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"node_id":2,"term":7,"leader_id":1,"version":4,"membership_index":9,
      "members":[{"id":3,"role":"follower","api_url":"http://127.0.0.1:8083/","labels":{"zone":"z3"}},
                 {"id":1,"role":"leader","api_url":"http://127.0.0.1:8081","health_url":"x","raft_addr":"y"},
                 {"id":2,"role":"learner","api_url":null}]}"#;

    #[test]
    fn parses_topology() {
        let v = parse_topology(BODY.as_bytes()).unwrap();
        assert_eq!(
            (v.served_by, v.term, v.leader_id, v.version),
            (2, 7, Some(1), 4)
        );
        assert_eq!(
            v.members.iter().map(|m| m.id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            v.members[2].api_url.as_deref(),
            Some("http://127.0.0.1:8083")
        );
        assert_eq!(v.members[2].labels["zone"], "z3");
        assert_eq!(v.members[1].role, Role::Learner);
        assert_eq!(v.members[1].api_url, None);
        assert_eq!(v.leader_url(), Some("http://127.0.0.1:8081"));
        assert_eq!(v.commit_index, None);
        let election = parse_topology(
            br#"{"node_id":1,"term":8,"leader_id":null,"members":[],"commit_index":5}"#,
        );
        let election = election.unwrap();
        assert_eq!((election.leader_id, election.commit_index), (None, Some(5)));
    }

    #[test]
    fn parses_reply_headers() {
        let mut h = awc::http::header::HeaderMap::new();
        let mut put = |k: &'static str, v: &'static str| {
            h.insert(
                awc::http::header::HeaderName::from_static(k),
                awc::http::header::HeaderValue::from_static(v),
            );
        };
        put("x-kv-node", "2");
        put("x-kv-leader", "3");
        put("x-kv-term", "11");
        put("x-kv-forwarded-to", "3");
        put("x-kv-leader-url", "http://127.0.0.1:8083");
        put("x-kv-applied-index", "40");
        let hints = ReplyHints::from_headers(&h);
        assert_eq!(
            hints,
            ReplyHints {
                leader: Some(3),
                term: Some(11),
                forwarded_to: Some(3),
                index: Some(40),
            }
        );
        h.insert(
            awc::http::header::HeaderName::from_static("x-kv-index"),
            awc::http::header::HeaderValue::from_static("42"),
        );
        assert_eq!(ReplyHints::from_headers(&h).index, Some(42));
        h.insert(
            awc::http::header::HeaderName::from_static("x-kv-leader"),
            awc::http::header::HeaderValue::from_static("garbage"),
        );
        assert_eq!(ReplyHints::from_headers(&h).leader, None);
        assert_eq!(
            ReplyHints::from_headers(&Default::default()),
            ReplyHints::default()
        );
    }

    #[test]
    fn leader_hints_respect_terms() {
        let cache = TopologyCache::new(parse_topology(BODY.as_bytes()).unwrap());
        assert_eq!(cache.leader(), (7, Some(1)));
        // Same leader again: nothing changes.
        assert_eq!(
            cache.offer_leader(Some(7), Some(1)),
            LeaderUpdate::Unchanged
        );
        // A node in the same term without a leader cannot erase it...
        assert_eq!(cache.offer_leader(Some(7), None), LeaderUpdate::Unchanged);
        // ...an election in a newer term can.
        assert_eq!(
            cache.offer_leader(Some(8), None),
            LeaderUpdate::Changed(None)
        );
        // An older term's leader is ignored, the new one is taken.
        assert_eq!(
            cache.offer_leader(Some(7), Some(1)),
            LeaderUpdate::Unchanged
        );
        assert_eq!(
            cache.offer_leader(Some(8), Some(3)),
            LeaderUpdate::Changed(Some(3))
        );
        assert_eq!(cache.leader(), (8, Some(3)));
        // A hint without a term counts as the current term.
        assert_eq!(
            cache.offer_leader(None, Some(2)),
            LeaderUpdate::Changed(Some(2))
        );
        let snap = cache.snapshot();
        assert_eq!(snap.leader_id, Some(2));
        assert_eq!(snap.member(2).unwrap().role, Role::Leader);
        assert_eq!(snap.member(1).unwrap().role, Role::Follower);
        assert_eq!(unpack(pack(5, Some(0))), (5, Some(0)));
    }
}
