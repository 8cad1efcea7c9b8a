//! `kv-node`: one node of a Raft-replicated key-value service.
//!
//! Each node is an actix-web server with a d-engine Raft engine embedded in the
//! same process. Data flows like this:
//!
//! - [`config`] reads the node's TOML file (`[node]` here, the rest for d-engine);
//! - [`engine`] starts d-engine with its file storage and classifies its errors;
//!   [`disk`] wraps that storage to count fsyncs and turn disk errors into
//!   507 `storage_full` / 503 `storage_failed`;
//! - the [`cluster_view`] actor turns d-engine's leader and membership events and
//!   the member [`registry`] into a [`topology::NodeView`] snapshot, whose
//!   `/topology` document is the wire contract's [`kv_contract::Topology`];
//! - `routes` serve `/kv` (writes forwarded one hop to the leader by `forward`),
//!   `/topology`, `/primary`, `/replica`, `/metrics`; request input is checked by
//!   [`validate`] and every failure is one [`error::ApiError`];
//! - [`membership`] stores the applied membership for restarts and notices a
//!   removal (the node then answers 503 `removed`);
//! - [`progress`] tracks applied and commit indexes and replication lag;
//! - [`server`] wires it together on caller-bound listeners with a shutdown future.
//!
//! Every JSON body and `x-kv-*` header name the node sends or reads is defined
//! once, in the `kv-contract` crate (`contract/`), shared with the smart client.
//!
//! The `kv-harness` crate (`harness/`) starts real multi-node clusters of
//! `kv-node` processes for the tests, the demo and the benchmark.

pub mod auth;
pub mod cluster_view;
pub mod config;
pub mod disk;
pub mod engine;
pub mod error;
mod forward;
pub mod membership;
pub mod progress;
pub mod registry;
mod routes;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod topology;
pub mod validate;

pub use config::{Consistency, NodeConfig, NodeSettings, Overrides};
pub use error::{ApiError, NodeError};
pub use server::{init_tracing, run, serve, shutdown_signal, Listeners};
pub use topology::NodeView;
