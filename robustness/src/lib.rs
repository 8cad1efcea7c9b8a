//! Robustness suite: histories of real clients against a real 3-node
//! cluster under crashes, pauses and network faults, checked for
//! linearizability (the approach of etcd's robustness tests and Jepsen).
//!
//! How a run flows:
//!
//! * [`scenario`]: starts a cluster whose Raft links go through the
//!   harness's TCP proxies ([`kv_harness::RaftNet`]), runs [`traffic`]
//!   (smart-client handles and plain HTTP clients pinned to single nodes,
//!   every call recorded in a [`history::Recorder`]), injects and undoes a
//!   fault from [`faults`], runs the [`final_checks`] and the [`checker`].
//! * [`checker`]: per key, linearizability of puts, deletes, linearizable
//!   and lease reads ([`checker::porcupine`], a port of Porcupine's search),
//!   the rule for eventual reads, the shortest offending excerpt
//!   ([`checker::minimize`]).
//! * [`report`]: on failure, the history (JSON), timelines (text and HTML)
//!   and node logs under `target/robustness/`.
//! * [`plan`]: the regression list, the CI selection, the whole list and
//!   the soak.
//!
//! Session reads (read-your-writes) are not covered: the client has no
//! sessions yet.

pub mod checker;
pub mod faults;
pub mod final_checks;
pub mod history;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod traffic;

pub use checker::{check, Budget, CheckReport, Violation, ViolationKind};
pub use faults::Fault;
pub use history::{History, Kind, Op, Outcome, Recorder};
pub use scenario::{ScenarioConfig, ScenarioResult};
