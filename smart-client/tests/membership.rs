//! Growing the cluster (issue 6) on real processes: nodes 4 and 5 join as
//! learners, are published in every node's `/topology`, get promoted (by
//! d-engine, which keeps the voter count odd), are routed to by a running
//! smart client, and the 5-voter cluster tolerates two failures but not three.
//! Also: admin endpoints' protection, and the whole round trip 3 -> 5 -> 3
//! on request (promote, remove) under writes, with a restart of every node.

use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kv_harness::{missing_on, wait_until, AckLog, Cluster, ClusterOptions};
use serde_json::Value;
use smart_client::{ReadConsistency, Role, SmartClient};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Keys written before the learners join.
const PRELOAD: usize = 600;

/// A cluster started with `opts` once it has a leader, and a smart client
/// seeded with its nodes.
async fn cluster_with_client(opts: ClusterOptions) -> (Cluster, SmartClient) {
    let cluster = Cluster::start(opts);
    cluster.wait_for_leader(Duration::from_secs(30));
    let client = SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(Duration::from_secs(5))
        .build()
        .await
        .expect("client");
    (cluster, client)
}

fn post(url: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = ureq::post(url).set("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let resp = match req.send_string(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    let status = resp.status();
    (status, resp.into_json().unwrap_or(Value::Null))
}

/// Wait until every node in `observers` lists `id` with `role` and a URL.
fn wait_role(cluster: &Cluster, observers: &[u32], id: u32, role: Role, deadline: Duration) {
    let ok = wait_until(deadline, || {
        (cluster.agreed_role(observers, id) == Some(role)).then_some(())
    });
    if ok.is_none() {
        let seen: Vec<_> = observers
            .iter()
            .map(|o| (*o, cluster.topology(*o)))
            .collect();
        panic!(
            "node {id} not shown as {role:?} with its URL on {observers:?}: {seen:?}\n{}",
            cluster.log_tails(20)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_joins_and_is_published_everywhere() {
    let _serial = SERIAL.lock().await;
    let (mut cluster, client) = cluster_with_client(ClusterOptions::default()).await;
    let preload = Instant::now();
    // PRELOAD keys, 32 writers at a time. Below d-engine's snapshot threshold
    // (1000 log entries): see `late_joiner_after_a_snapshot` for why.
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..32 {
        let client = client.clone();
        writers.spawn(async move {
            for i in (w..PRELOAD).step_by(32) {
                client
                    .put_str(&format!("key-{i:05}"), "0123456789abcdef")
                    .await
                    .expect("preload");
            }
        });
    }
    while let Some(r) = writers.join_next().await {
        r.expect("writer");
    }
    println!("preloaded {PRELOAD} keys in {:?}", preload.elapsed());
    let started = Instant::now();
    cluster.add_learner(4);
    wait_role(
        &cluster,
        &[1, 2, 3, 4],
        4,
        Role::Learner,
        Duration::from_secs(15),
    );
    println!(
        "measured: join -> learner 4 in every /topology: {:?}",
        started.elapsed()
    );

    // Unknown members: a clear 409 from promote and remove, no hang.
    for op in ["promote", "remove"] {
        let t = Instant::now();
        let (status, body) = post(
            &format!("{}/admin/{op}", cluster.api_url(4)),
            r#"{"node_id":9}"#,
            None,
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("unknown_node")),
            "{op}: {body}"
        );
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}

/// The whole 3 -> 5 growth: promotion of 4 and 5, reads routed to them by a
/// running client, two failures tolerated, three refused. Needs engine
/// patches 11 and 12 (vendor/PATCHES.md): without them the second learner
/// never learns the first one's metadata (see `late_joiner_after_a_snapshot`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grow_to_five_voters_and_route_to_them() {
    let _serial = SERIAL.lock().await;
    let (mut cluster, client) = cluster_with_client(ClusterOptions {
        learners: vec![4, 5],
        ..ClusterOptions::default()
    })
    .await;
    for i in 0..PRELOAD {
        client
            .put_str(&format!("key-{i:05}"), "v")
            .await
            .expect("preload");
    }
    let started = Instant::now();
    cluster.add_learner(4);
    wait_role(
        &cluster,
        &[1, 2, 3, 4],
        4,
        Role::Learner,
        Duration::from_secs(15),
    );
    cluster.add_learner(5);
    let all = [1, 2, 3, 4, 5];
    wait_role(&cluster, &all, 4, Role::Follower, Duration::from_secs(30));
    wait_role(&cluster, &all, 5, Role::Follower, Duration::from_secs(30));
    println!(
        "measured: join of 4 -> 4 and 5 promoted voters ({PRELOAD} keys): {:?}",
        started.elapsed()
    );
    let (status, body) = post(
        &format!("{}/admin/promote", cluster.api_url(2)),
        r#"{"node_id":4}"#,
        None,
    );
    assert_eq!(
        (status, body["voter"].as_bool()),
        (200, Some(true)),
        "{body}"
    );

    // The running client routes eventual reads to the new followers, no restart.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        for i in 0..50 {
            client
                .get_str(&format!("key-{i:05}"), ReadConsistency::Eventual)
                .await
                .expect("read");
        }
        let s = client.stats();
        if s.requests_to(4) > 0 && s.requests_to(5) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no reads reached 4 and 5: {s:?}");
    }
    let leader_now = cluster.wait_for_leader(Duration::from_secs(10));

    // Five voters: any two down, writes still succeed through the client.
    let victims: Vec<u32> = all
        .iter()
        .copied()
        .filter(|i| *i != leader_now)
        .take(2)
        .collect();
    for v in &victims {
        cluster.kill(*v);
    }
    client
        .put_str("with-two-down", "ok")
        .await
        .expect("write with 2 of 5 down");
    cluster.kill(leader_now);
    let survivors = cluster.live_ids();
    assert_eq!(survivors.len(), 2);
    let short = SmartClient::builder()
        .seeds(
            survivors
                .iter()
                .map(|i| cluster.api_url(*i))
                .collect::<Vec<_>>(),
        )
        .request_timeout(Duration::from_secs(3))
        .build()
        .await
        .expect("client on survivors");
    let t = Instant::now();
    let err = short
        .put_str("with-three-down", "no")
        .await
        .expect_err("a write with 3 of 5 voters down must fail");
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "hung for {:?}",
        t.elapsed()
    );
    println!("3 of 5 down: {err} after {:?}", t.elapsed());
    let no_leader = wait_until(Duration::from_secs(10), || {
        let (status, body) = post(
            &format!("{}/kv", cluster.api_url(survivors[0])),
            r#"{"key":"k","value":"v"}"#,
            None,
        );
        (status == 503 && body["error"] == "no_leader").then_some(())
    });
    assert!(
        no_leader.is_some(),
        "survivors never answered 503 no_leader"
    );
}

