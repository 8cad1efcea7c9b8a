//! Session consistency against real 3-node clusters: read-your-writes with
//! follower reads while a follower is SIGSTOPped and resumed, and the
//! `max_staleness` bound keeping a paused follower out of selection.

use std::time::{Duration, Instant};

use kv_harness::Cluster;
use smart_client::{Member, ReadConsistency, ReadPreference, SmartClient, SmartClientBuilder};

/// One cluster at a time (three processes each; CI has two cores).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ELECTION: Duration = Duration::from_secs(30);

/// Wait (async) until `f` is true; panics with `what` after `deadline`.
async fn eventually(deadline: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn followers(cluster: &Cluster, leader: u32) -> Vec<u32> {
    cluster
        .ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect()
}

/// Writes then reads back each key through one session, `n` times; every
/// read must see its write.
async fn write_then_read(put: &smart_client::Session, prefix: &str, n: usize) {
    for i in 0..n {
        let (k, v) = (format!("{prefix}-{i}"), format!("v{i}"));
        put.put_str(&k, &v).await.expect("write acknowledged");
        let got = put
            .get_str(&k, ReadConsistency::Eventual)
            .await
            .expect("read");
        assert_eq!(
            got.as_deref(),
            Some(v.as_str()),
            "{k}: read missed its own write"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_your_writes_while_a_follower_is_paused_and_resumed() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let client = SmartClient::builder()
        .seeds(cluster.api_urls())
        .read_preference(ReadPreference::Follower)
        .build()
        .await
        .expect("client bootstraps");
    eventually(Duration::from_secs(5), "client knows the leader", || {
        client.topology().leader_id == Some(leader)
    })
    .await;
    let paused = followers(&cluster, leader)[0];

    // Explicit sessions have their own index; the handle is a session too.
    let s1 = client.session();
    let s2 = client.session();
    write_then_read(&s1, "warm", 20).await;
    assert!(s1.index() > 0);
    assert_eq!(s2.index(), 0, "sessions share no index");
    assert_eq!(
        client.session_index(),
        0,
        "the handle's session is separate"
    );
    client.put_str("handle", "h").await.expect("write");
    assert!(client.session_index() > 0);
    assert_eq!(
        client
            .get_str("handle", ReadConsistency::Eventual)
            .await
            .expect("read")
            .as_deref(),
        Some("h")
    );

    cluster.pause(paused);
    write_then_read(&s1, "paused", 100).await;
    cluster.resume(paused);
    // The resumed follower is behind: it must wait or refuse, never answer old state.
    let before = client.stats().requests_to(paused);
    write_then_read(&s2, "resumed", 200).await;
    let after = client.stats();
    assert!(
        after.requests_to(paused) > before,
        "the resumed follower served no reads: {after:?}"
    );
    let follower_reads: u64 = followers(&cluster, leader)
        .iter()
        .map(|id| after.requests_to(*id))
        .sum();
    assert!(follower_reads >= 200, "reads left the followers: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staleness_bound_skips_a_paused_follower() {
    // The client learns the lag from the topology the nodes publish: either
    // an applied index more than 10 behind, or none at all (the node that
    // answered never reached the paused one).
    skips_a_paused_follower(
        |b| b.max_staleness(10),
        |commit, m| match (commit, m.applied_index) {
            (Some(c), Some(a)) => c > a + 10,
            (Some(c), None) => c >= 50,
            _ => false,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staleness_bound_in_time_skips_a_paused_follower() {
    // Lag in time: how long ago the commit index passed the paused
    // follower's applied index, as published (or unknown).
    skips_a_paused_follower(
        |b| b.max_staleness_time(Duration::from_millis(400)),
        |_, m| m.lag_ms.is_none_or(|lag| lag > 400),
    )
    .await;
}

/// Pauses a follower, writes, waits until the client's topology shows the
/// follower's lag as `lagging` says, then checks that no eventual read goes
/// to it, and that it is chosen again once resumed and level.
async fn skips_a_paused_follower(
    bound: impl FnOnce(SmartClientBuilder) -> SmartClientBuilder,
    lagging: impl Fn(Option<u64>, &Member) -> bool,
) {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let client = bound(
        SmartClient::builder()
            .seeds(cluster.api_urls())
            .read_preference(ReadPreference::Follower)
            .session_consistency(false),
    )
    .build()
    .await
    .expect("client bootstraps");
    let f = followers(&cluster, leader);
    let (paused, live) = (f[0], f[1]);
    cluster.pause(paused);
    let until = Instant::now() + Duration::from_secs(10);
    let mut i = 0;
    loop {
        // Writes go on while the lag builds up (in entries and in time).
        client
            .put_str(&format!("k{}", i % 50), "v")
            .await
            .expect("write");
        i += 1;
        let t = client.topology();
        if i >= 50 && t.member(paused).is_some_and(|m| lagging(t.commit_index, m)) {
            break;
        }
        assert!(
            Instant::now() < until,
            "the client never saw the paused follower's lag: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = client.stats();
    for i in 0..100 {
        let v = client
            .get_str(&format!("k{}", i % 50), ReadConsistency::Eventual)
            .await;
        assert!(v.is_ok(), "{v:?}");
    }
    let after = client.stats();
    assert_eq!(
        after.requests_to(paused),
        before.requests_to(paused),
        "a read went to the paused, lagging follower: {after:?}"
    );
    assert_eq!(
        after.requests_to(live) - before.requests_to(live),
        100,
        "{after:?}"
    );

    // Caught up again, it is chosen again.
    cluster.resume(paused);
    let until = Instant::now() + Duration::from_secs(20);
    while client.stats().requests_to(paused) == before.requests_to(paused) {
        assert!(
            Instant::now() < until,
            "the resumed follower never served again"
        );
        let _ = client.get_str("k0", ReadConsistency::Eventual).await;
    }
}
