//! The public handle.
//!
//! [`SmartClient`] is `Send + Sync + Clone`: it holds an `Arc` of the shared
//! state (`shared`: topology cache, per-node state, counters — all readable
//! without blocking) and the sending end of the I/O thread's queue. Each
//! call is encoded on the caller's thread and sent as a [`Call`] with a
//! oneshot for the answer; the I/O thread (see [`crate::worker`]) runs it as
//! a local task. When the last handle is dropped the queue closes and the
//! thread stops. [`SmartClient::builder`] is in `builder`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::config::ClientConfig;
use crate::error::{Error, Result};
use kv_contract::kv::CAS_FAILED;
use kv_contract::{eventual_min_index_query, ListAnswer};

use crate::request::{
    cas_body, consistency_query, key_path, list_path, value_body, Answer, Call, Op,
};
use crate::selection::ReadConsistency;
use crate::session::Session;
use crate::shared::Shared;
use crate::stats::{Counters, NodeStats, Stats};
use crate::topology::TopologyView;
use crate::watch::Watch;

/// Topology-aware handle to the KV cluster; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct SmartClient {
    inner: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    calls: mpsc::UnboundedSender<Call>,
    /// The handle's own session index (shared by its clones).
    session: AtomicU64,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The I/O thread stops when `calls` closes; workers cached on
        // callers' threads drop the shared state at their next call.
        self.shared.close();
    }
}

/// Where a call runs. A [`SmartClient`] runs it as a task on the caller's
/// actix thread or on the I/O thread and awaits a reply channel, so its
/// futures are `Send`; a [`crate::LocalClient`] runs it inline on this thread's
/// worker. The request building and session bookkeeping below are the same
/// for both.
pub(crate) trait Runner {
    async fn run(
        &self,
        op: Op,
        path: String,
        body: Option<Bytes>,
        key_len: usize,
    ) -> Result<Answer>;
}

