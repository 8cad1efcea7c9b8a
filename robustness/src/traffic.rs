//! The traffic generator: clients with one operation in flight each, on a
//! small key pool, at a bounded rate, every call recorded in a [`Recorder`].
//!
//! Optional writers ([`TrafficConfig::writers`]) only put, each to its own
//! fresh keys (`w/<writer>/<seq>`, written once): at the end every such key
//! is read back ([`crate::final_checks`]), which proves directly that no
//! acknowledged write was lost and no write answered "not applied" was.
//!
//! Two kinds of client: [`smart_client::SmartClient`] handles (the library
//! applications use: leader routing, retries, failover; their eventual reads
//! are session reads, [`Kind::ReadSession`]) and plain HTTP
//! clients pinned to one node (so a follower forwards writes and strong
//! reads, as for curl or HAProxy users). Puts write unique values
//! (`<client>.<seq>`), so a read names the write it saw.
//!
//! How answers become outcomes (what the contract promises):
//! * smart client: `Ok` is ok; `Error::Timeout` is unknown; `NoLeader`,
//!   `Unavailable` and `BadRequest` mean not applied.
//! * pinned HTTP: 200 (and 404 `{"value":null}` on a read) is ok; 4xx, 502
//!   `leader_unreachable` and 503 (`no_leader`, `not_leader`,
//!   `unavailable`) mean not applied; 504 and any other status are unknown;
//!   a connection that could not be opened means not applied, any other
//!   transport error unknown. Every request uses a new connection, so the
//!   HTTP client never re-sends one on its own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smart_client::{Error as ClientError, ReadConsistency, SmartClient};

use crate::history::{Kind, Op, Outcome, Recorder};

/// Shape of the load.
#[derive(Clone, Debug)]
pub struct TrafficConfig {
    /// Keys `k0..kN`.
    pub keys: usize,
    /// Smart-client handles (each its own client, I/O thread and cache).
    pub smart_clients: usize,
    /// Plain HTTP clients per node.
    pub pinned_per_node: usize,
    /// Pause between a client's operations, uniform in this range (bounds
    /// the rate: about clients / mean pause).
    pub think: (Duration, Duration),
    /// Weights of put, delete, linearizable, lease and eventual reads.
    pub mix: [u32; 5],
    /// Deadline of a pinned HTTP call (above the node's 5 s forward timeout,
    /// so the node's own answer arrives first).
    pub http_timeout: Duration,
    /// Write-only clients on write-once keys (see the module doc), besides
    /// the clients above: even ones smart-client handles, odd ones plain
    /// HTTP clients pinned to the nodes in turn.
    pub writers: usize,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self {
            keys: 10,
            smart_clients: 4,
            pinned_per_node: 1,
            think: (Duration::from_millis(5), Duration::from_millis(30)),
            mix: [40, 5, 20, 20, 15],
            http_timeout: Duration::from_secs(7),
            writers: 0,
        }
    }
}

/// Where the writers' write-once keys live.
pub const LEDGER_PREFIX: &str = "w/";

/// Writer `writer`'s key for its `seq`-th put. Keys of one writer sort by
/// `seq`; [`ledger_bucket`] groups them by a thousand.
pub fn ledger_key(writer: usize, seq: u64) -> String {
    format!("{LEDGER_PREFIX}{writer:02}/{seq:06}")
}

/// The listing prefix holding `key` and at most 999 other ledger keys (all
/// but the last three digits of the sequence number).
pub fn ledger_bucket(key: &str) -> &str {
    &key[..key.len().saturating_sub(3)]
}

/// Whether `key` is one of the writers' write-once keys.
pub fn is_ledger_key(key: &str) -> bool {
    key.starts_with(LEDGER_PREFIX)
}

const KINDS: [Kind; 5] = [
    Kind::Put,
    Kind::Delete,
    Kind::ReadLinearizable,
    Kind::ReadLease,
    Kind::ReadEventual,
];

/// Running clients; [`Traffic::stop`] ends them.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
    /// Keeps the smart clients' runtime alive while their threads run.
    _rt: Arc<tokio::runtime::Runtime>,
}

/// What one client does per operation.
enum Target {
    Smart(SmartClient),
    Pinned { base: String, agent: ureq::Agent },
}

