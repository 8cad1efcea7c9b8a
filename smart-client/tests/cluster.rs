//! The smart client against real 3-node clusters (harness from `kv-node`).
//!
//! Tests run one at a time (a cluster is three processes; the CI machine is
//! small), each with its own cluster on free ports.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kv_harness::{AckLog, Cluster};
use smart_client::{Error, ReadConsistency, SmartClient};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ELECTION: Duration = Duration::from_secs(30);

async fn client(cluster: &Cluster, timeout: Duration) -> SmartClient {
    SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(timeout)
        .build()
        .await
        .expect("client bootstraps")
}

/// A client for [`WriteLoad`]: every write has its own key, so retrying a
/// write whose outcome is unknown is safe, and no error has to surface.
async fn unique_key_writer(cluster: &Cluster) -> SmartClient {
    SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(Duration::from_secs(5))
        .retry_unknown_writes(true)
        .build()
        .await
        .expect("client bootstraps")
}

/// Wait (async) until `f` is true; panics with `what` after `deadline`.
async fn eventually(deadline: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_routing() {
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let c = client(&cluster, Duration::from_secs(5)).await;
    eventually(Duration::from_secs(5), "client knows the leader", || {
        c.topology().leader_id == Some(leader)
    })
    .await;
    for i in 0..50 {
        c.put_str(&format!("k{i}"), &format!("v{i}")).await.unwrap();
    }
    let s = c.stats();
    assert_eq!(s.forwarded_writes, 0, "{s:?}");
    assert_eq!(s.requests_to(leader), 50, "{s:?}");

    let before = c.stats();
    for i in 0..300 {
        let v = c
            .get_str(&format!("k{}", i % 50), ReadConsistency::Eventual)
            .await;
        assert!(v.is_ok(), "{v:?}");
    }
    let after = c.stats();
    let delta = |id| after.requests_to(id) - before.requests_to(id);
    let followers: Vec<u32> = cluster.ids().into_iter().filter(|&i| i != leader).collect();
    println!(
        "eventual reads: leader {} -> {}, followers {:?}",
        leader,
        delta(leader),
        followers.iter().map(|&f| (f, delta(f))).collect::<Vec<_>>()
    );
    // FollowerPreferred (default) reads from the leader only when no
    // follower is suitable (all ejected, or all failed this very request):
    // with both followers healthy the leader gets none. p2c_ewma (default)
    // picks the less loaded / faster of the two followers, so their split is
    // not checked here (round_robin's is, below).
    assert_eq!(delta(leader), 0, "leader got {} of 300", delta(leader));
    assert_eq!(
        followers.iter().map(|&f| delta(f)).sum::<u64>(),
        300,
        "followers got too few reads"
    );

    // round_robin spreads exactly evenly over the two followers.
    let rr = SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(Duration::from_secs(5))
        .balance_policy(smart_client::BalancePolicy::RoundRobin)
        .build()
        .await
        .expect("round-robin client");
    eventually(Duration::from_secs(5), "rr client knows the leader", || {
        rr.topology().leader_id == Some(leader)
    })
    .await;
    for i in 0..300 {
        rr.get_str(&format!("k{}", i % 50), ReadConsistency::Eventual)
            .await
            .expect("rr read");
    }
    let rs = rr.stats();
    for &f in &followers {
        let got = rs.requests_to(f);
        assert!(
            (149..=151).contains(&got),
            "round robin: follower {f} got {got} of 300: {rs:?}"
        );
    }
    assert_eq!(rs.requests_to(leader), 0, "{rs:?}");

    let before = c.stats();
    for i in 0..20 {
        let v = c
            .get_str(&format!("k{i}"), ReadConsistency::Linearizable)
            .await;
        assert_eq!(v.unwrap(), Some(format!("v{i}")));
    }
    let after = c.stats();
    assert_eq!(after.requests_to(leader) - before.requests_to(leader), 20);
    for &f in &followers {
        assert_eq!(after.requests_to(f), before.requests_to(f));
    }
    assert_eq!(
        c.get_str("absent", ReadConsistency::Linearizable).await,
        Ok(None)
    );
    c.delete("k1").await.unwrap();
    c.delete("k1").await.unwrap();
    assert_eq!(
        c.get_str("k1", ReadConsistency::Linearizable).await,
        Ok(None)
    );
    // Odd keys travel percent-encoded.
    c.put_str("a/b c?d%é", "x").await.unwrap();
    assert_eq!(
        c.get_str("a/b c?d%é", ReadConsistency::Lease)
            .await
            .unwrap()
            .as_deref(),
        Some("x")
    );
    // Client-side and server-side rejections are BadRequest, not retried.
    assert!(matches!(
        c.put([0xffu8], "x").await,
        Err(Error::BadRequest { .. })
    ));
    let huge = "x".repeat(2 * 1024 * 1024);
    let r = c.put_str("big", &huge).await;
    assert!(matches!(r, Err(Error::BadRequest { .. })), "{r:?}");
    assert_eq!(c.stats().leader_changes_seen, 0);
}

/// Writers that record every acknowledged key and any surfaced error.
struct WriteLoad {
    stop: Arc<AtomicBool>,
    acked: Arc<AckLog>,
    errors: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl WriteLoad {
    fn start(c: &SmartClient, writers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AckLog::default());
        let errors = Arc::new(Mutex::new(Vec::new()));
        let seq = Arc::new(AtomicU64::new(0));
        let tasks = (0..writers)
            .map(|_| {
                let (c, stop, acked, errors, seq) = (
                    c.clone(),
                    stop.clone(),
                    acked.clone(),
                    errors.clone(),
                    seq.clone(),
                );
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let key = format!("w{}", seq.fetch_add(1, Ordering::Relaxed));
                        let started = Instant::now();
                        match c.put_str(&key, &key).await {
                            Ok(()) => {
                                acked.record(key.clone(), key, started);
                            }
                            Err(e) => errors.lock().unwrap().push(format!("{key}: {e}")),
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            acked,
            errors,
            tasks,
        }
    }

    fn acked_since(&self, t: Instant) -> usize {
        self.acked.acked_after(t)
    }

    /// Time from `t` to the first acknowledgement of a write started after `t`.
    fn first_ack_after(&self, t: Instant) -> Option<Duration> {
        self.acked.first_ack_started_after(t).map(|done| done - t)
    }

    async fn finish(self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        let acked = self.acked.snapshot().into_iter().map(|a| a.key).collect();
        let errors = self.errors.lock().unwrap().clone();
        (acked, errors)
    }
}

async fn all_readable(c: &SmartClient, keys: &[String]) {
    for k in keys {
        let v = c.get_str(k, ReadConsistency::Linearizable).await;
        assert_eq!(v, Ok(Some(k.clone())), "acknowledged key {k} lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kill_during_writes_surfaces_no_error() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let c = unique_key_writer(&cluster).await;
    let load = WriteLoad::start(&c, 2);
    eventually(Duration::from_secs(10), "30 writes", || {
        load.acked_since(Instant::now() - Duration::from_secs(3600)) >= 30
    })
    .await;
    let killed_at = Instant::now();
    cluster.kill(leader);
    eventually(Duration::from_secs(20), "20 writes after the kill", || {
        load.acked_since(killed_at) >= 20
    })
    .await;
    let first = load.first_ack_after(killed_at).unwrap();
    let (acked, errors) = load.finish().await;
    println!(
        "measured: leader kill -> first successful write through client: {} ms",
        first.as_millis()
    );
    assert!(errors.is_empty(), "errors surfaced: {errors:?}");
    all_readable(&c, &acked).await;
    let s = c.stats();
    println!("stats after leader kill: {s:?}");
    assert!(s.leader_changes_seen >= 1);
    assert_ne!(c.topology().leader_id, Some(leader));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_pause_during_writes_surfaces_no_error() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let c = unique_key_writer(&cluster).await;
    let load = WriteLoad::start(&c, 2);
    let start = Instant::now();
    eventually(Duration::from_secs(10), "30 writes", || {
        load.acked_since(start) >= 30
    })
    .await;
    let paused_at = Instant::now();
    cluster.pause(leader);
    eventually(
        Duration::from_secs(20),
        "20 writes during the pause",
        || load.acked_since(paused_at) >= 20,
    )
    .await;
    println!(
        "measured: leader pause -> first successful write through client: {} ms",
        load.first_ack_after(paused_at).unwrap().as_millis()
    );
    cluster.resume(leader);
    let resumed_at = Instant::now();
    eventually(Duration::from_secs(20), "20 writes after resume", || {
        load.acked_since(resumed_at) >= 20
    })
    .await;
    let (acked, errors) = load.finish().await;
    assert!(errors.is_empty(), "errors surfaced: {errors:?}");
    all_readable(&c, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_kill_and_restart_for_eventual_reads() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let c = client(&cluster, Duration::from_secs(5)).await;
    c.put_str("k", "v").await.unwrap();
    let follower = cluster.ids().into_iter().find(|&i| i != leader).unwrap();
    cluster.kill(follower);
    for _ in 0..200 {
        let v = c.get_str("k", ReadConsistency::Eventual).await;
        assert!(v.is_ok(), "read failed after follower kill: {v:?}");
    }
    assert_eq!(c.stats().errors, 0);
    cluster.restart(follower);
    let before = c.stats().requests_to(follower);
    let until = Instant::now() + Duration::from_secs(40);
    loop {
        let v = c.get_str("k", ReadConsistency::Eventual).await;
        assert!(v.is_ok(), "read failed after restart: {v:?}");
        let now = c.stats().requests_to(follower);
        if now > before + 5 && c.stats().node(follower).is_some_and(|n| !n.ejected) {
            break;
        }
        assert!(
            Instant::now() < until,
            "restarted follower never got reads: {:?}\n{:?}\n{}",
            c.stats(),
            c.topology(),
            cluster.log_tails(30)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(c.stats().errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_nodes_down_fails_clearly_then_recovers() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    cluster.wait_for_leader(ELECTION);
    let c = client(&cluster, Duration::from_secs(2)).await;
    c.put_str("before", "1").await.unwrap();
    for id in cluster.ids() {
        cluster.kill(id);
    }
    let t = Instant::now();
    let r = c.put_str("during", "1").await;
    let took = t.elapsed();
    println!("all down: {r:?} after {} ms", took.as_millis());
    assert!(
        matches!(r, Err(Error::Unavailable { .. } | Error::NoLeader)),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    let r = c.get_str("before", ReadConsistency::Eventual).await;
    assert!(matches!(r, Err(Error::Unavailable { .. })), "{r:?}");
    for id in cluster.ids() {
        cluster.restart(id);
    }
    cluster.wait_for_leader(ELECTION);
    let until = Instant::now() + Duration::from_secs(30);
    while c.put_str("after", "1").await.is_err() {
        assert!(Instant::now() < until, "client never recovered");
    }
    assert_eq!(
        c.get_str("before", ReadConsistency::Linearizable).await,
        Ok(Some("1".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_client_follows_a_new_leader() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(ELECTION);
    let c = client(&cluster, Duration::from_secs(5)).await;
    eventually(Duration::from_secs(5), "client knows the leader", || {
        c.topology().leader_id == Some(leader)
    })
    .await;
    let survivors: Vec<u32> = cluster.ids().into_iter().filter(|&i| i != leader).collect();
    cluster.kill(leader);
    let mut cluster_saw: Option<Instant> = None;
    let mut client_saw: Option<Instant> = None;
    let until = Instant::now() + Duration::from_secs(20);
    while cluster_saw.is_none() || client_saw.is_none() {
        assert!(Instant::now() < until, "no switch seen");
        if client_saw.is_none() && c.topology().leader_id.is_some_and(|l| l != leader) {
            client_saw = Some(Instant::now());
        }
        if cluster_saw.is_none()
            && survivors.iter().any(|&s| {
                cluster
                    .topology(s)
                    .is_some_and(|t| t.leader_id.is_some_and(|l| l != leader))
            })
        {
            cluster_saw = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (a, b) = (cluster_saw.unwrap(), client_saw.unwrap());
    let lag = b.saturating_duration_since(a);
    println!(
        "measured: new election -> client cache switch: {} ms (client first: {})",
        lag.as_millis(),
        b < a
    );
    assert!(lag < Duration::from_millis(1000), "{lag:?}");
    assert_eq!(c.stats().requests, 0, "no request was needed");
    assert!(survivors.contains(&c.topology().leader_id.unwrap()));
}

#[actix_web::test]
async fn usable_from_an_actix_web_handler() {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::three();
    cluster.wait_for_leader(ELECTION);
    let c = client(&cluster, Duration::from_secs(5)).await;

    async fn put_then_get(client: web::Data<SmartClient>, key: web::Path<String>) -> HttpResponse {
        let key = key.into_inner();
        if let Err(e) = client.put_str(&key, "from-actix").await {
            return HttpResponse::InternalServerError().body(e.to_string());
        }
        match client.get_str(&key, ReadConsistency::Linearizable).await {
            Ok(Some(v)) => HttpResponse::Ok().body(v),
            other => HttpResponse::InternalServerError().body(format!("{other:?}")),
        }
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let data = web::Data::new(c.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/echo/{key}", web::get().to(put_then_get))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let http = awc::Client::default();
    for i in 0..5 {
        let mut resp = http
            .get(format!("http://{addr}/echo/key{i}"))
            .send()
            .await
            .unwrap();
        let body = resp.body().await.unwrap();
        assert_eq!(resp.status(), 200, "{body:?}");
        assert_eq!(&body[..], b"from-actix");
    }
    handle.stop(true).await;
    assert!(c.stats().requests >= 10);

    // Overhead of the client (queue hop to its I/O thread, selection,
    // bookkeeping) against a bare awc GET to the same kind of node.
    let follower = c
        .topology()
        .members
        .iter()
        .find(|m| Some(m.id) != c.topology().leader_id)
        .and_then(|m| m.api_url.clone())
        .unwrap();
    let url = format!("{follower}/kv/key0?consistency=eventual");
    const N: u32 = 300;
    for _ in 0..20 {
        http.get(&url).send().await.unwrap().body().await.unwrap();
        c.get("key0", ReadConsistency::Eventual).await.unwrap();
    }
    let t = Instant::now();
    for _ in 0..N {
        http.get(&url).send().await.unwrap().body().await.unwrap();
    }
    let raw = t.elapsed() / N;
    let t = Instant::now();
    for _ in 0..N {
        c.get("key0", ReadConsistency::Eventual).await.unwrap();
    }
    let smart = t.elapsed() / N;
    println!(
        "measured: eventual read round trip: bare awc {} us, smart client {} us (overhead {} us, debug build)",
        raw.as_micros(),
        smart.as_micros(),
        smart.saturating_sub(raw).as_micros()
    );
}

/// Prefix listings through the client: sorted and bounded on the leader
/// (linearizable, lease), and an eventual listing right after this handle's
/// own write sees it (the session's index goes along as `min_index`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_prefix_through_the_client() {
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::three();
    cluster.wait_for_leader(ELECTION);
    let c = client(&cluster, Duration::from_secs(5)).await;
    for i in 0..30 {
        c.put_str(&format!("scan/{i:02}"), &format!("v{i}"))
            .await
            .unwrap();
    }
    c.put_str("scanner", "not under scan/").await.unwrap();
    for consistency in [ReadConsistency::Linearizable, ReadConsistency::Lease] {
        let page = c.scan_prefix("scan/", 10, consistency).await.unwrap();
        let keys: Vec<&str> = page.items.iter().map(|i| i.key.as_str()).collect();
        let expected: Vec<String> = (0..10).map(|i| format!("scan/{i:02}")).collect();
        assert_eq!(keys, expected, "{consistency:?}");
        assert_eq!(page.items[7].value, "v7");
        assert!(page.truncated, "{consistency:?}");
    }
    for round in 0..20 {
        let key = format!("scan/new-{round:02}");
        c.put_str(&key, "fresh").await.unwrap();
        let page = c
            .scan_prefix("scan/", 1000, ReadConsistency::Eventual)
            .await
            .unwrap();
        assert!(!page.truncated);
        assert_eq!(page.items.len(), 31 + round, "round {round}");
        assert!(
            page.items
                .iter()
                .any(|i| i.key == key && i.value == "fresh"),
            "an eventual listing after this handle's write missed it (round {round})"
        );
    }
    assert!(matches!(
        c.scan_prefix("scan/", 0, ReadConsistency::Eventual).await,
        Err(Error::BadRequest { code, .. }) if code == "invalid_limit"
    ));
}

/// Compare-and-swap through the client: eight tasks race for the same
/// absent key each round and exactly one wins; a swap needs the current
/// value. A key written with a TTL is read back, then expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_and_ttl_through_the_client() {
    let _serial = SERIAL.lock().await;
    // Keys with a TTL are off by default (node config).
    let cluster = Cluster::start(kv_harness::ClusterOptions {
        config_extra: vec!["[raft.state_machine.lease]\nenabled = true".into()],
        ..kv_harness::ClusterOptions::default()
    });
    cluster.wait_for_leader(ELECTION);
    let c = client(&cluster, Duration::from_secs(5)).await;
    for round in 0..5 {
        let key = format!("lock-{round}");
        let mut racers = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (c, key) = (c.clone(), key.clone());
            racers.spawn(async move {
                let value = format!("holder-{i}");
                let won = c.compare_and_swap(&key, None, &value).await.unwrap();
                (won, value)
            });
        }
        let mut winners = Vec::new();
        while let Some(r) = racers.join_next().await {
            let (won, value) = r.unwrap();
            if won {
                winners.push(value);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let holder = c
            .get_str(&key, ReadConsistency::Linearizable)
            .await
            .unwrap();
        assert_eq!(holder.as_deref(), Some(winners[0].as_str()));
        // Handing over needs the current value.
        assert!(!c
            .compare_and_swap(&key, Some(b"someone-else"), "next")
            .await
            .unwrap());
        assert!(c
            .compare_and_swap(&key, Some(winners[0].as_bytes()), "next")
            .await
            .unwrap());
    }

    c.put_with_ttl("session-token", "t", Duration::from_millis(1500))
        .await
        .unwrap();
    // A lock with a lease: a compare-and-swap with a TTL.
    assert!(c
        .compare_and_swap_with_ttl("leased-lock", None, "me", Duration::from_millis(1500))
        .await
        .unwrap());
    assert!(!c
        .compare_and_swap_with_ttl("leased-lock", None, "you", Duration::from_secs(1))
        .await
        .unwrap());
    for (key, value) in [("session-token", "t"), ("leased-lock", "me")] {
        assert_eq!(
            c.get_str(key, ReadConsistency::Linearizable)
                .await
                .unwrap()
                .as_deref(),
            Some(value)
        );
    }
    let until = Instant::now() + Duration::from_secs(15);
    for key in ["session-token", "leased-lock"] {
        while c
            .get_str(key, ReadConsistency::Linearizable)
            .await
            .unwrap()
            .is_some()
        {
            assert!(Instant::now() < until, "{key} never expired");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Free again once expired.
    assert!(c
        .compare_and_swap_with_ttl("leased-lock", None, "you", Duration::from_secs(1))
        .await
        .unwrap());
}
