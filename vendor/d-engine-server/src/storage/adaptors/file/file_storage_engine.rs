use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fs::File;
use std::fs::OpenOptions;
use std::io::Read;
use std::io::Seek;
use std::io::SeekFrom;
use std::io::Write;
use std::ops::RangeInclusive;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use d_engine_core::Error;
use d_engine_core::HardState;
use d_engine_core::LogStore;
use d_engine_core::MetaStore;
use d_engine_core::StorageEngine;
use d_engine_core::StorageError;
use d_engine_proto::common::Entry;
use d_engine_proto::common::LogId;
use prost::Message;
use tracing::error;
use tracing::info;
use tracing::warn;

use super::durable;

// Constants for file structure
const HARD_STATE_FILE_NAME: &str = "hard_state.bin";
const LOG_FILE_NAME: &str = "log.data";
pub(crate) const HARD_STATE_KEY: &[u8] = b"hard_state";

/// All mutable state for the log store, protected by a single Mutex.
///
/// Combining entries, file handle, and position index under one lock eliminates
/// the three-lock ordering problem and makes replace_range() atomic at the
/// memory level with no visible intermediate state.
#[derive(Debug)]
struct FileLogStoreInner {
    entries: BTreeMap<u64, Entry>,
    file: File,
    /// Maps log index to the file offset of the byte *after* the entry
    /// (i.e. the start of the next entry). truncate(from) sets file length to
    /// index_end_pos[from - 1], with no extra file read required.
    index_end_pos: BTreeMap<u64, u64>,
}

/// File-based log store implementation
#[derive(Debug)]
pub struct FileLogStore {
    #[allow(unused)]
    data_dir: PathBuf,
    inner: Mutex<FileLogStoreInner>,
    /// Cached last index for hot-path reads without locking.
    last_index: AtomicU64,
}

/// File-based metadata store implementation
#[derive(Debug)]
pub struct FileMetaStore {
    data_dir: PathBuf,
    data: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

/// File-based Raft log storage
///
/// Stores log entries as individual files in a directory.
///
/// # Usage
///
/// ```rust,ignore
/// use d_engine_server::FileStorageEngine;
/// use std::path::PathBuf;
///
/// let engine = FileStorageEngine::new(PathBuf::from("/tmp/log"))?;
/// ```
///
/// # Performance
///
/// Suitable for development and testing. For production, consider using RocksDB storage engine
/// via the `rocksdb` feature.
#[derive(Debug)]
pub struct FileStorageEngine {
    log_store: Arc<FileLogStore>,
    meta_store: Arc<FileMetaStore>,
    data_dir: PathBuf,
}

impl StorageEngine for FileStorageEngine {
    type LogStore = FileLogStore;
    type MetaStore = FileMetaStore;

    #[inline]
    fn log_store(&self) -> Arc<Self::LogStore> {
        self.log_store.clone()
    }

    #[inline]
    fn meta_store(&self) -> Arc<Self::MetaStore> {
        self.meta_store.clone()
    }
}

impl FileStorageEngine {
    /// Creates new file-based storage engine
    pub fn new(data_dir: PathBuf) -> Result<Self, Error> {
        durable::create_dir_all(&data_dir)?;
        let log_store = Arc::new(FileLogStore::new(data_dir.join("logs"))?);
        let meta_store = Arc::new(FileMetaStore::new(data_dir.join("meta"))?);
        Ok(Self {
            log_store,
            meta_store,
            data_dir,
        })
    }

    /// Get the data directory path
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

impl FileLogStore {
    /// Creates new file-based log store
    pub fn new(data_dir: PathBuf) -> Result<Self, Error> {
        durable::create_dir_all(&data_dir)?;

        let log_file_path = data_dir.join(LOG_FILE_NAME);
        let created = !log_file_path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&log_file_path)?;
        if created {
            // The entries fsynced into the file are lost with it if its
            // directory entry is not durable.
            durable::sync_parent_dir(&log_file_path)?;
        }

        let mut inner = FileLogStoreInner {
            entries: BTreeMap::new(),
            file,
            index_end_pos: BTreeMap::new(),
        };

        let last_index = inner.load_from_file()?;

        Ok(Self {
            data_dir,
            inner: Mutex::new(inner),
            last_index: AtomicU64::new(last_index),
        })
    }

