//! The node's view of its own disk, and the storage wrapper that feeds it.
//!
//! [`GuardedStorage`] wraps d-engine's file storage (the Raft log and the
//! hard state) without changing it: it counts and times every fsync
//! (`kv_fsync_total`, `kv_fsync_seconds`) and turns storage errors into a
//! [`DiskHealth`] state the HTTP layer answers by:
//!
//! - **full** (`ENOSPC` while appending to the log): writes answer 507
//!   `storage_full`, reads go on, and the next append that succeeds (the
//!   engine retries on its own) clears it;
//! - **failed** (any failed fsync, and any other write error): the node
//!   stops acknowledging for good. After a failed fsync the kernel may have
//!   dropped the dirty pages, so a later fsync that "succeeds" proves nothing
//!   (PostgreSQL's fsyncgate): every later append and fsync of the log is
//!   refused, its durable index never moves again, and the node answers 503
//!   `storage_failed` until an operator restarts it on a working disk. On
//!   restart it recovers from what really is on disk.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use d_engine_core::{
    ApplyEntry, ApplyResult, Error, HardState, LogStore, MetaStore, ScanResult, StateMachine,
    StorageEngine, StorageError, SystemError,
};
use d_engine_proto::common::{Entry, LogId};
use d_engine_proto::server::storage::SnapshotMetadata;

/// What the node knows about its disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskState {
    /// Writes and fsyncs succeed.
    Ok,
    /// The last append to the log failed for lack of space.
    Full(String),
    /// A fsync or write failed: nothing written since is trusted.
    Failed(String),
}

// The stored states, also the `kv_storage_state` gauge's values.
const OK: u8 = 0;
const FULL: u8 = 1;
const FAILED: u8 = 2;

/// Publish `state` as the `kv_storage_state` gauge.
fn publish(state: u8) {
    metrics::gauge!("kv_storage_state").set(f64::from(state));
}

/// Shared disk state: written by the storage wrapper, read on every write
/// request (one atomic load while all is well).
#[derive(Debug)]
pub struct DiskHealth {
    /// `OK`, `FULL` or `FAILED`; the reason sits in `reason`.
    state: AtomicU8,
    reason: Mutex<String>,
    /// Woken when the state becomes failed.
    failed: tokio::sync::Notify,
}

impl Default for DiskHealth {
    fn default() -> Self {
        publish(OK);
        Self {
            state: AtomicU8::new(OK),
            reason: Mutex::new(String::new()),
            failed: tokio::sync::Notify::new(),
        }
    }
}

impl DiskHealth {
    /// The current state with its reason.
    pub fn state(&self) -> DiskState {
        match self.state.load(Ordering::Acquire) {
            OK => DiskState::Ok,
            s => {
                let reason = self.reason.lock().expect("reason lock").clone();
                if s == FULL {
                    DiskState::Full(reason)
                } else {
                    DiskState::Failed(reason)
                }
            }
        }
    }

    /// Whether the disk has failed (writes must not be acknowledged any more).
    pub fn is_failed(&self) -> bool {
        self.state.load(Ordering::Acquire) == FAILED
    }

    /// Resolves once the disk has failed.
    pub async fn wait_failed(&self) {
        loop {
            let notified = self.failed.notified();
            if self.is_failed() {
                return;
            }
            notified.await;
        }
    }

    /// Latch the failed state (it never clears) and say why, once.
    pub fn fail(&self, reason: String) {
        let mut r = self.reason.lock().expect("reason lock");
        if self.state.swap(FAILED, Ordering::AcqRel) == FAILED {
            return;
        }
        tracing::error!(
            %reason,
            "storage failed: this node stops acknowledging writes and answers 503 storage_failed; \
             restart it once the disk is fixed (it recovers from what is on disk)"
        );
        metrics::counter!("kv_storage_errors_total", "kind" => "failed").increment(1);
        publish(FAILED);
        *r = reason;
        drop(r);
        self.failed.notify_waiters();
    }

    fn full(&self, reason: String) {
        let mut r = self.reason.lock().expect("reason lock");
        if self
            .state
            .compare_exchange(OK, FULL, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::warn!(%reason, "disk full: writes answer 507 storage_full until space is freed");
            metrics::counter!("kv_storage_errors_total", "kind" => "full").increment(1);
            publish(FULL);
            *r = reason;
        }
    }

