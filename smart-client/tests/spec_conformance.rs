//! Data-driven conformance against the MongoDB server-selection spec cases.
//!
//! The cases live outside the repository (see `SPEC_TESTS_DIR`), and every
//! one is run through the same public functions the client uses:
//! `selection::suitable`, `selection::in_latency_window`, `Selector::select`
//! (with power of two choices) and `ewma::AtomicEwma`.
//!
//! Mapping: `RSPrimary` is the leader, `RSSecondary` a follower, every other
//! replica-set server type is `Role::Unknown` (never picked); read modes map
//! to our read preferences; `tags` are labels; `deprioritized_servers` is the
//! deprioritized list; in `in_window/`, servers of non-replica-set topologies
//! are all eligible followers. A case using a feature we do not model is
//! reported as skipped with its reason, never silently passed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde_json::Value;
use smart_client::ewma::AtomicEwma;
use smart_client::selection::{
    in_latency_window, suitable, BalancePolicy, Balancer, Candidate, NodeId, Operation,
    PickRequest, ReadConsistency, ReadPreference, Role, SelectionConfig, Selector, TagSet,
    DEFAULT_LATENCY_WINDOW,
};

/// Outcome of one case file.
enum Verdict {
    Pass,
    Skip(String),
}

type CaseResult = Result<Verdict, String>;

/// Resolves `SPEC_TESTS_DIR` (absolute, or relative to the cwd or to the
/// repository root) to the folder holding `server_selection/`, `rtt/`, ...
fn spec_root() -> Option<PathBuf> {
    let raw = std::env::var_os("SPEC_TESTS_DIR")?;
    let given = PathBuf::from(&raw);
    let mut tried = Vec::new();
    if given.is_absolute() {
        tried.push(given.clone());
    } else {
        if let Ok(cwd) = std::env::current_dir() {
            tried.push(cwd.join(&given));
        }
        tried.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(&given),
        );
    }
    let base = tried.iter().find(|p| p.is_dir()).unwrap_or_else(|| {
        panic!("SPEC_TESTS_DIR={given:?} is set but no such folder exists (tried {tried:?})")
    });
    let root = [base.join("server-selection"), base.clone()]
        .into_iter()
        .find(|p| p.join("server_selection").is_dir())
        .unwrap_or_else(|| panic!("{base:?} holds no server-selection/server_selection folder"));
    Some(root)
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {dir:?}: {e}"));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("reading {dir:?}: {e}"))
            .path();
        if path.is_dir() {
            collect_json(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn spec_conformance() {
    let Some(root) = spec_root() else {
        println!("spec conformance: skipped (SPEC_TESTS_DIR unset)");
        return;
    };
    let mut files = Vec::new();
    collect_json(&root, &mut files);
    files.sort();

    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    let (mut passed, mut run) = (0usize, 0usize);
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap_or(file);
        let kind = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        *per_kind.entry(kind.clone()).or_default() += 1;
        let result = std::fs::read_to_string(file)
            .map_err(|e| format!("unreadable: {e}"))
            .and_then(|text| {
                serde_json::from_str::<Value>(&text).map_err(|e| format!("bad JSON: {e}"))
            })
            .and_then(|case| match kind.as_str() {
                "server_selection" => run_selection_case(&case),
                "rtt" => run_rtt_case(&case),
                "in_window" => run_in_window_case(&case),
                other => Err(format!("unknown case folder {other:?}")),
            });
        match result {
            Ok(Verdict::Pass) => {
                run += 1;
                passed += 1;
            }
            Ok(Verdict::Skip(reason)) => skipped.push(format!("{}: {reason}", rel.display())),
            Err(reason) => {
                run += 1;
                failures.push(format!("{}: {reason}", rel.display()));
            }
        }
    }

    for f in &failures {
        println!("FAIL {f}");
    }
    for s in &skipped {
        println!("SKIP {s}");
    }
    println!("spec conformance: cases per folder {per_kind:?}");
    if !skipped.is_empty() {
        println!(
            "spec conformance: {} cases skipped (unmodeled features)",
            skipped.len()
        );
    }
    println!("spec conformance: {passed}/{run} cases passed");
    for kind in ["server_selection", "rtt", "in_window"] {
        assert!(
            per_kind.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} cases found under {root:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} spec cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(passed, run);
}

// ---------------------------------------------------------------- helpers

fn field<'v>(v: &'v Value, key: &str) -> Result<&'v Value, String> {
    v.get(key).ok_or_else(|| format!("missing field {key:?}"))
}