impl Runner for SmartClient {
    async fn run(
        &self,
        op: Op,
        path: String,
        body: Option<Bytes>,
        key_len: usize,
    ) -> Result<Answer> {
        self.call(op, path, body, key_len).await
    }
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
            inner: Arc::new(Handle {
                shared,
                calls: tx,
                session: AtomicU64::new(0),
            }),
        })
    }

    async fn call(
        &self,
        op: Op,
        path: String,
        body: Option<Bytes>,
        key_len: usize,
    ) -> Result<Answer> {
        let (reply, rx) = oneshot::channel();
        let call = Call {
            op,
            path,
            body,
            key_len,
            reply,
        };
        if let Some(call) = crate::worker::run_here(&self.inner.shared, call) {
            self.inner.calls.send(call).map_err(|_| Error::Shutdown)?;
        }
        rx.await.map_err(|_| Error::Shutdown)?
    }

    /// The query of a read for `session`: an eventual read carries the
    /// session's index as `min_index` (unless sessions are off).
    fn read_query(&self, session: &AtomicU64, consistency: ReadConsistency) -> Cow<'static, str> {
        let index = session.load(Ordering::Acquire);
        if consistency == ReadConsistency::Eventual
            && index > 0
            && self.inner.shared.config.session_consistency
        {
            Cow::Owned(eventual_min_index_query(index))
        } else {
            Cow::Borrowed(consistency_query(consistency))
        }
    }

    /// Runs a call for `session` on `path`; every answer's index advances
    /// the session.
    async fn session_call(
        &self,
        via: &impl Runner,
        session: &AtomicU64,
        op: Op,
        path: String,
        body: Option<Bytes>,
        key_len: usize,
    ) -> Result<Option<Bytes>> {
        let answer = via.run(op, path, body, key_len).await?;
        if let Some(index) = answer.index {
            session.fetch_max(index, Ordering::AcqRel);
        }
        Ok(answer.value)
    }

    pub(crate) async fn put_in(
        &self,
        via: &impl Runner,
        session: &AtomicU64,
        key: &[u8],
        value: &[u8],
        ttl_secs: Option<u64>,
    ) -> Result<()> {
        let body = value_body(value, ttl_secs)?;
        let path = key_path(key, "")?;
        self.session_call(via, session, Op::Put, path, Some(body), key.len())
            .await
            .map(drop)
    }

    pub(crate) async fn get_in(
        &self,
        via: &impl Runner,
        session: &AtomicU64,
        key: &[u8],
        consistency: ReadConsistency,
    ) -> Result<Option<Bytes>> {
        let path = key_path(key, &self.read_query(session, consistency))?;
        self.session_call(via, session, Op::Get(consistency), path, None, key.len())
            .await
    }

    pub(crate) async fn delete_in(
        &self,
        via: &impl Runner,
        session: &AtomicU64,
        key: &[u8],
    ) -> Result<()> {
        let path = key_path(key, "")?;
        self.session_call(via, session, Op::Delete, path, None, key.len())
            .await
            .map(drop)
    }

    pub(crate) async fn compare_and_swap_in(
        &self,
        via: &impl Runner,
        session: &AtomicU64,
        key: &[u8],
        expected: Option<&[u8]>,
        value: &[u8],
        ttl_secs: Option<u64>,
    ) -> Result<bool> {
        let body = cas_body(expected, value, ttl_secs)?;
        let mut path = key_path(key, "")?;
        path.push_str("/cas");
        match self
            .session_call(via, session, Op::Cas, path, Some(body), key.len())
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::BadRequest { code, .. }) if code == CAS_FAILED => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Atomically sets `key` to `value` if it holds `expected` (`None`: if
    /// it is absent); `Ok(true)` when swapped, `Ok(false)` when the key held
    /// something else (nothing written). Goes to the leader like a write.
    /// Never retried after an attempt whose outcome is unknown (a timeout,
    /// a connection lost after sending, a 504), whatever
    /// `retry_unknown_writes` says: sent again, a swap that was applied would
    /// fail and report a loss. Such a call ends with [`Error::Timeout`]; read
    /// the key to learn the outcome.
    pub async fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<&[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool> {
        self.compare_and_swap_in(
            self,
            &self.inner.session,
            key.as_ref(),
            expected,
            value.as_ref(),
            None,
        )
        .await
    }

    /// [`SmartClient::compare_and_swap`] whose swapped-in value expires `ttl`
    /// after it is applied (whole seconds, rounded up; at least 1 s), as
    /// [`SmartClient::put_with_ttl`]: a lock with a lease. The cluster must
    /// have keys with a TTL on (else [`Error::BadRequest`] `ttl_disabled`).
    pub async fn compare_and_swap_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<&[u8]>,
        value: impl AsRef<[u8]>,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        self.compare_and_swap_in(
            self,
            &self.inner.session,
            key.as_ref(),
            expected,
            value.as_ref(),
            Some(ttl_secs(ttl)),
        )
        .await
    }

    /// Writes `value` under `key`, to expire `ttl` after it is applied
    /// (whole seconds, rounded up; at least 1 s), on every node and across
    /// leader changes. As [`SmartClient::put`] otherwise.
    pub async fn put_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: std::time::Duration,
    ) -> Result<()> {
        self.put_in(
            self,
            &self.inner.session,
            key.as_ref(),
            value.as_ref(),
            Some(ttl_secs(ttl)),
        )
        .await
    }

    pub(crate) async fn scan_prefix_in(
        &self,
        via: &impl Runner,
        session: &AtomicU64,
        prefix: &[u8],
        limit: usize,
        consistency: ReadConsistency,
    ) -> Result<ListAnswer> {
        let path = list_path(prefix, limit, &self.read_query(session, consistency))?;
        let body = self
            .session_call(
                via,
                session,
                Op::List(consistency),
                path,
                None,
                prefix.len(),
            )
            .await?
            .unwrap_or_default();
        serde_json::from_slice(&body).map_err(|e| Error::Unavailable {
            last_error: format!("unreadable listing: {e}"),
        })
    }

    /// The keys starting with `prefix` (all keys when it is empty) and their
    /// values, sorted by key, at most `limit` (1 to 1000) of them;
    /// `truncated` says more keys matched. `consistency` as for
    /// [`SmartClient::get`]: eventual listings go to a follower (with this
    /// handle's session index), lease and linearizable ones to the leader,
    /// which confirms its leadership first. Advances the session.
    pub async fn scan_prefix(
        &self,
        prefix: impl AsRef<[u8]>,
        limit: usize,
        consistency: ReadConsistency,
    ) -> Result<ListAnswer> {
        self.scan_prefix_in(
            self,
            &self.inner.session,
            prefix.as_ref(),
            limit,
            consistency,
        )
        .await
    }

    /// Every change of `key` from now on, as a [`Watch`] stream that moves
    /// to another member when its node dies and says so
    /// ([`crate::WatchItem::Missed`]) when changes may have been missed meanwhile;
    /// see [`crate::watch`]. Needs a tokio runtime (the stream reads on the
    /// caller's runtime, not on the client's I/O thread).
    pub async fn watch(&self, key: impl AsRef<[u8]>) -> Result<Watch> {
        let path = crate::request::watch_key_path(key.as_ref())?;
        crate::watch::start(self.inner.shared.clone(), path).await
    }

    /// Every change of every key under `prefix`, which must start and end
    /// with `/` (a directory-style prefix, as the server requires); as
    /// [`SmartClient::watch`].
    pub async fn watch_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Watch> {
        let path = crate::request::watch_prefix_path(prefix.as_ref())?;
        crate::watch::start(self.inner.shared.clone(), path).await
    }

    /// Writes `value` under `key` (both UTF-8; anything else is a
    /// [`Error::BadRequest`] raised before sending). Advances this handle's
    /// session to the write's index.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.put_in(
            self,
            &self.inner.session,
            key.as_ref(),
            value.as_ref(),
            None,
        )
        .await
    }

    /// [`SmartClient::put`] for string keys and values.
    pub async fn put_str(&self, key: &str, value: &str) -> Result<()> {
        self.put(key, value).await
    }

    /// Reads `key` with the given consistency; `Ok(None)` if it is absent.
    ///
    /// An eventual read sees at least every write and read this handle (and
    /// its clones) has completed: it carries the handle's session index as
    /// `min_index` unless [`crate::SmartClientBuilder::session_consistency`]
    /// turned that off. A node that has not applied it in time answers
    /// `min_index_not_reached` and the read goes to another node, the
    /// leader last.
    pub async fn get(
        &self,
        key: impl AsRef<[u8]>,
        consistency: ReadConsistency,
    ) -> Result<Option<Bytes>> {
        self.get_in(self, &self.inner.session, key.as_ref(), consistency)
            .await
    }

    /// [`SmartClient::get`] returning a `String`.
    pub async fn get_str(&self, key: &str, consistency: ReadConsistency) -> Result<Option<String>> {
        let value = self.get(key, consistency).await?;
        // The server only stores strings, so this is always valid UTF-8.
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Deletes `key` (succeeds whether or not it existed).
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.delete_in(self, &self.inner.session, key.as_ref())
            .await
    }

    /// A new session with its own index (starting at 0) and the same
    /// get/put/delete API, sharing this client's connections and topology.
    /// Use one per causal chain (e.g. per end user) so that one chain's
    /// writes do not make another's follower reads wait.
    #[must_use]
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// This handle's session index (shared by its clones and its
    /// [`LocalClient`]s).
    pub(crate) fn session_cell(&self) -> &AtomicU64 {
        &self.inner.session
    }

    /// The shared state, for [`SmartClient::local`].
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// The highest log index this handle's session has written or read
    /// (0 before the first answer): its causal token.
    #[must_use]
    pub fn session_index(&self) -> u64 {
        self.inner.session.load(Ordering::Acquire)
    }

    /// Raises this handle's session index to at least `index` (a token
    /// from another handle or process, as MongoDB's `advanceOperationTime`),
    /// so its eventual reads see everything up to `index`.
    pub fn advance_session_index(&self, index: u64) {
        self.inner.session.fetch_max(index, Ordering::AcqRel);
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
            calls_on_caller_thread: Counters::read(&c.calls_on_caller_thread),
        }
    }
}

/// A TTL in whole seconds as the server takes it: rounded up, at least 1 s.
fn ttl_secs(ttl: std::time::Duration) -> u64 {
    (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<SmartClient>();
        check::<Session>();
    }

    /// Calls can be spawned on a multi-threaded runtime: the futures stay
    /// `Send` although calls may run on the caller's (actix) thread.
    #[allow(dead_code, clippy::let_underscore_future)]
    fn call_futures_are_send(c: &SmartClient, s: &Session) {
        fn send<T: Send>(_: T) {}
        send(c.put("k", "v"));
        send(c.get("k", ReadConsistency::Eventual));
        send(c.delete("k"));
        send(s.get("k", ReadConsistency::Eventual));
    }
}