    fn space_back(&self) {
        if self.state.load(Ordering::Acquire) != FULL {
            return;
        }
        let mut r = self.reason.lock().expect("reason lock");
        if self
            .state
            .compare_exchange(FULL, OK, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::info!("disk has space again: writes resume");
            publish(OK);
            r.clear();
        }
    }

    /// Refuse further work on the log once failed.
    fn check(&self, what: &str) -> Result<(), Error> {
        if self.is_failed() {
            return Err(StorageError::IoError(std::io::Error::other(format!(
                "{what} refused: storage failed earlier ({})",
                self.reason.lock().expect("reason lock")
            )))
            .into());
        }
        Ok(())
    }
}

/// `e` with its sources (d-engine's storage errors display only "Storage
/// operation failed"; the cause, e.g. the OS error, is in the chain).
pub fn describe(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Whether `e` is "no space left on device".
fn is_no_space(e: &Error) -> bool {
    match e {
        Error::System(SystemError::Storage(StorageError::IoError(io)))
        | Error::System(SystemError::Storage(StorageError::PathError { source: io, .. })) => {
            io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28)
        }
        other => describe(other).contains("No space left on device"),
    }
}

/// d-engine's storage engine, with its errors turned into [`DiskHealth`] and
/// its fsyncs counted.
#[derive(Debug)]
pub struct GuardedStorage<SE: StorageEngine> {
    log: Arc<GuardedLog<SE::LogStore>>,
    meta: Arc<GuardedMeta<SE::MetaStore>>,
}

impl<SE: StorageEngine> GuardedStorage<SE> {
    /// Wrap `inner`, whose files live in `dir` (named in error messages).
    pub fn new(inner: &SE, dir: PathBuf, health: Arc<DiskHealth>) -> Self {
        Self {
            log: Arc::new(GuardedLog {
                inner: inner.log_store(),
                file: dir.join("logs/log.data"),
                health: health.clone(),
            }),
            meta: Arc::new(GuardedMeta {
                inner: inner.meta_store(),
                file: dir.join("meta/hard_state.bin"),
                health,
            }),
        }
    }
}

impl<SE> StorageEngine for GuardedStorage<SE>
where
    SE: StorageEngine,
    SE::LogStore: std::fmt::Debug,
    SE::MetaStore: std::fmt::Debug,
{
    type LogStore = GuardedLog<SE::LogStore>;
    type MetaStore = GuardedMeta<SE::MetaStore>;

    fn log_store(&self) -> Arc<Self::LogStore> {
        self.log.clone()
    }

    fn meta_store(&self) -> Arc<Self::MetaStore> {
        self.meta.clone()
    }
}

/// The Raft log store, guarded.
#[derive(Debug)]
pub struct GuardedLog<L> {
    inner: Arc<L>,
    file: PathBuf,
    health: Arc<DiskHealth>,
}

impl<L> GuardedLog<L> {
    /// Record the outcome of a write-like call: `ENOSPC` makes the disk full
    /// (when `full_ok`), anything else fails it.
    fn outcome<T>(&self, what: &str, full_ok: bool, r: Result<T, Error>) -> Result<T, Error> {
        match &r {
            Ok(_) if full_ok => self.health.space_back(),
            Ok(_) => {}
            Err(e) if full_ok && is_no_space(e) => self.health.full(format!(
                "{what} to {}: {}",
                self.file.display(),
                describe(e)
            )),
            Err(e) => self.health.fail(format!(
                "{what} of {}: {}",
                self.file.display(),
                describe(e)
            )),
        }
        r
    }
}

#[async_trait]
impl<L: LogStore> LogStore for GuardedLog<L> {
    async fn persist_entries(&self, entries: Vec<Entry>) -> Result<(), Error> {
        self.health.check("append")?;
        let r = self.inner.persist_entries(entries).await;
        self.outcome("append", true, r)
    }

    async fn entry(&self, index: u64) -> Result<Option<Entry>, Error> {
        self.inner.entry(index).await
    }

    fn get_entries(&self, range: RangeInclusive<u64>) -> Result<Vec<Entry>, Error> {
        self.inner.get_entries(range)
    }