    #[allow(dead_code)]
    #[cfg(test)]
    pub(crate) fn reset_sync(&self) -> Result<(), Error> {
        let mut inner = self.inner.lock().unwrap();
        inner.file.set_len(0)?;
        inner.file.seek(SeekFrom::Start(0))?;
        inner.file.flush()?;
        inner.entries.clear();
        inner.index_end_pos.clear();
        self.last_index.store(0, Ordering::SeqCst);
        Ok(())
    }
}

impl FileLogStoreInner {
    /// Load entries from file on startup. Returns the last index found.
    ///
    /// The log ends at the first record that is incomplete or does not decode to
    /// an entry (index 0 included: Raft indexes start at 1). Such a tail is what
    /// a crash during an append leaves (a record cut short, or a file extended
    /// with zeros or stale blocks whose data never reached the disk); it was
    /// never fsynced, so no entry in it was acknowledged. It is truncated here:
    /// entries appended later would otherwise sit behind bytes the next load
    /// cannot frame.
    fn load_from_file(&mut self) -> Result<u64, Error> {
        self.file.seek(SeekFrom::Start(0))?;

        let mut buffer = Vec::new();
        self.file.read_to_end(&mut buffer)?;

        let mut pos: u64 = 0;
        let mut max_index = 0;

        while pos < buffer.len() as u64 {
            if pos + 8 > buffer.len() as u64 {
                break;
            }

            let len_bytes = &buffer[pos as usize..pos as usize + 8];
            let entry_len =
                u64::from_be_bytes(len_bytes.try_into().expect("slice is exactly 8 bytes"));

            let data_start = pos + 8;
            let Some(end_pos) =
                data_start.checked_add(entry_len).filter(|&end| end <= buffer.len() as u64)
            else {
                break;
            };

            let entry_data = &buffer[data_start as usize..end_pos as usize];
            match Entry::decode(entry_data) {
                Ok(entry) if entry.index > 0 => {
                    let index = entry.index;
                    self.entries.insert(index, entry);
                    self.index_end_pos.insert(index, end_pos);
                    max_index = max_index.max(index);
                }
                Ok(_) => break,
                Err(e) => {
                    warn!("log entry at byte offset {pos} does not decode: {e}");
                    break;
                }
            }

            pos = end_pos;
        }

        if pos < buffer.len() as u64 {
            warn!(
                "log file: {} bytes after byte offset {pos} hold no complete entry \
                 (an append cut short by a crash); truncating them",
                buffer.len() as u64 - pos
            );
            self.file.set_len(pos)?;
        }

        Ok(max_index)
    }

    /// Write a pre-encoded entry to the file at the current end.
    /// Returns the file end position after writing (= end_pos for this entry).
    /// Does NOT flush — caller flushes once after the batch.
    fn write_encoded(
        &mut self,
        encoded: &[u8],
    ) -> Result<u64, Error> {
        self.file.seek(SeekFrom::End(0))?;
        let len = encoded.len() as u64;
        self.file.write_all(&len.to_be_bytes())?;
        self.file.write_all(encoded)?;
        Ok(self.file.stream_position()?)
    }

    /// Appends `entries` (encoded in `encoded`) at the end of the file and
    /// indexes them, all or none.
    ///
    /// A write can fail midway (a full disk). The file is then truncated back
    /// to its length before the call and no entry of the batch is indexed: the
    /// caller writes the same entries again later, and they must not land
    /// behind the partial bytes, which would make the file undecodable from
    /// there on.
    fn append_entries(
        &mut self,
        entries: &[Entry],
        encoded: &[Vec<u8>],
    ) -> Result<(), Error> {
        let start = self.file.seek(SeekFrom::End(0))?;
        let mut end_positions = Vec::with_capacity(encoded.len());
        let mut written = Ok(());
        for enc in encoded {
            match self.write_encoded(enc) {
                Ok(end_pos) => end_positions.push(end_pos),
                Err(e) => {
                    written = Err(e);
                    break;
                }
            }
        }
        if let Err(e) = written.and_then(|()| Ok(self.file.flush()?)) {
            if let Err(truncate_error) = self.file.set_len(start) {
                error!("cannot cut a failed append off the log file: {truncate_error}");
            }
            return Err(e);
        }
        for (entry, end_pos) in entries.iter().zip(end_positions) {
            self.entries.insert(entry.index, entry.clone());
            self.index_end_pos.insert(entry.index, end_pos);
        }
        Ok(())
    }

