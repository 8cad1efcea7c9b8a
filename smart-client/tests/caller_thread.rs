//! Calls made on an actix system thread run on that thread (no hop to the
//! client's I/O thread); calls from a plain tokio runtime still use the I/O
//! thread. Same behaviour either way, against a real 3-node cluster.

use std::time::{Duration, Instant};

use kv_harness::{missing_on, AckLog, Cluster};
use smart_client::{ReadConsistency, SmartClient};

#[actix_rt::test]
async fn calls_on_an_actix_thread_run_there_and_ride_through_a_leader_kill() {
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let client = SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(Duration::from_secs(5))
        .build()
        .await
        .expect("client bootstraps");
    let acks = AckLog::default();
    for i in 0..100 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        let started = Instant::now();
        client.put_str(&k, &v).await.expect("write");
        acks.record(k.clone(), v.clone(), started);
        // Read-your-writes through the handle's session, from any node.
        let got = client.get_str(&k, ReadConsistency::Eventual).await;
        assert_eq!(got.expect("read").as_deref(), Some(v.as_str()));
    }
    let s = client.stats();
    assert_eq!(s.calls_on_caller_thread, 200, "{s:?}");
    assert_eq!(s.errors, 0, "{s:?}");

    // The same handle used from a multi-threaded tokio runtime on another
    // thread goes through the I/O thread.
    let other = client.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async { other.put_str("from-tokio", "1").await })
    })
    .join()
    .expect("thread")
    .expect("write from a tokio runtime");
    assert_eq!(client.stats().calls_on_caller_thread, 200);

    // Failover works the same from this thread: the leader dies, writes go
    // to the new one.
    cluster.kill(leader);
    let until = Instant::now() + Duration::from_secs(20);
    let mut after = 0;
    let mut i = 0;
    while after < 20 {
        assert!(
            Instant::now() < until,
            "writes did not resume after the leader kill: {:?}\n{}",
            client.stats(),
            cluster.log_tails(30)
        );
        i += 1;
        let (k, v) = (format!("after{i}"), "v".to_string());
        let started = Instant::now();
        if client.put_str(&k, &v).await.is_ok() {
            acks.record(k, v, started);
            after += 1;
        }
    }
    let s = client.stats();
    assert!(s.leader_changes_seen >= 1, "{s:?}");
    assert_ne!(client.topology().leader_id, Some(leader));
    let new_leader = cluster.wait_for_leader_among(&cluster.live_ids(), Duration::from_secs(30));
    let missing = missing_on(&cluster.api_url(new_leader), &acks.snapshot());
    assert!(
        missing.is_empty(),
        "acknowledged writes missing: {missing:?}"
    );
}

/// `SmartClient::local`: calls run inline on this actix thread, in the
/// handle's session, with the same answers; off an actix thread it is refused.
#[actix_rt::test]
async fn a_local_client_runs_calls_inline_in_the_handles_session() {
    let cluster = Cluster::three();
    cluster.wait_for_leader(Duration::from_secs(30));
    let client = SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(Duration::from_secs(5))
        .build()
        .await
        .expect("client bootstraps");
    let local = client.local().expect("an actix thread");
    for i in 0..50 {
        let (k, v) = (format!("/l/k{i}"), format!("v{i}"));
        local.put(&k, &v).await.expect("write");
        // Read-your-writes through the handle's session, on a follower.
        let got = local
            .get(&k, ReadConsistency::Eventual)
            .await
            .expect("read");
        assert_eq!(got.as_deref(), Some(v.as_bytes()));
    }
    // One session: the Send handle saw the local writes' indexes.
    assert!(client.session_index() > 0);
    assert_eq!(client.session_index(), local.session_index());
    let got = client.get_str("/l/k49", ReadConsistency::Eventual).await;
    assert_eq!(got.expect("read").as_deref(), Some("v49"));

    assert!(local
        .compare_and_swap("/l/lock", None, "a")
        .await
        .expect("cas"));
    assert!(!local
        .compare_and_swap("/l/lock", None, "b")
        .await
        .expect("cas"));
    local.delete("/l/k0").await.expect("delete");
    let list = local
        .scan_prefix("/l/k", 1000, ReadConsistency::Linearizable)
        .await
        .expect("scan");
    assert_eq!(list.items.len(), 49, "{list:?}");
    assert!(list.items.iter().all(|i| i.key != "/l/k0"));

    let s = client.stats();
    // 100 + 2 + 1 + 1 local calls and the handle's read, all on this
    // thread; the refused swap is the one error (a 409).
    assert_eq!(s.calls_on_caller_thread, 105, "{s:?}");
    assert_eq!(s.errors, 1, "{s:?}");

    // A plain tokio runtime has no actix system: no local handle there.
    let other = client.clone();
    let refused = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async { other.local().map(drop) })
    })
    .join()
    .expect("thread");
    assert!(
        matches!(refused, Err(smart_client::Error::Config(_))),
        "{refused:?}"
    );
}
