//! A 3-node cluster on power-cut filesystems comes back after all three lose
//! power at once. (Whether the acknowledged write survives is the engine's
//! business, tested with it; here only that the cluster recovers.)

use std::time::{Duration, Instant};

use kv_contract::PostBody;
use kv_harness::{powercut, wait_until, Cluster, ClusterOptions};

/// POST `key` = `value` to the node at `base`; the status, if it answered.
fn post(base: &str, key: &str, value: &str) -> Option<u16> {
    let body = PostBody {
        key: key.into(),
        value: value.into(),
        ttl_secs: None,
    };
    match ureq::post(&format!("{base}/kv")).send_json(&body) {
        Ok(r) => Some(r.status()),
        Err(ureq::Error::Status(status, _)) => Some(status),
        Err(_) => None,
    }
}

/// GET `key` from the node at `base`; the status, if it answered.
fn get(base: &str, key: &str) -> Option<u16> {
    match ureq::get(&format!("{base}/kv/{key}")).call() {
        Ok(r) => Some(r.status()),
        Err(ureq::Error::Status(status, _)) => Some(status),
        Err(_) => None,
    }
}

#[test]
fn a_cluster_on_power_cut_disks_elects_a_leader_again_after_all_nodes_lose_power() {
    if !powercut::require() {
        return;
    }
    let start = Instant::now();
    let mut cluster = Cluster::start(ClusterOptions {
        power_cut_fs: true,
        ..ClusterOptions::default()
    });
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    eprintln!("leader elected on FUSE disks after {:?}", start.elapsed());
    let url = cluster.api_url(leader);
    let written = wait_until(Duration::from_secs(10), || {
        (post(&url, "k", "v") == Some(200)).then_some(())
    });
    assert!(
        written.is_some(),
        "write not acknowledged\n{}",
        cluster.log_tails(30)
    );
    assert!(
        cluster.disk(leader).bytes_written() > 0,
        "the leader wrote nothing to its data dir"
    );

    let all = cluster.ids();
    for id in &all {
        report(&cluster, *id);
    }
    cluster.power_cut(&all);
    let leader = cluster.wait_for_leader(Duration::from_secs(60));
    let url = cluster.api_url(leader);
    // Served: the value or "not found", not an error or no answer.
    let served = wait_until(Duration::from_secs(20), || {
        matches!(get(&url, "k"), Some(200 | 404)).then_some(())
    });
    assert!(
        served.is_some(),
        "leader {leader} serves no reads after the power cut\n{}",
        cluster.log_tails(30)
    );
}

/// Print what node `id` wrote to its data dir and what it fsynced (shown
/// with `--nocapture`): the files a power cut can take back.
fn report(cluster: &Cluster, id: u32) {
    let disk = cluster.disk(id);
    eprintln!(
        "node {id}: {} fsyncs, {} bytes written",
        disk.fsyncs(),
        disk.bytes_written()
    );
    for f in disk.files() {
        eprintln!(
            "  {:<50} writes {:>5} bytes {:>8} truncates {:>3} fsyncs {:>4}{}",
            f.path.display(),
            f.writes,
            f.bytes_written,
            f.truncates,
            f.fsyncs,
            if f.volatile { "  (unsynced data)" } else { "" }
        );
    }
}
