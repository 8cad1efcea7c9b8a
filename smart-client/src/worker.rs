//! The client's I/O thread: an actix system (current-thread tokio runtime
//! plus `LocalSet`) that owns the `!Send` awc client, runs the refresher and
//! prober actors, and executes each [`Call`] as a local task with routing,
//! retries and bookkeeping.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use awc::http::Method;
use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument;

use crate::client::Shared;
use crate::error::{classify, AttemptError, Error, Result};
use crate::request::{Call, Idempotency, Op};
use crate::selection::{Candidate, NodeId, PickRequest, Role, Selector};
use crate::stats::Counters;
use crate::topology::{effective_role, parse_topology};
use crate::transport::Transport;

/// Starts the I/O thread; `ready` receives the bootstrap outcome.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    calls: mpsc::UnboundedReceiver<Call>,
    ready: oneshot::Sender<Result<()>>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("smart-client-io".into())
        .spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(run(shared, calls, ready));
        })
        .map(drop)
        .map_err(|e| Error::Config(format!("cannot start the I/O thread: {e}")))
}

/// Bootstraps, starts the actors, then serves calls until every handle is gone.
async fn run(
    shared: Arc<Shared>,
    mut calls: mpsc::UnboundedReceiver<Call>,
    ready: oneshot::Sender<Result<()>>,
) {
    let transport = Rc::new(Transport::new(shared.config.max_connections));
    if let Err(e) = bootstrap(&shared, &transport).await {
        let _ = ready.send(Err(e));
        return;
    }
    let _ = ready.send(Ok(()));

    let (s, t) = (shared.clone(), transport.clone());
    let rotation = std::cell::Cell::new(0usize);
    let (trigger, interval) = (s.refresh.clone(), s.config.refresh_interval);
    actix_rt::spawn(crate::refresher::run_loop(trigger, interval, move || {
        let (s, t) = (s.clone(), t.clone());
        let r = rotation.get();
        rotation.set(r.wrapping_add(1));
        async move { crate::refresher::refresh_once(&s, &t, r).await }
    }));
    actix_rt::spawn(crate::prober::run(shared.clone(), transport.clone()));

    let worker = Rc::new(Worker {
        shared,
        transport,
        selector: RefCell::new(Selector::with_capacity(8)),
        rng: RefCell::new(SmallRng::from_entropy()),
    });
    while let Some(call) = calls.recv().await {
        let w = worker.clone();
        actix_rt::spawn(async move {
            let Call {
                op,
                path,
                body,
                key_len,
                reply,
            } = call;
            let span = tracing::debug_span!("kv_request", op = op.name(), key_len);
            let result = w.execute(op, &path, body).instrument(span).await;
            if result.is_err() {
                Counters::bump(&w.shared.counters.errors);
            }
            let _ = reply.send(result);
        });
    }
    tracing::debug!("last client handle dropped: I/O thread stops");
}

