//! Cost of one node pick (`Selector::select`) with 3 and 50 nodes, for the
//! policies and operations the client uses on its hot path.
//!
//! `cargo bench -p smart-client --bench selection`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use smart_client::selection::{
    Balancer, Candidate, Operation, PickRequest, SelectionConfig, Selector, TagSet,
};
use smart_client::{BalancePolicy, ReadConsistency, ReadPreference, Role};

/// `n` nodes: node 1 leads, the others follow; RTTs spread over 0.2–2 ms,
/// a few requests in flight, every tenth follower ejected.
fn candidates(n: u32, labels: &[TagSet]) -> Vec<Candidate<'_>> {
    (1..=n)
        .map(|id| {
            let role = if id == 1 {
                Role::Leader
            } else {
                Role::Follower
            };
            let mut c = Candidate::new(id, role, &labels[(id as usize) % labels.len()]);
            c.rtt_ewma = Some(Duration::from_micros(200 + u64::from(id * 37 % 1800)));
            c.in_flight = id % 5;
            c.ejected = id % 10 == 0;
            c
        })
        .collect()
}

fn bench_select(c: &mut Criterion) {
    let labels: Vec<TagSet> = (0..3)
        .map(|z| TagSet::from([("zone".to_string(), format!("z{z}"))]))
        .collect();
    let eventual = Operation::Read(ReadConsistency::Eventual);
    let cases: [(&str, Operation, ReadPreference, BalancePolicy); 5] = [
        (
            "write",
            Operation::Write,
            ReadPreference::FollowerPreferred,
            BalancePolicy::P2cEwma,
        ),
        (
            "eventual_p2c",
            eventual,
            ReadPreference::FollowerPreferred,
            BalancePolicy::P2cEwma,
        ),
        (
            "eventual_round_robin",
            eventual,
            ReadPreference::FollowerPreferred,
            BalancePolicy::RoundRobin,
        ),
        (
            "eventual_least_in_flight",
            eventual,
            ReadPreference::Nearest,
            BalancePolicy::LeastInFlight,
        ),
        (
            "eventual_key_hash",
            eventual,
            ReadPreference::FollowerPreferred,
            BalancePolicy::KeyHash,
        ),
    ];
    let mut group = c.benchmark_group("select");
    for n in [3u32, 50] {
        let nodes = candidates(n, &labels);
        for (name, op, read_preference, policy) in cases {
            let cfg = SelectionConfig {
                read_preference,
                policy,
                ..SelectionConfig::default()
            };
            let balancer = Balancer::new();
            let mut selector = Selector::with_capacity(n as usize);
            let mut rng = SmallRng::seed_from_u64(7);
            let req = PickRequest {
                op,
                key: Some(b"/kv/r0000042"),
                deprioritized: &[],
            };
            group.bench_with_input(BenchmarkId::new(name, n), &nodes, |b, nodes| {
                b.iter(|| {
                    selector.select(black_box(nodes), black_box(&req), &cfg, &balancer, &mut rng)
                });
            });
        }
        // With a zone tag set: only a third of the followers match.
        let cfg = SelectionConfig {
            tag_sets: vec![labels[1].clone()],
            ..SelectionConfig::default()
        };
        let balancer = Balancer::new();
        let mut selector = Selector::with_capacity(n as usize);
        let mut rng = SmallRng::seed_from_u64(7);
        let req = PickRequest::new(eventual);
        group.bench_with_input(
            BenchmarkId::new("eventual_p2c_tag_set", n),
            &nodes,
            |b, nodes| {
                b.iter(|| {
                    selector.select(black_box(nodes), black_box(&req), &cfg, &balancer, &mut rng)
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_select);
criterion_main!(benches);
