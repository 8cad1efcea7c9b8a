//! The closed-loop load generator and the workloads.
//!
//! One cell = one actix system on its own thread with `concurrency` tasks.
//! Each task issues one request, waits for its answer, and issues the next
//! until the cell's time is up (or, with [`CellSpec::ops_limit`], until that
//! many requests were issued). Plain-HTTP paths share one awc client (pool
//! of at least `concurrency` keep-alive connections); the `smart` path calls
//! one `SmartClient` from the same kind of tasks; the `etcd` path sends the
//! same operations to etcd's v3 JSON gateway with the same kind of awc
//! client. Keys are 8 bytes, values 256 bytes, on every path.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use awc::error::SendRequestError;
use bytes::Bytes;
use clap::ValueEnum;
use hdrhistogram::Histogram;
use kv_contract::{Consistency, ErrorBody, PutBody};
use smart_client::{ReadConsistency, SmartClient};

use super::env::{CpuProbe, CpuSample};
use super::etcd::b64;

/// Keys written before the run, read by the read workloads.
pub const PRELOAD_KEYS: usize = 1000;
/// Value size of every write.
pub const VALUE_BYTES: usize = 256;
/// Deadline of one request on the plain-HTTP paths (the smart client's is
/// its `request_timeout`, also 5 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What a cell's tasks do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Writes of unique keys.
    Write,
    /// Eventual reads of preloaded keys.
    ReadEventual,
    /// Linearizable reads of preloaded keys.
    ReadLinearizable,
    /// 90 % eventual reads of preloaded keys, 10 % writes of unique keys.
    Mix,
}

impl Workload {
    /// Name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Write => "write",
            Workload::ReadEventual => "read_eventual",
            Workload::ReadLinearizable => "read_linearizable",
            Workload::Mix => "mix_90r_10w",
        }
    }

    fn next_op(self, rng: &mut XorShift) -> Op {
        let read = |rng: &mut XorShift, c| Op::Read(read_key(rng.below(PRELOAD_KEYS)), c);
        match self {
            Workload::Write => Op::Write(unique_key()),
            Workload::ReadEventual => read(rng, ReadConsistency::Eventual),
            Workload::ReadLinearizable => read(rng, ReadConsistency::Linearizable),
            Workload::Mix if rng.below(10) == 0 => Op::Write(unique_key()),
            Workload::Mix => read(rng, ReadConsistency::Eventual),
        }
    }
}

/// One request.
pub enum Op {
    /// `PUT /kv/{key}` with a 256-byte value.
    Write(String),
    /// `GET /kv/{key}?consistency=...`.
    Read(String, ReadConsistency),
}

/// The `i`-th preloaded key (8 bytes).
pub fn read_key(i: usize) -> String {
    format!("r{i:07}")
}

/// A key never written before in this process (8 bytes).
pub fn unique_key() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "w{:07x}",
        NEXT.fetch_add(1, Ordering::Relaxed) & 0x0fff_ffff
    )
}

/// The 256-byte value.
pub fn value() -> String {
    "v".repeat(VALUE_BYTES)
}

/// Where a path's requests go.
#[derive(Clone, Debug)]
pub enum Route {
    /// Through the smart client.
    Smart(SmartClient),
    /// Plain HTTP to one base URL (HAProxy's frontend or a pinned node).
    Http {
        /// e.g. `http://127.0.0.1:8080`.
        base: String,
    },
    /// etcd's v3 JSON gateway: writes and linearizable reads to the leader,
    /// serializable reads round-robin over every member.
    Etcd {
        /// Client URL of every member.
        members: Vec<String>,
        /// Index of the leader in `members` when the route was made.
        leader: usize,
    },
}

/// The per-thread executor of one route.
pub enum Sender {
    Smart(SmartClient, String),
    Http {
        client: awc::Client,
        base: String,
        body: Bytes,
    },
    Etcd {
        client: awc::Client,
        members: Vec<String>,
        /// Member that gets writes and linearizable reads: the leader when
        /// the route was made, the next member after a transport error.
        leader: Cell<usize>,
        /// Round-robin position of serializable reads.
        next_read: Cell<usize>,
        /// The 256-byte value, base64.
        value_b64: String,
    },
}

impl Sender {
    /// Must be called inside an actix system; `pool` bounds the connections.
    pub fn new(route: Route, pool: usize) -> Self {
        let http_client = || {
            let connector = awc::Connector::new()
                .limit(pool)
                .conn_keep_alive(Duration::from_secs(30));
            awc::Client::builder()
                .connector(connector)
                .timeout(REQUEST_TIMEOUT)
                .disable_redirects()
                .finish()
        };
        match route {
            Route::Smart(c) => Sender::Smart(c, value()),
            Route::Etcd { members, leader } => Sender::Etcd {
                client: http_client(),
                leader: Cell::new(leader.min(members.len().saturating_sub(1))),
                members,
                next_read: Cell::new(0),
                value_b64: b64(value().as_bytes()),
            },
            Route::Http { base } => {
                let client = http_client();
                let body = serde_json::to_vec(&PutBody {
                    value: value().into(),
                })
                .expect("serialize value")
                .into();
                Sender::Http { client, base, body }
            }
        }
    }

