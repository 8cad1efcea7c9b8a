//! d-engine keeps the unpurged Raft log in a `crossbeam_skiplist::SkipMap` and
//! builds every AppendEntries by walking a range of it. crossbeam-skiplist 0.1.3
//! leaked a reference to every node such a range walked past, so entries a
//! snapshot purged were never freed: node memory grew with every write ever
//! made. `vendor/crossbeam-skiplist` carries the upstream fix (vendor/PATCHES.md,
//! patch 5); this test fails without it.

use std::sync::Arc;

use crossbeam_skiplist::SkipMap;

#[test]
fn entries_a_range_walked_past_are_freed_once_removed() {
    const N: u64 = 1000;
    let payload = Arc::new(());
    let log = SkipMap::new();
    for index in 1..=N {
        log.insert(index, Arc::clone(&payload));
    }

    // Replication: walk ranges of the log, the way d-engine collects entries.
    assert_eq!(log.range(1..=N).count(), N as usize);
    assert_eq!(log.range(N / 2..).map(|e| *e.key()).max(), Some(N));

    // Purge after a snapshot: remove them all.
    for index in 1..=N {
        assert!(log.remove(&index).is_some());
    }
    assert!(log.is_empty());

    // Removed nodes are freed through crossbeam-epoch once no thread can still
    // see them; push the deferred garbage through (bounded).
    for _ in 0..10_000 {
        if Arc::strong_count(&payload) == 1 {
            break;
        }
        crossbeam_epoch::pin().flush();
    }
    assert_eq!(
        Arc::strong_count(&payload) - 1,
        0,
        "log entries still allocated after they were removed"
    );
}