impl Traffic {
    /// Start the clients against `nodes` (id → API URL). Smart clients are
    /// bootstrapped before this returns.
    pub fn start(
        nodes: &BTreeMap<u32, String>,
        rec: &Recorder,
        cfg: &TrafficConfig,
        seed: u64,
    ) -> Result<Self, String> {
        let rt = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?,
        );
        let seeds: Vec<String> = nodes.values().cloned().collect();
        let mut targets = Vec::new();
        for i in 0..cfg.smart_clients {
            let client = rt
                .block_on(SmartClient::builder().seeds(seeds.clone()).build())
                .map_err(|e| format!("smart client {i}: {e}"))?;
            targets.push((format!("smart-{i}"), Target::Smart(client)));
        }
        for (id, url) in nodes {
            for j in 0..cfg.pinned_per_node {
                targets.push((format!("pinned-n{id}-{j}"), pinned(url, cfg.http_timeout)));
            }
        }
        let mixed = targets.len();
        let urls: Vec<(&u32, &String)> = nodes.iter().collect();
        for w in 0..cfg.writers {
            if w % 2 == 0 {
                let client = rt
                    .block_on(SmartClient::builder().seeds(seeds.clone()).build())
                    .map_err(|e| format!("writer {w}: {e}"))?;
                targets.push((format!("writer-{w}-smart"), Target::Smart(client)));
            } else {
                let (id, url) = urls[(w / 2) % urls.len()];
                targets.push((format!("writer-{w}-n{id}"), pinned(url, cfg.http_timeout)));
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let handles = targets
            .into_iter()
            .enumerate()
            .map(|(n, (name, target))| {
                let client = rec.client(name.clone());
                let worker = Worker {
                    client,
                    name,
                    target,
                    rec: rec.clone(),
                    cfg: cfg.clone(),
                    rng: StdRng::seed_from_u64(seed.wrapping_add(n as u64 * 7919)),
                    rt: rt.clone(),
                    seq: 0,
                    last: None,
                    writer: n.checked_sub(mixed),
                };
                let stop = stop.clone();
                std::thread::spawn(move || worker.run(&stop))
            })
            .collect();
        Ok(Self {
            stop,
            handles,
            _rt: rt,
        })
    }

    /// Stop issuing operations and wait for the ones in flight.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.join();
        }
    }
}

fn pinned(url: &str, timeout: Duration) -> Target {
    // No idle connections: a request never rides a connection the node may
    // have closed, which ureq would silently re-send on.
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .max_idle_connections(0)
        .build();
    Target::Pinned {
        base: url.to_string(),
        agent,
    }
}

struct Worker {
    client: usize,
    name: String,
    target: Target,
    rec: Recorder,
    cfg: TrafficConfig,
    rng: StdRng,
    rt: Arc<tokio::runtime::Runtime>,
    seq: u64,
    /// Outcome and read value of the last operation.
    last: Option<(Outcome, Option<String>)>,
    /// `Some(w)`: writer `w`, which only puts to its write-once keys.
    writer: Option<usize>,
}

impl Worker {
    fn run(mut self, stop: &AtomicBool) {
        let total: u32 = self.cfg.mix.iter().sum();
        while !stop.load(Ordering::Relaxed) {
            if let Some(w) = self.writer {
                self.one(Kind::Put, ledger_key(w, self.seq + 1));
                let (lo, hi) = self.cfg.think;
                let pause = self.rng.gen_range(lo..=hi);
                std::thread::sleep(pause);
                continue;
            }
            let mut pick = self.rng.gen_range(0..total);
            let mut kind = Kind::Put;
            for (k, w) in KINDS.iter().zip(self.cfg.mix) {
                if pick < w {
                    kind = *k;
                    break;
                }
                pick -= w;
            }
            let key = format!("k{}", self.rng.gen_range(0..self.cfg.keys));
            self.one(kind, key);
            let (lo, hi) = self.cfg.think;
            let pause = self.rng.gen_range(lo..=hi);
            std::thread::sleep(pause);
        }
    }

    /// Issue and record one operation.
    pub(crate) fn one(&mut self, kind: Kind, key: String) {
        // Smart-client handles have session consistency on (the default):
        // their eventual reads are session reads.
        let kind = match (&self.target, kind) {
            (Target::Smart(_), Kind::ReadEventual) => Kind::ReadSession,
            (_, kind) => kind,
        };
        let value = (kind == Kind::Put).then(|| {
            self.seq += 1;
            format!("{}.{}", self.name, self.seq)
        });
        let invoked = Instant::now();
        let (outcome, read, detail) = match &self.target {
            Target::Smart(c) => smart_call(&self.rt, c, kind, &key, value.as_deref()),
            Target::Pinned { base, agent } => http_call(agent, base, kind, &key, value.as_deref()),
        };
        let returned = Instant::now();
        self.last = Some((outcome, read.clone()));
        self.rec.record(Op {
            id: 0,
            client: self.client,
            key,
            kind,
            value: if kind == Kind::Put { value } else { read },
            invoke_us: self.rec.at_us(invoked),
            return_us: self.rec.at_us(returned),
            outcome,
            detail,
        });
    }
}

fn consistency(kind: Kind) -> Option<ReadConsistency> {
    match kind {
        Kind::ReadLinearizable => Some(ReadConsistency::Linearizable),
        Kind::ReadLease => Some(ReadConsistency::Lease),
        Kind::ReadEventual | Kind::ReadSession => Some(ReadConsistency::Eventual),
        Kind::Put | Kind::Delete => None,
    }
}