    /// File end position of the last entry *before* `from_index`.
    /// Returns 0 if no such entry exists (truncate empties the file).
    fn end_pos_before(
        &self,
        from_index: u64,
    ) -> u64 {
        self.index_end_pos
            .range(..from_index)
            .next_back()
            .map(|(_, &pos)| pos)
            .unwrap_or(0)
    }

    /// Remove all in-memory state for indices >= from_index.
    fn remove_from_index(
        &mut self,
        from_index: u64,
    ) {
        let keys: Vec<u64> = self.entries.range(from_index..).map(|(&k, _)| k).collect();
        for k in keys {
            self.entries.remove(&k);
            self.index_end_pos.remove(&k);
        }
    }
}

#[async_trait]
impl LogStore for FileLogStore {
    async fn persist_entries(
        &self,
        entries: Vec<Entry>,
    ) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }

        // Encode all entries before acquiring the lock (pure CPU work).
        let encoded: Vec<Vec<u8>> = entries.iter().map(|e| e.encode_to_vec()).collect();

        self.inner.lock().unwrap().append_entries(&entries, &encoded)?;

        let max_index = entries.iter().map(|e| e.index).max().unwrap_or(0);
        self.last_index.store(max_index, Ordering::SeqCst);
        Ok(())
    }

    async fn entry(
        &self,
        index: u64,
    ) -> Result<Option<Entry>, Error> {
        let inner = self.inner.lock().unwrap();
        Ok(inner.entries.get(&index).cloned())
    }

    fn get_entries(
        &self,
        range: RangeInclusive<u64>,
    ) -> Result<Vec<Entry>, Error> {
        let inner = self.inner.lock().unwrap();
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }

    /// Rewrites the log without the entries up to `cutoff_index`.
    ///
    /// The kept entries go to a new file, fsynced and renamed over the log;
    /// its directory is then fsynced. A crash leaves the old log or the new
    /// one, complete (the old rewrite in place lost every entry not yet
    /// rewritten), and a failed write leaves the log as it was.
    async fn purge(
        &self,
        cutoff_index: LogId,
    ) -> Result<(), Error> {
        let mut inner = self.inner.lock().unwrap();

        let log_path = self.data_dir.join(LOG_FILE_NAME);
        let tmp_path = durable::tmp_path(&log_path);
        let mut index_end_pos = BTreeMap::new();
        let written = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp_path)
            .and_then(|mut file| {
                let mut writer = std::io::BufWriter::new(&mut file);
                let mut end_pos = 0;
                for (&index, entry) in inner.entries.range((cutoff_index.index + 1)..) {
                    let enc = entry.encode_to_vec();
                    writer.write_all(&(enc.len() as u64).to_be_bytes())?;
                    writer.write_all(&enc)?;
                    end_pos += 8 + enc.len() as u64;
                    index_end_pos.insert(index, end_pos);
                }
                writer.flush()?;
                drop(writer);
                file.sync_all()?;
                Ok(file)
            })
            .and_then(|file| std::fs::rename(&tmp_path, &log_path).map(|()| file));
        let file = match written {
            Ok(file) => file,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp_path);
                return Err(e.into());
            }
        };

        // The new file is the log from here on (the handle follows the rename).
        inner.file = file;
        inner.index_end_pos = index_end_pos;
        inner.entries.retain(|&index, _| index > cutoff_index.index);

        durable::sync_parent_dir(&log_path)?;
        Ok(())
    }

    async fn truncate(
        &self,
        from_index: u64,
    ) -> Result<(), Error> {
        let mut inner = self.inner.lock().unwrap();

        // Compute truncation point from end_pos index — no file read required.
        let truncate_to = inner.end_pos_before(from_index);
        inner.file.set_len(truncate_to)?;

        inner.remove_from_index(from_index);

        let new_last = inner.entries.keys().next_back().copied().unwrap_or(0);
        self.last_index.store(new_last, Ordering::SeqCst);

        Ok(())
    }

    /// Atomically truncate from `from_index` and persist `new_entries` under a single lock.
    ///
    /// All memory and file mutations happen within one `Mutex` critical section, so no
    /// intermediate state is visible to concurrent readers of `last_index` or `entry()`.
    async fn replace_range(
        &self,
        from_index: u64,
        new_entries: Vec<Entry>,
    ) -> Result<(), Error> {
        let encoded: Vec<Vec<u8>> = new_entries.iter().map(|e| e.encode_to_vec()).collect();

        let (new_last, appended) = {
            let mut inner = self.inner.lock().unwrap();

            // Truncate file to the end of the last kept entry.
            let truncate_to = inner.end_pos_before(from_index);
            inner.file.set_len(truncate_to)?;

            // Remove in-memory state for truncated range.
            inner.remove_from_index(from_index);

            // Append new entries and update in-memory state (none of them if it fails).
            let appended = inner.append_entries(&new_entries, &encoded);

            (
                inner.entries.keys().next_back().copied().unwrap_or(0),
                appended,
            )
        };

        self.last_index.store(new_last, Ordering::SeqCst);
        appended
    }

    fn is_write_durable(&self) -> bool {
        // File writes are buffered by the OS; sync_all() is required for crash-safety.
        false
    }

    fn flush(&self) -> Result<(), Error> {
        let mut inner = self.inner.lock().unwrap();
        inner.file.flush()?;
        inner.file.sync_all()?;
        Ok(())
    }

    async fn flush_async(&self) -> Result<(), Error> {
        self.flush()
    }

    async fn reset(&self) -> Result<(), Error> {
        let mut inner = self.inner.lock().unwrap();
        inner.file.set_len(0)?;
        inner.file.seek(SeekFrom::Start(0))?;
        inner.file.flush()?;
        inner.entries.clear();
        inner.index_end_pos.clear();
        self.last_index.store(0, Ordering::SeqCst);
        Ok(())
    }

    fn last_index(&self) -> u64 {
        self.last_index.load(Ordering::SeqCst)
    }
}

