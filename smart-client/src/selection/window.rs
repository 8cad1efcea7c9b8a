//! Step 2 of selection: the latency window around the fastest suitable node.

use std::time::Duration;

use super::types::Candidate;

/// Keeps, in place, the indices whose RTT average is at most the fastest
/// sampled one plus `window`. Nodes without a sample yet stay in the window
/// (so they get measured) and do not move its lower bound; out-of-range
/// indices are dropped.
pub fn retain_latency_window(candidates: &[Candidate<'_>], idx: &mut Vec<usize>, window: Duration) {
    idx.retain(|&i| i < candidates.len());
    let Some(fastest) = idx.iter().filter_map(|&i| candidates[i].rtt_ewma).min() else {
        return;
    };
    let limit = fastest.saturating_add(window);
    idx.retain(|&i| candidates[i].rtt_ewma.is_none_or(|rtt| rtt <= limit));
}

/// Allocating convenience wrapper around [`retain_latency_window`].
#[must_use]
pub fn in_latency_window(
    candidates: &[Candidate<'_>],
    suitable: &[usize],
    window: Duration,
) -> Vec<usize> {
    let mut out = suitable.to_vec();
    retain_latency_window(candidates, &mut out, window);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::test_support::*;
    use crate::selection::*;

    #[test]
    fn latency_window_keeps_fast_and_unsampled_nodes() {
        let mut c = cluster(&NO_LABELS);
        c[0].rtt_ewma = ms(26);
        c[1].rtt_ewma = ms(5);
        c[2].rtt_ewma = ms(100);
        let all = [0, 1, 2, 3];
        let w = |c: &[Candidate<'_>]| ids(c, &in_latency_window(c, &all, DEFAULT_LATENCY_WINDOW));
        // 4 has no sample: kept so that it gets measured.
        assert_eq!(w(&c), vec![2, 4]);
        c[0].rtt_ewma = ms(20);
        assert_eq!(w(&c), vec![1, 2, 4]);
        for x in &mut c {
            x.rtt_ewma = None;
        }
        assert_eq!(w(&c), vec![1, 2, 3, 4]);
        assert!(in_latency_window(&c, &[], DEFAULT_LATENCY_WINDOW).is_empty());
        // Out-of-range indices are dropped, not a panic.
        assert_eq!(
            in_latency_window(&c, &[0, 99], DEFAULT_LATENCY_WINDOW),
            vec![0]
        );
    }
}
