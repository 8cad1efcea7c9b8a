//! What the traffic generator records: one [`Op`] per call, with its client,
//! key, kind, value, monotonic invoke and return times and outcome.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What an operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Write `value` under the key.
    Put,
    /// Remove the key.
    Delete,
    /// `consistency=linearizable`.
    ReadLinearizable,
    /// `consistency=lease` (claimed as strong as linearizable).
    ReadLease,
    /// `consistency=eventual`: any value written before the read returned.
    ReadEventual,
    /// `consistency=eventual` through a smart-client handle with session
    /// consistency (`min_index`): as eventual, plus read-your-writes and
    /// monotonic reads for that client.
    ReadSession,
}

impl Kind {
    /// Puts and deletes.
    pub fn is_write(self) -> bool {
        matches!(self, Kind::Put | Kind::Delete)
    }

    /// Eventual reads, with or without a session.
    pub fn is_eventual(self) -> bool {
        matches!(self, Kind::ReadEventual | Kind::ReadSession)
    }

    /// Reads that the linearizability check covers.
    pub fn is_strong_read(self) -> bool {
        matches!(self, Kind::ReadLinearizable | Kind::ReadLease)
    }

    /// Short name for timelines.
    pub fn short(self) -> &'static str {
        match self {
            Kind::Put => "put",
            Kind::Delete => "del",
            Kind::ReadLinearizable => "get-lin",
            Kind::ReadLease => "get-lease",
            Kind::ReadEventual => "get-ev",
            Kind::ReadSession => "get-sess",
        }
    }
}

/// How a call ended, as its answer claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Acknowledged (a read returned its value).
    Ok,
    /// The answer promised it was not applied (connect refused, 502, 503, 4xx).
    Fail,
    /// Timeout, broken connection, 504: it may take effect at any time after
    /// its invocation, or never.
    Unknown,
}

/// One recorded call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Index in [`History::ops`].
    pub id: usize,
    /// Index in [`History::clients`].
    pub client: usize,
    /// Key.
    pub key: String,
    /// Kind.
    pub kind: Kind,
    /// Put: the (unique) value written. Reads: the value returned (`None`:
    /// absent). Delete: `None`.
    pub value: Option<String>,
    /// Microseconds since the history started, when the call was made.
    pub invoke_us: u64,
    /// Microseconds since the history started, when the answer came.
    pub return_us: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// The answer in brief: status and error code, node that answered, etc.
    pub detail: String,
}

/// Who issued operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// e.g. `smart-0`, `pinned-n2-1`, `probe-n1`, `final`.
    pub name: String,
}

/// Something the nemesis did, for timelines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Microseconds since the history started.
    pub at_us: u64,
    /// e.g. `SIGKILL leader n2`.
    pub what: String,
}

/// A whole recorded run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Wall-clock time of time 0, in ms since the Unix epoch (to line the
    /// history up with node logs).
    pub started_unix_ms: u64,
    /// Clients by index.
    pub clients: Vec<ClientInfo>,
    /// Every call, ordered by invocation.
    pub ops: Vec<Op>,
    /// Faults and recoveries.
    pub events: Vec<Event>,
}

impl History {
    /// Operations on `key`.
    pub fn ops_on<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Op> + 'a {
        self.ops.iter().filter(move |o| o.key == key)
    }

    /// Distinct keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.ops.iter().map(|o| o.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Count of operations with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.ops.iter().filter(|o| o.outcome == outcome).count()
    }
}

/// Collects operations from many client threads against one clock.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    inner: Arc<Mutex<History>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        let started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            start: Instant::now(),
            inner: Arc::new(Mutex::new(History {
                started_unix_ms,
                ..History::default()
            })),
        }
    }

    /// Microseconds since the start.
    pub fn now_us(&self) -> u64 {
        self.at_us(Instant::now())
    }

    /// `t` in microseconds since the start.
    pub fn at_us(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.start).as_micros()).unwrap_or(u64::MAX)
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Register a client; returns its index.
    pub fn client(&self, name: impl Into<String>) -> usize {
        let mut h = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        h.clients.push(ClientInfo { name: name.into() });
        h.clients.len() - 1
    }

    /// Record a finished call (`id` is assigned at [`Recorder::finish`]).
    pub fn record(&self, op: Op) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ops
            .push(op);
    }

    /// Record a nemesis event now.
    pub fn event(&self, what: impl Into<String>) {
        let at_us = self.now_us();
        let what = what.into();
        eprintln!("[{:>7.3}s] {what}", at_us as f64 / 1e6);
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .events
            .push(Event { at_us, what });
    }

    /// The history so far, ops ordered by invocation and numbered.
    pub fn finish(&self) -> History {
        let mut h = self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone();
        h.ops.sort_by_key(|o| (o.invoke_us, o.return_us, o.client));
        for (i, op) in h.ops.iter_mut().enumerate() {
            op.id = i;
        }
        h
    }
}
