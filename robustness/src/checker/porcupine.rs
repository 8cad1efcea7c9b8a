//! Linearizability of one register's history: the Wing–Gong algorithm with
//! Lowe's memoization, as in Porcupine (anishathalye/porcupine, `checker.go`).
//!
//! Calls and returns form one time-ordered doubly linked list. The search
//! walks it: at a call it tries to linearize that operation next (the model
//! accepts it, and the pair *(set of linearized ops, model state)* was not
//! seen before), lifting the call and its return out of the list; at a
//! return whose call is not linearized yet it backtracks. The history is
//! linearizable when the list empties. The cache of seen pairs is what keeps
//! this tractable on real histories; a deadline bounds it anyway.

use std::collections::HashSet;
use std::time::Instant;

/// Value ids: 0 is "absent", values written are numbered from 1.
pub type Value = u32;
/// The absent value.
pub const ABSENT: Value = 0;

/// One operation on the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegOp {
    /// Write a value.
    Put(Value),
    /// Make the key absent.
    Delete,
    /// A read that returned this value.
    Read(Value),
}

impl RegOp {
    /// The register model: the state after `self` from `state`, or `None`
    /// if `self` cannot happen in `state` (a read of another value).
    pub fn step(self, state: Value) -> Option<Value> {
        match self {
            RegOp::Put(v) => Some(v),
            RegOp::Delete => Some(ABSENT),
            RegOp::Read(v) => (v == state).then_some(state),
        }
    }
}

/// One operation with its real-time interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// What it did.
    pub op: RegOp,
    /// When it was invoked.
    pub invoke: u64,
    /// When it returned; `u64::MAX` for an outcome that is unknown (it may
    /// take effect at any time after `invoke`, or never: linearized last it
    /// has no visible effect).
    pub ret: u64,
}

/// What the search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A linearization exists.
    Linearizable,
    /// None exists.
    Illegal,
    /// The deadline passed first (a failure for the suite).
    Timeout,
}

const NIL: usize = usize::MAX;

/// The doubly linked list of call and return entries.
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For a call entry: its return entry; for a return entry: `NIL`.
    matched: Vec<usize>,
    /// Operation index of each entry.
    op: Vec<usize>,
}

