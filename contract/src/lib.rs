//! The wire contract of the key-value service: every JSON document and
//! header name that crosses the HTTP API, in one place.
//!
//! The node serializes these types and the smart client, the test harness and
//! the demo deserialize them, so a field added or renamed on one side is a
//! compile error on the others, not a silent mismatch. The JSON is the
//! documented one (README, "HTTP contract"; `ARCHITECTURE.md`), byte for byte:
//! field names, field order, optional fields and enum spellings are part of
//! the contract that tools such as `curl` scripts and HAProxy rely on.
//!
//! - [`topology`]: `GET /topology` ([`Topology`], [`Member`], [`Role`]);
//! - [`kv`]: the `/kv` request and answer bodies and the `consistency` query;
//! - [`error`]: the JSON body of every error answer ([`ErrorBody`]);
//! - [`headers`]: the `x-kv-*` header names;
//! - [`cluster`]: `/primary` and `/replica` answers, the admin bodies and
//!   the member record nodes exchange on `/internal/members`.
//!
//! Decoding is lenient where the smart client always was (missing counters
//! and lists default, unknown fields are ignored, an unknown role decodes as
//! [`Role::Unknown`]), so an older client keeps working against a newer node.

pub mod cluster;
pub mod error;
pub mod headers;
pub mod kv;
pub mod topology;

pub use cluster::{MemberRecord, NodeIdBody, PromoteAnswer, RemoveAnswer, RoleAnswer};
pub use error::{ErrorBody, Outcome};
pub use kv::{
    eventual_min_index_query, CasBody, Consistency, ListAnswer, ListItem, OkAnswer, PostBody,
    PutBody, ValueAnswer, WatchEvent, WatchKind,
};
pub use topology::{Member, Role, Topology};