fn as_str<'v>(v: &'v Value, what: &str) -> Result<&'v str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what} is not a string: {v}"))
}

fn as_f64(v: &Value, what: &str) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{what} is not a number: {v}"))
}

fn as_array<'v>(v: &'v Value, what: &str) -> Result<&'v Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} is not an array: {v}"))
}

fn ms_to_duration(ms: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(ms / 1000.0).map_err(|e| format!("bad duration {ms} ms: {e}"))
}

/// Returns the first key of `v` outside `known`, to skip unmodeled features.
fn unknown_key(v: &Value, known: &[&str]) -> Option<String> {
    v.as_object()?
        .keys()
        .find(|k| !known.contains(&k.as_str()))
        .cloned()
}

fn tag_set(v: &Value, what: &str) -> Result<TagSet, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{what} is not an object: {v}"))?;
    obj.iter()
        .map(|(k, v)| Ok((k.clone(), as_str(v, what)?.to_owned())))
        .collect()
}

/// One server of a topology description, owned, before borrowing into a
/// `Candidate`.
struct Server {
    address: String,
    role: Role,
    labels: TagSet,
    rtt: Option<Duration>,
}

fn replica_set_role(server_type: &str) -> Result<Role, String> {
    match server_type {
        "RSPrimary" => Ok(Role::Leader),
        "RSSecondary" => Ok(Role::Follower),
        "Unknown" | "RSGhost" | "RSOther" | "PossiblePrimary" | "RSArbiter" => Ok(Role::Unknown),
        other => Err(format!("unexpected server type {other:?} in a replica set")),
    }
}

/// Parses `topology_description`; `Ok(Err(reason))` means skip.
fn servers(topology: &Value, all_followers: bool) -> Result<Result<Vec<Server>, String>, String> {
    let mut out = Vec::new();
    for s in as_array(field(topology, "servers")?, "servers")? {
        if let Some(k) = unknown_key(s, &["address", "avg_rtt_ms", "type", "tags"]) {
            return Ok(Err(format!("server field {k:?} not modeled")));
        }
        let server_type = as_str(field(s, "type")?, "server type")?;
        let role = if all_followers {
            Role::Follower
        } else {
            replica_set_role(server_type)?
        };
        out.push(Server {
            address: as_str(field(s, "address")?, "address")?.to_owned(),
            role,
            labels: match s.get("tags") {
                Some(t) => tag_set(t, "tags")?,
                None => TagSet::new(),
            },
            rtt: match s.get("avg_rtt_ms") {
                Some(v) => Some(ms_to_duration(as_f64(v, "avg_rtt_ms")?)?),
                None => None,
            },
        });
    }
    Ok(Ok(out))
}

fn candidates(servers: &[Server]) -> Result<Vec<Candidate<'_>>, String> {
    servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = NodeId::try_from(i).map_err(|e| e.to_string())?;
            Ok(Candidate {
                rtt_ewma: s.rtt,
                ..Candidate::new(id, s.role, &s.labels)
            })
        })
        .collect()
}

fn address_set(servers: &[Server], idx: &[usize]) -> BTreeSet<String> {
    idx.iter().map(|&i| servers[i].address.clone()).collect()
}

fn expected_set(v: &Value, key: &str) -> Result<BTreeSet<String>, String> {
    as_array(field(v, key)?, key)?
        .iter()
        .map(|s| Ok(as_str(field(s, "address")?, "address")?.to_owned()))
        .collect()
}

// ------------------------------------------------------- server_selection

