//! The cluster endpoints besides `/topology`: the health checks balancers
//! poll, the admin operations, and the member record nodes exchange.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::topology::Role;

/// Answer of `GET /primary` and `GET /replica` (200 or 503, same body).
///
/// Fields are declared in the order the node has always sent them (sorted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleAnswer {
    /// The leader the answering node knows (null during an election).
    pub leader_id: Option<u32>,
    /// The answering node.
    pub node_id: u32,
    /// Its own role (null if it is not in its own member list yet).
    pub role: Option<Role>,
    /// The Raft term it knows.
    pub term: u64,
}

/// Body of `POST /admin/promote` and `POST /admin/remove`: `{"node_id":4}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeIdBody {
    /// The member to act on (positive).
    pub node_id: u32,
}

/// Answer of a successful `POST /admin/remove`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoveAnswer {
    /// The removed member.
    pub node_id: u32,
    /// Log index of the committed removal.
    pub index: u64,
}

/// Answer of a successful `POST /admin/promote`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromoteAnswer {
    /// The promoted member.
    pub node_id: u32,
    /// Its role now (follower or leader).
    pub role: Role,
    /// Always `true`: it votes.
    pub voter: bool,
}

/// What one node publishes about itself (`POST /internal/members`, and the
/// value stored through Raft under the node's registry key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberRecord {
    /// Raft node id.
    pub id: u32,
    /// Base URL of the HTTP API.
    pub api_url: String,
    /// Base URL of the health-check listener.
    pub health_url: String,
    /// Raft (gRPC) address.
    pub raft_addr: String,
    /// Labels such as `zone`, for client-side tag sets.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Relative capacity for weighted balancing (records written before
    /// weights existed have none: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_documented_json() {
        let role = RoleAnswer {
            leader_id: Some(1),
            node_id: 2,
            role: Some(Role::Follower),
            term: 7,
        };
        assert_eq!(
            serde_json::to_string(&role).unwrap(),
            r#"{"leader_id":1,"node_id":2,"role":"follower","term":7}"#
        );
        let promoted = PromoteAnswer {
            node_id: 4,
            role: Role::Follower,
            voter: true,
        };
        assert_eq!(
            serde_json::to_string(&promoted).unwrap(),
            r#"{"node_id":4,"role":"follower","voter":true}"#
        );
        assert_eq!(
            serde_json::to_string(&NodeIdBody { node_id: 4 }).unwrap(),
            r#"{"node_id":4}"#
        );
        let rec: MemberRecord = serde_json::from_str(
            r#"{"id":3,"api_url":"http://a","health_url":"http://h","raft_addr":"r"}"#,
        )
        .unwrap();
        assert!(rec.labels.is_empty());
        assert_eq!(
            serde_json::to_string(&rec).unwrap(),
            r#"{"id":3,"api_url":"http://a","health_url":"http://h","raft_addr":"r","labels":{}}"#
        );
    }
}
