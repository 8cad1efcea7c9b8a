//! The failover demo: client-side failover, live, in one command.
//!
//! The script ([`main`]): start a local 3-node cluster of real `kv-node`
//! processes (or use `--cluster`), run a mixed workload through the smart
//! client ([`workload`]), SIGKILL the leader after `--kill-after-secs`,
//! restart it `--restart-after-secs` later, and at `--duration-secs` read
//! every acknowledged write back linearizably and print a [`summary`].
//! While it runs, [`view`] shows the client's leader, each node's role and
//! share of reads, rates, latency and a timeline of what happened.
//!
//! Process handling: nodes are spawned and restarted only from the main
//! thread (the harness ties each child's `PR_SET_PDEATHSIG` to the thread
//! that spawned it), the `Cluster` kills every child when dropped, and
//! SIGINT/SIGTERM stop the workload, drop the cluster and exit with 130.

mod summary;
mod view;
mod workload;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_harness::{self as harness, Cluster, ClusterOptions};
use smart_client::{SmartClient, Stats};
use tokio::signal::unix::{signal, Signal, SignalKind};

use summary::{PerNode, Percentiles, Summary};
use view::{NodeRow, Out, Snapshot};
use workload::{Recorder, Workload};

/// Flags of the failover demo (the default command of `demo`).
#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = SCRIPT_HELP)]
pub struct DemoArgs {
    /// Use a running cluster (e.g. `just cluster`) instead of starting one:
    /// comma-separated API URLs on 127.0.0.1. The demo then cannot kill
    /// nodes itself: kill one yourself while it runs to see the failover.
    #[arg(long, value_name = "URL,URL,...", value_delimiter = ',')]
    pub cluster: Vec<String>,
    /// How long the workload runs before the final read-back, in seconds.
    #[arg(long, default_value_t = 20, value_name = "SECS")]
    pub duration_secs: u64,
    /// When to SIGKILL the leader, in seconds after the workload started.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub kill_after_secs: u64,
    /// When to restart the killed node, in seconds after the kill.
    #[arg(long, default_value_t = 3, value_name = "SECS")]
    pub restart_after_secs: u64,
    /// Concurrent writers (unique keys, each write with a 5 s deadline).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub writers: usize,
    /// Concurrent readers (eventual reads of acknowledged keys).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub readers: usize,
    /// Print the summary as one JSON object on the last line of stdout
    /// (human output goes to stderr).
    #[arg(long)]
    pub json: bool,
}

const SCRIPT_HELP: &str = "\
What the demo does (no flags needed):
  1. Starts 3 kv-node processes on free 127.0.0.1 ports, data in a temp dir
     (builds kv-node first if it is not next to the demo binary).
  2. Runs a workload through the smart client: writers put unique keys (sent
     to the leader), readers get acknowledged keys with eventual consistency
     (spread over the followers). A live view (4 times a second; one plain
     line per second when stdout is not a terminal) shows the client's
     leader, each node's role and share of reads, rates, latency, errors
     and retries.
  3. After --kill-after-secs it SIGKILLs the leader and shows when the client
     notices the new leader and when writes succeed again; reads go on.
     --restart-after-secs later it restarts the node and shows it rejoin as
     a follower and serve reads again.
  4. After --duration-secs it reads every acknowledged write back with
     linearizable reads and prints a summary: acknowledged / lost / failed
     writes, failed reads, the write-unavailability window (kill -> first
     acknowledged write started after the kill; also the longest pause
     between write acknowledgements), old and new leader, reads per node
     before and after the kill and after the rejoin.
  Exit status: 0 if every acknowledged write was read back, 1 if any was
  lost (or unreadable), 130 on Ctrl-C (all nodes the demo started are killed).
  Traffic goes to 127.0.0.1 only. RUST_LOG controls log output (stderr).";

/// How long the local cluster may take to elect its first leader.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);
/// The smart client's per-call deadline (retries included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Period of the script's checks (kill, restart, leader changes).
const POLL: Duration = Duration::from_millis(50);
/// Period of the live view.
const FRAME: Duration = Duration::from_millis(250);

