//! Topology-aware client for the Raft-replicated KV service.
//!
//! The client reads the cluster's `/topology`, caches the leader, sends
//! writes and strong reads straight to it and spreads eventual reads over
//! the followers, so an application needs no proxy hop in front of the
//! cluster. Replies that name another leader update the cache at once;
//! failures eject nodes, trigger one shared refresh and are retried with
//! jittered backoff inside the call's deadline and a retry budget.
//!
//! How a call flows:
//!
//! * [`SmartClient`] (`client`): the `Send + Sync + Clone` handle. It encodes
//!   the call (`request`) and queues it to the I/O thread.
//! * `worker`: the I/O thread (an actix system) that owns the `!Send` awc
//!   client (`transport`), picks a node (the cached leader, or
//!   [`selection`] for eventual reads), retries ([`retry`]) and records
//!   per-node figures (`node_state`, [`ewma`], [`Stats`]).
//! * `refresher` and `prober`: actors on the same thread that keep the
//!   cached [`TopologyView`] (`topology`) current and re-admit ejected nodes.
//!
//! ```no_run
//! use std::time::Duration;
//! use smart_client::{ReadConsistency, SmartClient};
//!
//! # async fn demo() -> smart_client::Result<()> {
//! let client = SmartClient::builder()
//!     .seeds(["http://127.0.0.1:8081", "http://127.0.0.1:8082"])
//!     .request_timeout(Duration::from_secs(5))
//!     .build()
//!     .await?;
//! client.put_str("greeting", "hello").await?;
//! let v = client.get_str("greeting", ReadConsistency::Eventual).await?;
//! assert_eq!(v.as_deref(), Some("hello"));
//! client.delete("greeting").await?;
//! println!("leader: {:?}", client.topology().leader_id);
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod error;
mod node_state;
mod prober;
mod refresher;
mod request;
mod stats;
mod topology;
mod transport;
mod worker;

pub mod ewma;
pub mod retry;
pub mod selection;

pub use client::SmartClient;
pub use config::{ClientConfig, SmartClientBuilder};
pub use error::{Error, Result};
pub use retry::{Backoff, EjectionPolicy, Jitter, RetryPolicy};
pub use selection::{BalancePolicy, NodeId, ReadConsistency, ReadPreference, Role, TagSet};
pub use stats::{NodeStats, Stats};
pub use topology::{Member, TopologyView};
