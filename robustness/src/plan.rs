//! Which scenarios run: the fixed regression list, the short randomized CI
//! selection, the whole list (`just robustness`) and the soak (`just soak`).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::faults::Fault;
use crate::scenario::{self, ScenarioConfig, ScenarioResult};

/// Scenarios that found bugs (or guard the riskiest paths), with fixed seeds
/// (timing still varies from run to run). Kill the leader while followers
/// forward writes (a 502 `leader_unreachable` answer for an applied write);
/// kill every node (a smart-client put retried after an unknown outcome,
/// applied twice around another write); pause the leader past the election
/// timeout (stale lease reads on SIGCONT); isolate the leader (a minority
/// leader); isolate a follower (back from the partition more than one batch
/// behind, it held an older value for one key at the same applied index:
/// engine patch 17).
pub const REGRESSION: [(Fault, u64); 5] = [
    (Fault::KillLeader, 11),
    (Fault::KillAll, 14),
    (Fault::PauseLeader, 12),
    (Fault::IsolateLeader, 13),
    (Fault::IsolateFollower, 45291),
];

/// Faults left out of the CI draw because they may still find an open bug (as
/// an `#[ignore]` with its reason): `just robustness` and `just soak` run them
/// and fail on them (README, Tests). None at the moment: the last one,
/// `one_way_from_leader` (a session read returning a value older than one its
/// client had already read in 1 of 17 soak runs), had 0 violations in 41 soak
/// runs after engine patches 17-20 (a follower's log could have a hole, the
/// likely cause).
pub const KNOWN_OPEN: [Fault; 0] = [];

/// The fixed list plus `extra` faults drawn from the others with `seed`
/// (never one of [`KNOWN_OPEN`]).
pub fn ci_selection(seed: u64, extra: usize) -> Vec<ScenarioConfig> {
    let mut plan: Vec<ScenarioConfig> = REGRESSION
        .iter()
        .map(|&(f, s)| ScenarioConfig::new(f, s))
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut others: Vec<Fault> = Fault::ALL
        .into_iter()
        .filter(|f| !REGRESSION.iter().any(|(r, _)| r == f))
        .filter(|f| !KNOWN_OPEN.contains(f))
        .collect();
    others.shuffle(&mut rng);
    for f in others.into_iter().take(extra) {
        plan.push(ScenarioConfig::new(f, rng.gen_range(0..1_000_000)));
    }
    plan
}

/// Every fault, two rounds each, seeds drawn from `seed`.
pub fn full_list(seed: u64) -> Vec<ScenarioConfig> {
    let mut rng = StdRng::seed_from_u64(seed);
    Fault::ALL
        .into_iter()
        .map(|f| ScenarioConfig {
            rounds: 2,
            ..ScenarioConfig::new(f, rng.gen_range(0..1_000_000))
        })
        .collect()
}

/// The `ROBUSTNESS_FAULTS` filter (comma-separated names), if set.
pub fn fault_filter() -> Option<Vec<Fault>> {
    let names = std::env::var("ROBUSTNESS_FAULTS").ok()?;
    Some(
        names
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| Fault::from_name(n).unwrap_or_else(|| panic!("unknown fault {n:?}")))
            .collect(),
    )
}

/// Run `plan` in order; returns every result.
pub fn run_all(plan: &[ScenarioConfig]) -> Vec<ScenarioResult> {
    let filter = fault_filter();
    plan.iter()
        .filter(|c| filter.as_ref().is_none_or(|f| f.contains(&c.fault)))
        .map(scenario::run)
        .collect()
}

/// Random faults (1–3 rounds each) until `length` has passed.
pub fn soak(seed: u64, length: Duration) -> Vec<ScenarioResult> {
    let mut rng = StdRng::seed_from_u64(seed);
    let until = Instant::now() + length;
    let faults = fault_filter().unwrap_or_else(|| Fault::ALL.to_vec());
    let mut results = Vec::new();
    while Instant::now() < until {
        let f = *faults.choose(&mut rng).expect("at least one fault");
        let cfg = ScenarioConfig {
            rounds: rng.gen_range(1..=3),
            ..ScenarioConfig::new(f, rng.gen_range(0..1_000_000))
        };
        results.push(scenario::run(&cfg));
    }
    results
}

/// Totals over results, and the explanation of each failure.
pub fn summarize(results: &[ScenarioResult], took: Duration) -> (String, bool) {
    let mut out = String::new();
    let (mut ops, mut checked, mut unknown, mut violations) = (0, 0, 0, 0);
    let mut ok = true;
    for r in results {
        out.push_str(&r.summary());
        out.push('\n');
        ops += r.check.ops;
        checked += r.check.checked;
        unknown += r.check.unknown;
        violations += r.check.violations.len();
        ok &= r.passed();
    }
    out.push_str(&format!(
        "robustness: {} scenarios in {:.0}s, {ops} ops, {checked} checked, {unknown} unknown outcomes, {violations} violations\n",
        results.len(),
        took.as_secs_f64()
    ));
    for r in results.iter().filter(|r| !r.passed()) {
        out.push_str(&r.explain());
        out.push('\n');
    }
    (out, ok)
}
