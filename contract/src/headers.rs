//! The `x-kv-*` response (and forwarding) header names, lower case.
//!
//! Every answer names the node that served it and the leader it knows, so a
//! client learns a leader change from any reply.

/// The node that answered (its id).
pub const NODE: &str = "x-kv-node";
/// The leader the answering node knows (absent during an election).
pub const LEADER: &str = "x-kv-leader";
/// The API URL of that leader, when it has published one.
pub const LEADER_URL: &str = "x-kv-leader-url";
/// The Raft term the answering node knows.
pub const TERM: &str = "x-kv-term";
/// Set when a follower forwarded the request: the leader it went to.
pub const FORWARDED_TO: &str = "x-kv-forwarded-to";
/// Set by a follower on a forwarded request (its id), so the leader never forwards again.
pub const FORWARDED_BY: &str = "x-kv-forwarded-by";
/// On a successful write: a log index at or after that write, already
/// applied on the leader when it answered.
pub const INDEX: &str = "x-kv-index";
/// On every read answer (also forwarded ones, and a 503 `min_index_not_reached`):
/// the serving node's applied index, taken after the read (the value may come
/// from an entry applied while the read ran, so the index covers it).
pub const APPLIED_INDEX: &str = "x-kv-applied-index";
