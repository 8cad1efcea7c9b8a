//! Acknowledged writes: the record every durability and failover check is
//! made against (node tests, smart-client tests, the demo), and the check
//! that each of them reads back.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kv_contract::ValueAnswer;

/// One write the cluster acknowledged (answered 200, or `Ok` through a client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The key written.
    pub key: String,
    /// The value written.
    pub value: String,
    /// When the write was sent.
    pub started: Instant,
    /// When it was acknowledged.
    pub done: Instant,
}

/// Acknowledged writes, shared by the threads or tasks that make them. The
/// lock is held for one push or one scan, never across an `.await`.
#[derive(Debug, Default)]
pub struct AckLog {
    acks: Mutex<Vec<Ack>>,
}

impl AckLog {
    fn lock(&self) -> MutexGuard<'_, Vec<Ack>> {
        self.acks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that writing `value` to `key`, sent at `started`, was just
    /// acknowledged; returns the acknowledgement time.
    pub fn record(&self, key: String, value: String, started: Instant) -> Instant {
        let done = Instant::now();
        self.lock().push(Ack {
            key,
            value,
            started,
            done,
        });
        done
    }

    /// Writes acknowledged so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was acknowledged yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The key of the `i`-th acknowledged write (in acknowledgement order).
    pub fn key_at(&self, i: usize) -> Option<String> {
        self.lock().get(i).map(|a| a.key.clone())
    }

    /// Writes acknowledged after `t`.
    pub fn acked_after(&self, t: Instant) -> usize {
        self.lock().iter().filter(|a| a.done > t).count()
    }

    /// Acknowledgement time of the first write *sent* at or after `t` (after
    /// a kill at `t`: when writes got through again).
    pub fn first_ack_started_after(&self, t: Instant) -> Option<Instant> {
        self.lock()
            .iter()
            .filter(|a| a.started >= t)
            .map(|a| a.done)
            .min()
    }

    /// Every acknowledged write so far.
    pub fn snapshot(&self) -> Vec<Ack> {
        self.lock().clone()
    }
}

/// The keys of `acks` that a linearizable read on the node at `base` does
/// not return with the acknowledged value (8 readers in parallel, blocking).
pub fn missing_on(base: &str, acks: &[Ack]) -> Vec<String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let base = base.trim_end_matches('/');
    std::thread::scope(|s| {
        let readers: Vec<_> = acks
            .chunks(acks.len().div_ceil(8).max(1))
            .map(|chunk| {
                let agent = agent.clone();
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter(|a| read_back(&agent, base, &a.key).as_ref() != Some(&a.value))
                        .map(|a| a.key.clone())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        readers
            .into_iter()
            .flat_map(|r| r.join().expect("read-back thread"))
            .collect()
    })
}

/// The value a linearizable read of `key` returns (`None`: absent or failed).
fn read_back(agent: &ureq::Agent, base: &str, key: &str) -> Option<String> {
    let url = format!("{base}/kv/{key}?consistency=linearizable");
    let answer: ValueAnswer = agent.get(&url).call().ok()?.into_json().ok()?;
    answer.value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_over_the_log() {
        let log = AckLog::default();
        assert!(log.is_empty());
        let t0 = Instant::now();
        log.record("a".into(), "1".into(), t0);
        let mid = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        let done_b = log.record("b".into(), "2".into(), mid);
        assert_eq!(log.len(), 2);
        assert_eq!(log.key_at(1).as_deref(), Some("b"));
        assert_eq!(log.key_at(2), None);
        assert_eq!(log.acked_after(mid), 1);
        assert_eq!(log.first_ack_started_after(mid), Some(done_b));
        assert_eq!(log.first_ack_started_after(Instant::now()), None);
        assert_eq!(log.snapshot()[0].value, "1");
    }
}