/// First topology from the first seed that answers; retried until the
/// request timeout passes.
async fn bootstrap(shared: &Shared, transport: &Transport) -> Result<()> {
    let deadline = Instant::now() + shared.config.request_timeout;
    let mut last_error = String::from("no seed tried");
    loop {
        for seed in &shared.config.seeds {
            let url = format!("{seed}/topology");
            let timeout = shared.config.attempt_timeout;
            match transport.send(Method::GET, &url, None, timeout).await {
                Ok(r) if r.status == 200 => match parse_topology(&r.body) {
                    Ok(view) => {
                        shared.install_topology(view);
                        return Ok(());
                    }
                    Err(e) => last_error = format!("{url}: bad topology: {e}"),
                },
                Ok(r) => last_error = format!("{url}: HTTP {}", r.status),
                Err(e) => last_error = format!("{url}: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Unavailable {
                last_error: format!("no seed answered /topology: {last_error}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Per-thread executor of calls.
struct Worker {
    shared: Arc<Shared>,
    transport: Rc<Transport>,
    /// Scratch buffers for selection (single thread: borrowed briefly, never
    /// across an await).
    selector: RefCell<Selector>,
    rng: RefCell<SmallRng>,
}

/// A chosen node for one attempt.
struct Target {
    id: NodeId,
    base: String,
}

impl Worker {
    /// Runs one call: pick, attempt, learn from the answer, retry within the
    /// deadline and budget, and map the last failure to an [`Error`].
    async fn execute(&self, op: Op, path: &str, body: Option<Bytes>) -> Result<Option<Bytes>> {
        let shared = &*self.shared;
        let cfg = &shared.config;
        let deadline = Instant::now() + cfg.request_timeout;
        let needs_leader = op.operation().requires_leader();
        Counters::bump(&shared.counters.requests);
        shared.budget.deposit();
        let mut deprioritized: Vec<NodeId> = Vec::new();
        let mut redirect: Option<NodeId> = None;
        let mut last: Option<AttemptError>;
        let mut retries = 0u32;
        loop {
            let target = match redirect.take() {
                Some(id) => self.target_of(id),
                None => self.pick(op, path, &deprioritized),
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = match target {
                None => {
                    shared.refresh.request();
                    Err(if needs_leader {
                        AttemptError::NoLeader
                    } else {
                        AttemptError::Connect("no selectable node".into())
                    })
                }
                Some(t) => {
                    let timeout = remaining.min(cfg.attempt_timeout);
                    let span = tracing::debug_span!("attempt", node = t.id, attempt = retries);
                    self.attempt(op, &t, path, body.clone(), timeout)
                        .instrument(span)
                        .await
                        .map_err(|e| (t.id, e))
                        .map_err(|(id, e)| {
                            if e.is_node_failure() && !deprioritized.contains(&id) {
                                deprioritized.push(id);
                            }
                            e
                        })
                }
            };
            let err = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            tracing::debug!(error = %err, "attempt failed");
            match &err {
                AttemptError::Rejected { code, message } => {
                    return Err(Error::BadRequest {
                        code: code.clone(),
                        message: message.clone(),
                    })
                }
                e if e.outcome_unknown() && op.idempotency() == Idempotency::NotIdempotent => {
                    return Err(Error::Timeout)
                }
                AttemptError::NotLeader(Some(hint)) => redirect = Some(*hint),
                e if e.is_node_failure() || e.is_leaderless() => shared.refresh.request(),
                _ => {}
            }
            last = Some(err);
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let delay = {
                let mut rng = self.rng.borrow_mut();
                if waits_for_leader(needs_leader, last.as_ref()) {
                    // Nothing reached a leader: the call waits for one (below,
                    // woken by a leader change) instead of spending the retry
                    // budget, which a leader crash under load would drain in
                    // a fraction of the election and fail the calls that
                    // arrived during it. The deadline still bounds the wait.
                    Some(cfg.retry_policy.backoff.delay(retries, &mut *rng))
                } else {
                    cfg.retry_policy
                        .next_delay(retries, &shared.budget, &mut *rng)
                }
            };
            let Some(delay) = delay else { break };
            retries += 1;
            Counters::bump(&shared.counters.retries);
            if redirect.is_some() {
                continue;
            }
            let wait = delay.min(deadline - now);
            // A call waiting for a leader wakes up as soon as one is known.
            let leader_changed = shared.leader_changed.notified();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = leader_changed, if needs_leader => {}
            }
        }
        Err(final_error(needs_leader, last, shared.cache.leader().1))
    }

    /// The node for the next attempt: the cached leader for writes and
    /// strong reads, otherwise the selection pipeline.
    fn pick(&self, op: Op, path: &str, deprioritized: &[NodeId]) -> Option<Target> {
        let shared = &*self.shared;
        let (_, leader) = shared.cache.leader();
        let operation = op.operation();
        if operation.requires_leader() {
            return self.target_of(leader?);
        }
        let view = shared.cache.members();
        let now = Instant::now();
        let candidates: Vec<Candidate<'_>> = view
            .members
            .iter()
            .map(|m| {
                let role = if m.api_url.is_some() {
                    effective_role(m.role, m.id, leader)
                } else {
                    Role::Unknown
                };
                let mut c = Candidate::new(m.id, role, &m.labels);
                if let Some(s) = shared.registry.get(m.id) {
                    c.rtt_ewma = s.rtt.get().map(quantize_rtt);
                    c.in_flight = s.in_flight.load(std::sync::atomic::Ordering::Relaxed);
                    c.ejected = s.is_ejected(now);
                }
                c
            })
            .collect();
        let req = PickRequest {
            op: operation,
            key: Some(path.as_bytes()),
            deprioritized,
        };
        let idx = {
            let mut selector = self.selector.borrow_mut();
            let mut rng = self.rng.borrow_mut();
            selector.select(
                &candidates,
                &req,
                &shared.config.selection,
                &shared.balancer,
                &mut *rng,
            )
        }?;
        let m = &view.members[idx];
        Some(Target {
            id: m.id,
            base: m.api_url.clone()?,
        })
    }

    /// Node `id` as a target, if its URL is known.
    fn target_of(&self, id: NodeId) -> Option<Target> {
        let view = self.shared.cache.members();
        let base = view.member(id)?.api_url.clone();
        match base {
            Some(base) => Some(Target { id, base }),
            None => {
                self.shared.refresh.request();
                None
            }
        }
    }

    /// One attempt on one node, with bookkeeping.
    async fn attempt(
        &self,
        op: Op,
        target: &Target,
        path: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> std::result::Result<Option<Bytes>, AttemptError> {
        let shared = &*self.shared;
        let state = shared.registry.get_or_insert(target.id);
        let _in_flight = state.begin();
        let method = match op {
            Op::Put => Method::PUT,
            Op::Get(_) => Method::GET,
            Op::Delete => Method::DELETE,
        };
        let mut url = String::with_capacity(target.base.len() + path.len());
        url.push_str(&target.base);
        url.push_str(path);
        let started = Instant::now();
        let send = self.transport.send(method, &url, body, timeout);
        let result =
            if op.operation().requires_leader() && op.idempotency() == Idempotency::Idempotent {
                // Abandon an attempt on a leader that has meanwhile been replaced.
                let mut send = std::pin::pin!(send);
                loop {
                    let leader_changed = shared.leader_changed.notified();
                    tokio::select! {
                        r = &mut send => break r,
                        () = leader_changed => {
                            if shared.cache.leader().1 != Some(target.id) {
                                break Err(AttemptError::Superseded);
                            }
                        }
                    }
                }
            } else {
                send.await
            };
        let reply = match result {
            Ok(r) => r,
            Err(e) => {
                if e.is_node_failure() && state.on_failure(Instant::now()) {
                    tracing::debug!(node = target.id, error = %e, "node ejected");
                }
                return Err(e);
            }
        };
        let hints = reply.hints;
        if hints.leader.is_some() || hints.term.is_some() {
            shared.observe_leader(hints.term, hints.leader);
        }
        match reply.status {
            200..=299 => {
                state.on_success(started.elapsed());
                if hints.forwarded_to.is_some() && matches!(op, Op::Put | Op::Delete) {
                    Counters::bump(&shared.counters.forwarded_writes);
                }
                match op {
                    Op::Get(_) => parse_value(&reply.body),
                    Op::Put | Op::Delete => Ok(None),
                }
            }
            404 if matches!(op, Op::Get(_)) && is_missing_value(&reply.body) => {
                state.on_success(started.elapsed());
                Ok(None)
            }
            status => {
                let e = classify(status, &reply.body);
                if status >= 500 {
                    state
                        .errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}

/// Granularity at which balancing compares RTT averages.
const RTT_GRAIN: Duration = Duration::from_millis(5);

/// Rounds an RTT average down to [`RTT_GRAIN`]. Averages are not decayed
/// while a node gets no traffic, so without this a node whose average froze
/// at one unlucky sample would lose every power-of-two comparison against
/// a node that is faster by a few microseconds of noise, and starve. Real
/// latency differences (a loaded or distant node) are milliseconds and still
/// decide, and the latency window still works on the exact averages' scale.
fn quantize_rtt(rtt: Duration) -> Duration {
    let grain = RTT_GRAIN.as_nanos();
    let q = rtt.as_nanos() / grain * grain;
    Duration::from_nanos(u64::try_from(q).unwrap_or(u64::MAX))
}

#[derive(serde::Deserialize)]
struct ValueBody {
    value: Option<String>,
}

/// `{"value":"v"}` → `Some(v)`; `{"value":null}` → `None`.
fn parse_value(body: &[u8]) -> std::result::Result<Option<Bytes>, AttemptError> {
    serde_json::from_slice::<ValueBody>(body)
        .map(|b| b.value.map(Bytes::from))
        .map_err(|e| AttemptError::Server(200, format!("unreadable body: {e}")))
}

/// A key read's 404 carries `{"value":null}`; a route 404 carries an error.
fn is_missing_value(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
        v.get("value").is_some_and(serde_json::Value::is_null) && v.get("error").is_none()
    })
}

/// Whether a failed attempt of a leader-bound call only shows that there is
/// no reachable leader right now: the cached leader refused the connection
/// (crashed: nothing was delivered) or the cluster answered that it has none.
/// Retrying such a call adds no load to a live leader, so it does not draw
/// on the retry budget (the deadline and the backoff still bound it).
fn waits_for_leader(needs_leader: bool, last: Option<&AttemptError>) -> bool {
    needs_leader && last.is_some_and(|e| matches!(e, AttemptError::Connect(_)) || e.is_leaderless())
}

/// The error a call surfaces once it ran out of time or retries.
fn final_error(needs_leader: bool, last: Option<AttemptError>, leader: Option<NodeId>) -> Error {
    match last {
        None => Error::Unavailable {
            last_error: "deadline passed before any attempt".into(),
        },
        Some(e) if needs_leader && (e.is_leaderless() || leader.is_none()) => Error::NoLeader,
        Some(e) if needs_leader && e.outcome_unknown() => Error::Timeout,
        Some(e) => Error::Unavailable {
            last_error: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_is_quantized() {
        assert_eq!(quantize_rtt(Duration::from_micros(4900)), Duration::ZERO);
        assert_eq!(
            quantize_rtt(Duration::from_millis(12)),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn leaderless_retries_wait_outside_the_budget() {
        let refused = AttemptError::Connect("refused".into());
        assert!(waits_for_leader(true, Some(&refused)));
        assert!(waits_for_leader(true, Some(&AttemptError::NoLeader)));
        assert!(waits_for_leader(
            true,
            Some(&AttemptError::LeaderUnreachable)
        ));
        // Eventual reads go elsewhere; delivered-but-failed attempts cost the leader.
        assert!(!waits_for_leader(false, Some(&refused)));
        assert!(!waits_for_leader(true, Some(&AttemptError::TimedOut)));
        assert!(!waits_for_leader(true, Some(&AttemptError::ServerTimeout)));
        assert!(!waits_for_leader(true, None));
    }

    #[test]
    fn final_errors() {
        assert_eq!(
            final_error(true, Some(AttemptError::NoLeader), Some(1)),
            Error::NoLeader
        );
        assert_eq!(
            final_error(true, Some(AttemptError::Connect("x".into())), None),
            Error::NoLeader
        );
        assert_eq!(
            final_error(true, Some(AttemptError::TimedOut), Some(1)),
            Error::Timeout
        );
        assert!(matches!(
            final_error(false, Some(AttemptError::Connect("refused".into())), Some(1)),
            Error::Unavailable { last_error } if last_error.contains("refused")
        ));
        assert!(is_missing_value(br#"{"value":null}"#));
        assert!(!is_missing_value(
            br#"{"error":"not_found","message":"no route"}"#
        ));
        assert_eq!(
            parse_value(br#"{"value":"v"}"#).unwrap(),
            Some(Bytes::from("v"))
        );
    }
}
