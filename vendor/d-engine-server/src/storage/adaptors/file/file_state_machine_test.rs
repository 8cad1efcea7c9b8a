use bytes::Bytes;
use d_engine_core::{ApplyEntry, Command, StateMachine};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

use super::file_size_limit;
use crate::storage::adaptors::file::FileStateMachine;
use async_trait::async_trait;
use d_engine_core::Error;
use d_engine_core::storage::state_machine_test::{StateMachineBuilder, StateMachineTestSuite};
use tempfile::TempDir;

/// Builder for FileStateMachine test instances
struct FileStateMachineBuilder {
    temp_dir: TempDir,
}

impl FileStateMachineBuilder {
    fn new() -> Self {
        Self {
            temp_dir: TempDir::new().expect("Failed to create temp dir"),
        }
    }
}

#[async_trait]
impl StateMachineBuilder for FileStateMachineBuilder {
    async fn build(&self) -> Result<Arc<dyn StateMachine>, Error> {
        // Use fixed path to support restart recovery testing
        let path = self.temp_dir.path().join("file_sm");
        let sm = FileStateMachine::new(path).await?;
        Ok(Arc::new(sm))
    }

    async fn cleanup(&self) -> Result<(), Error> {
        // TempDir automatically cleans up on drop
        Ok(())
    }
}

#[tokio::test]
async fn test_file_state_machine_suite() {
    let builder = FileStateMachineBuilder::new();
    StateMachineTestSuite::run_all_tests(builder)
        .await
        .expect("FileStateMachine should pass all tests");
}

// TODO: test_apply_chunk_scalability uses wall-clock I/O time ratio to detect O(N²) complexity,
// which is unreliable in CI due to disk I/O spikes. Needs redesign (e.g., measure pure in-memory
// ops separately from WAL writes) before re-enabling.
#[tokio::test]
#[ignore]
async fn test_file_state_machine_performance() {
    let builder = FileStateMachineBuilder::new();
    StateMachineTestSuite::run_performance_tests(builder)
        .await
        .expect("FileStateMachine should pass performance tests");
}

#[tokio::test]
async fn test_wal_replay_after_crash() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();

    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();

    let entries = vec![
        ApplyEntry {
            index: 1,
            term: 1,
            command: Command::Insert {
                key: Bytes::from("key1"),
                value: Bytes::from("value1"),
                ttl_secs: None,
            },
        },
        ApplyEntry {
            index: 2,
            term: 1,
            command: Command::Insert {
                key: Bytes::from("key2"),
                value: Bytes::from("value2"),
                ttl_secs: None,
            },
        },
    ];

    // Apply entries (this writes WAL + updates memory)
    sm.apply_chunk(&entries).await.unwrap();

    // Verify data is in memory
    assert_eq!(sm.get(b"key1").unwrap(), Some(Bytes::from("value1")));
    assert_eq!(sm.get(b"key2").unwrap(), Some(Bytes::from("value2")));

    // Manually append to WAL without updating memory (simulate partial write before crash)
    let crash_entries = vec![ApplyEntry {
        index: 3,
        term: 1,
        command: Command::Insert {
            key: Bytes::from("key3"),
            value: Bytes::from("value3"),
            ttl_secs: None,
        },
    }];
    let dummy_outcomes = vec![false; crash_entries.len()]; // non-CAS entries: outcome unused
    sm.append_to_wal(&crash_entries, &dummy_outcomes).await.unwrap();

    // Don't call flush - simulate crash before persistence
    drop(sm);

    // Recovery: should replay WAL
    let sm_recovered = FileStateMachine::new(data_dir.clone()).await.unwrap();

    // Verify: key1, key2 from state.data; key3 from WAL replay
    assert_eq!(
        sm_recovered.get(b"key1").unwrap(),
        Some(Bytes::from("value1"))
    );
    assert_eq!(
        sm_recovered.get(b"key2").unwrap(),
        Some(Bytes::from("value2"))
    );
    assert_eq!(
        sm_recovered.get(b"key3").unwrap(),
        Some(Bytes::from("value3"))
    );
}

// ── CAS WAL crash-safety tests ────────────────────────────────────────────────

