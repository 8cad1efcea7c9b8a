//! Pure, deterministic node selection: which cluster node receives a request.
//!
//! Selection runs in three steps, each a reusable public function so the
//! client and the conformance tests exercise exactly the same code:
//!
//! 1. [`suitable_into`] / [`suitable`] (`filter`): the nodes allowed to
//!    serve the operation, following the MongoDB server-selection rules
//!    (role, read preference, tag sets, deprioritized servers) plus ejection.
//! 2. [`retain_latency_window`] / [`in_latency_window`] (`window`): of those,
//!    the nodes whose RTT average is within `latency_window` of the fastest.
//! 3. [`Balancer::pick`] (`balance`): one node of the window, by
//!    [`BalancePolicy`]; one file per policy (`round_robin`,
//!    `weighted_round_robin`, `least_in_flight`, `p2c`, `key_hash`).
//!
//! [`Selector::select`] (`selector`) chains the three steps with reusable
//! scratch buffers, so a pick allocates nothing once the buffers have grown
//! to cluster size. Every function returns indices into the caller's
//! `&[Candidate]` slice. The shared vocabulary ([`NodeId`], [`Role`],
//! [`Candidate`], [`ReadPreference`]...) is in `types`, the settings
//! ([`SelectionConfig`]) in `config`.

mod balance;
mod config;
mod filter;
mod selector;
#[cfg(test)]
mod test_support;
mod types;
mod window;

pub use balance::{hash_key, key_hash, p2c, Balancer};
pub use config::{SelectionConfig, DEFAULT_LATENCY_WINDOW};
pub use filter::{suitable, suitable_into, tags_match};
pub use selector::{PickRequest, Selector};
pub use types::{
    BalancePolicy, Candidate, NodeId, Operation, ReadConsistency, ReadPreference, Role, TagSet,
    NO_LABELS,
};
pub use window::{in_latency_window, retain_latency_window};
