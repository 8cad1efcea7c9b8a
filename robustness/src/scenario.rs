//! One scenario: a real 3-node cluster with proxied Raft links (and, for
//! the disk faults, each node's data directory on a power-cut filesystem),
//! traffic, a fault injected and undone `rounds` times, the final checks,
//! the history check, and on failure the artifacts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_harness::{powercut, wait_until, Cluster, ClusterOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::checker::{self, Budget, CheckReport};
use crate::faults::{self, Fault};
use crate::final_checks::{self, Durability};
use crate::history::{History, Kind, Recorder};
use crate::report;
use crate::traffic::{Probe, Traffic, TrafficConfig};

/// What to run.
#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    /// The fault.
    pub fault: Fault,
    /// Seeds the fault's choices and the clients.
    pub seed: u64,
    /// Times the fault is injected and undone.
    pub rounds: u32,
    /// The load.
    pub traffic: TrafficConfig,
    /// Traffic before the first fault.
    pub warmup: Duration,
    /// Traffic after each recovery before the next fault (or the end).
    pub settle: Duration,
    /// Checker budgets.
    pub budget: Budget,
}

impl ScenarioConfig {
    /// Defaults for `fault` with `seed`: one round, ten keys, seven
    /// clients, plus the fault's writers on write-once keys
    /// ([`Fault::default_writers`]) or `ROBUSTNESS_WRITERS` of them.
    pub fn new(fault: Fault, seed: u64) -> Self {
        let writers = std::env::var("ROBUSTNESS_WRITERS")
            .ok()
            .map(|w| {
                w.parse()
                    .unwrap_or_else(|_| panic!("ROBUSTNESS_WRITERS={w:?}: a number"))
            })
            .unwrap_or_else(|| fault.default_writers());
        Self {
            fault,
            seed,
            rounds: 1,
            traffic: TrafficConfig {
                writers,
                ..TrafficConfig::default()
            },
            warmup: Duration::from_millis(1500),
            settle: Duration::from_millis(2500),
            budget: Budget::default(),
        }
    }

    /// `fault` plus seed, for messages and directories.
    pub fn name(&self) -> String {
        format!("{}-seed{}", self.fault.name(), self.seed)
    }
}

/// What a scenario found.
#[derive(Debug)]
pub struct ScenarioResult {
    /// [`ScenarioConfig::name`].
    pub name: String,
    /// The recorded history.
    pub history: History,
    /// The checker's verdict.
    pub check: CheckReport,
    /// Final checks that failed.
    pub final_errors: Vec<String>,
    /// Wall time of the whole scenario.
    pub took: Duration,
    /// Where the artifacts went, when it failed.
    pub artifacts: Option<std::path::PathBuf>,
    /// Why it did not run (no power-cut filesystem here).
    pub skipped: Option<String>,
    /// The fault.
    pub fault: Fault,
    /// Times the fault was injected (a round without a leader injects none).
    pub injected: u32,
    /// The writers' write-once keys, read back at the end.
    pub durability: Durability,
    /// How the cluster behaved under the fault, beyond pass or fail (e.g. a
    /// node that had to be restarted after a full disk).
    pub notes: Vec<String>,
}

impl ScenarioResult {
    /// No violation, and every final check passed.
    pub fn passed(&self) -> bool {
        self.check.is_ok() && self.final_errors.is_empty()
    }

    /// Writes acknowledged (puts and deletes answered ok, probes included).
    pub fn acked_writes(&self) -> usize {
        self.history
            .ops
            .iter()
            .filter(|o| o.kind.is_write() && o.outcome == crate::history::Outcome::Ok)
            .count()
    }