/// A failed CAS must NOT corrupt data when the node crashes and replays WAL.
///
/// Before the fix, apply_chunk wrote all entries (including CAS) to WAL before
/// evaluating the comparison. On replay the CAS was applied unconditionally,
/// overwriting data that should never have changed.
#[tokio::test]
async fn test_cas_failure_wal_replay_does_not_corrupt_data() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();

    // Establish initial value
    sm.apply_chunk(&[ApplyEntry {
        index: 1,
        term: 1,
        command: Command::Insert {
            key: Bytes::from("k"),
            value: Bytes::from("original"),
            ttl_secs: None,
        },
    }])
    .await
    .unwrap();

    // CAS with wrong expected value — must fail at runtime
    let results = sm
        .apply_chunk(&[ApplyEntry {
            index: 2,
            term: 1,
            command: Command::CompareAndSwap {
                key: Bytes::from("k"),
                expected: Some(Bytes::from("wrong_expected")),
                value: Bytes::from("should_not_appear"),
                ttl_secs: None,
            },
        }])
        .await
        .unwrap();

    assert!(
        !results[0].succeeded,
        "CAS should fail when expected != current"
    );
    assert_eq!(sm.get(b"k").unwrap(), Some(Bytes::from("original")));

    // Simulate crash + WAL replay
    drop(sm);
    let sm2 = FileStateMachine::new(data_dir).await.unwrap();

    assert_eq!(
        sm2.get(b"k").unwrap(),
        Some(Bytes::from("original")),
        "WAL replay of failed CAS must not corrupt data"
    );
}

/// CAS that depends on an earlier Insert in the same chunk must succeed.
///
/// The shadow-map simulation must process entries in order so the CAS sees
/// the Insert's effect even though self.data hasn't been updated yet.
#[tokio::test]
async fn test_cas_in_same_chunk_as_preceding_insert() {
    let temp_dir = tempfile::tempdir().unwrap();
    let sm = FileStateMachine::new(temp_dir.path().to_path_buf()).await.unwrap();

    let results = sm
        .apply_chunk(&[
            ApplyEntry {
                index: 1,
                term: 1,
                command: Command::Insert {
                    key: Bytes::from("k"),
                    value: Bytes::from("v1"),
                    ttl_secs: None,
                },
            },
            ApplyEntry {
                index: 2,
                term: 1,
                command: Command::CompareAndSwap {
                    key: Bytes::from("k"),
                    expected: Some(Bytes::from("v1")),
                    value: Bytes::from("v2"),
                    ttl_secs: None,
                },
            },
        ])
        .await
        .unwrap();

    assert!(results[1].succeeded, "CAS must see Insert from same chunk");
    assert_eq!(sm.get(b"k").unwrap(), Some(Bytes::from("v2")));
}

/// A successful CAS must be correctly applied after WAL replay.
#[tokio::test]
async fn test_cas_success_wal_replay_applies_new_value() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();

    sm.apply_chunk(&[ApplyEntry {
        index: 1,
        term: 1,
        command: Command::Insert {
            key: Bytes::from("k"),
            value: Bytes::from("v1"),
            ttl_secs: None,
        },
    }])
    .await
    .unwrap();

    let results = sm
        .apply_chunk(&[ApplyEntry {
            index: 2,
            term: 1,
            command: Command::CompareAndSwap {
                key: Bytes::from("k"),
                expected: Some(Bytes::from("v1")),
                value: Bytes::from("v2"),
                ttl_secs: None,
            },
        }])
        .await
        .unwrap();

    assert!(
        results[0].succeeded,
        "CAS should succeed when expected matches"
    );
    assert_eq!(sm.get(b"k").unwrap(), Some(Bytes::from("v2")));

    // Simulate crash + WAL replay
    drop(sm);
    let sm2 = FileStateMachine::new(data_dir).await.unwrap();

    assert_eq!(
        sm2.get(b"k").unwrap(),
        Some(Bytes::from("v2")),
        "Successful CAS must survive WAL replay"
    );
}