    async fn purge(&self, cutoff_index: LogId) -> Result<(), Error> {
        self.health.check("purge")?;
        let r = self.inner.purge(cutoff_index).await;
        self.outcome("purge", false, r)
    }

    async fn truncate(&self, from_index: u64) -> Result<(), Error> {
        self.health.check("truncate")?;
        let r = self.inner.truncate(from_index).await;
        self.outcome("truncate", false, r)
    }

    async fn replace_range(&self, from_index: u64, new_entries: Vec<Entry>) -> Result<(), Error> {
        self.health.check("replace")?;
        let r = self.inner.replace_range(from_index, new_entries).await;
        self.outcome("replace", false, r)
    }

    fn is_write_durable(&self) -> bool {
        self.inner.is_write_durable()
    }

    fn flush(&self) -> Result<(), Error> {
        self.health.check("fsync")?;
        let started = Instant::now();
        let r = self.inner.flush();
        metrics::counter!("kv_fsync_total", "file" => "raft_log").increment(1);
        metrics::histogram!("kv_fsync_seconds", "file" => "raft_log")
            .record(started.elapsed().as_secs_f64());
        self.outcome("fsync", false, r)
    }

    async fn flush_async(&self) -> Result<(), Error> {
        self.flush()
    }

    async fn reset(&self) -> Result<(), Error> {
        self.health.check("reset")?;
        let r = self.inner.reset().await;
        self.outcome("reset", false, r)
    }

    fn last_index(&self) -> u64 {
        self.inner.last_index()
    }

    fn load_purge_boundary(&self) -> Result<Option<LogId>, Error> {
        self.inner.load_purge_boundary()
    }
}

/// The hard-state store (term and vote), guarded.
#[derive(Debug)]
pub struct GuardedMeta<M> {
    inner: Arc<M>,
    file: PathBuf,
    health: Arc<DiskHealth>,
}

#[async_trait]
impl<M: MetaStore> MetaStore for GuardedMeta<M> {
    fn save_hard_state(&self, state: &HardState) -> Result<(), Error> {
        // A node whose disk failed must not vote or campaign: the vote it
        // would give could be forgotten.
        self.health.check("hard state save")?;
        let started = Instant::now();
        let r = self.inner.save_hard_state(state);
        metrics::counter!("kv_fsync_total", "file" => "hard_state").increment(1);
        metrics::histogram!("kv_fsync_seconds", "file" => "hard_state")
            .record(started.elapsed().as_secs_f64());
        let what = format!("hard state save to {}", self.file.display());
        match &r {
            // The save failed before replacing the file (patch 29): the vote
            // is not sent, and a later save can succeed once space is back.
            Err(e) if is_no_space(e) => self.health.full(format!("{what}: {}", describe(e))),
            Err(e) => self.health.fail(format!("{what}: {}", describe(e))),
            Ok(()) => {}
        }
        r
    }

    fn load_hard_state(&self) -> Result<Option<HardState>, Error> {
        self.inner.load_hard_state()
    }

    fn flush(&self) -> Result<(), Error> {
        self.inner.flush()
    }

    async fn flush_async(&self) -> Result<(), Error> {
        self.inner.flush_async().await
    }
}

/// The state machine, guarded: an apply that fails for lack of space makes
/// the disk full (the engine retries it, engine patch 33); any other failed
/// apply fails the disk. d-engine logs such an apply error as fatal and its
/// Raft loop goes on without applying anything (a leader then keeps its
/// leadership and every write and strong read times out); the node stops the
/// engine instead, so the others elect a leader.
#[derive(Debug)]
pub struct GuardedStateMachine<S> {
    inner: Arc<S>,
    dir: PathBuf,
    health: Arc<DiskHealth>,
}

impl<S> GuardedStateMachine<S> {
    /// Wrap `inner`, whose files live in `dir` (named in error messages).
    pub fn new(inner: Arc<S>, dir: PathBuf, health: Arc<DiskHealth>) -> Self {
        Self { inner, dir, health }
    }
}

#[async_trait]
impl<S: StateMachine> StateMachine for GuardedStateMachine<S> {
    async fn start(&self) -> Result<(), Error> {
        self.inner.start().await
    }