    /// One line of figures (then one per note).
    pub fn summary(&self) -> String {
        if let Some(reason) = &self.skipped {
            return format!("{}: skipped: {reason}", self.name);
        }
        let d = &self.durability;
        let mut out = format!(
            "{}: {} in {:.1}s: {} faults injected, {} ops ({} checked), {} writes acknowledged, {} unknown, {} not applied, {} violations{}{}",
            self.name,
            if self.passed() { "ok" } else { "FAILED" },
            self.took.as_secs_f64(),
            self.injected,
            self.check.ops,
            self.check.checked,
            self.acked_writes(),
            self.check.unknown,
            self.check.failed,
            self.check.violations.len(),
            if d.acked + d.failed + d.unknown > 0 {
                format!(
                    "; write-once keys: {} acknowledged, {} lost, {} not applied ({} present), {} unknown ({} present)",
                    d.acked, d.lost, d.failed, d.failed_present, d.unknown, d.unknown_present
                )
            } else {
                String::new()
            },
            if self.final_errors.is_empty() {
                String::new()
            } else {
                format!(", {} final-check failures", self.final_errors.len())
            }
        );
        for n in &self.notes {
            out.push_str(&format!("\n  note: {n}"));
        }
        out
    }

    /// The summary, each violation's excerpt, the final-check failures and
    /// where the artifacts are.
    pub fn explain(&self) -> String {
        let mut out = self.summary();
        for v in &self.check.violations {
            out.push('\n');
            out.push_str(&report::excerpt_text(&self.history, v));
        }
        for e in &self.final_errors {
            out.push_str(&format!("\nfinal check: {e}"));
        }
        if let Some(dir) = &self.artifacts {
            out.push_str(&format!("\nartifacts: {}", dir.display()));
        }
        out
    }
}