impl Drop for FileLogStore {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!("Failed to flush FileLogStore on drop: {}", e);
        } else {
            tracing::debug!("FileLogStore flushed successfully on drop");
        }
    }
}

impl FileMetaStore {
    /// Creates new file-based metadata store
    pub fn new(data_dir: PathBuf) -> Result<Self, Error> {
        durable::create_dir_all(&data_dir)?;

        let store = Self {
            data_dir,
            data: Mutex::new(HashMap::new()),
        };

        store.load_from_file()?;

        Ok(store)
    }

    /// Load metadata from file
    fn load_from_file(&self) -> Result<(), Error> {
        let hard_state_path = self.data_dir.join(HARD_STATE_FILE_NAME);

        if hard_state_path.exists() {
            let mut file = File::open(hard_state_path)?;
            let mut buffer = Vec::new();
            file.read_to_end(&mut buffer)?;

            match bincode::deserialize::<HardState>(&buffer) {
                Ok(_hard_state) => {
                    let mut data = self.data.lock().unwrap();
                    data.insert(HARD_STATE_KEY.to_vec(), buffer);
                    info!("Loaded hard state from file");
                }
                Err(e) => {
                    eprintln!("Failed to decode hard state: {e}",);
                }
            }
        }

        Ok(())
    }

    /// Save metadata to file
    ///
    /// The file is replaced atomically and fsynced before this returns: Raft
    /// acts on a saved term and vote (answers a vote request, asks for votes)
    /// only once they are on stable storage. Rewriting the file in place could
    /// leave it empty or partly written after a crash, and the node would come
    /// back without its term and vote and could vote twice in one term.
    fn save_to_file(
        &self,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), Error> {
        if key == HARD_STATE_KEY {
            let hard_state_path = self.data_dir.join(HARD_STATE_FILE_NAME);
            durable::replace_file(&hard_state_path, value)?;
        }

        Ok(())
    }
}

#[async_trait]
impl MetaStore for FileMetaStore {
    fn save_hard_state(
        &self,
        state: &HardState,
    ) -> Result<(), Error> {
        let serialized = bincode::serialize(state).map_err(StorageError::BincodeError)?;

        // The lock also serializes the saves, which share a temporary file.
        let mut data = self.data.lock().unwrap();
        self.save_to_file(HARD_STATE_KEY, &serialized)?;
        data.insert(HARD_STATE_KEY.to_vec(), serialized);

        info!("Persisted hard state to file");
        Ok(())
    }

    fn load_hard_state(&self) -> Result<Option<HardState>, Error> {
        let data = self.data.lock().unwrap();

        match data.get(HARD_STATE_KEY) {
            Some(bytes) => {
                let state = bincode::deserialize(bytes).map_err(StorageError::BincodeError)?;
                info!("Loaded hard state from memory");
                Ok(Some(state))
            }
            None => {
                info!("No hard state found");
                Ok(None)
            }
        }
    }

    fn flush(&self) -> Result<(), Error> {
        // Every save is durable when it returns.
        Ok(())
    }

    async fn flush_async(&self) -> Result<(), Error> {
        self.flush()
    }
}