/// WAL replay must return an error when the WAL contains an unrecognised opcode byte.
///
/// An unknown opcode means the WAL is corrupt or was written by a future/incompatible
/// binary. Silently treating it as a no-op would hide the corruption and leave the
/// state machine in an undefined state. The correct behaviour is to fail loudly so
/// the operator can investigate rather than continuing with silently missing entries.
#[tokio::test]
async fn test_replay_wal_unknown_opcode_returns_error() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();

    // Write one valid entry so the WAL file exists and has a known-good prefix.
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
    sm.apply_chunk(&[ApplyEntry {
        index: 1,
        term: 1,
        command: Command::Insert {
            key: Bytes::from("k"),
            value: Bytes::from("v"),
            ttl_secs: None,
        },
    }])
    .await
    .unwrap();
    drop(sm);

    // Append a syntactically complete WAL entry whose opcode byte (99) is not
    // defined in WalOpCode. Format: index(8) + term(8) + opcode(1) + key_len(8)
    // + val_len(8) + expire_at(8) = 41 bytes total (matches the Noop/CasFailed layout).
    let wal_path = data_dir.join("wal.log");
    let mut file = tokio::fs::OpenOptions::new().append(true).open(&wal_path).await.unwrap();
    let mut corrupt_entry = Vec::with_capacity(41);
    corrupt_entry.extend_from_slice(&2u64.to_be_bytes()); // index = 2
    corrupt_entry.extend_from_slice(&1u64.to_be_bytes()); // term  = 1
    corrupt_entry.push(99u8); // unknown opcode
    corrupt_entry.extend_from_slice(&0u64.to_be_bytes()); // key_len = 0
    corrupt_entry.extend_from_slice(&0u64.to_be_bytes()); // val_len = 0
    corrupt_entry.extend_from_slice(&0u64.to_be_bytes()); // expire_at = 0
    file.write_all(&corrupt_entry).await.unwrap();
    file.flush().await.unwrap();
    drop(file);

    // Recovery must fail — unknown opcode must not be silently skipped.
    let result = FileStateMachine::new(data_dir).await;
    assert!(
        result.is_err(),
        "WAL replay must return an error on unknown opcode, not silently skip it"
    );
}

// ── scan_prefix tests ─────────────────────────────────────────────────────────

/// scan_prefix returns only keys that start with the prefix, not all keys.
#[tokio::test]
async fn test_file_sm_scan_prefix_returns_matching_keys() {
    let temp_dir = tempfile::tempdir().unwrap();
    let sm = FileStateMachine::new(temp_dir.path().to_path_buf()).await.unwrap();

    let entries = vec![
        ApplyEntry {
            index: 1,
            term: 1,
            command: Command::Insert {
                key: Bytes::from("/services/node1"),
                value: Bytes::from("10.0.0.1"),
                ttl_secs: None,
            },
        },
        ApplyEntry {
            index: 2,
            term: 1,
            command: Command::Insert {
                key: Bytes::from("/services/node2"),
                value: Bytes::from("10.0.0.2"),
                ttl_secs: None,
            },
        },
        ApplyEntry {
            index: 3,
            term: 1,
            command: Command::Insert {
                key: Bytes::from("/other/key"),
                value: Bytes::from("must_not_appear"),
                ttl_secs: None,
            },
        },
    ];

    sm.apply_chunk(&entries).await.unwrap();

    let result = sm.scan_prefix(b"/services/").unwrap();

    assert_eq!(
        result.entries.len(),
        2,
        "only /services/ keys should appear"
    );
    let keys: Vec<_> = result.entries.iter().map(|(k, _)| k.clone()).collect();
    assert!(keys.contains(&Bytes::from("/services/node1")));
    assert!(keys.contains(&Bytes::from("/services/node2")));
}

/// scan_prefix on a missing prefix returns empty entries, not an error.
#[tokio::test]
async fn test_file_sm_scan_prefix_empty_namespace() {
    let temp_dir = tempfile::tempdir().unwrap();
    let sm = FileStateMachine::new(temp_dir.path().to_path_buf()).await.unwrap();

    sm.apply_chunk(&[ApplyEntry {
        index: 1,
        term: 1,
        command: Command::Insert {
            key: Bytes::from("/other/key"),
            value: Bytes::from("v"),
            ttl_secs: None,
        },
    }])
    .await
    .unwrap();

    let result = sm.scan_prefix(b"/missing/").unwrap();

    assert!(
        result.entries.is_empty(),
        "missing prefix should return empty entries"
    );
}