/// A d-engine 0.2.4 bug, fixed by engine patches 11 and 12: when a learner
/// (5) joins after the leader took a snapshot, and another learner (4) joined
/// before it, node 5's commit handler failed to apply the promotion
/// (`NoMetadataFoundForNode { node_id: 4 }`) and never applied the entries of
/// that batch: it missed acknowledged keys for good (seen: 305 of 1500) and
/// its registry copy lacked node 4's URL.
#[test]
fn late_joiner_after_a_snapshot() {
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    for i in 0..1500 {
        let _ = ureq::post(&format!("{}/kv", cluster.api_url(leader)))
            .send_string(&format!(r#"{{"key":"k{i}","value":"v"}}"#));
    }
    cluster.add_learner(4);
    wait_role(
        &cluster,
        &[1, 2, 3, 4],
        4,
        Role::Learner,
        Duration::from_secs(15),
    );
    cluster.add_learner(5);
    wait_role(
        &cluster,
        &[1, 2, 3, 4, 5],
        4,
        Role::Follower,
        Duration::from_secs(30),
    );
    wait_role(
        &cluster,
        &[1, 2, 3, 4, 5],
        5,
        Role::Follower,
        Duration::from_secs(30),
    );
    let url = cluster.api_url(5);
    let missing = (0..1500)
        .filter(|i| {
            ureq::get(&format!("{url}/kv/k{i}?consistency=eventual"))
                .call()
                .map(|r| r.status())
                .unwrap_or(0)
                != 200
        })
        .count();
    assert_eq!(missing, 0, "node 5 misses {missing} acknowledged keys");
}

/// POST `body` to `path` on `node` until it answers 200 or `deadline` passes;
/// returns the last answer and how long it took.
fn post_until_ok(
    cluster: &Cluster,
    node: u32,
    path: &str,
    body: &str,
    deadline: Duration,
) -> (u16, Value, Duration) {
    let t = Instant::now();
    loop {
        let (status, answer) = post(&format!("{}{path}", cluster.api_url(node)), body, None);
        if status == 200 || t.elapsed() > deadline {
            return (status, answer, t.elapsed());
        }
        // 409 not_caught_up / change_in_progress: retry shortly.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Status and error code of a GET on `url`.
fn get_status(url: &str) -> (u16, String) {
    match ureq::get(url).call() {
        Ok(r) => (r.status(), String::new()),
        Err(ureq::Error::Status(code, r)) => {
            let body: Value = r.into_json().unwrap_or(Value::Null);
            (code, body["error"].as_str().unwrap_or_default().to_string())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// Wait until `id` answers 503 `removed` on the API and health paths.
fn wait_removed(cluster: &Cluster, id: u32, deadline: Duration) -> Duration {
    let t = Instant::now();
    let api = cluster.api_url(id);
    let ok = wait_until(deadline, || {
        let answers = [
            get_status(&format!("{api}/kv/some-key?consistency=eventual")),
            get_status(&format!("{api}/topology")),
            get_status(&format!("{api}/replica")),
        ];
        answers
            .iter()
            .all(|(s, e)| *s == 503 && e == "removed")
            .then_some(())
    });
    assert!(
        ok.is_some(),
        "node {id} does not answer 503 removed\n{}",
        cluster.log_tails(30)
    );
    t.elapsed()
}

/// Wait until every node in `ids` has applied the leader's commit index as
/// `ids[0]`'s view reports it, then read every acknowledged key back with an
/// eventual read on each of them (its own data, no forwarding).
fn assert_all_acks_on_each(cluster: &Cluster, ids: &[u32], acks: &[kv_harness::Ack]) {
    let leader = cluster.wait_for_leader_among(ids, Duration::from_secs(15));
    let commit = cluster
        .topology(leader)
        .and_then(|t| t.commit_index)
        .expect("leader commit index");
    for id in ids {
        let level = wait_until(Duration::from_secs(20), || {
            let applied = cluster.topology(*id)?.own_applied_index()?;
            (applied >= commit).then_some(())
        });
        assert!(level.is_some(), "node {id} never applied {commit}");
        let api = cluster.api_url(*id);
        let missing: Vec<&str> = acks
            .iter()
            .filter(|a| {
                let url = format!("{api}/kv/{}?consistency=eventual", a.key);
                let value: Option<String> = ureq::get(&url)
                    .call()
                    .ok()
                    .and_then(|r| r.into_json::<Value>().ok())
                    .and_then(|v| v["value"].as_str().map(str::to_string));
                value.as_deref() != Some(a.value.as_str())
            })
            .map(|a| a.key.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "node {id} misses {} of {} acknowledged writes, e.g. {:?}",
            missing.len(),
            acks.len(),
            &missing[..missing.len().min(5)]
        );
    }
}

/// Issue 12's round trip, as an operator does it: nodes 4 and 5 join as
/// learners and are promoted on request (`POST /admin/promote`), then both are
/// removed (`POST /admin/remove`) while a smart client keeps writing and
/// reading. No acknowledged write is lost, the client sees no error, removed
/// nodes answer 503 `removed`, and after every node is stopped with SIGTERM and
/// started again with its original config the membership is the one before
/// the stop. Needs engine patches 11, 12 and 14-16 (vendor/PATCHES.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grow_to_five_and_back_under_writes() {
    let _serial = SERIAL.lock().await;
    let test_start = Instant::now();
    let (mut cluster, client) = cluster_with_client(ClusterOptions {
        learners: vec![4, 5],
        ..ClusterOptions::default()
    })
    .await;

    // Writers and a reader, running through the whole round trip.
    let acks = Arc::new(AckLog::default());
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut load = tokio::task::JoinSet::new();
    for w in 0..4 {
        let (client, acks, errors, stop) =
            (client.clone(), acks.clone(), errors.clone(), stop.clone());
        load.spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (key, value) = (format!("w{w}-{i:06}"), format!("v{i}"));
                let started = Instant::now();
                match client.put_str(&key, &value).await {
                    Ok(()) => {
                        acks.record(key, value, started);
                    }
                    Err(e) => errors.lock().unwrap().push(format!("put {key}: {e}")),
                }
                i += 1;
            }
        });
    }
    {
        let (client, acks, errors, stop, reads) = (
            client.clone(),
            acks.clone(),
            errors.clone(),
            stop.clone(),
            reads.clone(),
        );
        load.spawn(async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let Some(key) = acks.key_at(i % acks.len().max(1)) else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                if let Err(e) = client.get_str(&key, ReadConsistency::Eventual).await {
                    errors.lock().unwrap().push(format!("get {key}: {e}"));
                }
                reads.fetch_add(1, Ordering::Relaxed);
                i += 7;
            }
        });
    }
    let acks_now = |acks: &AckLog| acks.len();
    let wait_acks = |n: usize| {
        let target = acks.len() + n;
        let ok = wait_until(Duration::from_secs(20), || {
            (acks.len() >= target).then_some(())
        });
        assert!(ok.is_some(), "writes stalled at {}", acks.len());
    };
    wait_acks(200);

    // Grow: 4 and 5 join as learners, then are promoted on request.
    let all = [1, 2, 3, 4, 5];
    for id in [4, 5] {
        let joined = Instant::now();
        cluster.add_learner(id);
        let (status, body, took) = post_until_ok(
            &cluster,
            1,
            "/admin/promote",
            &format!(r#"{{"node_id":{id}}}"#),
            Duration::from_secs(30),
        );
        assert_eq!(
            (status, body["voter"].as_bool()),
            (200, Some(true)),
            "{body}"
        );
        println!(
            "measured: node {id} join -> promoted voter: {:?} (promote call {:?}), {} writes acknowledged so far",
            joined.elapsed(),
            took,
            acks_now(&acks)
        );
    }
    // Every member, 4 and 5 included, shows 4 and 5 as voters.
    let observers = [1, 2, 3, 4, 5];
    for id in [4, 5] {
        let role = wait_until(Duration::from_secs(15), || {
            cluster
                .agreed_role(&observers, id)
                .filter(|r| *r != Role::Learner)
        });
        assert!(
            role.is_some(),
            "{id} not a voter on {observers:?}: {:?}\n{}",
            cluster.topologies(&observers),
            cluster.log_tails(20)
        );
    }
    // Every write acknowledged so far is on both new voters. Node 5 joined
    // while writes went on, more than one batch behind: before engine patch
    // 17 its log had a hole and it missed hundreds of these.
    let before_promotion = acks.snapshot();
    assert_all_acks_on_each(&cluster, &all, &before_promotion);
    // The running client routes reads to the new voters.
    let routed = wait_until(Duration::from_secs(15), || {
        let s = client.stats();
        (s.requests_to(4) > 0 && s.requests_to(5) > 0).then_some(())
    });
    assert!(
        routed.is_some(),
        "no requests reached 4 and 5: {:?}",
        client.stats()
    );
    wait_acks(200);

    // Shrink: remove 4 and 5 (through node 2: forwarded to the leader).
    for id in [4, 5] {
        let asked = Instant::now();
        let (status, body, _) = post_until_ok(
            &cluster,
            2,
            "/admin/remove",
            &format!(r#"{{"node_id":{id}}}"#),
            Duration::from_secs(15),
        );
        assert_eq!(status, 200, "remove {id}: {body}");
        let gone = wait_until(Duration::from_secs(10), || {
            cluster
                .topologies(&[1, 2, 3])?
                .iter()
                .all(|t| t.member(id).is_none())
                .then_some(())
        });
        assert!(gone.is_some(), "{id} still in a topology");
        println!(
            "measured: remove {id} -> gone from every member's /topology: {:?}",
            asked.elapsed()
        );
        let refused = wait_removed(&cluster, id, Duration::from_secs(10));
        println!(
            "measured: node {id} answers 503 removed {refused:?} after its removal was confirmed"
        );
    }
    let removed_at = Instant::now();
    wait_acks(300);
    // The client stops sending to the removed nodes.
    let after_removal = client.stats();
    wait_acks(100);
    let later = client.stats();
    assert_eq!(
        (later.requests_to(4), later.requests_to(5)),
        (after_removal.requests_to(4), after_removal.requests_to(5)),
        "the client still sends to removed nodes"
    );
    stop.store(true, Ordering::Relaxed);
    while let Some(r) = load.join_next().await {
        r.expect("load task");
    }
    let errors = errors.lock().unwrap().clone();
    let acked = acks.snapshot();
    println!(
        "measured: {} writes acknowledged ({} after the removals), {} reads, {} client errors: {:?}",
        acked.len(),
        acks.acked_after(removed_at),
        reads.load(Ordering::Relaxed),
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert!(
        errors.is_empty(),
        "errors surfaced to the application: {errors:?}"
    );

    // Every acknowledged write is on each final member; leaders agree.
    let members = [1, 2, 3];
    let leader = cluster.wait_for_leader_among(&members, Duration::from_secs(15));
    for id in members {
        let missing = missing_on(&cluster.api_url(id), &acked);
        assert!(missing.is_empty(), "via {id}: {} missing", missing.len());
    }
    assert_all_acks_on_each(&cluster, &members, &acked);
    let voters: Vec<u32> = cluster
        .topology(leader)
        .expect("topology")
        .members
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(voters, vec![1, 2, 3]);

    // Durable: stop every node with SIGTERM, start all five again with their
    // original configs. 4 and 5 stay out, 1-3 form the cluster.
    for id in all {
        assert!(
            cluster.stop(id, Duration::from_secs(15)).is_some(),
            "node {id} did not stop on SIGTERM"
        );
    }
    for id in all {
        cluster.restart(id);
    }
    let leader = cluster.wait_for_leader_among(&members, Duration::from_secs(30));
    for id in [4, 5] {
        wait_removed(&cluster, id, Duration::from_secs(15));
    }
    let view = cluster.topology(leader).expect("topology");
    let ids: Vec<u32> = view.members.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![1, 2, 3], "membership after the restart: {view:?}");
    let (status, body) = post(
        &format!("{}/kv", cluster.api_url(leader)),
        r#"{"key":"after-restart","value":"ok"}"#,
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_all_acks_on_each(&cluster, &members, &acked);
    println!("measured: whole round trip test {:?}", test_start.elapsed());
}

/// Keys stored before `a_learner_joins_a_cluster_holding_many_keys` adds a
/// learner: 20k in CI, `MEMBERSHIP_MANY_KEYS=100000` for issue 12's figure.
fn many_keys() -> usize {
    std::env::var("MEMBERSHIP_MANY_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// Issue 12, item 1 with a cluster that already holds many keys: a learner
/// joins, `POST /admin/promote` answers 409 `not_caught_up` (never hangs) while
/// it catches up and 200 once it has, and the new voter holds every
/// acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_joins_a_cluster_holding_many_keys() {
    let _serial = SERIAL.lock().await;
    let keys = many_keys();
    let (mut cluster, client) = cluster_with_client(ClusterOptions {
        learners: vec![4],
        ..ClusterOptions::default()
    })
    .await;
    let acks = Arc::new(AckLog::default());
    let next = Arc::new(AtomicUsize::new(0));
    let preload = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (client, acks, next) = (client.clone(), acks.clone(), next.clone());
        writers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= keys {
                    return;
                }
                let (key, value) = (format!("many-{i:07}"), format!("v{i}"));
                let started = Instant::now();
                client.put_str(&key, &value).await.expect("preload write");
                acks.record(key, value, started);
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    println!("preloaded {keys} keys in {:?}", preload.elapsed());

    let joined = Instant::now();
    cluster.add_learner(4);
    let url = format!("{}/admin/promote", cluster.api_url(1));
    let mut not_caught_up = 0;
    let promoted = loop {
        let asked = Instant::now();
        let (status, body) = post(&url, r#"{"node_id":4}"#, None);
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "promote hung for {:?}",
            asked.elapsed()
        );
        match status {
            200 => {
                assert_eq!(body["voter"].as_bool(), Some(true), "{body}");
                break joined.elapsed();
            }
            409 if body["error"] == "not_caught_up" => not_caught_up += 1,
            // The learner is not a member yet (join still running).
            409 if body["error"] == "unknown_node" => {}
            _ => panic!("promote answered {status} {body}"),
        }
        assert!(
            joined.elapsed() < Duration::from_secs(180),
            "node 4 not promoted after {:?}\n{}",
            joined.elapsed(),
            cluster.log_tails(30)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    println!(
        "measured: join -> promoted voter with {keys} keys stored: {promoted:?} \
         ({not_caught_up} answers 409 not_caught_up before)"
    );
    wait_role(
        &cluster,
        &[1, 2, 3, 4],
        4,
        Role::Follower,
        Duration::from_secs(15),
    );
    assert_all_acks_on_each(&cluster, &[4], &acks.snapshot());
}
