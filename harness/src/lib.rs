//! Test and demo harness: real multi-node clusters of `kv-node` processes,
//! shared by the integration tests of every crate, the demo and the benchmark.
//!
//! [`Cluster::start`] writes one config per node into a temp dir (free ports
//! for Raft, API and health), spawns the processes and returns at once;
//! [`Cluster::wait_for_leader`] waits, with a deadline, until every live node
//! agrees on a leader whose URL is published. Nodes can be killed (SIGKILL),
//! paused (SIGSTOP/SIGCONT), stopped (SIGTERM) and restarted on the same ports
//! and data. Every child is killed when the `Cluster` is dropped (also while a
//! test panics; node logs are then printed), and, on Linux, if the process
//! that spawned it dies.
//!
//! HTTP here is blocking (`ureq`): the nodes are separate processes, so waits
//! do not depend on the caller's runtime. From async code, wrap long waits in
//! `spawn_blocking`.
//!
//! Modules: [`cluster`] (the nodes and their lifecycle), [`acks`] (the log
//! of acknowledged writes and the check that they read back), [`agreement`]
//! (what the nodes' `/topology` documents agree on: the leader, a member's
//! role), [`http`] (blocking GETs, typed with the `kv-contract` wire types),
//! [`process`] (ports, signals, waits), [`binary`] (finding or building
//! `kv-node`), [`haproxy`] (a real HAProxy in front of a cluster), [`proxy`]
//! (TCP proxies on the Raft links, for partitions and delay), [`powercut`]
//! (a FUSE filesystem whose unsynced data a power cut takes back).

pub mod acks;
pub mod agreement;
pub mod binary;
pub mod cluster;
pub mod haproxy;
pub mod http;
pub mod powercut;
pub mod process;
pub mod proxy;

pub use acks::{missing_on, Ack, AckLog};
pub use agreement::{agreed_leader, agreed_role};
pub use binary::{build_node_binary, node_binary, node_binary_or_build};
pub use cluster::{Cluster, ClusterOptions, NodeProc};
pub use haproxy::{haproxy_binary, haproxy_config};
pub use http::{get_json, metric, topology_at};
pub use powercut::{FileActivity, PowerCutFs};
pub use process::{die_with_parent, free_ports, wait_until};
pub use proxy::{LinkProxy, RaftNet};
