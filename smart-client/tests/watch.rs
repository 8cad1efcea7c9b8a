//! Watches through the smart client on real 3-node clusters: events in
//! order with their indexes, and a watch that outlives the node it reads
//! from (re-subscribing on another member, with a gap notice only when
//! changes may have been missed).

use std::time::{Duration, Instant};

use kv_harness::Cluster;
use smart_client::{SmartClient, Watch, WatchItem, WatchKind};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ELECTION: Duration = Duration::from_secs(30);

async fn client(cluster: &Cluster) -> SmartClient {
    SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(Duration::from_secs(10))
        .build()
        .await
        .expect("client bootstraps")
}

/// The next item within `deadline` (panics naming `what` otherwise).
async fn next(watch: &mut Watch, what: &str) -> WatchItem {
    tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .unwrap_or_else(|_| panic!("no watch item for {what} within 20 s"))
        .expect("the watch stream is open")
}

/// Writes `value` to `key` and returns the write's index.
async fn put(c: &SmartClient, key: &str, value: &str) -> u64 {
    c.put_str(key, value).await.expect("write acknowledged");
    c.session_index()
}

/// The node id whose API URL is `url`.
fn node_of(cluster: &Cluster, url: &str) -> u32 {
    cluster
        .ids()
        .into_iter()
        .find(|&id| cluster.api_url(id).trim_end_matches('/') == url)
        .unwrap_or_else(|| panic!("{url} is not a node of the cluster"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_and_prefix_watches_deliver_changes_in_order() {
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::three();
    cluster.wait_for_leader(ELECTION);
    let c = client(&cluster).await;
    let mut key_watch = c.watch("/cfg/a").await.unwrap();
    let mut dir_watch = c.watch_prefix("/cfg/").await.unwrap();

    let mut expected = Vec::new();
    for (key, value) in [
        ("/cfg/a", Some("1")),
        ("/cfg/b", Some("2")),
        ("/cfg/a", None),
    ] {
        let index = match value {
            Some(v) => put(&c, key, v).await,
            None => {
                c.delete(key).await.unwrap();
                c.session_index()
            }
        };
        expected.push((key, value, index));
    }
    // Another directory is not reported.
    put(&c, "/other/x", "y").await;

    for (key, value, index) in &expected {
        match next(&mut dir_watch, "the prefix watch").await {
            WatchItem::Event(e) => {
                assert_eq!(
                    (e.key.as_str(), e.value.as_deref(), e.index),
                    (*key, *value, *index)
                );
                let kind = if value.is_some() {
                    WatchKind::Put
                } else {
                    WatchKind::Delete
                };
                assert_eq!(e.kind, kind);
            }
            other => panic!("expected the change at {index}, got {other:?}"),
        }
    }
    for (key, value, index) in expected.iter().filter(|(k, ..)| *k == "/cfg/a") {
        match next(&mut key_watch, "the key watch").await {
            WatchItem::Event(e) => {
                assert_eq!(
                    (e.key.as_str(), e.value.as_deref(), e.index),
                    (*key, *value, *index)
                );
            }
            other => panic!("expected the change at {index}, got {other:?}"),
        }
    }
    // A prefix that is not directory-style is refused at once.
    assert!(matches!(
        c.watch_prefix("cfg").await,
        Err(smart_client::Error::BadRequest { code, .. }) if code == "invalid_prefix"
    ));
}

/// The watch's node is SIGKILLed. A follower first, with no write while the
/// watch moves: it resumes on another member without a gap notice. Then the
/// node it moved to, with writes going on: every acknowledged write is
/// delivered as an event or lies in a `Missed` range, never silently lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_outlives_the_death_of_its_node() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let c = client(&cluster).await;
    let mut watch = c.watch("/svc/lock").await.unwrap();
    let first = node_of(&cluster, &watch.node_url());
    assert_ne!(first, leader, "a watch stays off the leader");

    let i1 = put(&c, "/svc/lock", "v1").await;
    assert!(matches!(next(&mut watch, "v1").await, WatchItem::Event(e) if e.index == i1));

    // 1. Its follower dies; nothing is written until the watch has moved.
    cluster.kill(first);
    let until = Instant::now() + Duration::from_secs(20);
    while node_of(&cluster, &watch.node_url()) == first {
        assert!(
            Instant::now() < until,
            "the watch did not move off n{first}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let i2 = put(&c, "/svc/lock", "v2").await;
    match next(&mut watch, "v2").await {
        WatchItem::Event(e) => assert_eq!((e.index, e.value.as_deref()), (i2, Some("v2"))),
        other => panic!("no write happened while the watch moved, yet got {other:?}"),
    }

    // 2. The node it moved to dies while writes go on (the first one back,
    //    so two of three nodes remain).
    cluster.restart(first);
    let until = Instant::now() + ELECTION;
    while cluster.topology(first).and_then(|t| t.leader_id).is_none() {
        assert!(Instant::now() < until, "n{first} did not rejoin");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = node_of(&cluster, &watch.node_url());
    let writer = {
        let c = c.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..40 {
                let value = format!("w{i}");
                if c.put_str("/svc/lock", &value).await.is_ok() {
                    acked.push((c.session_index(), value));
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster.kill(second);
    let acked = writer.await.unwrap();
    assert!(!acked.is_empty(), "writes go on after the kill");
    let last = acked.last().unwrap().0;

    let mut seen = i2;
    let mut covered: Vec<(u64, u64)> = Vec::new();
    let mut delivered = Vec::new();
    while seen < last {
        match next(&mut watch, "the writes after the kill").await {
            WatchItem::Event(e) => {
                assert!(e.index > seen, "indexes increase: {} after {seen}", e.index);
                seen = e.index;
                delivered.push((e.index, e.value.unwrap_or_default()));
            }
            WatchItem::Missed { after, until } => {
                assert_eq!(after, seen, "a gap starts at the last index delivered");
                assert!(until > after);
                seen = until;
                covered.push((after, until));
            }
        }
    }
    assert_ne!(node_of(&cluster, &watch.node_url()), second);
    for (index, value) in &acked {
        let in_gap = covered.iter().any(|(a, u)| a < index && index <= u);
        let as_event = delivered.iter().any(|(i, v)| i == index && v == value);
        assert!(
            in_gap || as_event,
            "write {value} at {index} neither delivered nor announced missing \
             (delivered {delivered:?}, gaps {covered:?})"
        );
    }
}
