//! The first steps of the script: start the local cluster (or take the
//! `--cluster` seeds), wait for its leader, connect the two smart clients.
//!
//! Each step returns `Err(Outcome)` when the demo must end there (setup
//! failed, or SIGINT/SIGTERM arrived while it waited).

use std::path::PathBuf;
use std::time::Instant;

use kv_harness::{Cluster, ClusterOptions};
use smart_client::SmartClient;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::view::Out;
use super::{DemoArgs, Outcome, POLL, REQUEST_TIMEOUT, STARTUP_DEADLINE};

/// SIGINT and SIGTERM, as one awaitable.
pub(super) struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    /// Installs the handlers.
    pub(super) fn new() -> Result<Self, Outcome> {
        let install = || -> std::io::Result<Self> {
            Ok(Self {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        };
        install().map_err(|e| Outcome::Failed(format!("cannot handle signals: {e}")))
    }

    /// Waits for either signal.
    pub(super) async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Step 1: starts the local 3-node cluster from `binary` (without waiting);
/// returns it with the pids of its nodes.
pub(super) fn start_cluster(binary: PathBuf) -> (Cluster, Vec<u32>) {
    let cluster = Cluster::start(ClusterOptions {
        binary: Some(binary),
        ..ClusterOptions::default()
    });
    let pids = cluster
        .ids()
        .iter()
        .filter_map(|id| cluster.node(*id).pid())
        .collect();
    (cluster, pids)
}

/// Step 2: waits until the local cluster agrees on a leader and returns its
/// API URLs as seeds; with `--cluster`, returns those URLs at once.
pub(super) async fn seeds(
    cluster: Option<&Cluster>,
    args: &DemoArgs,
    out: &Out,
    signals: &mut Signals,
    pids: &[u32],
) -> Result<Vec<String>, Outcome> {
    let Some(c) = cluster else {
        return Ok(args.cluster.clone());
    };
    out.line(&format!(
        "started 3 kv-node processes (pids {:?}) in {}; waiting for a leader...",
        pids,
        c.dir().display()
    ));
    let leader = tokio::select! {
        l = wait_for_leader(c) => l,
        () = signals.recv() => return Err(Outcome::Interrupted(pids.to_vec())),
    };
    if leader.is_none() {
        return Err(Outcome::Failed(format!(
            "no leader within {STARTUP_DEADLINE:?}\n{}",
            c.log_tails(20)
        )));
    }
    Ok(c.api_urls())
}

/// Step 3: two handles of the same client library, one that writes and one
/// that reads, so the per-node counters of the reading one are exactly the
/// reads per node.
pub(super) async fn clients(
    seeds: &[String],
    session: bool,
    signals: &mut Signals,
    pids: &[u32],
) -> Result<(SmartClient, SmartClient), Outcome> {
    let build = || {
        SmartClient::builder()
            .seeds(seeds.to_vec())
            .request_timeout(REQUEST_TIMEOUT)
            .session_consistency(session)
            // One key per write: a retried put cannot interleave with another writer.
            .retry_unknown_writes(true)
            .build()
    };
    let failed = |e: smart_client::Error| Outcome::Failed(format!("smart client: {e}"));
    tokio::select! {
        w = build() => Ok((w.map_err(failed)?, build().await.map_err(failed)?)),
        () = signals.recv() => Err(Outcome::Interrupted(pids.to_vec())),
    }
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