    fn stop(&self) -> Result<(), Error> {
        self.inner.stop()
    }

    fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    fn get(&self, key_buffer: &[u8]) -> Result<Option<Bytes>, Error> {
        self.inner.get(key_buffer)
    }

    fn entry_term(&self, entry_id: u64) -> Option<u64> {
        self.inner.entry_term(entry_id)
    }

    async fn apply_chunk(&self, chunk: &[ApplyEntry]) -> Result<Vec<ApplyResult>, Error> {
        let r = self.inner.apply_chunk(chunk).await;
        match &r {
            Ok(_) => self.health.space_back(),
            Err(e) => {
                let what = format!("apply to the state machine in {}", self.dir.display());
                if is_no_space(e) {
                    self.health.full(format!("{what}: {}", describe(e)));
                } else {
                    self.health.fail(format!("{what}: {}", describe(e)));
                }
            }
        }
        r
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn update_last_applied(&self, last_applied: LogId) {
        self.inner.update_last_applied(last_applied);
    }

    fn last_applied(&self) -> LogId {
        self.inner.last_applied()
    }

    fn persist_last_applied(&self, last_applied: LogId) -> Result<(), Error> {
        self.inner.persist_last_applied(last_applied)
    }

    fn update_last_snapshot_metadata(&self, m: &SnapshotMetadata) -> Result<(), Error> {
        self.inner.update_last_snapshot_metadata(m)
    }

    fn snapshot_metadata(&self) -> Option<SnapshotMetadata> {
        self.inner.snapshot_metadata()
    }

    fn persist_last_snapshot_metadata(&self, m: &SnapshotMetadata) -> Result<(), Error> {
        self.inner.persist_last_snapshot_metadata(m)
    }

    async fn apply_snapshot_from_file(
        &self,
        metadata: &SnapshotMetadata,
        snapshot_path: PathBuf,
    ) -> Result<(), Error> {
        self.inner
            .apply_snapshot_from_file(metadata, snapshot_path)
            .await
    }

    async fn generate_snapshot_data(
        &self,
        new_snapshot_dir: PathBuf,
        last_included: LogId,
    ) -> Result<Bytes, Error> {
        self.inner
            .generate_snapshot_data(new_snapshot_dir, last_included)
            .await
    }

    fn save_hard_state(&self) -> Result<(), Error> {
        self.inner.save_hard_state()
    }

    fn flush(&self) -> Result<(), Error> {
        self.inner.flush()
    }

    async fn flush_async(&self) -> Result<(), Error> {
        self.inner.flush_async().await
    }

    async fn reset(&self) -> Result<(), Error> {
        self.inner.reset().await
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<ScanResult, Error> {
        self.inner.scan_prefix(prefix)
    }

    async fn lease_background_cleanup(&self) -> Result<Vec<Bytes>, Error> {
        self.inner.lease_background_cleanup().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(e: std::io::Error) -> Error {
        StorageError::IoError(e).into()
    }

    #[test]
    fn errors_are_described_with_their_cause() {
        let e = io(std::io::Error::from_raw_os_error(5));
        assert!(
            describe(&e).contains("Input/output error"),
            "{}",
            describe(&e)
        );
    }

    #[test]
    fn no_space_is_recognised_by_kind_and_errno() {
        assert!(is_no_space(&io(std::io::Error::from_raw_os_error(28))));
        assert!(!is_no_space(&io(std::io::Error::from_raw_os_error(5))));
    }

    #[test]
    fn full_clears_on_success_but_failed_never_does() {
        let h = DiskHealth::default();
        h.full("append: no space".into());
        assert_eq!(h.state(), DiskState::Full("append: no space".into()));
        assert!(h.check("append").is_ok(), "a full disk is retried");
        h.space_back();
        assert_eq!(h.state(), DiskState::Ok);

        h.fail("fsync of log.data: EIO".into());
        h.space_back();
        h.full("later".into());
        assert_eq!(
            h.state(),
            DiskState::Failed("fsync of log.data: EIO".into())
        );
        let err = h.check("fsync").expect_err("refused after a failure");
        assert!(describe(&err).contains("EIO"), "{}", describe(&err));
    }
}
