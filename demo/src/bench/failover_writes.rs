//! The failover cells: writes while the caller kills the leader.
//!
//! - [`start`]: open loop at a fixed rate. Writes are issued on a schedule
//!   (not after the previous one answered), so a stall shows up as a gap in
//!   completions instead of as fewer requests.
//! - [`start_closed`]: closed loop at full speed (`concurrency` tasks, each
//!   sends its next write when the previous one answered), the failover
//!   under load.
//!
//! Each write has a 5 s deadline. On the plain-HTTP paths nothing retries (a
//! failed request is an error the application sees); on the `smart` path the
//! client's own retries are part of the path; on `etcd` a refused connection
//! is retried on the next member (the request was never sent), as clientv3
//! does, and every other failure is the application's.

use std::cell::RefCell;
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::load::{unique_key, Op, Route, Sender, REQUEST_TIMEOUT};

/// One write of the failover cell.
#[derive(Clone, Debug)]
pub struct WriteRecord {
    /// When it was issued.
    pub issued: Instant,
    /// When its answer (or failure) came back.
    pub done: Instant,
    /// Whether it succeeded.
    pub ok: bool,
    /// What went wrong, if it failed.
    pub error: Option<String>,
}

/// A failover load running on its own thread.
pub struct Running {
    start: Instant,
    handle: JoinHandle<Vec<WriteRecord>>,
}

/// Starts `rate` writes per second for `length`, beginning shortly.
pub fn start(route: Route, rate: u32, length: Duration) -> Running {
    let start = Instant::now() + Duration::from_millis(100);
    let handle = std::thread::spawn(move || {
        actix_rt::System::new().block_on(open_loop(route, rate.max(1), start, length))
    });
    Running { start, handle }
}

impl Running {
    /// Sleeps until `after` past the load's start; returns that instant.
    pub fn sleep_until_kill(&self, after: Duration) -> Instant {
        let at = self.start + after;
        if let Some(d) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        Instant::now()
    }

    /// Waits for every write to finish.
    pub fn join(self) -> Result<Vec<WriteRecord>, String> {
        self.handle
            .join()
            .map_err(|_| "failover load thread panicked".to_string())
    }
}

/// Starts `concurrency` closed-loop writers for `length`, beginning shortly.
pub fn start_closed(route: Route, concurrency: usize, length: Duration) -> Running {
    let start = Instant::now() + Duration::from_millis(100);
    let handle = std::thread::spawn(move || {
        actix_rt::System::new().block_on(closed_loop(route, concurrency.max(1), start, length))
    });
    Running { start, handle }
}

async fn closed_loop(
    route: Route,
    concurrency: usize,
    start: Instant,
    length: Duration,
) -> Vec<WriteRecord> {
    let sender = Rc::new(Sender::new(route, concurrency.max(8)));
    tokio::time::sleep_until(start.into()).await;
    let end = start + length;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let sender = sender.clone();
            actix_rt::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let issued = Instant::now();
                    if issued >= end {
                        break;
                    }
                    let result = tokio::time::timeout(
                        REQUEST_TIMEOUT + Duration::from_millis(500),
                        sender.exec(Op::Write(unique_key())),
                    )
                    .await
                    .unwrap_or_else(|_| Err("no answer within 5.5 s".into()));
                    out.push(WriteRecord {
                        issued,
                        done: Instant::now(),
                        ok: result.is_ok(),
                        error: result.err(),
                    });
                }
                out
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        if let Ok(records) = t.await {
            out.extend(records);
        }
    }
    out.sort_by_key(|r| r.issued);
    out
}

/// Successful writes per second completed in `[from, to)`.
pub fn rate_between(records: &[WriteRecord], from: Instant, to: Instant) -> Option<f64> {
    let secs = to.checked_duration_since(from)?.as_secs_f64();
    (secs > 0.0).then(|| {
        records
            .iter()
            .filter(|r| r.ok && r.done >= from && r.done < to)
            .count() as f64
            / secs
    })
}

async fn open_loop(route: Route, rate: u32, start: Instant, length: Duration) -> Vec<WriteRecord> {
    // Up to a deadline's worth of writes may be outstanding at once.
    let pool = (rate as usize * 6).max(64);
    let sender = Rc::new(Sender::new(route, pool));
    let records = Rc::new(RefCell::new(Vec::new()));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let total = (length.as_secs_f64() * f64::from(rate)) as u32;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let at = start + interval * i;
        tokio::time::sleep_until(at.into()).await;
        let (sender, records) = (sender.clone(), records.clone());
        tasks.push(actix_rt::spawn(async move {
            let issued = Instant::now();
            // The plain paths' awc timeout and the smart client's request
            // deadline are both 5 s; this outer bound only guards the cell.
            let result = tokio::time::timeout(
                REQUEST_TIMEOUT + Duration::from_millis(500),
                sender.exec(Op::Write(unique_key())),
            )
            .await
            .unwrap_or_else(|_| Err("no answer within 5.5 s".into()));
            records.borrow_mut().push(WriteRecord {
                issued,
                done: Instant::now(),
                ok: result.is_ok(),
                error: result.err(),
            });
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut out = records.take();
    out.sort_by_key(|r| r.issued);
    out
}

/// Figures of one failover cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// Writes issued.
    pub issued: usize,
    /// Writes that failed (errors the application saw).
    pub errors: usize,
    /// From the kill to the first success of a write issued after the kill.
    pub unavailable: Option<Duration>,
    /// Longest time between two consecutive successful completions (the
    /// cell's start and end count as completions).
    pub max_gap: Duration,
}

/// Computes the cell's figures from its writes and the kill instant.
pub fn outcome(records: &[WriteRecord], killed_at: Instant) -> Outcome {
    let unavailable = records
        .iter()
        .filter(|r| r.ok && r.issued >= killed_at)
        .map(|r| r.done - killed_at)
        .min();
    let mut done: Vec<Instant> = records.iter().filter(|r| r.ok).map(|r| r.done).collect();
    done.sort();
    let first = records.iter().map(|r| r.issued).min();
    let last = records.iter().map(|r| r.issued).max();
    let mut max_gap = Duration::ZERO;
    let mut prev = first;
    for d in done.iter().copied().chain(last) {
        if let Some(p) = prev {
            max_gap = max_gap.max(d.saturating_duration_since(p));
        }
        prev = Some(prev.map_or(d, |p| p.max(d)));
    }
    Outcome {
        issued: records.len(),
        errors: records.iter().filter(|r| !r.ok).count(),
        unavailable,
        max_gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailability_and_gap() {
        let t0 = Instant::now();
        let ms = |v| t0 + Duration::from_millis(v);
        let rec = |issued, done, ok| WriteRecord {
            issued: ms(issued),
            done: ms(done),
            ok,
            error: None,
        };
        let records = [
            rec(0, 2, true),
            rec(5, 7, true),
            // issued before the kill at 10, done after: not the recovery.
            rec(9, 12, true),
            rec(15, 300, false),
            rec(20, 900, true),
            rec(25, 901, true),
            rec(1000, 1002, true),
        ];
        let o = outcome(&records, ms(10));
        assert_eq!(o.errors, 1);
        assert_eq!(o.issued, 7);
        assert_eq!(o.unavailable, Some(Duration::from_millis(890)));
        assert_eq!(o.max_gap, Duration::from_millis(888));
    }
}