/// scan_prefix revision equals last_applied_index at scan time.
#[tokio::test]
async fn test_file_sm_scan_prefix_revision_reflects_applied_index() {
    let temp_dir = tempfile::tempdir().unwrap();
    let sm = FileStateMachine::new(temp_dir.path().to_path_buf()).await.unwrap();

    let entries: Vec<ApplyEntry> = (1u64..=3)
        .map(|i| ApplyEntry {
            index: i,
            term: 1,
            command: Command::Insert {
                key: Bytes::from(format!("/s/{i}")),
                value: Bytes::from(format!("{i}")),
                ttl_secs: None,
            },
        })
        .collect();

    sm.apply_chunk(&entries).await.unwrap();

    let result = sm.scan_prefix(b"/s/").unwrap();

    assert_eq!(result.entries.len(), 3);
    assert_eq!(result.revision, 3, "revision must equal last_applied_index");
}

/// A checkpoint rewrites the whole state, so it must wait until the WAL has
/// grown as large as the state (and past a 4 MiB floor), not fire every 1000
/// entries: otherwise each write costs O(state size) / 1000.
#[tokio::test]
async fn test_checkpoint_waits_until_wal_outgrows_state() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
    let state_len = || std::fs::metadata(data_dir.join("state.data")).map(|m| m.len()).unwrap_or(0);
    let wal_len = || std::fs::metadata(data_dir.join("wal.log")).map(|m| m.len()).unwrap_or(0);
    let insert = |index: u64, value: Bytes| ApplyEntry {
        index,
        term: 1,
        command: Command::Insert {
            key: Bytes::from(format!("key-{index}")),
            value,
            ttl_secs: None,
        },
    };

    // 3000 small writes (~200 KB of WAL): the old rule checkpointed three times.
    let mut index = 0;
    for _ in 0..30 {
        let chunk: Vec<_> = (0..100)
            .map(|_| {
                index += 1;
                insert(index, Bytes::from_static(b"small"))
            })
            .collect();
        sm.apply_chunk(&chunk).await.unwrap();
    }
    assert_eq!(state_len(), 0, "no checkpoint below the WAL floor");
    assert!(wal_len() > 100_000);

    // 80 writes of 64 KiB push the WAL past 4 MiB: exactly then a checkpoint
    // writes the state and empties the WAL.
    let big = Bytes::from(vec![7u8; 64 * 1024]);
    for _ in 0..80 {
        index += 1;
        sm.apply_chunk(&[insert(index, big.clone())]).await.unwrap();
    }
    let state = state_len();
    assert!(state > 60 * 64 * 1024, "checkpoint taken: {state}");
    assert!(wal_len() < state, "WAL emptied by the checkpoint");
    assert_eq!(sm.get(b"key-1").unwrap(), Some(Bytes::from_static(b"small")));
}

/// WAL replay must not drop what it recovered: after a crash, the replayed WAL
/// is the only copy on disk of the writes since the last checkpoint (the Raft
/// log may be purged past it), so a second crash right after the restart must
/// still find them.
#[tokio::test]
async fn test_wal_replay_survives_a_second_crash() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let entries: Vec<_> = (1..=3u64)
        .map(|index| ApplyEntry {
            index,
            term: 1,
            command: Command::Insert {
                key: Bytes::from(format!("key{index}")),
                value: Bytes::from(format!("value{index}")),
                ttl_secs: None,
            },
        })
        .collect();

    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
    sm.apply_chunk(&entries).await.unwrap();
    // Crash: no Drop, no flush; the writes are only in the WAL.
    std::mem::forget(sm);

    let restarted = FileStateMachine::new(data_dir.clone()).await.unwrap();
    assert_eq!(restarted.get(b"key3").unwrap(), Some(Bytes::from("value3")));
    // Crash again before any checkpoint.
    std::mem::forget(restarted);

    let again = FileStateMachine::new(data_dir.clone()).await.unwrap();
    for index in 1..=3 {
        assert_eq!(
            again.get(format!("key{index}").as_bytes()).unwrap(),
            Some(Bytes::from(format!("value{index}"))),
            "key{index} lost by the second crash"
        );
    }
}

