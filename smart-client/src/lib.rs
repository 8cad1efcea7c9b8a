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
//! * [`SmartClient`] (`client`): the `Send + Sync + Clone` handle, made by
//!   [`SmartClientBuilder`] (`builder`) from a [`ClientConfig`] (`config`).
//!   It encodes the call (`request`) and queues it to the I/O thread. The
//!   state the handle shares with that thread lives in `shared`, so the I/O
//!   side never imports the handle's file. On an actix system thread a call
//!   runs on that thread instead, and a [`LocalClient`] (`local`, from
//!   [`SmartClient::local`]) runs it inline in the caller's own future.
//! * `worker`: the I/O thread (an actix system) that owns the `!Send` awc
//!   client (`transport`). `worker/bootstrap` fetches the first topology;
//!   `worker/execute` runs a call's retry loop ([`retry`]); `worker/routing`
//!   picks a node (the cached leader, or [`selection`] for eventual reads);
//!   `worker/attempt` sends one attempt and records per-node figures
//!   (`node_state`, [`ewma`], [`Stats`]); `worker/decode` reads the body.
//! * `refresher` and `prober`: actors on the same thread that keep the
//!   cached [`TopologyView`] (`topology`) current and re-admit ejected nodes;
//!   requests wake the refresher through `refresh_trigger`.
//!
//! Session consistency: each handle (with its clones), and each
//! [`Session`] from [`SmartClient::session`], tracks the highest log index
//! it has written or read and sends it as `min_index` on eventual reads, so
//! they see the session's own writes and never go back in time while still
//! being served by followers ([`SmartClientBuilder::session_consistency`]
//! turns this off). [`SmartClientBuilder::max_staleness`] keeps followers
//! that lag the leader's commit by more than a bound out of selection.
//!
//! The two public modules hold one concept per file:
//!
//! * [`selection`]: `types` (the vocabulary: [`NodeId`], [`Role`],
//!   [`TagSet`], [`ReadConsistency`], [`ReadPreference`], ...), `config`,
//!   `filter` (suitable set), `window` (latency window),
//!   `balance/{round_robin, weighted_round_robin, least_in_flight, p2c,
//!   key_hash}` and `selector` (the pipeline).
//! * [`retry`]: `backoff`, `budget`, `policy` and `ejection`.
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

mod builder;
mod client;
mod config;
mod error;
mod local;
mod metrics;
mod node_state;
mod prober;
mod refresh_trigger;
mod refresher;
mod request;
mod session;
mod shared;
mod stats;
mod topology;
mod transport;
mod worker;

pub mod watch;

pub mod ewma;
pub mod retry;
pub mod selection;

pub use builder::SmartClientBuilder;
pub use client::SmartClient;
pub use config::ClientConfig;
pub use error::{Error, Result};
pub use kv_contract::{ListAnswer, ListItem};
pub use kv_contract::{WatchEvent, WatchKind};
pub use local::LocalClient;
pub use retry::{Backoff, EjectionPolicy, Jitter, RetryPolicy};
pub use selection::{BalancePolicy, NodeId, ReadConsistency, ReadPreference, Role, TagSet};
pub use session::Session;
pub use stats::{NodeStats, Stats};
pub use topology::{Member, TopologyView};
pub use watch::{Watch, WatchItem};
