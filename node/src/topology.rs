//! This node's view of the cluster: the `/topology` document
//! ([`kv_contract::Topology`], the wire shape) built by a pure function from
//! what d-engine reports (leader, membership) and the member registry (URLs,
//! labels), kept together with the registry records behind it.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::header::{HeaderName, HeaderValue};
use kv_contract::{headers, Member, MemberRecord, Role, Topology};

/// The published view: the `/topology` document plus node-internal state
/// that is not on the wire.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeView {
    /// What `/topology` serves (before per-request progress is filled in).
    pub topology: Topology,
    /// Registry records of the members, by id (used for forwarding and
    /// registration; not serialized).
    pub records: BTreeMap<u32, MemberRecord>,
    /// The `x-kv-node`/`term`/`leader`/`leader-url` headers every answer
    /// carries, built once per view instead of once per request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl NodeView {
    /// A view of `topology` and `records`, with its answer headers.
    pub fn new(topology: Topology, records: BTreeMap<u32, MemberRecord>) -> Self {
        let mut view = Self {
            topology,
            records,
            headers: Vec::new(),
        };
        view.headers = view.answer_headers();
        view
    }

    fn answer_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let topo = &self.topology;
        let mut out = vec![
            (HeaderName::from_static(headers::NODE), topo.node_id.into()),
            (HeaderName::from_static(headers::TERM), topo.term.into()),
        ];
        if let Some(leader) = topo.leader_id {
            out.push((HeaderName::from_static(headers::LEADER), leader.into()));
        }
        if let Some(url) = self
            .leader_url()
            .and_then(|u| HeaderValue::from_str(u).ok())
        {
            out.push((HeaderName::from_static(headers::LEADER_URL), url));
        }
        out
    }

    /// The registry record of `id`, if it has registered.
    pub fn record(&self, id: u32) -> Option<&MemberRecord> {
        self.records.get(&id)
    }

    /// API URL of the current leader, when both are known.
    pub fn leader_url(&self) -> Option<&str> {
        self.topology
            .leader_id
            .and_then(|id| self.records.get(&id))
            .map(|r| r.api_url.as_str())
    }
}

/// Inputs from which a topology is built.
pub struct ViewInputs<'a> {
    /// This node.
    pub node_id: u32,
    /// Leader and term from d-engine, if a leader is known.
    pub leader: Option<(u32, u64)>,
    /// Last term seen (kept while there is no leader).
    pub last_term: u64,
    /// Voting members from d-engine.
    pub voters: &'a BTreeSet<u32>,
    /// Learners from d-engine.
    pub learners: &'a BTreeSet<u32>,
    /// Membership log index.
    pub membership_index: u64,
    /// Registry records by id.
    pub records: &'a BTreeMap<u32, MemberRecord>,
    /// Raft addresses from the config's `initial_cluster`, for members that have not registered.
    pub initial_raft_addrs: &'a BTreeMap<u32, String>,
}