fn run_selection_case(case: &Value) -> CaseResult {
    const KNOWN: &[&str] = &[
        "description",
        "topology_description",
        "operation",
        "read_preference",
        "deprioritized_servers",
        "suitable_servers",
        "in_latency_window",
    ];
    if let Some(k) = unknown_key(case, KNOWN) {
        return Ok(Verdict::Skip(format!("field {k:?} not modeled")));
    }
    let topology = field(case, "topology_description")?;
    let topology_type = as_str(field(topology, "type")?, "topology type")?;
    if !matches!(
        topology_type,
        "ReplicaSetWithPrimary" | "ReplicaSetNoPrimary"
    ) {
        return Ok(Verdict::Skip(format!(
            "topology type {topology_type} not modeled (a Raft cluster is a replica set)"
        )));
    }
    let servers = match servers(topology, false)? {
        Ok(s) => s,
        Err(reason) => return Ok(Verdict::Skip(reason)),
    };
    let cands = candidates(&servers)?;

    let op = match case
        .get("operation")
        .map(|v| as_str(v, "operation"))
        .transpose()?
    {
        None | Some("read") => Operation::Read(ReadConsistency::Eventual),
        Some("write") => Operation::Write,
        Some(other) => return Err(format!("unknown operation {other:?}")),
    };
    let mut cfg = SelectionConfig {
        read_preference: ReadPreference::Leader, // spec default mode: Primary
        tag_sets: Vec::new(),
        latency_window: DEFAULT_LATENCY_WINDOW,
        policy: BalancePolicy::P2cEwma,
        allow_learner_reads: false,
        max_staleness: None,
        max_staleness_time: None,
    };
    if let Some(rp) = case.get("read_preference") {
        if let Some(k) = unknown_key(rp, &["mode", "tag_sets"]) {
            return Ok(Verdict::Skip(format!(
                "read preference field {k:?} not modeled"
            )));
        }
        if let Some(mode) = rp.get("mode") {
            cfg.read_preference = match as_str(mode, "mode")? {
                "Primary" => ReadPreference::Leader,
                "PrimaryPreferred" => ReadPreference::LeaderPreferred,
                "Secondary" => ReadPreference::Follower,
                "SecondaryPreferred" => ReadPreference::FollowerPreferred,
                "Nearest" => ReadPreference::Nearest,
                other => return Err(format!("unknown read mode {other:?}")),
            };
        }
        if let Some(sets) = rp.get("tag_sets") {
            cfg.tag_sets = as_array(sets, "tag_sets")?
                .iter()
                .map(|s| tag_set(s, "tag set"))
                .collect::<Result<_, _>>()?;
        }
    }
    let deprioritized: Vec<NodeId> = match case.get("deprioritized_servers") {
        None => Vec::new(),
        Some(list) => as_array(list, "deprioritized_servers")?
            .iter()
            .map(|s| as_str(field(s, "address")?, "address"))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|a| servers.iter().position(|s| s.address == a))
            .map(|i| cands[i].id)
            .collect(),
    };

    let suit = suitable(&cands, op, &cfg, &deprioritized);
    let window = in_latency_window(&cands, &suit, cfg.latency_window);
    let (got_suitable, got_window) = (address_set(&servers, &suit), address_set(&servers, &window));
    let (want_suitable, want_window) = (
        expected_set(case, "suitable_servers")?,
        expected_set(case, "in_latency_window")?,
    );
    if got_suitable != want_suitable {
        return Err(format!(
            "suitable_servers: got {got_suitable:?}, want {want_suitable:?}"
        ));
    }
    if got_window != want_window {
        return Err(format!(
            "in_latency_window: got {got_window:?}, want {want_window:?}"
        ));
    }

    // The full client pipeline must agree: it picks inside the window.
    let mut selector = Selector::new();
    let balancer = Balancer::new();
    let mut rng = SmallRng::seed_from_u64(7);
    let req = PickRequest {
        deprioritized: &deprioritized,
        ..PickRequest::new(op)
    };
    for _ in 0..20 {
        match selector.select(&cands, &req, &cfg, &balancer, &mut rng) {
            Some(i) if window.contains(&i) => {}
            None if window.is_empty() => {}
            other => {
                return Err(format!(
                    "Selector::select returned {other:?}, window is {window:?}"
                ))
            }
        }
    }
    Ok(Verdict::Pass)
}

// -------------------------------------------------------------------- rtt

