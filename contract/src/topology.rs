//! `GET /topology`: one node's view of the cluster.
//!
//! ```json
//! {"node_id":2,"term":7,"leader_id":1,
//!  "members":[{"id":1,"role":"leader","api_url":"http://127.0.0.1:8081",
//!              "health_url":"http://127.0.0.1:10001","raft_addr":"127.0.0.1:9081",
//!              "labels":{"zone":"z1"},"applied_index":42}, ...],
//!  "version":3,"membership_index":1,"commit_index":42}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A member's role (`"leader"`, `"follower"`, `"learner"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The current Raft leader: serves writes and every kind of read.
    Leader,
    /// A voter that is not the leader: serves eventual reads.
    Follower,
    /// A non-voting member that replicates the log.
    Learner,
    /// A role this build does not know (a newer node's), or none given;
    /// nodes never send it, and the smart client never routes to it.
    #[default]
    #[serde(other)]
    Unknown,
}

/// One member in `/topology`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// Raft node id.
    pub id: u32,
    /// Role as seen by the answering node.
    #[serde(default)]
    pub role: Role,
    /// HTTP API base URL (null until the member has registered).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Health-check base URL (null until the member has registered).
    #[serde(default)]
    pub health_url: Option<String>,
    /// Raft address.
    #[serde(default)]
    pub raft_addr: Option<String>,
    /// Labels such as `zone`, matched by the smart client's tag sets.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Highest log index this member has applied, as the answering node knows
    /// it (absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_index: Option<u64>,
    /// How long ago, in milliseconds, the leader's commit index first passed
    /// `applied_index`, as the answering node knows it: 0 when level, absent
    /// when unknown (the smart client's `max_staleness_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<u64>,
    /// Relative capacity for weighted balancing (`[node] weight`; absent
    /// until the member has registered, and then read as 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

impl Member {
    /// Whether the member has published its API URL (only then can it be reached).
    #[must_use]
    pub fn is_published(&self) -> bool {
        self.api_url.is_some()
    }
}

/// The whole `/topology` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Topology {
    /// The node answering.
    pub node_id: u32,
    /// Latest Raft term the answering node knows.
    #[serde(default)]
    pub term: u64,
    /// Current leader, null during an election.
    pub leader_id: Option<u32>,
    /// Voters and learners, sorted by id.
    #[serde(default)]
    pub members: Vec<Member>,
    /// Bumped on every change of the view, so pollers detect changes cheaply.
    #[serde(default)]
    pub version: u64,
    /// Raft log index of the membership this view is based on.
    #[serde(default)]
    pub membership_index: u64,
    /// The leader's commit index as the answering node knows it (filled in
    /// when the document is served, so progress does not bump `version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_index: Option<u64>,
}

impl Topology {
    /// The member with id `id`.
    #[must_use]
    pub fn member(&self, id: u32) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// Whether the answering node is the leader it names.
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.leader_id == Some(self.node_id)
    }

    /// The answering node's own applied index (exact, unlike the other members').
    #[must_use]
    pub fn own_applied_index(&self) -> Option<u64> {
        self.member(self.node_id)?.applied_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of `ARCHITECTURE.md` and the README, with every field the
    /// node sends, in the node's order.
    const EXAMPLE: &str = concat!(
        r#"{"node_id":2,"term":7,"leader_id":1,"members":["#,
        r#"{"id":1,"role":"leader","api_url":"http://127.0.0.1:8081","health_url":"http://127.0.0.1:10001","raft_addr":"127.0.0.1:9081","labels":{"zone":"z1"},"applied_index":42},"#,
        r#"{"id":2,"role":"follower","api_url":"http://127.0.0.1:8082","health_url":"http://127.0.0.1:10002","raft_addr":"127.0.0.1:9082","labels":{},"applied_index":41},"#,
        r#"{"id":3,"role":"follower","api_url":"http://127.0.0.1:8083","health_url":"http://127.0.0.1:10003","raft_addr":"127.0.0.1:9083","labels":{"zone":"z3"}},"#,
        r#"{"id":4,"role":"learner","api_url":null,"health_url":null,"raft_addr":"127.0.0.1:9084","labels":{}}"#,
        r#"],"version":3,"membership_index":1,"commit_index":42}"#
    );

    #[test]
    fn round_trips_the_documented_example_byte_for_byte() {
        let t: Topology = serde_json::from_str(EXAMPLE).expect("decodes");
        assert_eq!((t.node_id, t.term, t.leader_id), (2, 7, Some(1)));
        assert_eq!(t.members.len(), 4);
        assert_eq!(t.members[0].role, Role::Leader);
        assert_eq!(t.members[3].role, Role::Learner);
        assert_eq!(t.members[0].labels["zone"], "z1");
        assert!(!t.members[3].is_published());
        assert_eq!(t.own_applied_index(), Some(41));
        assert!(!t.is_leader());
        assert_eq!(t.commit_index, Some(42));
        assert_eq!(serde_json::to_string(&t).expect("encodes"), EXAMPLE);
    }

    #[test]
    fn election_and_omitted_progress() {
        let t = Topology {
            node_id: 1,
            term: 8,
            ..Topology::default()
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"node_id":1,"term":8,"leader_id":null,"members":[],"version":0,"membership_index":0}"#
        );
    }

    #[test]
    fn decoding_is_lenient() {
        let t: Topology = serde_json::from_str(
            r#"{"node_id":1,"leader_id":null,"zone":"extra",
                "members":[{"id":5,"role":"witness"},{"id":6}]}"#,
        )
        .expect("decodes");
        assert_eq!((t.term, t.version, t.leader_id), (0, 0, None));
        assert_eq!(t.members[0].role, Role::Unknown);
        assert_eq!(t.members[1].role, Role::Unknown);
        assert_eq!(t.members[1].api_url, None);
        assert!(t.member(7).is_none());
    }

    #[test]
    fn roles_are_snake_case() {
        for (role, text) in [
            (Role::Leader, "\"leader\""),
            (Role::Follower, "\"follower\""),
            (Role::Learner, "\"learner\""),
        ] {
            assert_eq!(serde_json::to_string(&role).unwrap(), text);
            assert_eq!(serde_json::from_str::<Role>(text).unwrap(), role);
        }
    }
}