/// A WAL append cut short by a full disk leaves nothing behind: the apply
/// fails, the WAL keeps its length, and the apply retried once space is back
/// replays after a restart. Without the rollback, the retried record landed
/// after the torn one and replay misread the WAL.
#[tokio::test]
async fn test_a_failed_wal_append_leaves_no_torn_record() {
    let insert = |index: u64, key: &'static str, value: &'static str| ApplyEntry {
        index,
        term: 1,
        command: Command::Insert {
            key: Bytes::from(key),
            value: Bytes::from(value),
            ttl_secs: None,
        },
    };
    if let Some(data_dir) = file_size_limit::child_dir() {
        let wal = data_dir.join("wal.log");
        let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
        sm.apply_chunk(&[insert(1, "key1", "value1")]).await.unwrap();
        let len_before = std::fs::metadata(&wal).unwrap().len();

        // The disk fills up 10 bytes into the next record.
        file_size_limit::limit_file_size(len_before + 10);
        let err = sm
            .apply_chunk(&[insert(2, "key2", "value2")])
            .await
            .expect_err("the append failed");
        assert!(
            format!("{err:?}").contains("code: 27"),
            "EFBIG, the file size limit: {err:?}"
        );
        assert_eq!(
            std::fs::metadata(&wal).unwrap().len(),
            len_before,
            "the torn record must be cut off"
        );
        assert_eq!(sm.get(b"key2").unwrap(), None, "nothing of the failed apply");

        // Space is back: the same apply succeeds, and a later one.
        file_size_limit::lift_file_size_limit();
        sm.apply_chunk(&[insert(2, "key2", "value2")]).await.unwrap();
        sm.apply_chunk(&[insert(3, "key3", "value3")]).await.unwrap();
        return;
    }

    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    file_size_limit::run_in_child(
        concat!(
            module_path!(),
            "::test_a_failed_wal_append_leaves_no_torn_record"
        ),
        &data_dir,
    );
    // Everything the child applied replays.
    let recovered = FileStateMachine::new(data_dir).await.unwrap();
    assert_eq!(recovered.get(b"key1").unwrap(), Some(Bytes::from("value1")));
    assert_eq!(recovered.get(b"key2").unwrap(), Some(Bytes::from("value2")));
    assert_eq!(recovered.get(b"key3").unwrap(), Some(Bytes::from("value3")));
}

// ── crash safety of the checkpoint files ─────────────────────────────────────

fn insert_at(
    index: u64,
    key: &str,
    value: Bytes,
) -> ApplyEntry {
    ApplyEntry {
        index,
        term: 1,
        command: Command::Insert {
            key: Bytes::from(key.to_string()),
            value,
            ttl_secs: None,
        },
    }
}

fn cas_at(
    index: u64,
    key: &str,
    expected: Option<&'static str>,
    value: &'static str,
) -> ApplyEntry {
    ApplyEntry {
        index,
        term: 1,
        command: Command::CompareAndSwap {
            key: Bytes::from(key.to_string()),
            expected: expected.map(Bytes::from),
            value: Bytes::from(value),
            ttl_secs: None,
        },
    }
}

/// What Raft does after a restart: apply the entries of its log after the
/// state machine's last applied index.
async fn resume_from_the_log(
    sm: &FileStateMachine,
    log: &[ApplyEntry],
) {
    let applied = sm.last_applied().index;
    let rest: Vec<_> = log.iter().filter(|e| e.index > applied).cloned().collect();
    if !rest.is_empty() {
        sm.apply_chunk(&rest).await.unwrap();
    }
}

/// A checkpoint whose write fails midway (a full disk; the same window as a
/// power cut while `state.data` is written) must leave the previous checkpoint
/// loadable: the writes it holds are no longer in the WAL.
#[tokio::test]
async fn test_a_checkpoint_that_fails_midway_keeps_the_previous_state() {
    let value = Bytes::from(vec![7u8; 1024]);
    if let Some(data_dir) = file_size_limit::child_dir() {
        let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
        sm.apply_chunk(&[insert_at(21, "key-21", value.clone())]).await.unwrap();
        // The new state.data is cut short at half the size of the current one.
        let state_len = std::fs::metadata(data_dir.join("state.data")).unwrap().len();
        file_size_limit::limit_file_size(state_len / 2);
        assert!(sm.checkpoint().await.is_err(), "the disk is full");
        // Crash: no Drop.
        std::mem::forget(sm);
        return;
    }

    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
    let chunk: Vec<_> =
        (1..=20).map(|i| insert_at(i, &format!("key-{i}"), value.clone())).collect();
    sm.apply_chunk(&chunk).await.unwrap();
    sm.checkpoint().await.unwrap();
    drop(sm);

    file_size_limit::run_in_child(
        concat!(
            module_path!(),
            "::test_a_checkpoint_that_fails_midway_keeps_the_previous_state"
        ),
        &data_dir,
    );

    let sm = FileStateMachine::new(data_dir).await.unwrap();
    for i in 1..=21 {
        assert_eq!(
            sm.get(format!("key-{i}").as_bytes()).unwrap(),
            Some(value.clone()),
            "key-{i} lost: the failed checkpoint had already truncated state.data \
             (rewritten in place) and the WAL no longer held it"
        );
    }
}

