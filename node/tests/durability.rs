//! Data survives SIGKILL of a follower and SIGTERM of the whole cluster.

mod common;

use std::time::{Duration, Instant};

use common::{put_acked, try_call};
use kv_harness::{missing_on, wait_until, AckLog, Cluster};

#[test]
fn killed_follower_catches_up_after_restart() {
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let follower = *cluster
        .ids()
        .iter()
        .find(|i| **i != leader)
        .expect("follower");
    let lurl = cluster.api_url(leader);
    put_acked(&lurl, "k-0", "v-0", Duration::from_secs(10));

    cluster.kill(follower);
    for i in 1..200 {
        put_acked(
            &lurl,
            &format!("k-{i}"),
            &format!("v-{i}"),
            Duration::from_secs(10),
        );
    }
    cluster.restart(follower);
    let furl = cluster.api_url(follower);
    let caught_up = wait_until(Duration::from_secs(30), || {
        // The restarted node refuses connections until it has loaded its data.
        (0..200)
            .all(|i| {
                try_call(
                    "GET",
                    &format!("{furl}/kv/k-{i}?consistency=eventual"),
                    None,
                )
                .is_ok_and(|a| a.json["value"] == format!("v-{i}"))
            })
            .then_some(())
    });
    assert!(
        caught_up.is_some(),
        "follower {follower} did not catch up\n{}",
        cluster.log_tails(30)
    );
}

#[test]
fn sigterm_exits_zero_and_a_restarted_cluster_keeps_every_acknowledged_write() {
    let mut cluster = Cluster::three();
    cluster.wait_for_leader(Duration::from_secs(30));
    let acks = AckLog::default();
    for i in 0..300 {
        // Spread writes over all nodes (followers forward).
        let id = cluster.ids()[i % 3];
        let (key, value) = (format!("key-{i}"), format!("value-{i}"));
        let started = Instant::now();
        put_acked(&cluster.api_url(id), &key, &value, Duration::from_secs(10));
        acks.record(key, value, started);
    }
    for id in cluster.ids() {
        let status = cluster
            .stop(id, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("node {id} did not exit on SIGTERM"));
        assert!(status.success(), "node {id} exited with {status}");
    }
    for id in cluster.ids() {
        cluster.restart(id);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let lost = missing_on(&cluster.api_url(leader), &acks.snapshot());
    assert!(lost.is_empty(), "lost acknowledged writes: {lost:?}");
}
