//! The pipeline: suitable set, latency window, balancing policy, with
//! reusable scratch buffers.

use rand::Rng;

use super::balance::{key_hash, Balancer};
use super::config::SelectionConfig;
use super::filter::suitable_into;
use super::types::{BalancePolicy, Candidate, NodeId, Operation};
use super::window::retain_latency_window;

/// One request as selection sees it.
#[derive(Clone, Copy, Debug)]
pub struct PickRequest<'r> {
    /// What is being done.
    pub op: Operation,
    /// Routing key for [`BalancePolicy::KeyHash`] (ignored by other policies).
    pub key: Option<&'r [u8]>,
    /// Nodes that already failed this request (retries go elsewhere first).
    pub deprioritized: &'r [NodeId],
}

impl<'r> PickRequest<'r> {
    /// Request for `op` with no key and nothing deprioritized.
    #[must_use]
    pub fn new(op: Operation) -> Self {
        Self {
            op,
            key: None,
            deprioritized: &[],
        }
    }
}

/// Runs the whole pipeline with reusable scratch buffers; keep one per task
/// or thread (it is cheap to create, and allocation-free once warmed up).
#[derive(Debug, Default)]
pub struct Selector {
    suitable: Vec<usize>,
    window: Vec<usize>,
}

impl Selector {
    /// Empty selector; buffers grow on first use.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Selector with buffers pre-sized for `nodes` candidates.
    #[must_use]
    pub fn with_capacity(nodes: usize) -> Self {
        Self {
            suitable: Vec::with_capacity(nodes),
            window: Vec::with_capacity(nodes),
        }
    }

    /// Picks the node (index into `candidates`) for `req`, or `None` when no
    /// node is suitable (e.g. a write while no leader is known).
    ///
    /// Suitable set, then latency window, then the balancing policy; except
    /// that [`BalancePolicy::KeyHash`] with a key hashes over the whole
    /// suitable set, so RTT jitter never moves a key to another node, and
    /// [`BalancePolicy::Sticky`] keeps its node while it is suitable at all.
    pub fn select<R: Rng + ?Sized>(
        &mut self,
        candidates: &[Candidate<'_>],
        req: &PickRequest<'_>,
        cfg: &SelectionConfig,
        balancer: &Balancer,
        rng: &mut R,
    ) -> Option<usize> {
        suitable_into(
            candidates,
            req.op,
            cfg,
            req.deprioritized,
            &mut self.suitable,
        );
        self.window.clear();
        self.window.extend_from_slice(&self.suitable);
        retain_latency_window(candidates, &mut self.window, cfg.latency_window);
        match (cfg.policy, req.key) {
            (BalancePolicy::KeyHash, Some(key)) => key_hash(candidates, &self.suitable, key),
            (BalancePolicy::Sticky, _) => balancer.sticky(candidates, &self.suitable, &self.window),
            (policy, key) => balancer.pick(policy, candidates, &self.window, key, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::test_support::*;
    use crate::selection::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn shared_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Balancer>();
        check::<Selector>();
        check::<SelectionConfig>();
        check::<Candidate<'static>>();
    }

    /// Rough cost of one full pick over 50 nodes; run with
    /// `cargo test --release -p smart-client -- --ignored pick_cost`.
    #[test]
    #[ignore = "timing; run in release"]
    fn pick_cost() {
        let l = labels(&[("zone", "a")]);
        let c: Vec<Candidate<'_>> = (0..50)
            .map(|i| Candidate {
                rtt_ewma: ms(1 + u64::from(i % 10)),
                in_flight: i % 7,
                weight: 1 + i % 3,
                ..Candidate::new(i, if i == 0 { Role::Leader } else { Role::Follower }, &l)
            })
            .collect();
        let b = Balancer::new();
        let mut sel = Selector::with_capacity(c.len());
        let mut rng = SmallRng::seed_from_u64(1);
        for (scenario, tag_sets, deprioritized) in [
            ("plain", vec![], &[][..]),
            (
                "tags+deprioritized",
                vec![labels(&[("zone", "a")])],
                &[3, 4][..],
            ),
        ] {
            for policy in [
                BalancePolicy::RoundRobin,
                BalancePolicy::WeightedRoundRobin,
                BalancePolicy::LeastInFlight,
                BalancePolicy::P2cEwma,
                BalancePolicy::KeyHash,
            ] {
                let cfg = SelectionConfig {
                    policy,
                    read_preference: ReadPreference::Nearest,
                    tag_sets: tag_sets.clone(),
                    ..SelectionConfig::default()
                };
                let req = PickRequest {
                    key: Some(b"some-key"),
                    deprioritized,
                    ..PickRequest::new(EVENTUAL)
                };
                let n = 200_000u32;
                let start = std::time::Instant::now();
                let mut acc = 0usize;
                for _ in 0..n {
                    let pick = sel.select(&c, &req, &cfg, &b, &mut rng);
                    acc = acc.wrapping_add(pick.unwrap_or_default());
                }
                let per = start.elapsed() / n;
                println!("{scenario} {policy:?}: {per:?} per pick ({acc})");
            }
        }
    }
}