/// Build the view. Members are the union of voters and learners; records of
/// nodes no longer members are dropped (removed nodes disappear).
pub fn build(inputs: &ViewInputs<'_>, version: u64) -> NodeView {
    let leader_id = inputs.leader.map(|(id, _)| id);
    let term = inputs.leader.map(|(_, t)| t).unwrap_or(inputs.last_term);
    let mut members = Vec::new();
    let ids: BTreeSet<u32> = inputs.voters.union(inputs.learners).copied().collect();
    for id in &ids {
        let role = if Some(*id) == leader_id {
            Role::Leader
        } else if inputs.learners.contains(id) && !inputs.voters.contains(id) {
            Role::Learner
        } else {
            Role::Follower
        };
        let rec = inputs.records.get(id);
        members.push(Member {
            id: *id,
            role,
            api_url: rec.map(|r| r.api_url.clone()),
            health_url: rec.map(|r| r.health_url.clone()),
            raft_addr: rec
                .map(|r| r.raft_addr.clone())
                .or_else(|| inputs.initial_raft_addrs.get(id).cloned()),
            labels: rec.map(|r| r.labels.clone()).unwrap_or_default(),
            applied_index: None,
            lag_ms: None,
            weight: rec.and_then(|r| r.weight),
        });
    }
    let records = inputs
        .records
        .iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(id, r)| (*id, r.clone()))
        .collect();
    NodeView::new(
        Topology {
            node_id: inputs.node_id,
            term,
            leader_id,
            members,
            version,
            membership_index: inputs.membership_index,
            commit_index: None,
        },
        records,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u32) -> MemberRecord {
        MemberRecord {
            id,
            api_url: format!("http://127.0.0.1:808{id}"),
            health_url: format!("http://127.0.0.1:1000{id}"),
            raft_addr: format!("127.0.0.1:908{id}"),
            labels: BTreeMap::from([("zone".to_string(), format!("z{id}"))]),
            weight: Some(id),
        }
    }

    #[test]
    fn roles_urls_and_leader() {
        let voters = BTreeSet::from([1, 2, 3]);
        let learners = BTreeSet::from([4]);
        let records = BTreeMap::from([(1, rec(1)), (2, rec(2)), (4, rec(4))]);
        let initial = BTreeMap::from([(3, "127.0.0.1:9083".to_string())]);
        let v = build(
            &ViewInputs {
                node_id: 2,
                leader: Some((1, 7)),
                last_term: 6,
                voters: &voters,
                learners: &learners,
                membership_index: 3,
                records: &records,
                initial_raft_addrs: &initial,
            },
            1,
        );
        let t = &v.topology;
        assert_eq!(t.node_id, 2);
        assert_eq!((t.leader_id, t.term), (Some(1), 7));
        let roles: Vec<_> = t.members.iter().map(|m| (m.id, m.role)).collect();
        assert_eq!(
            roles,
            vec![
                (1, Role::Leader),
                (2, Role::Follower),
                (3, Role::Follower),
                (4, Role::Learner)
            ]
        );
        assert_eq!(t.members[2].api_url, None, "3 has not registered");
        assert_eq!(t.members[2].raft_addr.as_deref(), Some("127.0.0.1:9083"));
        assert_eq!(v.leader_url(), Some("http://127.0.0.1:8081"));
        let stamped: Vec<(&str, &str)> = v
            .headers
            .iter()
            .map(|(n, h)| (n.as_str(), h.to_str().expect("ascii")))
            .collect();
        assert_eq!(
            stamped,
            vec![
                ("x-kv-node", "2"),
                ("x-kv-term", "7"),
                ("x-kv-leader", "1"),
                ("x-kv-leader-url", "http://127.0.0.1:8081")
            ]
        );
        let json = serde_json::to_value(t).expect("json");
        assert_eq!(json["members"][0]["role"], "leader");
        assert_eq!(json["members"][3]["role"], "learner");
        assert_eq!(json["members"][1]["labels"]["zone"], "z2");
        assert!(json.get("records").is_none());
    }

    #[test]
    fn no_leader_keeps_last_term_and_removed_nodes_disappear() {
        let voters = BTreeSet::from([1, 2]);
        let learners = BTreeSet::new();
        let records = BTreeMap::from([(1, rec(1)), (2, rec(2)), (3, rec(3))]);
        let v = build(
            &ViewInputs {
                node_id: 1,
                leader: None,
                last_term: 9,
                voters: &voters,
                learners: &learners,
                membership_index: 5,
                records: &records,
                initial_raft_addrs: &BTreeMap::new(),
            },
            2,
        );
        let t = &v.topology;
        assert_eq!((t.leader_id, t.term), (None, 9));
        assert!(t.members.iter().all(|m| m.role == Role::Follower));
        assert_eq!(t.members.len(), 2);
        assert!(v.record(3).is_none());
        assert_eq!(v.leader_url(), None);
    }
}
