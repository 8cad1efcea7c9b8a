//! Power of two random choices, the default policy
//! ([`BalancePolicy::P2cEwma`](crate::selection::BalancePolicy::P2cEwma)).

use std::time::Duration;

use rand::Rng;

use crate::selection::types::Candidate;

/// Power of two random choices over `window` (indices into `candidates`):
/// two distinct nodes drawn uniformly, the one with fewer in-flight requests
/// wins, then the lower RTT average (unsampled counts as zero), then the
/// first drawn (a uniformly random tie-break).
pub fn p2c<R: Rng + ?Sized>(
    candidates: &[Candidate<'_>],
    window: &[usize],
    rng: &mut R,
) -> Option<usize> {
    let n = window.len();
    match n {
        0 => return None,
        1 => return window.first().copied(),
        _ => {}
    }
    let a = rng.gen_range(0..n);
    let mut b = rng.gen_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    let (ia, ib) = (window[a], window[b]);
    let (Some(ca), Some(cb)) = (candidates.get(ia), candidates.get(ib)) else {
        return None;
    };
    let load = |c: &Candidate<'_>| (c.in_flight, c.rtt_ewma.unwrap_or(Duration::ZERO));
    Some(if load(cb) < load(ca) { ib } else { ia })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::test_support::*;
    use crate::selection::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn p2c_prefers_less_loaded_then_faster_and_is_deterministic() {
        let mut c = cluster(&NO_LABELS);
        c[0].in_flight = 0;
        c[1].in_flight = 5;
        let mut rng = SmallRng::seed_from_u64(3);
        assert!((0..100).all(|_| p2c(&c, &[0, 1], &mut rng) == Some(0)));
        // Equal load: lower RTT wins.
        c[1].in_flight = 0;
        c[0].rtt_ewma = ms(9);
        c[1].rtt_ewma = ms(3);
        assert!((0..100).all(|_| p2c(&c, &[0, 1], &mut rng) == Some(1)));
        // The most loaded of three is never picked; the least about 2/3.
        c[0].in_flight = 1;
        c[1].in_flight = 2;
        c[2].in_flight = 3;
        let t = tally(
            &c,
            (0..3000).map(|_| p2c(&c, &[0, 1, 2], &mut rng).unwrap()),
        );
        assert_eq!(t.get(&3), None);
        assert!((1900..2100).contains(&t[&1]), "{t:?}");
        // Same seed, same sequence.
        let run = |seed| {
            let mut r = SmallRng::seed_from_u64(seed);
            (0..50)
                .map(|_| p2c(&c, &[0, 1, 2, 3], &mut r).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_eq!(p2c(&c, &[], &mut rng), None);
        assert_eq!(p2c(&c, &[3], &mut rng), Some(3));
    }
}
