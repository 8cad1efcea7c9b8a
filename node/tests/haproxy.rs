//! The HA guide's balancer pattern with a real HAProxy using `config/haproxy.cfg`
//! (ports rewritten for this test's cluster): writes and reads through it, and
//! writes resuming through it after the leader is killed.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{call, post_body, try_call};
use kv_harness::{
    free_ports, haproxy_binary, haproxy_config, missing_on, wait_until, AckLog, Cluster,
};

struct HaproxyProc(Child);

impl Drop for HaproxyProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (id, api port, health port) of every node, for the config rewrite.
fn ports(cluster: &Cluster) -> Vec<(u32, u16, u16)> {
    cluster
        .ids()
        .into_iter()
        .map(|id| (id, cluster.node(id).api_port, cluster.node(id).health_port))
        .collect()
}

#[test]
fn writes_and_reads_through_haproxy_and_failover() {
    let Some(bin) = haproxy_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "haproxy is not installed but CI is set: .ci/run must apt-get install haproxy"
        );
        println!("haproxy test skipped: install it with `apt-get install -y haproxy`");
        return;
    };
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let port = free_ports(1)[0];
    let cfg_path = cluster.dir().join("haproxy.cfg");
    let cfg = haproxy_config(port, &ports(&cluster)).expect("rewrite config/haproxy.cfg");
    std::fs::write(&cfg_path, cfg).expect("write haproxy.cfg");
    let _haproxy = HaproxyProc(
        Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    let front = format!("http://127.0.0.1:{port}");
    let write = |k: &str, v: &str| try_call("POST", &format!("{front}/kv"), Some(&post_body(k, v)));

    // HAProxy starts with every server up and marks followers down after `fall`
    // failed /primary checks; until then a follower may get a write and forward it.
    // Every write must succeed; after the checks settle they land on the leader.
    // Settled = six writes in a row answered by the leader itself.
    let leader_s = leader.to_string();
    let settled = wait_until(Duration::from_secs(15), || {
        (0..6)
            .all(|_| {
                // Connection refused until HAProxy listens; 503 only if no server is up.
                let Ok(a) = write("username", "alice") else {
                    return false;
                };
                assert!(a.status == 200 || a.status == 503, "through HAProxy: {a:?}");
                a.status == 200
                    && a.header("x-kv-node") == Some(leader_s.as_str())
                    && a.header("x-kv-forwarded-to").is_none()
            })
            .then_some(())
    });
    assert!(
        settled.is_some(),
        "writes never settled on the leader through HAProxy"
    );
    for i in 0..10 {
        let a = write(&format!("direct-{i}"), "v").expect("write");
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(
            a.header("x-kv-node"),
            Some(leader.to_string().as_str()),
            "{a:?}"
        );
    }

    // Reads are round-robin over all nodes.
    let mut served_by = std::collections::BTreeSet::new();
    for _ in 0..12 {
        let a = call("GET", &format!("{front}/kv/username"), None);
        assert_eq!(a.json["value"], "alice", "{a:?}");
        served_by.insert(a.header("x-kv-node").map(str::to_string));
    }
    assert_eq!(
        served_by.len(),
        3,
        "reads not spread over the three nodes: {served_by:?}"
    );

    // Kill the leader: writes fail for a while, then resume through HAProxy.
    let acks = AckLog::default();
    // "username" was acknowledged (as "alice") while the checks settled.
    acks.record("username".into(), "alice".into(), Instant::now());
    let killed_at = Instant::now();
    cluster.kill(leader);
    let mut i = 0;
    let resumed = wait_until(Duration::from_secs(30), || {
        i += 1;
        let key = format!("after-{i}");
        let started = Instant::now();
        match write(&key, "v") {
            Ok(a) if a.status == 200 => {
                acks.record(key, "v".into(), started);
                Some(a)
            }
            _ => None,
        }
    })
    .unwrap_or_else(|| {
        panic!(
            "writes never resumed through HAProxy\n{}",
            cluster.log_tails(30)
        )
    });
    println!(
        "measured: leader kill -> first write through HAProxy {:?}",
        killed_at.elapsed()
    );
    assert_ne!(
        resumed.header("x-kv-node"),
        Some(leader.to_string().as_str())
    );
    let new_leader = cluster.wait_for_leader(Duration::from_secs(10));
    let lost = missing_on(&cluster.api_url(new_leader), &acks.snapshot());
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}