/// Run one scenario. A disk fault where no power-cut filesystem can be
/// mounted is skipped ([`powercut::require`]: under `CI=true` that panics).
pub fn run(cfg: &ScenarioConfig) -> ScenarioResult {
    let started = Instant::now();
    let name = cfg.name();
    eprintln!("== scenario {name}");
    let mut result = ScenarioResult {
        name: name.clone(),
        history: History::default(),
        check: CheckReport::default(),
        final_errors: Vec::new(),
        took: Duration::ZERO,
        artifacts: None,
        skipped: None,
        fault: cfg.fault,
        injected: 0,
        durability: Durability::default(),
        notes: Vec::new(),
    };
    if cfg.fault.needs_power_cut_fs() && !powercut::require() {
        result.skipped = Some(
            powercut::available()
                .err()
                .unwrap_or_else(|| "no power-cut filesystem".into()),
        );
        eprintln!("{}", result.summary());
        return result;
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let defaults = ClusterOptions::default();
    let mut cluster = Cluster::start(ClusterOptions {
        raft_proxies: true,
        power_cut_fs: cfg.fault.needs_power_cut_fs(),
        // `ROBUSTNESS_LOG` sets the nodes' RUST_LOG (e.g. to add d_engine_core=debug).
        log_filter: std::env::var("ROBUSTNESS_LOG").unwrap_or(defaults.log_filter.clone()),
        // `ROBUSTNESS_TTL=1` runs the nodes with keys with a TTL on (the
        // engine's lease manager), as `just cluster` does.
        config_extra: if std::env::var_os("ROBUSTNESS_TTL").is_some() {
            vec!["[raft.state_machine.lease]\nenabled = true".into()]
        } else {
            Vec::new()
        },
        ..defaults
    });
    let rec = Recorder::new();
    let final_errors = &mut result.final_errors;
    if wait_leader(&cluster, Duration::from_secs(30)).is_none() {
        final_errors.push("no leader at start".to_string());
    } else {
        let nodes = cluster
            .ids()
            .into_iter()
            .map(|id| (id, cluster.api_url(id)))
            .collect();
        match Traffic::start(&nodes, &rec, &cfg.traffic, rng.gen()) {
            Ok(traffic) => {
                std::thread::sleep(cfg.warmup);
                for _ in 0..cfg.rounds {
                    if let Some(found) = nemesis_round(&mut cluster, cfg, &rec, &mut rng) {
                        result.injected += 1;
                        final_errors.extend(found.errors);
                        result.notes.extend(found.notes);
                    }
                }
                traffic.stop();
                rec.event("traffic stopped");
                let report = final_checks::run(&mut cluster, &rec, cfg.traffic.keys);
                final_errors.extend(report.errors);
                result.durability = report.durability;
                let logs: Vec<(u32, String)> = cluster
                    .ids()
                    .into_iter()
                    .map(|id| {
                        let text = std::fs::read_to_string(&cluster.node(id).log);
                        (id, text.unwrap_or_default())
                    })
                    .collect();
                final_errors.extend(final_checks::election_safety(&logs));
            }
            Err(e) => final_errors.push(format!("traffic did not start: {e}")),
        }
    }
    result.history = rec.finish();
    result.check = checker::check(&result.history, cfg.budget);
    result.took = started.elapsed();
    if !result.passed() || std::env::var_os("ROBUSTNESS_SAVE_ALL").is_some() {
        let logs: Vec<(u32, std::path::PathBuf)> = cluster
            .ids()
            .into_iter()
            .map(|id| (id, cluster.node(id).log.clone()))
            .collect();
        match report::save(
            &name,
            &result.history,
            &result.check,
            &result.final_errors,
            &logs,
        ) {
            Ok(dir) => result.artifacts = Some(dir),
            Err(e) => eprintln!("could not save artifacts: {e}"),
        }
    }
    eprintln!("{}", result.summary());
    result
}

/// Inject the fault against the current leader, hold it (probing the node
/// that may wrongly think it leads), undo it, let the cluster settle.
/// `None`: no leader, nothing injected.
fn nemesis_round(
    cluster: &mut Cluster,
    cfg: &ScenarioConfig,
    rec: &Recorder,
    rng: &mut StdRng,
) -> Option<faults::Recovery> {
    let Some(leader) = wait_leader(cluster, Duration::from_secs(15)) else {
        rec.event("no leader before the fault; skipping this round");
        std::thread::sleep(cfg.settle);
        return None;
    };
    let injected = faults::inject(cluster, cfg.fault, leader, rec, rng);
    // Isolated or one-way cut leaders are probed during the fault; a paused
    // one right after SIGCONT (its earlier requests were all stuck).
    let during = match (injected.suspect, cfg.fault) {
        (Some(id), f) if f != Fault::PauseLeader => {
            std::thread::sleep(Duration::from_millis(300));
            Some(probe(cluster, rec, id, cfg.traffic.keys, rng.gen()))
        }
        _ => None,
    };
    std::thread::sleep(cfg.fault.hold());
    let found = faults::recover(cluster, &injected, rec);
    let after = match (injected.suspect, cfg.fault) {
        (Some(id), Fault::PauseLeader) => {
            Some(probe(cluster, rec, id, cfg.traffic.keys, rng.gen()))
        }
        _ => None,
    };
    std::thread::sleep(Duration::from_millis(800));
    for p in [during, after].into_iter().flatten() {
        p.stop();
    }
    std::thread::sleep(cfg.settle.saturating_sub(Duration::from_millis(800)));
    Some(found)
}

/// Probe threads reading (lease and linearizable) from one node until stopped.
struct Probing {
    stop: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Probing {
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.join();
        }
    }
}

fn probe(cluster: &Cluster, rec: &Recorder, id: u32, keys: usize, seed: u64) -> Probing {
    rec.event(format!("probing reads on n{id}"));
    let stop = Arc::new(AtomicBool::new(false));
    let handles = (0..2)
        .map(|i| {
            let mut p = Probe::new(
                rec,
                &format!("probe-n{id}-{i}"),
                &cluster.api_url(id),
                Duration::from_secs(7),
            );
            let stop = stop.clone();
            let mut rng = StdRng::seed_from_u64(seed + i);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let kind = if rng.gen_bool(0.5) {
                        Kind::ReadLease
                    } else {
                        Kind::ReadLinearizable
                    };
                    p.call(kind, &format!("k{}", rng.gen_range(0..keys)));
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    Probing { stop, handles }
}

/// The leader every live node agrees on, waiting up to `deadline`.
fn wait_leader(cluster: &Cluster, deadline: Duration) -> Option<u32> {
    let ids = cluster.live_ids();
    wait_until(deadline, || cluster.agreed_leader(&ids))
}

/// The seed from `ROBUSTNESS_SEED`, else a fresh one.
pub fn seed_from_env() -> u64 {
    std::env::var("ROBUSTNESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen())
}