    /// Runs one request; `Err` names what went wrong (a read must find its key).
    pub async fn exec(&self, op: Op) -> Result<(), String> {
        match self {
            Sender::Smart(c, value) => match op {
                Op::Write(key) => c.put(key, value).await.map_err(smart_error),
                Op::Read(key, consistency) => match c.get(key, consistency).await {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err("smart: key missing".into()),
                    Err(e) => Err(smart_error(e)),
                },
            },
            Sender::Http { client, base, body } => {
                let sent = match op {
                    Op::Write(key) => {
                        client
                            .put(format!("{base}/kv/{key}"))
                            .insert_header(("content-type", "application/json"))
                            .send_body(body.clone())
                            .await
                    }
                    Op::Read(key, c) => {
                        client
                            .get(format!("{base}/kv/{key}{}", Consistency::from(c).query()))
                            .send()
                            .await
                    }
                };
                match sent {
                    Ok(mut r) => {
                        // Read the body so the connection goes back to the pool.
                        let body = r.body().await;
                        match (r.status().as_u16(), body) {
                            (200, Ok(_)) => Ok(()),
                            (_, Err(e)) => Err(format!("body: {e}")),
                            (status, Ok(b)) => Err(format!(
                                "http {status} {}",
                                error_code(&b).unwrap_or_default()
                            )),
                        }
                    }
                    Err(e) => Err(transport_error(e)),
                }
            }
            Sender::Etcd {
                client,
                members,
                leader,
                next_read,
                value_b64,
            } => {
                let n = members.len().max(1);
                let (path, body, to_leader, must_find) = match op {
                    Op::Write(key) => (
                        "/v3/kv/put",
                        format!(
                            r#"{{"key":"{}","value":"{value_b64}"}}"#,
                            b64(key.as_bytes())
                        ),
                        true,
                        false,
                    ),
                    Op::Read(key, c) => {
                        let serializable = c == ReadConsistency::Eventual;
                        let body = if serializable {
                            format!(r#"{{"key":"{}","serializable":true}}"#, b64(key.as_bytes()))
                        } else {
                            format!(r#"{{"key":"{}"}}"#, b64(key.as_bytes()))
                        };
                        ("/v3/kv/range", body, !serializable, true)
                    }
                };
                let mut target = if to_leader {
                    leader.get()
                } else {
                    let i = next_read.get() % n;
                    next_read.set((i + 1) % n);
                    i
                };
                let body = Bytes::from(body);
                // A refused connection means the request was never sent, so
                // trying the next member is safe (clientv3 does the same);
                // every other failure is the application's error.
                for attempt in 1..=n {
                    let sent = client
                        .post(format!("{}{path}", members[target]))
                        .insert_header(("content-type", "application/json"))
                        .send_body(body.clone())
                        .await;
                    let next = (target + 1) % n;
                    match sent {
                        Ok(mut r) => {
                            let b = r.body().limit(1 << 20).await;
                            return match (r.status().as_u16(), b) {
                                (200, Ok(b)) if must_find && !contains(&b, b"\"kvs\"") => {
                                    Err("etcd: key missing".into())
                                }
                                (200, Ok(_)) => Ok(()),
                                (_, Err(e)) => Err(format!("body: {e}")),
                                (status, Ok(b)) => Err(format!(
                                    "http {status} {}",
                                    error_code(&b).unwrap_or_default()
                                )),
                            };
                        }
                        Err(SendRequestError::Connect(_)) if attempt < n => {
                            if to_leader && leader.get() == target {
                                leader.set(next);
                            }
                            target = next;
                        }
                        Err(e) => {
                            if to_leader
                                && leader.get() == target
                                && !matches!(e, SendRequestError::Timeout)
                            {
                                leader.set(next);
                            }
                            return Err(transport_error(e));
                        }
                    }
                }
                Err("connect error".into())
            }
        }
    }
}

fn transport_error(e: SendRequestError) -> String {
    match e {
        SendRequestError::Connect(_) => "connect error".into(),
        SendRequestError::Timeout => "timeout (5 s)".into(),
        other => format!("send: {other}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `Error::Unavailable { last_error }` carries a per-request detail: keep
/// only the variant so that errors group.
fn smart_error(e: smart_client::Error) -> String {
    let s = format!("smart: {e:?}");
    s.split([' ', '(', '{'])
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `error` code of a JSON error body (etcd's gateway sends one too).
fn error_code(body: &[u8]) -> Option<String> {
    let body: ErrorBody = serde_json::from_slice(body).ok()?;
    (!body.error.is_empty()).then_some(body.error)
}

/// What one cell is.
#[derive(Clone, Copy, Debug)]
pub struct CellSpec {
    /// Request mix.
    pub workload: Workload,
    /// Concurrent tasks.
    pub concurrency: usize,
    /// Unmeasured lead time (connections, caches, RTT averages).
    pub warmup: Duration,
    /// Measured time (with `ops_limit`: the longest the cell may take).
    pub measure: Duration,
    /// Stop once this many requests were issued (warm-up included).
    pub ops_limit: Option<u64>,
}

/// What one cell measured.
pub struct CellResult {
    /// Successful requests issued inside the measured window.
    pub ok: u64,
    /// Failed requests issued inside the measured window.
    pub errors: u64,
    /// Failed requests by kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// Latency of successful requests, µs.
    pub hist: Histogram<u64>,
    /// Length of the measured window (with `ops_limit`: until the last
    /// request answered).
    pub measured: Duration,
    /// CPU seconds spent during the measured window.
    pub cpu: CpuSample,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Runs one cell on a fresh actix system in its own thread; returns when
/// every task has stopped (each request is bounded by a 5 s deadline).
pub fn run_cell(route: Route, spec: CellSpec, probe: CpuProbe) -> CellResult {
    super::env::run_local(move || cell(route, spec, probe))
}

async fn cell(route: Route, spec: CellSpec, probe: CpuProbe) -> CellResult {
    let sender = Rc::new(Sender::new(route, spec.concurrency.max(8)));
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.measure;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let cpu = actix_rt::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = probe.sample();
        tokio::select! {
            _ = tokio::time::sleep_until(end.into()) => {}
            _ = done_rx => {}
        }
        probe.sample().since(&before)
    });
    let issued = Rc::new(Cell::new(0u64));
    let tasks: Vec<_> = (0..spec.concurrency)
        .map(|t| {
            let sender = sender.clone();
            let issued = issued.clone();
            actix_rt::spawn(async move {
                let mut rng = XorShift::new(t as u64);
                let mut hist = new_hist();
                let (mut ok, mut errors) = (0u64, 0u64);
                let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
                loop {
                    let began = Instant::now();
                    if began >= end {
                        break;
                    }
                    if let Some(limit) = spec.ops_limit {
                        if issued.get() >= limit {
                            break;
                        }
                        issued.set(issued.get() + 1);
                    }
                    let op = spec.workload.next_op(&mut rng);
                    let result = sender.exec(op).await;
                    // Requests issued in the window count, even if they end
                    // after it: a stall shows up in the latency.
                    if began < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => {
                            ok += 1;
                            let us = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                            let _ = hist.record(us.max(1));
                        }
                        Err(kind) => {
                            errors += 1;
                            *kinds.entry(kind).or_default() += 1;
                        }
                    }
                }
                (ok, errors, kinds, hist)
            })
        })
        .collect();
    let mut hist = new_hist();
    let (mut ok, mut errors) = (0, 0);
    let mut error_kinds: BTreeMap<String, u64> = BTreeMap::new();
    for t in tasks {
        if let Ok((o, e, kinds, h)) = t.await {
            ok += o;
            errors += e;
            for (k, n) in kinds {
                *error_kinds.entry(k).or_default() += n;
            }
            let _ = hist.add(&h);
        }
    }
    let measured = match spec.ops_limit {
        Some(_) => Instant::now()
            .saturating_duration_since(measure_from)
            .min(spec.measure)
            .max(Duration::from_millis(1)),
        None => spec.measure,
    };
    let _ = done_tx.send(());
    CellResult {
        ok,
        errors,
        error_kinds,
        hist,
        measured,
        cpu: cpu.await.unwrap_or_default(),
    }
}

/// Writes the preloaded keys through `route` (the leader), 32 at a time;
/// returns the number of failed writes.
pub async fn preload(route: Route, n: usize) -> usize {
    let sender = Rc::new(Sender::new(route, 32));
    let next = Rc::new(std::cell::Cell::new(0usize));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (sender, next) = (sender.clone(), next.clone());
            actix_rt::spawn(async move {
                let mut failed = 0;
                loop {
                    let i = next.get();
                    if i >= n {
                        return failed;
                    }
                    next.set(i + 1);
                    if sender.exec(Op::Write(read_key(i))).await.is_err() {
                        failed += 1;
                    }
                }
            })
        })
        .collect();
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(n);
    }
    failed
}

/// Small, fast, seedable PRNG for key choice (no shared state between tasks).
pub struct XorShift(u64);

impl XorShift {
    /// Generator for task `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform-enough integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_have_the_stated_sizes() {
        assert_eq!(read_key(0).len(), 8);
        assert_eq!(read_key(PRELOAD_KEYS - 1).len(), 8);
        assert_eq!(unique_key().len(), 8);
        assert_ne!(unique_key(), unique_key());
        assert_eq!(value().len(), VALUE_BYTES);
        let mut rng = XorShift::new(3);
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }
}