impl DemoArgs {
    fn validate(&self) -> Result<(), String> {
        if self.duration_secs == 0 {
            return Err("--duration-secs must be positive".into());
        }
        if self.writers == 0 {
            return Err("--writers must be positive".into());
        }
        for url in &self.cluster {
            let host = url
                .strip_prefix("http://")
                .ok_or_else(|| format!("--cluster: {url:?} is not an http:// URL"))?;
            let host = host.split(['/', ':']).next().unwrap_or_default();
            if !matches!(host, "127.0.0.1" | "localhost") {
                return Err(format!(
                    "--cluster: {url:?} is not on 127.0.0.1 (the demo only talks to loopback)"
                ));
            }
        }
        Ok(())
    }
}

/// How a run ended.
enum Outcome {
    /// The script ran to the end.
    Done(Box<Summary>),
    /// SIGINT/SIGTERM: the workload was stopped; these node pids were started.
    Interrupted(Vec<u32>),
    /// Setup failed.
    Failed(String),
}

/// Runs the demo; see the module docs and `demo --help`.
pub fn main(args: DemoArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if let Err(e) = args.validate() {
        eprintln!("demo: {e}");
        return ExitCode::from(2);
    }
    let out = Out::new(args.json);
    let binary = if args.cluster.is_empty() {
        match node_binary(&out) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("demo: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `block_on` polls `run` on this (the main) thread: the cluster is
    // started, restarted and dropped here, so PR_SET_PDEATHSIG stays tied to
    // a thread that lives as long as the demo.
    let outcome = rt.block_on(run(&args, binary, out));
    rt.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Outcome::Done(summary) => {
            for l in summary.human() {
                out.line(&l);
            }
            if args.json {
                match serde_json::to_string(&summary) {
                    Ok(json) => println!("{json}"),
                    Err(e) => eprintln!("demo: cannot encode the summary: {e}"),
                }
            }
            if summary.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Outcome::Interrupted(pids) => {
            let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
            eprintln!(
                "\ndemo: interrupted; workload stopped, kv-node processes killed (pids {})",
                if pids.is_empty() {
                    "none: external cluster".to_owned()
                } else {
                    pids.join(" ")
                }
            );
            ExitCode::from(130)
        }
        Outcome::Failed(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The kv-node binary next to the demo, built with cargo if it is missing.
fn node_binary(out: &Out) -> Result<PathBuf, String> {
    if let Some(b) = harness::node_binary() {
        return Ok(b);
    }
    out.line("kv-node binary not found next to the demo: building it (cargo build -p kv-node)...");
    harness::build_node_binary()
}

/// SIGINT and SIGTERM, as one awaitable.
struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Reads each node served so far: attempts minus failed and outstanding ones.
fn served(stats: &Stats) -> BTreeMap<u32, u64> {
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

fn per_node(now: &BTreeMap<u32, u64>, since: Option<&BTreeMap<u32, u64>>) -> PerNode {
    now.iter()
        .map(|(id, v)| {
            let base = since.and_then(|s| s.get(id)).copied().unwrap_or(0);
            (id.to_string(), v.saturating_sub(base))
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What happened when, for the live view and the summary.
struct Timeline {
    /// Workload start.
    t0: Instant,
    events: Vec<(Duration, String)>,
    /// Leader when the workload started.
    old_leader: Option<u32>,
    /// Node killed and when.
    killed: Option<(u32, Instant)>,
    /// Writer client's cached leader, as last seen.
    seen_leader: Option<u32>,
    /// The client's cache named a new leader after the kill.
    noticed: Option<Instant>,
    /// The first write started after the kill was acknowledged.
    writes_back: Option<Instant>,
    /// The killed node was restarted.
    restarted: Option<Instant>,
    /// The restarted node answered as a follower that knows the leader.
    rejoined: Option<Instant>,
    /// The restarted node served a read again.
    reads_again: Option<Instant>,
    reads_at_kill: Option<BTreeMap<u32, u64>>,
    reads_at_restart: Option<BTreeMap<u32, u64>>,
}

impl Timeline {
    fn event(&mut self, out: &Out, text: String) {
        let at = self.t0.elapsed();
        out.progress(&view::event_line(at, &text));
        self.events.push((at, text));
    }

    /// Records an event that happened at `at` (kept in time order).
    fn event_at(&mut self, out: &Out, at: Instant, text: String) {
        let at = at.saturating_duration_since(self.t0);
        out.progress(&view::event_line(at, &text));
        self.events.push((at, text));
        self.events.sort_by_key(|e| e.0);
    }

    fn since_kill(&self, t: Instant) -> String {
        match self.killed {
            Some((_, k)) => format!(" ({} ms after the kill)", millis(t - k)),
            None => String::new(),
        }
    }
}

/// The rolling samples behind the per-second rates and latency of the view.
struct Rates {
    /// (when, acknowledged writes, successful reads, reads per node)
    samples: VecDeque<(Instant, u64, u64, BTreeMap<u32, u64>)>,
    /// Latency of the last four frames.
    windows: VecDeque<(Histogram<u64>, Histogram<u64>)>,
}

impl Rates {
    fn push(
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
    fn rates(&self) -> (f64, f64, BTreeMap<u32, f64>) {
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
    fn latency(&self) -> (Histogram<u64>, Histogram<u64>) {
        let mut w = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        let mut r = w.clone();
        for (hw, hr) in &self.windows {
            let _ = w.add(hw);
            let _ = r.add(hr);
        }
        (w, r)
    }
}

/// Sets up the cluster and clients, runs the script, and returns its outcome.
async fn run(args: &DemoArgs, binary: Option<PathBuf>, out: Out) -> Outcome {
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!("cannot handle signals: {e}")),
    };
    // Dropped at the end of this function, on the main thread, on every path.
    let mut cluster = binary.map(|b| {
        Cluster::start(ClusterOptions {
            binary: Some(b),
            ..ClusterOptions::default()
        })
    });
    let mut pids: Vec<u32> = cluster.as_ref().map_or_else(Vec::new, |c| {
        c.ids().iter().filter_map(|id| c.node(*id).pid()).collect()
    });
    let seeds = match &cluster {
        Some(c) => {
            out.line(&format!(
                "started 3 kv-node processes (pids {:?}) in {}; waiting for a leader...",
                pids,
                c.dir().display()
            ));
            let leader = tokio::select! {
                l = wait_for_leader(c) => l,
                () = signals.recv() => return Outcome::Interrupted(pids),
            };
            if leader.is_none() {
                return Outcome::Failed(format!(
                    "no leader within {STARTUP_DEADLINE:?}\n{}",
                    c.log_tails(20)
                ));
            }
            c.api_urls()
        }
        None => args.cluster.clone(),
    };
    let build = || {
        SmartClient::builder()
            .seeds(seeds.clone())
            .request_timeout(REQUEST_TIMEOUT)
            // One key per write: a retried put cannot interleave with another writer.
            .retry_unknown_writes(true)
            .build()
    };
    // Two handles of the same client library: one writes, one reads, so the
    // per-node counters of the reading one are exactly the reads per node.
    let clients = tokio::select! {
        w = build() => match w {
            Ok(w) => match build().await {
                Ok(r) => (w, r),
                Err(e) => return Outcome::Failed(format!("smart client: {e}")),
            },
            Err(e) => return Outcome::Failed(format!("smart client: {e}")),
        },
        () = signals.recv() => return Outcome::Interrupted(pids),
    };
    let (writer, reader) = clients;
    let rec = Arc::new(Recorder::default());
    let prefix = format!(
        "demo-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let leader = cluster
        .as_ref()
        .and_then(|c| c.agreed_leader(&c.live_ids()))
        .or(writer.topology().leader_id);
    let mut tl = Timeline {
        t0: Instant::now(),
        events: Vec::new(),
        old_leader: leader,
        killed: None,
        seen_leader: writer.topology().leader_id,
        noticed: None,
        writes_back: None,
        restarted: None,
        rejoined: None,
        reads_again: None,
        reads_at_kill: None,
        reads_at_restart: None,
    };
    // Watch the writing client's cached leader closely (every 5 ms), so the
    // moment it notices a new leader is measured, not the script's poll.
    let (leader_tx, mut leader_changes) = tokio::sync::mpsc::unbounded_channel();
    let watch = {
        let (writer, mut last) = (writer.clone(), tl.seen_leader);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let now = writer.topology().leader_id;
                if now != last {
                    last = now;
                    if leader_tx.send((Instant::now(), now)).is_err() {
                        break;
                    }
                }
            }
        })
    };
    let load = Workload::start(&writer, &reader, args.writers, args.readers, &prefix, &rec);
    out.begin();
    let leader_txt = leader.map_or_else(|| "unknown".to_owned(), |l| format!("n{l}"));
    match &cluster {
        Some(_) => tl.event(&out, format!("workload started; leader {leader_txt}; kv-node pids {pids:?}")),
        None => tl.event(
            &out,
            format!("workload started; leader {leader_txt}; --cluster: kill step skipped (kill a node yourself)"),
        ),
    }
    let script = if cluster.is_some() {
        format!(
            "script: SIGKILL leader at {}s, restart it at {}s, verify at {}s  (Ctrl-C stops)",
            args.kill_after_secs,
            args.kill_after_secs + args.restart_after_secs,
            args.duration_secs
        )
    } else {
        format!(
            "script: external cluster, no kill by the demo; verify at {}s (Ctrl-C stops)",
            args.duration_secs
        )
    };
    let cluster_txt = if cluster.is_some() {
        "local 3-node cluster".to_owned()
    } else {
        format!("cluster {}", args.cluster.join(","))
    };
    let duration = Duration::from_secs(args.duration_secs);
    let kill_at = Duration::from_secs(args.kill_after_secs);
    let restart_after = Duration::from_secs(args.restart_after_secs);
    let mut rates = Rates {
        samples: VecDeque::new(),
        windows: VecDeque::new(),
    };
    let mut rejoin_probe: Option<tokio::sync::oneshot::Receiver<bool>> = None;
    let mut poll = tokio::time::interval(POLL);
    let mut frame = tokio::time::interval(FRAME);
    let mut frames = 0u64;
    loop {
        tokio::select! {
            () = signals.recv() => {
                load.abort();
                return Outcome::Interrupted(pids);
            }
            _ = poll.tick() => {}
            _ = frame.tick() => {
                frames += 1;
                let (snap_nodes, stats_w, stats_r) = (served(&reader.stats()), writer.stats(), reader.stats());
                let counts = rec.counts();
                rates.push((Instant::now(), counts.writes_ok, counts.reads_ok, snap_nodes.clone()), rec.take_window());
                let (wr, rr, node_rates) = rates.rates();
                let (wl, rl) = rates.latency();
                let (wg, rg) = rec.gaps();
                let topo = writer.topology();
                let nodes = topo.members.iter().map(|m| {
                    let killed_now = tl.killed.is_some_and(|(id, _)| id == m.id) && tl.restarted.is_none();
                    let ejected = stats_r.node(m.id).is_some_and(|n| n.ejected) || stats_w.node(m.id).is_some_and(|n| n.ejected);
                    let state = if killed_now {
                        "KILLED"
                    } else if ejected {
                        "ejected"
                    } else if tl.killed.is_some_and(|(id, _)| id == m.id) {
                        "restarted"
                    } else {
                        "up"
                    };
                    NodeRow {
                        id: m.id,
                        role: if killed_now { "down".to_owned() } else { format!("{:?}", m.role).to_lowercase() },
                        pid: cluster.as_ref().and_then(|c| c.ids().contains(&m.id).then(|| c.node(m.id).pid()).flatten()),
                        state,
                        reads: snap_nodes.get(&m.id).copied().unwrap_or(0),
                        reads_rate: node_rates.get(&m.id).copied().unwrap_or(0.0),
                    }
                }).collect();
                let snap = Snapshot {
                    elapsed: tl.t0.elapsed(),
                    duration,
                    cluster: &cluster_txt,
                    script: &script,
                    leader: topo.leader_id,
                    term: topo.term,
                    leader_changes: stats_w.leader_changes_seen,
                    retries: stats_w.retries + stats_r.retries,
                    forwarded: stats_w.forwarded_writes,
                    nodes,
                    write_rate: wr,
                    read_rate: rr,
                    counts,
                    write_lat: &wl,
                    read_lat: &rl,
                    write_gap: wg.longest,
                    read_gap: rg.longest,
                    events: &tl.events,
                };
                if out.live {
                    out.frame(&view::render_live(&snap));
                } else if frames.is_multiple_of(4) {
                    out.line(&view::render_plain(&snap));
                }
                continue;
            }
        }
        let elapsed = tl.t0.elapsed();
        if elapsed >= duration {
            break;
        }
        // Leader changes as the client sees them.
        while let Ok((now, now_leader)) = leader_changes.try_recv() {
            tl.seen_leader = now_leader;
            let text = match now_leader {
                None => format!("client: leader unknown (election){}", tl.since_kill(now)),
                Some(l) => format!(
                    "client: new leader n{l}, writes go there{}",
                    tl.since_kill(now)
                ),
            };
            tl.event_at(&out, now, text);
            let changed = now_leader.is_some() && now_leader != tl.old_leader;
            if changed && tl.noticed.is_none() && (tl.killed.is_some() || cluster.is_none()) {
                tl.noticed = Some(now);
            }
        }
        // Writes succeed again after the kill.
        if let (Some((_, k)), None) = (tl.killed, tl.writes_back) {
            if let Some(done) = rec.first_ack_started_after(k) {
                tl.writes_back = Some(done);
                let leader = writer
                    .topology()
                    .leader_id
                    .map_or_else(|| "?".to_owned(), |l| format!("n{l}"));
                tl.event_at(
                    &out,
                    done,
                    format!("writes succeed again on {leader}{}", tl.since_kill(done)),
                );
            }
        }
        let Some(c) = cluster.as_mut() else { continue };
        // Kill the leader.
        if tl.killed.is_none() && elapsed >= kill_at {
            let victim = c
                .agreed_leader(&c.live_ids())
                .or(writer.topology().leader_id);
            if let Some(id) = victim {
                tl.reads_at_kill = Some(served(&reader.stats()));
                let pid = c.node(id).pid().unwrap_or(0);
                let at = Instant::now();
                c.kill(id);
                tl.killed = Some((id, at));
                tl.event_at(&out, at, format!("SIGKILL leader n{id} (pid {pid})"));
            }
        }
        // Restart it.
        if let (Some((id, k)), None) = (tl.killed, tl.restarted) {
            if k.elapsed() >= restart_after {
                tl.reads_at_restart = Some(served(&reader.stats()));
                c.restart(id);
                tl.restarted = Some(Instant::now());
                let pid = c.node(id).pid().unwrap_or(0);
                pids.push(pid);
                tl.event(
                    &out,
                    format!("restarted n{id} (pid {pid}), same ports and data"),
                );
                let url = format!("{}/topology", c.api_url(id));
                let (tx, rx) = tokio::sync::oneshot::channel();
                // Blocking HTTP polls on a pool thread; it spawns no process.
                tokio::task::spawn_blocking(move || {
                    let follower = harness::wait_until(Duration::from_secs(15), || {
                        let (_, v) = Cluster::get_json(&url)?;
                        let (me, leader) = (v["node_id"].as_u64()?, v["leader_id"].as_u64()?);
                        (me != leader).then_some(())
                    });
                    let _ = tx.send(follower.is_some());
                });
                rejoin_probe = Some(rx);
            }
        }
        // The restarted node rejoins and serves reads.
        if let (Some((id, _)), Some(r)) = (tl.killed, tl.restarted) {
            if let Some(rx) = rejoin_probe.as_mut() {
                match rx.try_recv() {
                    Ok(true) => {
                        let now = Instant::now();
                        tl.rejoined = Some(now);
                        rejoin_probe = None;
                        tl.event(
                            &out,
                            format!(
                                "n{id} is back as a follower ({} ms after restart)",
                                millis(now - r)
                            ),
                        );
                    }
                    Ok(false) | Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                        rejoin_probe = None;
                        tl.event(&out, format!("n{id} did not report a leader within 15 s"));
                    }
                    Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
                }
            }
            if tl.reads_again.is_none() {
                let base = tl
                    .reads_at_restart
                    .as_ref()
                    .and_then(|m| m.get(&id))
                    .copied()
                    .unwrap_or(0);
                if served(&reader.stats()).get(&id).copied().unwrap_or(0) > base {
                    let now = Instant::now();
                    tl.reads_again = Some(now);
                    tl.event(
                        &out,
                        format!(
                            "n{id} serves reads again ({} ms after restart)",
                            millis(now - r)
                        ),
                    );
                }
            }
        }
    }
    // The end: stop the workload and read everything back.
    watch.abort();
    let ran = tl.t0.elapsed();
    tl.event(
        &out,
        "workload stopping; reading every acknowledged write back".to_owned(),
    );
    tokio::select! {
        () = load.stop() => {}
        () = signals.recv() => return Outcome::Interrupted(pids),
    }
    let stats_w = writer.stats();
    let stats_r = reader.stats();
    let reads_end = served(&stats_r);
    let acked = rec.acked();
    let verification = tokio::select! {
        v = workload::verify(&writer, &acked) => v,
        () = signals.recv() => return Outcome::Interrupted(pids),
    };
    let counts = rec.counts();
    let (wg, rg) = rec.gaps();
    let (wl, rl) = rec.totals();
    let kill = tl.killed.map(|(_, k)| k);
    // The stall itself: the longest pause between consecutive write
    // acknowledgements from the kill up to the first write that got through
    // after it (replies already under way when the leader died land just
    // after the kill instant, so the stall may start a little later).
    let gap_around_kill = kill.zip(tl.writes_back).and_then(|(k, back)| {
        let mut done: Vec<Instant> = acked.iter().map(|a| a.done).collect();
        done.sort_unstable();
        done.windows(2)
            .filter(|w| w[1] > k && w[0] <= back)
            .map(|w| millis(w[1] - w[0]))
            .max()
    });
    let after_kill = match (&tl.reads_at_kill, &tl.reads_at_restart) {
        (Some(k), Some(r)) => per_node(r, Some(k)),
        (Some(k), None) => per_node(&reads_end, Some(k)),
        _ => PerNode::new(),
    };
    let summary = Summary {
        cluster: if cluster.is_some() {
            "local"
        } else {
            "external"
        }
        .to_owned(),
        duration_ms: millis(ran),
        acked_writes: acked.len() as u64,
        lost_writes: verification.lost,
        unverified_writes: verification.unverified,
        failed_writes: counts.writes_failed,
        failed_reads: counts.reads_failed,
        reads: counts.reads_ok,
        stale_reads: counts.reads_stale,
        wrong_reads: counts.reads_wrong,
        write_unavailable_ms: kill.zip(tl.writes_back).map(|(k, b)| millis(b - k)),
        write_gap_around_kill_ms: gap_around_kill,
        longest_write_gap_ms: millis(wg.longest),
        longest_read_gap_ms: millis(rg.longest),
        client_noticed_ms: kill
            .zip(tl.noticed)
            .map(|(k, n)| millis(n.saturating_duration_since(k))),
        killed_node: tl.killed.map(|(id, _)| id),
        kill_at_ms: kill.map(|k| millis(k - tl.t0)),
        rejoined_follower_ms: tl.restarted.zip(tl.rejoined).map(|(r, j)| millis(j - r)),
        reads_again_ms: tl.restarted.zip(tl.reads_again).map(|(r, j)| millis(j - r)),
        old_leader: tl.old_leader,
        new_leader: writer.topology().leader_id,
        reads_by_node: per_node(&reads_end, None),
        reads_by_node_before_kill: tl
            .reads_at_kill
            .as_ref()
            .map_or_else(PerNode::new, |k| per_node(k, None)),
        reads_by_node_after_kill: after_kill,
        reads_by_node_after_rejoin: tl
            .reads_at_restart
            .as_ref()
            .map_or_else(PerNode::new, |r| per_node(&reads_end, Some(r))),
        forwarded_writes: stats_w.forwarded_writes,
        retries: stats_w.retries + stats_r.retries,
        leader_changes_seen: stats_w.leader_changes_seen,
        write_latency_ms: Percentiles::of(&wl),
        read_latency_ms: Percentiles::of(&rl),
        error_samples: rec.error_samples(),
    };
    // The cluster is dropped (every node killed) when this returns.
    drop(cluster.take());
    Outcome::Done(Box::new(summary))
}

/// Polls until every live node agrees on a leader, or the startup deadline passes.
async fn wait_for_leader(c: &Cluster) -> Option<u32> {
    let until = Instant::now() + STARTUP_DEADLINE;
    loop {
        if let Some(l) = c.agreed_leader(&c.live_ids()) {
            return Some(l);
        }
        if Instant::now() > until {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}