fn smart_call(
    rt: &tokio::runtime::Runtime,
    c: &SmartClient,
    kind: Kind,
    key: &str,
    value: Option<&str>,
) -> (Outcome, Option<String>, String) {
    let result = rt.block_on(async {
        match (kind, consistency(kind)) {
            (Kind::Put, _) => c
                .put_str(key, value.unwrap_or_default())
                .await
                .map(|()| None),
            (Kind::Delete, _) => c.delete(key).await.map(|()| None),
            (_, Some(cons)) => c.get_str(key, cons).await,
            (_, None) => unreachable!("reads have a consistency"),
        }
    });
    // The leader the client routes to now: which node most likely answered.
    let leader = c
        .topology()
        .leader_id
        .map_or("none".to_string(), |l| format!("n{l}"));
    match result {
        Ok(v) => (Outcome::Ok, v, format!("ok (leader {leader})")),
        Err(e) => {
            let outcome = match e {
                ClientError::Timeout | ClientError::Shutdown => Outcome::Unknown,
                ClientError::NoLeader
                | ClientError::Unavailable { .. }
                | ClientError::BadRequest { .. }
                | ClientError::StorageFull { .. }
                | ClientError::Config(_) => Outcome::Fail,
            };
            (outcome, None, format!("{e} (leader {leader})"))
        }
    }
}

/// Percent-encoding is not needed: keys are `k<N>`.
fn http_call(
    agent: &ureq::Agent,
    base: &str,
    kind: Kind,
    key: &str,
    value: Option<&str>,
) -> (Outcome, Option<String>, String) {
    let url = format!("{base}/kv/{key}");
    let result = match (kind, consistency(kind)) {
        (Kind::Put, _) => agent
            .put(&url)
            .set("content-type", "application/json")
            .send_string(&serde_json::json!({ "value": value }).to_string()),
        (Kind::Delete, _) => agent.delete(&url).call(),
        (_, Some(c)) => {
            let c = match c {
                ReadConsistency::Linearizable => "linearizable",
                ReadConsistency::Lease => "lease",
                ReadConsistency::Eventual => "eventual",
            };
            agent.get(&format!("{url}?consistency={c}")).call()
        }
        (_, None) => unreachable!("reads have a consistency"),
    };
    let (resp, status) = match result {
        Ok(r) => {
            let s = r.status();
            (r, s)
        }
        Err(ureq::Error::Status(s, r)) => (r, s),
        Err(ureq::Error::Transport(t)) => {
            let outcome = match t.kind() {
                ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => Outcome::Fail,
                _ => Outcome::Unknown,
            };
            return (outcome, None, format!("transport: {t}"));
        }
    };
    let node = resp.header("x-kv-node").unwrap_or("?").to_string();
    let via = resp
        .header("x-kv-forwarded-to")
        .map(|f| format!("->n{f}"))
        .unwrap_or_default();
    let body: serde_json::Value = match resp.into_string() {
        Ok(text) => serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        // The status line came but not the body: a read saw nothing usable.
        Err(e) if !kind.is_write() => {
            return (Outcome::Unknown, None, format!("{status}, body lost: {e}"))
        }
        Err(_) => serde_json::Value::Null,
    };
    let detail = format!(
        "{status} {} n{node}{via}",
        body["error"].as_str().unwrap_or("")
    );
    let outcome = match status {
        200 => Outcome::Ok,
        404 if !kind.is_write() && body.get("value") == Some(&serde_json::Value::Null) => {
            Outcome::Ok
        }
        // A 503 `storage_failed` says whether the write had been proposed.
        503 if body["outcome"].as_str() == Some("unknown") => Outcome::Unknown,
        400..=499 | 502 | 503 | 507 => Outcome::Fail,
        _ => Outcome::Unknown,
    };
    let read = if outcome == Outcome::Ok && !kind.is_write() {
        body["value"].as_str().map(str::to_string)
    } else {
        None
    };
    (outcome, read, detail)
}

/// A pinned client for one-off probes (e.g. lease reads on a resumed node).
pub struct Probe {
    worker: Worker,
}

impl Probe {
    /// A client named `name` that sends to `url` only.
    pub fn new(rec: &Recorder, name: &str, url: &str, timeout: Duration) -> Self {
        let rt = Arc::new(
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
        );
        Self {
            worker: Worker {
                client: rec.client(name),
                name: name.to_string(),
                target: pinned(url, timeout),
                rec: rec.clone(),
                cfg: TrafficConfig::default(),
                rng: StdRng::seed_from_u64(0),
                rt,
                seq: 0,
                last: None,
                writer: None,
            },
        }
    }

    /// Issue and record one operation.
    pub fn call(&mut self, kind: Kind, key: &str) {
        self.worker.one(kind, key.to_string());
    }

    /// Outcome of the last call.
    pub fn last_outcome(&self) -> Option<Outcome> {
        self.worker.last.as_ref().map(|(o, _)| *o)
    }

    /// What the last call read (`None`: absent, or not a read).
    pub fn last_value(&self) -> Option<String> {
        self.worker.last.as_ref().and_then(|(_, v)| v.clone())
    }
}
