//! Which scenarios run: the fixed regression list, the short randomized CI
//! selection, the whole list (`just robustness`) and the soak (`just soak`).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::faults::Fault;
use crate::final_checks::Durability;
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
/// and fail on them (README, Tests). `one_way_from_leader` (a session read
/// returning a value older than one its client had already read in 1 of 17
/// soak runs) left this list after 0 violations in 41 soak runs after engine
/// patches 17-20 (a follower's log could have a hole, the likely cause).
/// `power_cut_all` and `disk_full_on_leader` left it after engine patches
/// 29 (the hard state fsynced before a vote) and 33-34 (an apply on a full
/// disk is retried) and the node's state-machine guard: 0 violations and 0
/// lost writes in 111 power cuts and 11 full disks (closing note of the
/// durability issue). Disk faults are left out of the draw anyway (time);
/// [`CI_POWER_CUT`] is the one power cut CI runs.
pub const KNOWN_OPEN: [Fault; 0] = [];

/// The one disk fault in the CI selection, with its seed and rounds (three
/// power cuts of the leader and a follower, about 15 s). The other disk
/// faults are left out of the CI draw to keep it short; `just robustness`
/// and `just soak` run them.
pub const CI_POWER_CUT: (Fault, u64, u32) = (Fault::PowerCutLeaderAndFollower, 21, 3);

/// The fixed list, one power cut ([`CI_POWER_CUT`]) and `extra` faults
/// drawn with `seed` from the others that need no power-cut filesystem
/// (never one of [`KNOWN_OPEN`]).
pub fn ci_selection(seed: u64, extra: usize) -> Vec<ScenarioConfig> {
    let mut plan: Vec<ScenarioConfig> = REGRESSION
        .iter()
        .map(|&(f, s)| ScenarioConfig::new(f, s))
        .collect();
    let (fault, fault_seed, rounds) = CI_POWER_CUT;
    plan.push(ScenarioConfig {
        rounds,
        ..ScenarioConfig::new(fault, fault_seed)
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let mut others: Vec<Fault> = Fault::ALL
        .into_iter()
        .filter(|f| !REGRESSION.iter().any(|(r, _)| r == f))
        .filter(|f| !f.needs_power_cut_fs())
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

/// Random faults until `length` has passed, each with rounds drawn from
/// [`Fault::soak_rounds`] (1–3; 3–6 for power cuts).
pub fn soak(seed: u64, length: Duration) -> Vec<ScenarioResult> {
    let mut rng = StdRng::seed_from_u64(seed);
    let until = Instant::now() + length;
    let faults = fault_filter().unwrap_or_else(|| Fault::ALL.to_vec());
    let mut results = Vec::new();
    while Instant::now() < until {
        let f = *faults.choose(&mut rng).expect("at least one fault");
        let cfg = ScenarioConfig {
            rounds: rng.gen_range(f.soak_rounds()),
            ..ScenarioConfig::new(f, rng.gen_range(0..1_000_000))
        };
        results.push(scenario::run(&cfg));
    }
    results
}

/// Totals over results, and the explanation of each failure.
pub fn summarize(results: &[ScenarioResult], took: Duration) -> (String, bool) {
    let mut out = String::new();
    let (mut ops, mut checked, mut unknown, mut violations, mut acked) = (0, 0, 0, 0, 0);
    let (mut skipped, mut failed) = (0, 0);
    let mut durability = Durability::default();
    let mut injected: std::collections::BTreeMap<&str, (usize, u32)> = Default::default();
    let mut ok = true;
    for r in results {
        out.push_str(&r.summary());
        out.push('\n');
        if r.skipped.is_some() {
            skipped += 1;
            continue;
        }
        ops += r.check.ops;
        checked += r.check.checked;
        unknown += r.check.unknown;
        violations += r.check.violations.len();
        acked += r.acked_writes();
        durability.add(&r.durability);
        let e = injected.entry(r.fault.name()).or_default();
        e.0 += 1;
        e.1 += r.injected;
        failed += usize::from(!r.passed());
        ok &= r.passed();
    }
    out.push_str(&format!(
        "robustness: {} scenarios in {:.0}s ({failed} failed, {skipped} skipped), {ops} ops, {checked} checked, {acked} writes acknowledged, {unknown} unknown outcomes, {violations} violations\n",
        results.len(),
        took.as_secs_f64()
    ));
    let d = &durability;
    if d.acked + d.failed + d.unknown > 0 {
        out.push_str(&format!(
            "write-once keys: {} acknowledged, {} lost; {} answered not applied ({} present anyway); {} unknown ({} took effect)\n",
            d.acked, d.lost, d.failed, d.failed_present, d.unknown, d.unknown_present
        ));
    }
    let per_fault: Vec<String> = injected
        .iter()
        .map(|(name, (scenarios, n))| format!("{name} {n} in {scenarios} scenarios"))
        .collect();
    if !per_fault.is_empty() {
        out.push_str(&format!("faults injected: {}\n", per_fault.join(", ")));
    }
    for r in results.iter().filter(|r| !r.passed()) {
        out.push_str(&r.explain());
        out.push('\n');
    }
    (out, ok)
}
