//! Balancing policies against a real 3-node cluster: weighted round robin
//! with the weights the nodes publish (`[node] weight`), and the sticky policy.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kv_harness::{Cluster, ClusterOptions};
use smart_client::{BalancePolicy, ReadConsistency, ReadPreference, SmartClient};

/// One cluster at a time (three processes each; CI has two cores).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn client(cluster: &Cluster, policy: BalancePolicy) -> SmartClient {
    SmartClient::builder()
        .seeds(cluster.api_urls())
        .read_preference(ReadPreference::Follower)
        .balance_policy(policy)
        .session_consistency(false)
        .build()
        .await
        .expect("client bootstraps")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_round_robin_follows_the_published_weights() {
    let _serial = SERIAL.lock().await;
    let weights = BTreeMap::from([(1, 1), (2, 2), (3, 3)]);
    let cluster = Cluster::start(ClusterOptions {
        weights: weights.clone(),
        ..ClusterOptions::default()
    });
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let c = client(&cluster, BalancePolicy::WeightedRoundRobin).await;
    c.put_str("k", "v").await.expect("write");
    // Every member's weight is in the topology once it has registered.
    let until = Instant::now() + Duration::from_secs(20);
    while !weights
        .iter()
        .all(|(id, w)| c.topology().member(*id).and_then(|m| m.weight) == Some(*w))
    {
        assert!(
            Instant::now() < until,
            "weights never published: {:?}",
            c.topology()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let followers: Vec<u32> = cluster.ids().into_iter().filter(|i| *i != leader).collect();
    let before = c.stats();
    for _ in 0..600 {
        c.get_str("k", ReadConsistency::Eventual)
            .await
            .expect("read");
    }
    let after = c.stats();
    let got: Vec<u64> = followers
        .iter()
        .map(|f| after.requests_to(*f) - before.requests_to(*f))
        .collect();
    assert_eq!(got.iter().sum::<u64>(), 600, "{after:?}");
    let total: u32 = followers.iter().map(|f| weights[f]).sum();
    for (f, n) in followers.iter().zip(&got) {
        let expected = 600.0 * f64::from(weights[f]) / f64::from(total);
        // Exact on a steady latency window; a generous bound for RTT jitter
        // on a busy machine moving a node out of the window for a moment.
        assert!(
            (*n as f64 - expected).abs() <= 60.0,
            "node {f} (weight {}) got {n} of 600 reads, expected ~{expected}: {got:?}",
            weights[f]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_keeps_one_follower_until_it_fails() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let c = client(&cluster, BalancePolicy::Sticky).await;
    c.put_str("k", "v").await.expect("write");
    let followers: Vec<u32> = cluster.ids().into_iter().filter(|i| *i != leader).collect();
    let before = c.stats();
    for _ in 0..200 {
        c.get_str("k", ReadConsistency::Eventual)
            .await
            .expect("read");
    }
    let mid = c.stats();
    let served: Vec<u64> = followers
        .iter()
        .map(|f| mid.requests_to(*f) - before.requests_to(*f))
        .collect();
    assert!(served.contains(&200) && served.contains(&0), "{served:?}");
    let stuck = followers[served.iter().position(|n| *n == 200).expect("one")];
    let other = *followers.iter().find(|f| **f != stuck).expect("two");

    cluster.kill(stuck);
    for _ in 0..200 {
        let v = c.get_str("k", ReadConsistency::Eventual).await;
        assert_eq!(v.expect("reads survive the kill").as_deref(), Some("v"));
    }
    let end = c.stats();
    // At most the reads in flight at the kill touched the dead node again;
    // everything else stuck to the other follower.
    assert!(
        end.requests_to(other) - mid.requests_to(other) >= 199,
        "{end:?}"
    );
    assert_eq!(end.requests_to(leader), mid.requests_to(leader), "{end:?}");
}
