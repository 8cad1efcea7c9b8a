//! The robustness suite on real clusters. `cargo test --workspace` runs the
//! short CI selection: the fixed regression list, one power cut
//! (`plan::CI_POWER_CUT`, on power-cut filesystems: skipped without FUSE,
//! failing under `CI=true`) plus two faults drawn at random (the seed is
//! printed; `ROBUSTNESS_SEED=N` re-runs a selection). `just robustness` runs
//! every fault (`full_list`), `just soak MINUTES` random faults for that
//! long (`soak`). `ROBUSTNESS_FAULTS=a,b` narrows any of them to the named
//! faults; `ROBUSTNESS_WRITERS=N` sets the write-only clients on write-once
//! keys (default: 4 for the disk faults, none for the others). A failure
//! saves the history, timelines and node logs under `target/robustness/` and
//! prints the shortest excerpt.

use std::time::{Duration, Instant};

use kv_robustness::plan;
use kv_robustness::scenario::seed_from_env;

fn run(name: &str, seed: u64, f: impl FnOnce() -> Vec<kv_robustness::ScenarioResult>) {
    eprintln!("{name}: ROBUSTNESS_SEED={seed}");
    let started = Instant::now();
    let results = f();
    let (summary, ok) = plan::summarize(&results, started.elapsed());
    println!("{summary}");
    println!("({name}: re-run with ROBUSTNESS_SEED={seed})");
    assert!(
        ok,
        "robustness violations (ROBUSTNESS_SEED={seed}):\n{summary}"
    );
}

#[test]
fn ci_selection() {
    let seed = seed_from_env();
    run("ci_selection", seed, || {
        plan::run_all(&plan::ci_selection(seed, 2))
    });
}

#[test]
#[ignore = "the whole list takes several minutes: `just robustness`"]
fn full_list() {
    let seed = seed_from_env();
    run("full_list", seed, || plan::run_all(&plan::full_list(seed)));
}

#[test]
#[ignore = "runs for ROBUSTNESS_SOAK_MINUTES: `just soak MINUTES`"]
fn soak() {
    let seed = seed_from_env();
    let minutes: f64 = std::env::var("ROBUSTNESS_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(5.0);
    run("soak", seed, || {
        plan::soak(seed, Duration::from_secs_f64(minutes * 60.0))
    });
}

/// Re-runs one scenario as a failure names it: `ROBUSTNESS_SCENARIO=kill_follower-seed41141`
/// (optionally `ROBUSTNESS_ROUNDS=3`, the rounds the soak drew, and
/// `ROBUSTNESS_REPEAT=N`, times to run it).
#[test]
#[ignore = "re-runs the scenario named by ROBUSTNESS_SCENARIO"]
fn one() {
    let name = std::env::var("ROBUSTNESS_SCENARIO").expect("ROBUSTNESS_SCENARIO=fault-seedN");
    let (fault, seed) = name
        .rsplit_once("-seed")
        .expect("a scenario name: fault-seedN");
    let fault = kv_robustness::faults::Fault::from_name(fault).expect("a known fault");
    let seed: u64 = seed.parse().expect("a numeric seed");
    let env_number = |var: &str| {
        std::env::var(var).ok().map(|v| {
            v.parse::<u32>()
                .unwrap_or_else(|_| panic!("{var}: a number"))
        })
    };
    let rounds = env_number("ROBUSTNESS_ROUNDS").unwrap_or(1);
    let repeat = env_number("ROBUSTNESS_REPEAT").unwrap_or(1);
    run("one", seed, || {
        (0..repeat)
            .map(|_| {
                kv_robustness::scenario::run(&kv_robustness::scenario::ScenarioConfig {
                    rounds,
                    ..kv_robustness::scenario::ScenarioConfig::new(fault, seed)
                })
            })
            .collect()
    });
}
