//! What happened when: the timeline of the script's events (kill, leader
//! noticed, writes back, restart, rejoin), the rolling rates of the live
//! view, and the per-node read counts they are built from.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use smart_client::Stats;

use super::summary::PerNode;
use super::view::{self, Out};

/// Reads each node served so far: attempts minus failed and outstanding ones.
pub(super) fn served(stats: &Stats) -> BTreeMap<u32, u64> {
    stats
        .nodes
        .iter()
        .map(|n| {
            let done = n
                .requests
                .saturating_sub(n.errors)
                .saturating_sub(u64::from(n.in_flight));
            (n.id, done)
        })
        .collect()
}

/// Reads per node in `now` since `since` (all of them without `since`), keyed for the summary.
pub(super) fn per_node(now: &BTreeMap<u32, u64>, since: Option<&BTreeMap<u32, u64>>) -> PerNode {
    now.iter()
        .map(|(id, v)| {
            let base = since.and_then(|s| s.get(id)).copied().unwrap_or(0);
            (id.to_string(), v.saturating_sub(base))
        })
        .collect()
}

/// Whole milliseconds of `d`.
pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What happened when, for the live view and the summary.
pub(super) struct Timeline {
    /// Workload start.
    pub(super) t0: Instant,
    /// Event texts by time since `t0`, in time order.
    pub(super) events: Vec<(Duration, String)>,
    /// Leader when the workload started.
    pub(super) old_leader: Option<u32>,
    /// Node killed and when.
    pub(super) killed: Option<(u32, Instant)>,
    /// Writer client's cached leader, as last seen.
    pub(super) seen_leader: Option<u32>,
    /// The client's cache named a new leader after the kill.
    pub(super) noticed: Option<Instant>,
    /// The first write started after the kill was acknowledged.
    pub(super) writes_back: Option<Instant>,
    /// The killed node was restarted.
    pub(super) restarted: Option<Instant>,
    /// The restarted node answered as a follower that knows the leader.
    pub(super) rejoined: Option<Instant>,
    /// The restarted node served a read again.
    pub(super) reads_again: Option<Instant>,
    /// Reads each node had served when the leader was killed.
    pub(super) reads_at_kill: Option<BTreeMap<u32, u64>>,
    /// Reads each node had served when the killed node was restarted.
    pub(super) reads_at_restart: Option<BTreeMap<u32, u64>>,
}

impl Timeline {
    /// A timeline starting now, with the leader when the workload started
    /// and the one the writing client has cached.
    pub(super) fn new(old_leader: Option<u32>, seen_leader: Option<u32>) -> Self {
        Self {
            t0: Instant::now(),
            events: Vec::new(),
            old_leader,
            killed: None,
            seen_leader,
            noticed: None,
            writes_back: None,
            restarted: None,
            rejoined: None,
            reads_again: None,
            reads_at_kill: None,
            reads_at_restart: None,
        }
    }

    /// Records an event that happens now.
    pub(super) fn event(&mut self, out: &Out, text: String) {
        let at = self.t0.elapsed();
        out.progress(&view::event_line(at, &text));
        self.events.push((at, text));
    }

    /// Records an event that happened at `at` (kept in time order).
    pub(super) fn event_at(&mut self, out: &Out, at: Instant, text: String) {
        let at = at.saturating_duration_since(self.t0);
        out.progress(&view::event_line(at, &text));
        self.events.push((at, text));
        self.events.sort_by_key(|e| e.0);
    }

    /// " (N ms after the kill)", once a node was killed.
    pub(super) fn since_kill(&self, t: Instant) -> String {
        match self.killed {
            Some((_, k)) => format!(" ({} ms after the kill)", millis(t - k)),
            None => String::new(),
        }
    }
}

/// The rolling samples behind the per-second rates and latency of the view.
#[derive(Default)]
pub(super) struct Rates {
    /// (when, acknowledged writes, successful reads, reads per node)
    pub(super) samples: VecDeque<(Instant, u64, u64, BTreeMap<u32, u64>)>,
    /// Latency of the last four frames.
    pub(super) windows: VecDeque<(Histogram<u64>, Histogram<u64>)>,
}

impl Rates {
    /// Adds one frame's sample and latency window.
    pub(super) fn push(
        &mut self,
        sample: (Instant, u64, u64, BTreeMap<u32, u64>),
        window: (Histogram<u64>, Histogram<u64>),
    ) {
        self.samples.push_back(sample);
        while self.samples.len() > 5 {
            self.samples.pop_front();
        }
        self.windows.push_back(window);
        while self.windows.len() > 4 {
            self.windows.pop_front();
        }
    }

    /// (writes/s, reads/s, reads/s per node) between the oldest and newest sample.
    pub(super) fn rates(&self) -> (f64, f64, BTreeMap<u32, f64>) {
        let (Some(a), Some(b)) = (self.samples.front(), self.samples.back()) else {
            return (0.0, 0.0, BTreeMap::new());
        };
        let secs = (b.0 - a.0).as_secs_f64();
        if secs <= 0.0 {
            return (0.0, 0.0, BTreeMap::new());
        }
        let per = |x: u64, y: u64| y.saturating_sub(x) as f64 / secs;
        let nodes =
            b.3.iter()
                .map(|(id, v)| (*id, per(a.3.get(id).copied().unwrap_or(0), *v)))
                .collect();
        (per(a.1, b.1), per(a.2, b.2), nodes)
    }

    /// Write and read latency over the last second.
    pub(super) fn latency(&self) -> (Histogram<u64>, Histogram<u64>) {
        let mut w = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        let mut r = w.clone();
        for (hw, hr) in &self.windows {
            let _ = w.add(hw);
            let _ = r.add(hr);
        }
        (w, r)
    }
}
