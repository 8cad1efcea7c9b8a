//! Fewest requests in flight ([`BalancePolicy::LeastInFlight`](crate::selection::BalancePolicy::LeastInFlight)).

use super::round_robin::Cursor;
use crate::selection::types::Candidate;

/// Fewest in-flight requests; ties are rotated with the shared cursor.
pub(super) fn least_in_flight(
    cursor: &Cursor,
    candidates: &[Candidate<'_>],
    window: &[usize],
) -> Option<usize> {
    let in_flight = |i: usize| candidates.get(i).map(|c| c.in_flight);
    let min = window.iter().filter_map(|&i| in_flight(i)).min()?;
    let ties = window.iter().filter(|&&i| in_flight(i) == Some(min));
    let n = ties.clone().count();
    ties.copied().nth(cursor.next() % n)
}

#[cfg(test)]
mod tests {
    use crate::selection::test_support::*;
    use crate::selection::*;
    use std::collections::HashMap;

    #[test]
    fn least_in_flight_picks_the_minimum_and_rotates_ties() {
        let mut c = cluster(&NO_LABELS);
        c[0].in_flight = 4;
        c[1].in_flight = 1;
        c[2].in_flight = 7;
        c[3].in_flight = 1;
        let b = Balancer::new();
        let w = [0, 1, 2, 3];
        let t = tally(&c, (0..100).map(|_| b.least_in_flight(&c, &w).unwrap()));
        assert_eq!(t, HashMap::from([(2, 50), (4, 50)]));
        c[3].in_flight = 2;
        assert!((0..10).all(|_| b.least_in_flight(&c, &w) == Some(1)));
        assert_eq!(b.least_in_flight(&c, &[]), None);
    }
}
