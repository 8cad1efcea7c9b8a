//! Quorum Durability Tests
//!
//! The leader counts itself toward the quorum with its durable index, as every
//! follower does (followers acknowledge only entries they have fsynced). Its
//! own fsync runs on the IO thread beside replication: a commit waits for it
//! only when the followers' acknowledgements are not a majority without it.

use crate::storage::raft_log::RaftLog;
use crate::test_utils::BufferedRaftLogTestContext;
use crate::{
    BufferedRaftLog, FlushPolicy, MockStorageEngine, MockTypeConfig, PersistenceConfig,
    PersistenceStrategy,
};
use bytes::Bytes;
use d_engine_proto::common::{Entry, EntryPayload};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Flush policy with a far-future safety timer — IO thread only fsyncs on WriteNotify.
/// In current_thread test runtime, durable_index stays at 0 immediately after append_entries
/// because the IO thread task has no chance to run until the test yields.
fn no_auto_flush_policy() -> FlushPolicy {
    FlushPolicy::Batch {
        idle_flush_interval_ms: 999_999,
    }
}

// ── Leader quorum uses its durable index, not last_entry_id (in memory) ──

/// An entry held in the leader's memory and fsynced on one follower of two is
/// on disk on one node of three: not committed. Two followers that have it
/// durable are a majority without the leader's disk.
///
/// Upstream asserted the opposite (`Some(1)` for the first case, the leader
/// counting `last_entry_id`), which lets a power cut of the leader and that
/// follower lose an acknowledged write.
#[tokio::test]
async fn test_leader_counts_itself_only_up_to_its_durable_index() {
    // No IO thread: durable_index moves only when this test moves it, so the
    // check does not race with a flush.
    let storage = Arc::new(MockStorageEngine::with_id(
        "test_leader_counts_durable_index".to_string(),
    ));
    let (raft_log, _io_tasks) = BufferedRaftLog::<MockTypeConfig>::new(
        1,
        PersistenceConfig {
            strategy: PersistenceStrategy::MemFirst,
            flush_policy: no_auto_flush_policy(),
            max_buffered_entries: 1000,
        },
        storage,
    );
    let entry = Entry {
        index: 1,
        term: 1,
        payload: Some(EntryPayload::command(Bytes::from_static(b"data"))),
    };
    raft_log.append_entries(vec![entry]).await.unwrap();
    assert_eq!(raft_log.last_entry_id(), 1);
    assert_eq!(raft_log.durable_index(), 0);

    // Three voters: one follower has index 1 durable, the other nothing.
    assert_eq!(
        raft_log.calculate_majority_matched_index(1, 0, vec![1, 0]),
        None,
        "an entry not yet durable on the leader and durable on one follower of two is on one disk of three"
    );

    // Both followers have it durable: a majority without the leader.
    assert_eq!(
        raft_log.calculate_majority_matched_index(1, 0, vec![1, 1]),
        Some(1),
        "two durable followers of three voters commit without the leader's fsync"
    );

    // Once the leader's own fsync is done (the IO thread's job), it counts.
    raft_log.durable_index.store(1, Ordering::Release);
    assert_eq!(
        raft_log.calculate_majority_matched_index(1, 0, vec![1, 0]),
        Some(1),
        "leader durable + one follower durable = majority of three"
    );
}

/// Once the leader flushes, quorum calculation should succeed.
///
/// This test verifies the positive case: after flush, durable_index=1,
/// quorum should proceed normally.
#[tokio::test]
async fn test_quorum_succeeds_after_leader_flush() {
    let ctx = BufferedRaftLogTestContext::new(
        PersistenceStrategy::MemFirst,
        FlushPolicy::Batch {
            idle_flush_interval_ms: 999_999, // only threshold trigger, no timer
        },
        "test_quorum_after_flush",
    );

    // Append entry 1 — threshold=1 so flush fires immediately
    ctx.append_entries(1, 1, 1).await;

    // Wait for flush to complete
    tokio::time::sleep(Duration::from_millis(50)).await;

    assert_eq!(ctx.raft_log.last_entry_id(), 1);
    assert_eq!(
        ctx.raft_log.durable_index(),
        1,
        "durable_index must be 1 after threshold flush"
    );

    let new_commit = ctx.raft_log.calculate_majority_matched_index(
        1,
        0,
        vec![1], // follower acked
    );

    // Correct: durable_index=1 = last_entry_id=1, quorum should pass
    assert_eq!(
        new_commit,
        Some(1),
        "quorum must succeed after leader flush"
    );
}

// ── Bug 2: gap between last_entry_id and durable_index ──

/// Demonstrates that after append_entries with MemFirst + no-auto-flush,
/// last_entry_id and durable_index diverge.
///
/// This is the root condition enabling the bug: both values exist,
/// but quorum calculation only uses the unsafe one.
#[tokio::test]
async fn test_last_entry_id_diverges_from_durable_index_with_mem_first() {
    let ctx = BufferedRaftLogTestContext::new(
        PersistenceStrategy::MemFirst,
        no_auto_flush_policy(),
        "test_diverge_mem_first",
    );

    ctx.append_entries(1, 5, 1).await; // entries 1..=5, no flush

    assert_eq!(ctx.raft_log.last_entry_id(), 5, "memory index should be 5");
    assert_eq!(
        ctx.raft_log.durable_index(),
        0,
        "durable_index must remain 0: no flush has run"
    );
    // This gap (5 vs 0) is exactly what the quorum bug exploits.
}

/// After explicit flush, durable_index must equal last_entry_id.
#[tokio::test]
async fn test_durable_index_equals_last_entry_id_after_flush() {
    let ctx = BufferedRaftLogTestContext::new(
        PersistenceStrategy::MemFirst,
        FlushPolicy::Batch {
            idle_flush_interval_ms: 1,
        },
        "test_no_diverge_after_flush",
    );

    ctx.append_entries(1, 5, 1).await;
    ctx.raft_log.flush().await.unwrap();

    let last = ctx.raft_log.last_entry_id();
    let durable = ctx.raft_log.durable_index();

    assert_eq!(last, 5);
    assert_eq!(
        durable, last,
        "durable_index must equal last_entry_id after flush"
    );
}