/// WAL records that the checkpoint already holds are not replayed: the WAL
/// truncation after a checkpoint can be lost in a crash, and an old record
/// replayed over the newer state would undo the writes after it.
#[tokio::test]
async fn test_wal_records_the_checkpoint_already_holds_are_not_replayed() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
    sm.apply_chunk(&[insert_at(1, "k", Bytes::from("old"))]).await.unwrap();
    let stale_wal = std::fs::read(data_dir.join("wal.log")).unwrap();
    sm.apply_chunk(&[insert_at(2, "k", Bytes::from("new"))]).await.unwrap();
    sm.checkpoint().await.unwrap();
    std::mem::forget(sm);
    // The crash loses the checkpoint's truncation of the WAL.
    std::fs::write(data_dir.join("wal.log"), stale_wal).unwrap();

    let sm = FileStateMachine::new(data_dir).await.unwrap();
    assert_eq!(
        sm.get(b"k").unwrap(),
        Some(Bytes::from("new")),
        "the WAL record of index 1 was replayed over the checkpoint of index 2"
    );
    assert_eq!(sm.last_applied().index, 2);
}

/// After a crash, WAL replay applies the entries since the last checkpoint;
/// the applied index must move past them. Otherwise Raft applies them a second
/// time over the replayed state, where a compare-and-swap can come out the
/// other way.
#[tokio::test]
async fn test_wal_replay_moves_last_applied_past_the_replayed_entries() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let log = [
        cas_at(1, "k", Some("a"), "b"), // fails: k is absent
        cas_at(2, "k", None, "a"),      // succeeds
    ];
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
    let results = sm.apply_chunk(&log).await.unwrap();
    assert!(!results[0].succeeded && results[1].succeeded);
    // Crash: the entries are only in the WAL.
    std::mem::forget(sm);

    let sm = FileStateMachine::new(data_dir).await.unwrap();
    let applied = sm.last_applied().index;
    resume_from_the_log(&sm, &log).await;
    assert_eq!(
        sm.get(b"k").unwrap(),
        Some(Bytes::from("a")),
        "entries 1..=2 applied twice: after the replay last_applied was {applied}, and the \
         compare-and-swap at index 1 succeeded the second time"
    );
}

/// A crash between the `state.data` and `metadata.bin` renames of a checkpoint
/// leaves the data ahead of the metadata. The WAL, fsynced before them and not
/// yet cleared, holds the records in between; replaying them over data that
/// holds them already is idempotent, and the applied index moves past them.
#[tokio::test]
async fn test_a_crash_between_the_state_and_metadata_renames_loses_nothing() {
    let temp_dir = tempfile::tempdir().unwrap();
    let data_dir = temp_dir.path().to_path_buf();
    let log = [
        insert_at(1, "k", Bytes::from("a")),
        cas_at(2, "k", Some("b"), "c"), // fails: k is a
        cas_at(3, "k", Some("a"), "b"), // succeeds
    ];
    let sm = FileStateMachine::new(data_dir.clone()).await.unwrap();
    sm.apply_chunk(&log[..1]).await.unwrap();
    sm.checkpoint().await.unwrap();
    sm.apply_chunk(&log[1..]).await.unwrap();
    let old_metadata = std::fs::read(data_dir.join("metadata.bin")).unwrap();
    let wal = std::fs::read(data_dir.join("wal.log")).unwrap();
    sm.checkpoint().await.unwrap();
    std::mem::forget(sm);
    // The crash came after the state.data rename, before the metadata.bin one.
    std::fs::write(data_dir.join("metadata.bin"), old_metadata).unwrap();
    std::fs::write(data_dir.join("wal.log"), wal).unwrap();

    let sm = FileStateMachine::new(data_dir).await.unwrap();
    assert_eq!(
        sm.last_applied().index,
        3,
        "the replay of entries 2..=3 left last_applied behind them: Raft applies them again"
    );
    resume_from_the_log(&sm, &log).await;
    assert_eq!(sm.get(b"k").unwrap(), Some(Bytes::from("b")));
}
