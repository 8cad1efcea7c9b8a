//! The failover demo: client-side failover, live, in one command.
//!
//! The script, one function per step (`run` calls them in order):
//!
//! 1. start a local 3-node cluster of real `kv-node` processes, or take the
//!    `--cluster` seeds ([`setup`]);
//! 2. wait until the nodes agree on a leader ([`setup`]);
//! 3. connect two smart clients, one that writes and one that reads ([`setup`]);
//! 4. start the mixed [`workload`] ([`script`]);
//! 5. until `--duration-secs`: observe what the client sees, SIGKILL the
//!    leader after `--kill-after-secs`, restart it `--restart-after-secs`
//!    later and watch it rejoin, while [`view`] shows the client's leader,
//!    each node's role and share of reads, rates, latency and the
//!    [`timeline`] of what happened ([`script`]);
//! 6. stop the workload, read every acknowledged write back linearizably
//!    and print a [`summary`] ([`finish`]).
//!
//! Process handling: nodes are spawned and restarted only from the main
//! thread (the harness ties each child's `PR_SET_PDEATHSIG` to the thread
//! that spawned it), the `Cluster` kills every child when dropped, and
//! SIGINT/SIGTERM stop the workload, drop the cluster and exit with 130.

mod finish;
mod script;
mod setup;
mod summary;
mod timeline;
mod view;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use kv_harness as harness;

use script::Script;
use setup::Signals;
use summary::Summary;
use view::Out;

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
    /// Plain eventual reads: no session consistency. By default the reader
    /// carries the writers' session index (a causal token) as `min_index`,
    /// so a read never misses an acknowledged write; with this flag it can
    /// (the summary's stale reads).
    #[arg(long)]
    pub no_session: bool,
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
     (spread over the followers), in a session that carries the writers'
     index, so no read misses an acknowledged write (--no-session: plain
     eventual reads, which can; the summary counts them as stale). A live view (4 times a second; one plain
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
    exit(outcome, &args, out)
}

/// Prints how the run ended and gives the exit status: 0 when every
/// acknowledged write was read back, 1 otherwise or on failure, 130 when
/// interrupted.
fn exit(outcome: Outcome, args: &DemoArgs, out: Out) -> ExitCode {
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

/// Runs the script's steps in order (see the module docs); every early end
/// (setup failed, interrupted) is an `Err` carrying its outcome.
async fn run(args: &DemoArgs, binary: Option<PathBuf>, out: Out) -> Outcome {
    let steps = async {
        let mut signals = Signals::new()?;
        // Dropped, with every node, on the main thread on every path.
        let (cluster, pids) = binary.map_or((None, Vec::new()), |b| {
            let (c, pids) = setup::start_cluster(b);
            (Some(c), pids)
        });
        let seeds = setup::seeds(cluster.as_ref(), args, &out, &mut signals, &pids).await?;
        let clients = setup::clients(&seeds, !args.no_session, &mut signals, &pids).await?;
        let mut script = Script::start(args, out, cluster, pids, clients);
        script.run(&mut signals).await?;
        script.finish(&mut signals).await
    };
    match steps.await {
        Ok(outcome) | Err(outcome) => outcome,
    }
}
