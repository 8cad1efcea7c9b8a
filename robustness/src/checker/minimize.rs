//! The shortest excerpt of a non-linearizable key history that is still not
//! linearizable (delta debugging over the operations).
//!
//! Only removals that cannot create a violation are tried, so whatever
//! remains is a true witness: a read may always go; a put only when no
//! remaining read returns its (unique) value; a delete only when no
//! remaining read returns "absent". (Take a linearization of the whole
//! history and drop such an operation from it: every remaining read still
//! sees the value it returned.)

use std::time::{Duration, Instant};

use super::porcupine::{check, Call, RegOp, Verdict, ABSENT};

/// Indexes into `calls` of a small subset that is still illegal. Gives up
/// shrinking when `budget` is spent (each check gets at most a second).
pub fn shortest(calls: &[Call], budget: Duration) -> Vec<usize> {
    let until = Instant::now() + budget;
    let mut keep: Vec<usize> = (0..calls.len()).collect();
    let mut chunk = keep.len().div_ceil(2).max(1);
    loop {
        let mut shrunk = false;
        let mut start = 0;
        while start < keep.len() {
            if Instant::now() > until {
                return keep;
            }
            let end = (start + chunk).min(keep.len());
            let candidate: Vec<usize> = keep[..start].iter().chain(&keep[end..]).copied().collect();
            if removable(calls, &keep[start..end], &candidate) && illegal(calls, &candidate, until)
            {
                keep = candidate;
                shrunk = true;
            } else {
                start = end;
            }
        }
        if chunk == 1 && !shrunk {
            return keep;
        }
        if !shrunk {
            chunk = chunk.div_ceil(2);
        }
    }
}

/// Whether dropping `removed` leaves every remaining read explained.
fn removable(calls: &[Call], removed: &[usize], remaining: &[usize]) -> bool {
    let read_of = |v| remaining.iter().any(|&i| calls[i].op == RegOp::Read(v));
    removed.iter().all(|&i| match calls[i].op {
        RegOp::Read(_) => true,
        RegOp::Put(v) => !read_of(v),
        RegOp::Delete => !read_of(ABSENT),
    })
}

fn illegal(calls: &[Call], subset: &[usize], until: Instant) -> bool {
    let sub: Vec<Call> = subset.iter().map(|&i| calls[i]).collect();
    let deadline = (Instant::now() + Duration::from_secs(1)).min(until);
    check(&sub, ABSENT, deadline) == Verdict::Illegal
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegOp::{Delete, Put, Read};

    fn c(op: RegOp, invoke: u64, ret: u64) -> Call {
        Call { op, invoke, ret }
    }

    #[test]
    fn keeps_only_what_shows_the_stale_read() {
        let mut calls = Vec::new();
        // Background: 30 good put/read rounds on values 10..40.
        for (i, v) in (10..40).enumerate() {
            let t = i as u64 * 100;
            calls.push(c(Put(v), t, t + 10));
            calls.push(c(Read(v), t + 20, t + 30));
        }
        // Then put 1, put 2, a stale read of 1, a delete and reads of absent.
        calls.push(c(Put(1), 5000, 5010));
        calls.push(c(Put(2), 5020, 5030));
        calls.push(c(Read(1), 5040, 5050));
        calls.push(c(Delete, 5060, 5070));
        calls.push(c(Read(0), 5080, 5090));
        let keep = shortest(&calls, Duration::from_secs(5));
        let ops: Vec<RegOp> = keep.iter().map(|&i| calls[i].op).collect();
        assert_eq!(ops, vec![Put(1), Put(2), Read(1)]);
    }
}