impl Entries {
    /// Entries `0..2n` in time order (calls before returns at equal times),
    /// and the head sentinel at `2n`.
    fn new(calls: &[Call]) -> (Self, usize) {
        let n = calls.len();
        let mut order: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * n);
        for (i, c) in calls.iter().enumerate() {
            order.push((c.invoke, 0, i));
            order.push((c.ret.max(c.invoke), 1, i));
        }
        order.sort_unstable();
        let head = 2 * n;
        let mut e = Entries {
            next: vec![NIL; 2 * n + 1],
            prev: vec![NIL; 2 * n + 1],
            matched: vec![NIL; 2 * n + 1],
            op: vec![NIL; 2 * n + 1],
        };
        let mut call_entry = vec![NIL; n];
        let mut last = head;
        for (pos, &(_, kind, i)) in order.iter().enumerate() {
            e.op[pos] = i;
            if kind == 0 {
                call_entry[i] = pos;
            } else {
                e.matched[call_entry[i]] = pos;
            }
            e.next[last] = pos;
            e.prev[pos] = last;
            last = pos;
        }
        (e, head)
    }

    fn is_call(&self, entry: usize) -> bool {
        self.matched[entry] != NIL
    }

    fn lift(&mut self, entry: usize) {
        let (p, n) = (self.prev[entry], self.next[entry]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
        let m = self.matched[entry];
        let (p, n) = (self.prev[m], self.next[m]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn unlift(&mut self, entry: usize) {
        let m = self.matched[entry];
        let (p, n) = (self.prev[m], self.next[m]);
        self.next[p] = m;
        if n != NIL {
            self.prev[n] = m;
        }
        let (p, n) = (self.prev[entry], self.next[entry]);
        self.next[p] = entry;
        if n != NIL {
            self.prev[n] = entry;
        }
    }
}

/// Whether `calls`, starting from `initial`, is linearizable; gives up with
/// [`Verdict::Timeout`] at `deadline`.
pub fn check(calls: &[Call], initial: Value, deadline: Instant) -> Verdict {
    let n = calls.len();
    if n == 0 {
        return Verdict::Linearizable;
    }
    let (mut entries, head) = Entries::new(calls);
    let words = n.div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut cache: HashSet<(Vec<u64>, Value)> = HashSet::new();
    let mut stack: Vec<(usize, Value)> = Vec::new();
    let mut state = initial;
    let mut entry = entries.next[head];
    let mut steps = 0u32;
    while entries.next[head] != NIL {
        steps = steps.wrapping_add(1);
        if steps % 4096 == 1 && Instant::now() > deadline {
            return Verdict::Timeout;
        }
        if entries.is_call(entry) {
            let i = entries.op[entry];
            let lifted = match calls[i].op.step(state) {
                Some(next_state) => {
                    linearized[i / 64] |= 1 << (i % 64);
                    if cache.insert((linearized.clone(), next_state)) {
                        stack.push((entry, state));
                        state = next_state;
                        entries.lift(entry);
                        true
                    } else {
                        linearized[i / 64] &= !(1 << (i % 64));
                        false
                    }
                }
                None => false,
            };
            entry = if lifted {
                entries.next[head]
            } else {
                entries.next[entry]
            };
        } else {
            // A return whose call is not linearized: undo the last choice.
            let Some((call_entry, previous)) = stack.pop() else {
                return Verdict::Illegal;
            };
            let i = entries.op[call_entry];
            linearized[i / 64] &= !(1 << (i % 64));
            state = previous;
            entries.unlift(call_entry);
            entry = entries.next[call_entry];
        }
    }
    Verdict::Linearizable
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn c(op: RegOp, invoke: u64, ret: u64) -> Call {
        Call { op, invoke, ret }
    }

    fn verdict(calls: &[Call]) -> Verdict {
        check(calls, ABSENT, Instant::now() + Duration::from_secs(5))
    }

    use RegOp::{Delete, Put, Read};

    #[test]
    fn sequential_and_concurrent_histories() {
        assert_eq!(verdict(&[]), Verdict::Linearizable);
        let h = [
            c(Put(1), 0, 10),
            c(Read(1), 20, 30),
            c(Delete, 40, 50),
            c(Read(0), 60, 70),
        ];
        assert_eq!(verdict(&h), Verdict::Linearizable);
        // A read concurrent with a put may see either value.
        let h = [c(Put(1), 0, 10), c(Put(2), 20, 50), c(Read(1), 30, 40)];
        assert_eq!(verdict(&h), Verdict::Linearizable);
        let h = [c(Put(1), 0, 10), c(Put(2), 20, 50), c(Read(2), 30, 40)];
        assert_eq!(verdict(&h), Verdict::Linearizable);
    }

    #[test]
    fn stale_read_is_illegal() {
        // put 1, put 2 acknowledged, then a read returns 1.
        let h = [c(Put(1), 0, 10), c(Put(2), 20, 30), c(Read(1), 40, 50)];
        assert_eq!(verdict(&h), Verdict::Illegal);
    }

    #[test]
    fn lost_write_is_illegal() {
        // put 1 acknowledged, later reads find nothing.
        let h = [c(Put(1), 0, 10), c(Read(0), 20, 30)];
        assert_eq!(verdict(&h), Verdict::Illegal);
    }

    #[test]
    fn reads_must_agree_on_an_order() {
        // Two concurrent puts; one reader sees 1 then 2, another 2 then 1.
        let h = [
            c(Put(1), 0, 100),
            c(Put(2), 0, 100),
            c(Read(1), 10, 20),
            c(Read(2), 30, 40),
            c(Read(2), 10, 20),
            c(Read(1), 30, 40),
        ];
        assert_eq!(verdict(&h), Verdict::Illegal);
    }

    #[test]
    fn unknown_writes_may_apply_late_or_never() {
        // Unknown put 1 (ret = MAX): a read long after may see it, or not.
        let seen = [
            c(Put(1), 0, u64::MAX),
            c(Read(0), 10, 20),
            c(Read(1), 500, 510),
        ];
        assert_eq!(verdict(&seen), Verdict::Linearizable);
        let never = [c(Put(1), 0, u64::MAX), c(Read(0), 500, 510)];
        assert_eq!(verdict(&never), Verdict::Linearizable);
        // But not before it was invoked.
        let early = [c(Read(1), 0, 10), c(Put(1), 20, u64::MAX)];
        assert_eq!(verdict(&early), Verdict::Illegal);
        // Nor twice: seen, overwritten, seen again.
        let twice = [
            c(Put(1), 0, u64::MAX),
            c(Read(1), 10, 20),
            c(Put(2), 30, 40),
            c(Read(1), 50, 60),
        ];
        assert_eq!(verdict(&twice), Verdict::Illegal);
    }

    #[test]
    fn many_concurrent_ops_stay_fast() {
        // 8 clients, 400 ops each round: concurrent puts and reads that all
        // see the latest value; memoization keeps this well under a second.
        let mut h = Vec::new();
        let mut t = 0;
        for round in 0..400u32 {
            let v = round + 1;
            h.push(c(Put(v), t, t + 50));
            for r in 0..7 {
                h.push(c(Read(v), t + 60 + r, t + 100 + r));
            }
            t += 200;
        }
        let started = Instant::now();
        assert_eq!(verdict(&h), Verdict::Linearizable);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn deadline_is_a_timeout() {
        // Many overlapping unknown puts and reads: exponential without the
        // cache hitting; an already-passed deadline must answer Timeout.
        let mut h: Vec<Call> = (1..=40).map(|v| c(Put(v), 0, u64::MAX)).collect();
        h.extend((1..=40).map(|v| c(Read(v), 10, 20)));
        assert_eq!(check(&h, ABSENT, Instant::now()), Verdict::Timeout);
    }
}