fn run_rtt_case(case: &Value) -> CaseResult {
    if let Some(k) = unknown_key(case, &["avg_rtt_ms", "new_rtt_ms", "new_avg_rtt"]) {
        return Ok(Verdict::Skip(format!("field {k:?} not modeled")));
    }
    let ewma = match field(case, "avg_rtt_ms")? {
        Value::String(s) if s == "NULL" => AtomicEwma::new(),
        v => AtomicEwma::with_initial(ms_to_duration(as_f64(v, "avg_rtt_ms")?)?),
    };
    let sample = ms_to_duration(as_f64(field(case, "new_rtt_ms")?, "new_rtt_ms")?)?;
    let want = as_f64(field(case, "new_avg_rtt")?, "new_avg_rtt")?;
    let returned = ewma.observe(sample);
    let got = ewma
        .get()
        .ok_or("average still empty after a sample")?
        .as_secs_f64()
        * 1000.0;
    if returned.as_secs_f64() * 1000.0 != got {
        return Err(format!("observe returned {returned:?}, get {got} ms"));
    }
    // Durations are whole nanoseconds: allow a few of them.
    if (got - want).abs() > 1e-5 {
        return Err(format!("new average {got} ms, want {want} ms"));
    }
    Ok(Verdict::Pass)
}

// -------------------------------------------------------------- in_window

fn run_in_window_case(case: &Value) -> CaseResult {
    const KNOWN: &[&str] = &[
        "description",
        "topology_description",
        "mocked_topology_state",
        "iterations",
        "outcome",
    ];
    if let Some(k) = unknown_key(case, KNOWN) {
        return Ok(Verdict::Skip(format!("field {k:?} not modeled")));
    }
    let topology = field(case, "topology_description")?;
    let topology_type = as_str(field(topology, "type")?, "topology type")?;
    let replica_set = topology_type.starts_with("ReplicaSet");
    let servers = match servers(topology, !replica_set)? {
        Ok(s) => s,
        Err(reason) => return Ok(Verdict::Skip(reason)),
    };
    let mut cands = candidates(&servers)?;
    for state in as_array(
        field(case, "mocked_topology_state")?,
        "mocked_topology_state",
    )? {
        if let Some(k) = unknown_key(state, &["address", "operation_count"]) {
            return Ok(Verdict::Skip(format!(
                "mocked state field {k:?} not modeled"
            )));
        }
        let address = as_str(field(state, "address")?, "address")?;
        let count = field(state, "operation_count")?
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .ok_or("operation_count is not a u32")?;
        let i = servers
            .iter()
            .position(|s| s.address == address)
            .ok_or_else(|| format!("mocked state for unknown server {address}"))?;
        cands[i].in_flight = count;
    }
    let iterations = field(case, "iterations")?
        .as_u64()
        .filter(|&n| n > 0)
        .ok_or("iterations is not a positive integer")?;
    let outcome = field(case, "outcome")?;
    let tolerance = as_f64(field(outcome, "tolerance")?, "tolerance")?;
    let expected = field(outcome, "expected_frequencies")?
        .as_object()
        .ok_or("expected_frequencies is not an object")?;

    // A read any eligible node may serve; the spec runs selection on every
    // server in the window, so: eventual read, Nearest, no tags.
    let cfg = SelectionConfig {
        read_preference: ReadPreference::Nearest,
        tag_sets: Vec::new(),
        latency_window: DEFAULT_LATENCY_WINDOW,
        policy: BalancePolicy::P2cEwma,
        allow_learner_reads: false,
        max_staleness: None,
        max_staleness_time: None,
    };
    let req = PickRequest::new(Operation::Read(ReadConsistency::Eventual));
    let mut selector = Selector::new();
    let balancer = Balancer::new();
    let mut rng = SmallRng::seed_from_u64(0x5eed);
    let mut counts = vec![0u64; cands.len()];
    for _ in 0..iterations {
        let i = selector
            .select(&cands, &req, &cfg, &balancer, &mut rng)
            .ok_or("no server selected")?;
        counts[i] += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let freq = |i: usize| counts[i] as f64 / iterations as f64;
    let mut problems = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let want = match expected.get(&s.address) {
            Some(v) => as_f64(v, "expected frequency")?,
            None => 0.0,
        };
        if (freq(i) - want).abs() > tolerance + 1e-9 {
            problems.push(format!(
                "{} {:.4} (want {want}±{tolerance})",
                s.address,
                freq(i)
            ));
        }
    }
    if let Some(a) = expected
        .keys()
        .find(|a| !servers.iter().any(|s| &s.address == *a))
    {
        problems.push(format!("expected frequency for unknown server {a}"));
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(format!("frequencies off: {}", problems.join(", ")))
    }
}
