//! The terminal view: a live screen (ANSI cursor-home + redraw, at most
//! [`MAX_LINES`] lines of at most [`WIDTH`] columns, so it fits 80×24) when
//! the human output goes to a terminal, plain lines otherwise (one status
//! line per second plus one line per event).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use hdrhistogram::Histogram;

use super::workload::Counts;

/// Widest line drawn (one column spare on an 80-column terminal).
pub const WIDTH: usize = 79;
/// Most lines a live frame uses (a 24-line terminal keeps room for the prompt).
pub const MAX_LINES: usize = 22;
/// Events shown at the bottom of the live frame.
const EVENT_LINES: usize = 7;

/// Where the human output goes and in which form.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    /// Redraw a live frame (the human stream is a terminal).
    pub live: bool,
    /// Human output goes to stderr (`--json` keeps stdout for the JSON).
    pub stderr: bool,
}

impl Out {
    /// Human output on stdout, or on stderr in `--json` mode; live if that stream is a terminal.
    pub fn new(json: bool) -> Self {
        let live = if json {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        Self { live, stderr: json }
    }

    fn write(&self, text: &str) {
        // A closed pipe must not abort the demo (its children still need killing).
        if self.stderr {
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(text.as_bytes());
            let _ = e.flush();
        } else {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }

    /// One line of human output (always printed).
    pub fn line(&self, text: &str) {
        self.write(&format!("{text}\n"));
    }

    /// A plain progress line: printed only when there is no live frame.
    pub fn progress(&self, text: &str) {
        if !self.live {
            self.line(text);
        }
    }

    /// Clears the screen before the first live frame.
    pub fn begin(&self) {
        if self.live {
            self.write("\x1b[2J\x1b[H");
        }
    }

    /// Redraws the live frame from the top-left corner.
    pub fn frame(&self, lines: &[String]) {
        let mut s = String::from("\x1b[H");
        for l in lines.iter().take(MAX_LINES) {
            s.push_str(&fit(l));
            s.push_str("\x1b[K\n");
        }
        s.push_str("\x1b[J");
        self.write(&s);
    }
}

/// Truncates a line to [`WIDTH`] characters.
pub fn fit(line: &str) -> String {
    line.chars().take(WIDTH).collect()
}

/// One node's row.
#[derive(Clone, Debug)]
pub struct NodeRow {
    /// Raft id.
    pub id: u32,
    /// Role in the client's cached topology.
    pub role: String,
    /// OS pid when the demo runs the node.
    pub pid: Option<u32>,
    /// `up`, `KILLED`, `ejected` (client keeps it out of rotation), `restarted`.
    pub state: &'static str,
    /// Reads served since the start.
    pub reads: u64,
    /// Reads served per second, last second.
    pub reads_rate: f64,
}

/// Everything one frame or status line shows.
pub struct Snapshot<'a> {
    /// Time since the workload started.
    pub elapsed: Duration,
    /// Planned run time.
    pub duration: Duration,
    /// `local cluster (3 kv-node processes)` or the external seeds.
    pub cluster: &'a str,
    /// One line describing the script.
    pub script: &'a str,
    /// Leader in the writer client's cache.
    pub leader: Option<u32>,
    /// Term in the writer client's cache.
    pub term: u64,
    /// Leader changes the client noticed.
    pub leader_changes: u64,
    /// Retries by both clients.
    pub retries: u64,
    /// Writes a follower forwarded because the client's leader was stale.
    pub forwarded: u64,
    /// Per-node rows.
    pub nodes: Vec<NodeRow>,
    /// Acknowledged writes per second, last second.
    pub write_rate: f64,
    /// Successful reads per second, last second.
    pub read_rate: f64,
    /// Counters since the start.
    pub counts: Counts,
    /// Write latency, last second.
    pub write_lat: &'a Histogram<u64>,
    /// Read latency, last second.
    pub read_lat: &'a Histogram<u64>,
    /// Longest pause between write completions so far.
    pub write_gap: Duration,
    /// Longest pause between read completions so far.
    pub read_gap: Duration,
    /// Timeline so far (time since start, text).
    pub events: &'a [(Duration, String)],
}

/// A latency quantile in milliseconds (0 when there were no samples).
pub fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

fn lat(h: &Histogram<u64>) -> String {
    format!(
        "p50 {:>6.1}  p99 {:>6.1}  max {:>6.0} ms",
        ms(h, 0.5),
        ms(h, 0.99),
        h.max() as f64 / 1000.0
    )
}

fn leader_name(l: Option<u32>) -> String {
    l.map_or_else(|| "none (election)".to_owned(), |l| format!("n{l}"))
}

/// `[  5.02s] text`.
pub fn event_line(at: Duration, text: &str) -> String {
    format!("[{:>6.2}s] {text}", at.as_secs_f64())
}

/// The live frame, at most [`MAX_LINES`] lines.
pub fn render_live(s: &Snapshot<'_>) -> Vec<String> {
    let c = &s.counts;
    let mut out = vec![
        format!(
            "smart-client failover demo   t={:>5.1}s / {}s   {}",
            s.elapsed.as_secs_f64(),
            s.duration.as_secs(),
            s.cluster
        ),
        s.script.to_owned(),
        format!(
            "client leader: {}  term {}  changes seen {}  retries {}  fwd {}",
            leader_name(s.leader),
            s.term,
            s.leader_changes,
            s.retries,
            s.forwarded
        ),
        " node  role       pid      state       reads total   reads/s  share".to_owned(),
    ];
    let total_rate: f64 = s.nodes.iter().map(|n| n.reads_rate).sum();
    for n in &s.nodes {
        let share = if total_rate > 0.0 {
            100.0 * n.reads_rate / total_rate
        } else {
            0.0
        };
        out.push(format!(
            " n{:<4} {:<10} {:<8} {:<10} {:>12} {:>9.0} {:>5.0}%",
            n.id,
            n.role,
            n.pid.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            n.state,
            n.reads,
            n.reads_rate,
            share
        ));
    }
    out.push(format!(
        "writes {:>6.0}/s  ok {:>7}  failed {:<3} {}",
        s.write_rate,
        c.writes_ok,
        c.writes_failed,
        lat(s.write_lat)
    ));
    out.push(format!(
        "reads  {:>6.0}/s  ok {:>7}  failed {:<3} {}",
        s.read_rate,
        c.reads_ok,
        c.reads_failed,
        lat(s.read_lat)
    ));
    out.push(format!(
        "longest pause: writes {} ms, reads {} ms   stale eventual reads {}",
        s.write_gap.as_millis(),
        s.read_gap.as_millis(),
        c.reads_stale
    ));
    out.push("events:".to_owned());
    let room = MAX_LINES.saturating_sub(out.len()).min(EVENT_LINES);
    let skip = s.events.len().saturating_sub(room);
    for (at, text) in &s.events[skip..] {
        out.push(event_line(*at, text));
    }
    out
}

/// The once-a-second plain status line.
pub fn render_plain(s: &Snapshot<'_>) -> String {
    let c = &s.counts;
    let total_rate: f64 = s.nodes.iter().map(|n| n.reads_rate).sum();
    let shares: Vec<String> = s
        .nodes
        .iter()
        .map(|n| {
            let share = if total_rate > 0.0 {
                100.0 * n.reads_rate / total_rate
            } else {
                0.0
            };
            format!("n{}:{}:{:.0}%", n.id, n.role, share)
        })
        .collect();
    format!(
        "[{:>6.2}s] leader {} | writes {:.0}/s ok {} failed {} p99 {:.1}ms | reads {:.0}/s ok {} failed {} p99 {:.1}ms | retries {} | reads {}",
        s.elapsed.as_secs_f64(),
        leader_name(s.leader),
        s.write_rate,
        c.writes_ok,
        c.writes_failed,
        ms(s.write_lat, 0.99),
        s.read_rate,
        c.reads_ok,
        c.reads_failed,
        ms(s.read_lat, 0.99),
        s.retries,
        shares.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_frame_fits_80x24() {
        let h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        let events: Vec<(Duration, String)> = (0..20)
            .map(|i| (Duration::from_millis(i * 900), "x".repeat(120)))
            .collect();
        let nodes = (1..=3)
            .map(|id| NodeRow {
                id,
                role: "follower".into(),
                pid: Some(4_194_304),
                state: "restarted",
                reads: 12_345_678,
                reads_rate: 99_999.0,
            })
            .collect();
        let s = Snapshot {
            elapsed: Duration::from_secs(19),
            duration: Duration::from_secs(20),
            cluster: "local 3-node cluster",
            script: "script",
            leader: Some(2),
            term: 123,
            leader_changes: 4,
            retries: 123_456,
            forwarded: 12,
            nodes,
            write_rate: 1234.0,
            read_rate: 23456.0,
            counts: Counts::default(),
            write_lat: &h,
            read_lat: &h,
            write_gap: Duration::from_millis(1234),
            read_gap: Duration::from_millis(12),
            events: &events,
        };
        let lines = render_live(&s);
        assert!(lines.len() <= MAX_LINES, "{} lines", lines.len());
        for l in &lines {
            assert!(fit(l).chars().count() <= WIDTH);
        }
        // The table lines must fit without truncation.
        for l in &lines[..lines.len() - EVENT_LINES] {
            assert!(l.chars().count() <= WIDTH, "too wide: {l:?}");
        }
    }
}
