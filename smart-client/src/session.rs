//! Explicit sessions: several causal chains over one client.
//!
//! Every [`SmartClient`] handle (with its clones) is one session by default.
//! A [`Session`] from [`SmartClient::session`] has its own index and the same
//! get/put/delete API: its eventual reads see its own writes and never go
//! back in time (read-your-writes, monotonic reads), while still being served
//! by followers. The index is the highest `x-kv-index` (write) or
//! `x-kv-applied-index` (read) the session has seen; eventual reads send it
//! as `min_index`, and a node that has not applied it in time answers
//! `min_index_not_reached`, which sends the read to another node, the leader
//! last (it has applied every index it acknowledged).
//!
//! A read's `x-kv-applied-index` is the node's applied index taken just after
//! the read, so it covers every entry the value can come from (also one
//! applied while the read ran).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::client::SmartClient;
use crate::error::Result;
use crate::selection::ReadConsistency;

/// A causal session over a [`SmartClient`]; cheap to clone (clones share
/// the index), `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Session {
    client: SmartClient,
    index: Arc<AtomicU64>,
}

impl Session {
    pub(crate) fn new(client: SmartClient) -> Self {
        Self {
            client,
            index: Arc::new(AtomicU64::new(0)),
        }
    }

    /// [`SmartClient::put`] in this session.
    pub async fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.client
            .put_in(
                &self.client,
                &self.index,
                key.as_ref(),
                value.as_ref(),
                None,
            )
            .await
    }

    /// [`SmartClient::put_str`] in this session.
    pub async fn put_str(&self, key: &str, value: &str) -> Result<()> {
        self.put(key, value).await
    }

    /// [`SmartClient::get`] in this session: an eventual read sees at least
    /// this session's index.
    pub async fn get(
        &self,
        key: impl AsRef<[u8]>,
        consistency: ReadConsistency,
    ) -> Result<Option<Bytes>> {
        self.client
            .get_in(&self.client, &self.index, key.as_ref(), consistency)
            .await
    }

    /// [`SmartClient::get_str`] in this session.
    pub async fn get_str(&self, key: &str, consistency: ReadConsistency) -> Result<Option<String>> {
        let value = self.get(key, consistency).await?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// [`SmartClient::scan_prefix`] in this session: an eventual listing
    /// sees at least this session's index.
    pub async fn scan_prefix(
        &self,
        prefix: impl AsRef<[u8]>,
        limit: usize,
        consistency: ReadConsistency,
    ) -> Result<kv_contract::ListAnswer> {
        self.client
            .scan_prefix_in(
                &self.client,
                &self.index,
                prefix.as_ref(),
                limit,
                consistency,
            )
            .await
    }

    /// [`SmartClient::delete`] in this session.
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.client
            .delete_in(&self.client, &self.index, key.as_ref())
            .await
    }

    /// The highest log index this session has written or read (0 at first).
    #[must_use]
    pub fn index(&self) -> u64 {
        self.index.load(Ordering::Acquire)
    }

    /// Raises the session's index to at least `index` (a causal token from
    /// another session or process).
    pub fn advance(&self, index: u64) {
        self.index.fetch_max(index, Ordering::AcqRel);
    }

    /// The client this session runs on.
    #[must_use]
    pub fn client(&self) -> &SmartClient {
        &self.client
    }
}
