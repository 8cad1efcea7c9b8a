//! The public handle.
//!
//! [`SmartClient`] is `Send + Sync + Clone`: it holds an `Arc` of the shared
//! state (`shared`: topology cache, per-node state, counters — all readable
//! without blocking) and the sending end of the I/O thread's queue. Each
//! call is encoded on the caller's thread and sent as a [`Call`] with a
//! oneshot for the answer; the I/O thread (see [`crate::worker`]) runs it as
//! a local task. When the last handle is dropped the queue closes and the
//! thread stops. [`SmartClient::builder`] is in `builder`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::request::{consistency_query, key_path, value_body, Call, Op};
use crate::selection::ReadConsistency;
use crate::shared::Shared;
use crate::stats::{Counters, NodeStats, Stats};
use crate::topology::TopologyView;

/// Topology-aware handle to the KV cluster; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct SmartClient {
    inner: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    calls: mpsc::UnboundedSender<Call>,
}

impl std::fmt::Debug for SmartClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartClient")
            .field("seeds", &self.inner.shared.config.seeds)
            .field("leader", &self.inner.shared.cache.leader().1)
            .finish()
    }
}

impl SmartClient {
    /// Starts the I/O thread and bootstraps from the seeds.
    pub(crate) async fn start(config: ClientConfig) -> Result<Self> {
        let shared = Arc::new(Shared::new(config));
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        crate::worker::spawn(shared.clone(), rx, ready_tx)?;
        ready_rx.await.map_err(|_| Error::Shutdown)??;
        Ok(Self {
            inner: Arc::new(Handle { shared, calls: tx }),
        })
    }

    async fn call(
        &self,
        op: Op,
        path: String,
        body: Option<Bytes>,
        key_len: usize,
    ) -> Result<Option<Bytes>> {
        let (reply, rx) = oneshot::channel();
        let call = Call {
            op,
            path,
            body,
            key_len,
            reply,
        };
        self.inner.calls.send(call).map_err(|_| Error::Shutdown)?;
        rx.await.map_err(|_| Error::Shutdown)?
    }

    /// Writes `value` under `key` (both UTF-8; anything else is a
    /// [`Error::BadRequest`] raised before sending).
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let key = key.as_ref();
        let path = key_path(key, "")?;
        let body = value_body(value.as_ref())?;
        self.call(Op::Put, path, Some(body), key.len())
            .await
            .map(drop)
    }

    /// [`SmartClient::put`] for string keys and values.
    pub async fn put_str(&self, key: &str, value: &str) -> Result<()> {
        self.put(key, value).await
    }

    /// Reads `key` with the given consistency; `Ok(None)` if it is absent.
    pub async fn get(
        &self,
        key: impl AsRef<[u8]>,
        consistency: ReadConsistency,
    ) -> Result<Option<Bytes>> {
        let key = key.as_ref();
        let path = key_path(key, consistency_query(consistency))?;
        self.call(Op::Get(consistency), path, None, key.len()).await
    }

    /// [`SmartClient::get`] returning a `String`.
    pub async fn get_str(&self, key: &str, consistency: ReadConsistency) -> Result<Option<String>> {
        let value = self.get(key, consistency).await?;
        // The server only stores strings, so this is always valid UTF-8.
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Deletes `key` (succeeds whether or not it existed).
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let key = key.as_ref();
        let path = key_path(key, "")?;
        self.call(Op::Delete, path, None, key.len()).await.map(drop)
    }

    /// The cached topology, with the leader the client currently routes to.
    #[must_use]
    pub fn topology(&self) -> TopologyView {
        self.inner.shared.cache.snapshot()
    }

    /// Counters and per-node figures.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let shared = &self.inner.shared;
        let view = shared.cache.snapshot();
        let now = tokio::time::Instant::now();
        let nodes = shared
            .registry
            .all()
            .into_iter()
            .map(|(id, s)| NodeStats {
                id,
                role: view
                    .member(id)
                    .map_or(crate::selection::Role::Unknown, |m| m.role),
                requests: Counters::read(&s.requests),
                errors: Counters::read(&s.errors),
                in_flight: s.in_flight.load(Ordering::Relaxed),
                latency_ewma: s.rtt.get(),
                ejected: s.is_ejected(now),
            })
            .collect();
        let c = &shared.counters;
        Stats {
            nodes,
            leader_changes_seen: Counters::read(&c.leader_changes_seen),
            retries: Counters::read(&c.retries),
            forwarded_writes: Counters::read(&c.forwarded_writes),
            requests: Counters::read(&c.requests),
            errors: Counters::read(&c.errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<SmartClient>();
    }
}
