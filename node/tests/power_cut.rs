//! Power cuts and disk faults, on the harness's power-cut filesystem (data a
//! node wrote but did not fsync is gone after a cut, as after a real power
//! loss).
//!
//! - An acknowledged write is fsynced on a majority, the leader counted only
//!   with what it has fsynced (engine patches 23 and 28): it survives a power
//!   cut of the leader and a follower together, and of every node.
//! - The leader's own fsync runs beside replication: with only its disk slow,
//!   writes are acknowledged at the followers' pace; with its disk and a
//!   follower's slow, no write is acknowledged before one of those two
//!   fsyncs returned.
//! - A failed fsync stops the node (503 `storage_failed`), never retried as
//!   if the data were safe; a restart recovers it from what is on disk.
//! - A full disk answers 507 `storage_full`, keeps serving reads and resumes
//!   by itself once space is freed.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{post_body, put_acked, try_call};
use kv_harness::{missing_on, powercut, wait_until, AckLog, Cluster, ClusterOptions};

/// POST `key` = `value` to the node at `base` (any status; transport errors returned).
fn try_post(base: &str, key: &str, value: &str) -> Result<common::Answer, String> {
    try_call("POST", &format!("{base}/kv"), Some(&post_body(key, value)))
}

fn cluster_on_power_cut_disks() -> Cluster {
    let cluster = Cluster::start(ClusterOptions {
        power_cut_fs: true,
        ..ClusterOptions::default()
    });
    cluster.wait_for_leader(Duration::from_secs(30));
    cluster
}

