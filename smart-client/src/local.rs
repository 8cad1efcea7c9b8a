//! [`LocalClient`]: a [`SmartClient`] pinned to the current actix system
//! thread (an actix-web handler's worker, an `#[actix_rt::main]` program).
//!
//! A `SmartClient` call made on such a thread already runs there, but as a
//! task of its own that answers through a reply channel, so that the
//! caller's future stays `Send`. A `LocalClient` runs the call inline, in the
//! caller's own future, on this thread's worker (its awc connections and
//! selection state): no task, no channel, no wake-up in between. The price is
//! that it is `!Send`: keep one per thread (e.g. in a `thread_local!` or an
//! actix-web worker's app data), never move it to another thread. It shares
//! the handle's topology, node health, retry budget and session.

use std::rc::Rc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use kv_contract::ListAnswer;

use crate::client::{Runner, SmartClient};
use crate::error::{Error, Result};
use crate::request::{Answer, Op};
use crate::selection::ReadConsistency;
use crate::stats::Counters;
use crate::worker::{local_worker, Worker};

/// A `!Send` handle whose calls run inline on the current actix system
/// thread; see [`SmartClient::local`]. Same semantics as the
/// [`SmartClient`] it came from, in that handle's session.
#[derive(Clone)]
pub struct LocalClient {
    client: SmartClient,
    worker: Rc<Worker>,
}

impl std::fmt::Debug for LocalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalClient")
            .field("client", &self.client)
            .finish()
    }
}

impl SmartClient {
    /// A handle for this thread whose calls run inline (no task and reply
    /// channel per call, unlike this `Send` handle); see [`LocalClient`].
    /// [`Error::Config`] off an actix system thread (the client's HTTP
    /// connections need its `LocalSet`).
    pub fn local(&self) -> Result<LocalClient> {
        let worker = local_worker(self.shared()).ok_or_else(|| {
            Error::Config("SmartClient::local needs an actix system thread".into())
        })?;
        Ok(LocalClient {
            client: self.clone(),
            worker,
        })
    }
}

impl Runner for LocalClient {
    async fn run(
        &self,
        op: Op,
        path: String,
        body: Option<Bytes>,
        key_len: usize,
    ) -> Result<Answer> {
        // No shutdown check: this handle holds a `SmartClient`, so the
        // client cannot be closed while it exists.
        Counters::bump(&self.client.shared().counters.calls_on_caller_thread);
        self.worker.run(op, &path, body, key_len).await
    }
}

impl LocalClient {
    /// [`SmartClient::put`], inline.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let c = &self.client;
        c.put_in(self, c.session_cell(), key.as_ref(), value.as_ref(), None)
            .await
    }

    /// [`SmartClient::get`], inline.
    pub async fn get(
        &self,
        key: impl AsRef<[u8]>,
        consistency: ReadConsistency,
    ) -> Result<Option<Bytes>> {
        let c = &self.client;
        c.get_in(self, c.session_cell(), key.as_ref(), consistency)
            .await
    }

    /// [`SmartClient::delete`], inline.
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let c = &self.client;
        c.delete_in(self, c.session_cell(), key.as_ref()).await
    }

    /// [`SmartClient::compare_and_swap`], inline (never retried after an
    /// unknown outcome either).
    pub async fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<&[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool> {
        let c = &self.client;
        c.compare_and_swap_in(
            self,
            c.session_cell(),
            key.as_ref(),
            expected,
            value.as_ref(),
            None,
        )
        .await
    }

    /// [`SmartClient::scan_prefix`], inline.
    pub async fn scan_prefix(
        &self,
        prefix: impl AsRef<[u8]>,
        limit: usize,
        consistency: ReadConsistency,
    ) -> Result<ListAnswer> {
        let c = &self.client;
        c.scan_prefix_in(self, c.session_cell(), prefix.as_ref(), limit, consistency)
            .await
    }

    /// The highest log index the handle's session has written or read.
    #[must_use]
    pub fn session_index(&self) -> u64 {
        self.client.session_cell().load(Ordering::Acquire)
    }

    /// The `Send` handle this one runs for.
    #[must_use]
    pub fn client(&self) -> &SmartClient {
        &self.client
    }
}