/// `n` writer threads POSTing unique keys to random nodes until `stop`,
/// recording every acknowledged write in `acks`.
fn start_writers(
    cluster: &Cluster,
    n: usize,
    acks: &Arc<AckLog>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let urls = cluster.api_urls();
    let next = Arc::new(AtomicUsize::new(0));
    (0..n)
        .map(|w| {
            let (urls, acks, stop, next) = (urls.clone(), acks.clone(), stop.clone(), next.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let (key, value) = (format!("w{w}-{i}"), format!("v{i}"));
                    let url = format!("{}/kv", urls[i % urls.len()]);
                    let started = Instant::now();
                    match agent.post(&url).send_string(&post_body(&key, &value)) {
                        Ok(r) if r.status() == 200 => {
                            acks.record(key, value, started);
                        }
                        // Refused, unknown or unreachable (a node is down):
                        // not acknowledged, so not checked; back off a little.
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        })
        .collect()
}

#[test]
fn acknowledged_writes_survive_power_cuts_of_the_leader_with_a_follower_and_of_every_node() {
    if !powercut::require() {
        return;
    }
    let mut cluster = cluster_on_power_cut_disks();
    let acks = Arc::new(AckLog::default());
    let stop = Arc::new(AtomicBool::new(false));
    let writers = start_writers(&cluster, 16, &acks, &stop);
    // Each round slows the fsyncs of the leader and one follower, so that
    // the third node is the only fast one: a write counted as soon as the
    // leader holds it in memory and the fast follower has fsynced it (the
    // old rule) is then on one disk of three when the power goes.
    let slow = Duration::from_millis(200);
    let cuts: [&str; 4] = ["leader+follower", "all", "leader+follower", "all"];
    for (round, what) in cuts.iter().enumerate() {
        // Cut while writes are being acknowledged.
        let before = acks.len();
        let flowing = wait_until(Duration::from_secs(30), || {
            (acks.len() >= before + 100).then_some(())
        });
        assert!(
            flowing.is_some(),
            "round {round}: writes stalled at {} acknowledged\n{}",
            acks.len(),
            cluster.log_tails(30)
        );
        let leader = cluster.wait_for_leader(Duration::from_secs(30));
        let follower = cluster
            .ids()
            .into_iter()
            .find(|id| *id != leader)
            .expect("a follower");
        cluster.disk(leader).set_fsync_delay(slow);
        cluster.disk(follower).set_fsync_delay(slow);
        let before = acks.len();
        let slowed = wait_until(Duration::from_secs(30), || {
            (acks.len() >= before + 20).then_some(())
        });
        assert!(
            slowed.is_some(),
            "round {round}: no writes with two slow disks"
        );
        let victims = match *what {
            "all" => cluster.ids(),
            _ => vec![leader, follower],
        };
        eprintln!(
            "round {round}: power cut of {victims:?} ({what}) after {} acknowledged writes",
            acks.len()
        );
        cluster.power_cut(&victims);
        for id in cluster.ids() {
            cluster.disk(id).set_fsync_delay(Duration::ZERO);
        }
        cluster.wait_for_leader(Duration::from_secs(60));
    }
    let wrote_after = acks.len();
    let resumed = wait_until(Duration::from_secs(30), || {
        (acks.len() >= wrote_after + 50).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer thread");
    }
    assert!(
        resumed.is_some(),
        "no writes after the last cut\n{}",
        cluster.log_tails(30)
    );

    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let acked = acks.snapshot();
    let lost = missing_on(&cluster.api_url(leader), &acked);
    eprintln!("{} acknowledged writes, {} lost", acked.len(), lost.len());
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost after the power cuts, e.g. {:?}\n{}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(10)],
        cluster.log_tails(40)
    );
}

/// Latency of `n` sequential writes through `base`.
fn write_latencies(base: &str, prefix: &str, n: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..n)
        .map(|i| {
            let started = Instant::now();
            put_acked(base, &format!("{prefix}-{i}"), "v", Duration::from_secs(30));
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

#[test]
fn a_slow_disk_delays_writes_only_when_a_majority_waits_for_it() {
    if !powercut::require() {
        return;
    }
    let cluster = cluster_on_power_cut_disks();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let follower = cluster
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let url = cluster.api_url(leader);
    let slow = Duration::from_millis(400);

    // Only the leader's disk is slow: the two followers are a majority.
    cluster.disk(leader).set_fsync_delay(slow);
    let leader_slow = write_latencies(&url, "leader-slow", 20);
    let median = leader_slow[leader_slow.len() / 2];
    eprintln!("leader's fsync +400 ms: median write {median:?}, all {leader_slow:?}");
    assert!(
        median < Duration::from_millis(200),
        "with only the leader's disk slow, writes waited for it: median {median:?}"
    );

    // The leader's and a follower's disks are slow: every majority has one of them.
    cluster.disk(follower).set_fsync_delay(slow);
    let both_slow = write_latencies(&url, "both-slow", 5);
    eprintln!("leader's and follower {follower}'s fsync +400 ms: {both_slow:?}");
    assert!(
        both_slow[0] >= slow,
        "a write was acknowledged in {:?}, before a majority could have fsynced it",
        both_slow[0]
    );
}

#[test]
fn a_failed_fsync_stops_the_node_until_a_restart_recovers_it() {
    if !powercut::require() {
        return;
    }
    let mut cluster = cluster_on_power_cut_disks();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let lurl = cluster.api_url(leader);
    let acks = AckLog::default();
    let write = |base: &str, i: usize| {
        let (key, value) = (format!("k-{i}"), format!("v-{i}"));
        let started = Instant::now();
        put_acked(base, &key, &value, Duration::from_secs(30));
        acks.record(key, value, started);
    };
    for i in 0..20 {
        write(&lurl, i);
    }

    // The leader's next fsync fails.
    cluster.disk(leader).fail_next_fsync(libc::EIO);
    let failed = wait_until(Duration::from_secs(20), || {
        // Any write makes the leader fsync; a refusal is fine here.
        let _ = try_post(&lurl, "trigger", "x");
        let a = try_call("GET", &format!("{lurl}/kv/k-0?consistency=eventual"), None).ok()?;
        (a.status == 503 && a.json["error"] == "storage_failed").then_some(a)
    })
    .unwrap_or_else(|| {
        panic!(
            "the leader did not report its failed fsync\n{}",
            cluster.log_tails(30)
        )
    });
    let message = failed.json["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("log.data") && message.contains("fsync"),
        "the answer should name the file and the cause: {message}"
    );
    let metrics = try_call("GET", &format!("{lurl}/metrics"), None).expect("metrics");
    assert!(
        metrics.status == 200,
        "metrics stay served after a storage failure: {}",
        metrics.status
    );

    // The others elect a leader and go on.
    let others: Vec<u32> = cluster
        .ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    let new_leader = wait_until(Duration::from_secs(30), || {
        cluster.agreed_leader(&others).filter(|l| *l != leader)
    })
    .unwrap_or_else(|| panic!("no new leader among {others:?}\n{}", cluster.log_tails(30)));
    for i in 20..40 {
        write(&cluster.api_url(new_leader), i);
    }
    // Still refusing: a failed fsync is never retried as if the data were safe.
    let a = try_post(&lurl, "late", "x").expect("answer");
    assert_eq!(
        (a.status, a.json["error"].as_str()),
        (503, Some("storage_failed")),
        "{a:?}"
    );

    // An operator restarts it: it recovers from what is on disk and catches up.
    cluster.kill(leader);
    cluster.restart(leader);
    let acked = acks.snapshot();
    let caught_up = wait_until(Duration::from_secs(30), || {
        acked
            .iter()
            .all(|a| {
                try_call(
                    "GET",
                    &format!("{lurl}/kv/{}?consistency=eventual", a.key),
                    None,
                )
                .is_ok_and(|r| r.json["value"] == a.value.as_str())
            })
            .then_some(())
    });
    assert!(
        caught_up.is_some(),
        "node {leader} did not recover\n{}",
        cluster.log_tails(30)
    );
    let lost = missing_on(&cluster.api_url(new_leader), &acked);
    assert!(lost.is_empty(), "lost acknowledged writes: {lost:?}");
}

#[test]
fn a_full_disk_answers_507_serves_reads_and_resumes_once_space_is_freed() {
    if !powercut::require() {
        return;
    }
    let cluster = cluster_on_power_cut_disks();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let lurl = cluster.api_url(leader);
    put_acked(&lurl, "before", "v", Duration::from_secs(30));

    cluster.disk(leader).set_full(true);
    // The first write after the disk filled may time out (it was proposed,
    // and the leader could not write it); then writes are refused up front.
    let refused = wait_until(Duration::from_secs(30), || {
        let a = try_post(&lurl, "during", "x").ok()?;
        (a.status == 507).then_some(a)
    })
    .unwrap_or_else(|| {
        panic!(
            "no 507 while the leader's disk is full\n{}",
            cluster.log_tails(30)
        )
    });
    assert_eq!(refused.json["error"], "storage_full", "{refused:?}");
    assert_eq!(refused.json["outcome"], "not_applied", "{refused:?}");
    // Through a follower too (it forwards to the leader).
    let follower = cluster
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("follower");
    let via = try_post(&cluster.api_url(follower), "during", "y").expect("answer");
    assert_eq!(via.status, 507, "{via:?}");
    // Reads go on.
    for id in cluster.ids() {
        let a = try_call(
            "GET",
            &format!("{}/kv/before?consistency=eventual", cluster.api_url(id)),
            None,
        )
        .expect("answer");
        assert_eq!(
            (a.status, a.json["value"].as_str()),
            (200, Some("v")),
            "node {id}: {a:?}"
        );
    }

    // Space is freed: writes resume without a restart.
    cluster.disk(leader).set_full(false);
    let resumed = wait_until(Duration::from_secs(30), || {
        let a = try_post(&lurl, "after", "v").ok()?;
        (a.status == 200).then_some(())
    });
    assert!(
        resumed.is_some(),
        "writes did not resume\n{}",
        cluster.log_tails(30)
    );
    let a = try_call(
        "GET",
        &format!("{lurl}/kv/after?consistency=linearizable"),
        None,
    )
    .expect("read");
    assert_eq!(a.json["value"], "v");
}
