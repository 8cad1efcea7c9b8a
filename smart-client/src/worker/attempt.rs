//! One attempt: one HTTP exchange with one node, and what the client learns
//! from it (leader hints, RTT, health, counters).

use std::time::Duration;

use awc::http::Method;
use bytes::Bytes;
use tokio::time::Instant;

use super::decode::{is_missing_value, parse_value};
use super::routing::Target;
use super::Worker;
use crate::error::{classify, AttemptError};
use crate::request::{Answer, Idempotency, Op};
use crate::stats::Counters;

impl Worker {
    /// One attempt on one node, with bookkeeping.
    pub(super) async fn attempt(
        &self,
        op: Op,
        target: &Target,
        path: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> std::result::Result<Answer, AttemptError> {
        let shared = &*self.shared;
        let state = match &target.state {
            Some(state) => state.clone(),
            None => shared.registry.get_or_insert(target.id),
        };
        let _in_flight = state.begin();
        let method = match op {
            Op::Put => Method::PUT,
            Op::Cas => Method::POST,
            Op::Get(_) | Op::List(_) => Method::GET,
            Op::Delete => Method::DELETE,
        };
        let mut url = String::with_capacity(target.base.len() + path.len());
        url.push_str(&target.base);
        url.push_str(path);
        let started = Instant::now();
        let send = self.transport.send(method, &url, body, timeout);
        let result = if op.operation().requires_leader()
            && op.idempotency(shared.config.retry_unknown_writes) == Idempotency::Idempotent
        {
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
                let rtt = started.elapsed();
                state.on_success(rtt);
                crate::metrics::attempt(&state.label, rtt);
                if hints.forwarded_to.is_some() && matches!(op, Op::Put | Op::Delete | Op::Cas) {
                    Counters::bump(&shared.counters.forwarded_writes);
                }
                let value = match op {
                    Op::Get(_) => parse_value(&reply.body)?,
                    // Decoded by the caller (`SmartClient::scan_prefix`).
                    Op::List(_) => Some(reply.body),
                    Op::Put | Op::Delete | Op::Cas => None,
                };
                Ok(Answer {
                    value,
                    index: hints.index,
                })
            }
            404 if matches!(op, Op::Get(_)) && is_missing_value(&reply.body) => {
                let rtt = started.elapsed();
                state.on_success(rtt);
                crate::metrics::attempt(&state.label, rtt);
                Ok(Answer {
                    value: None,
                    index: hints.index,
                })
            }
            status => {
                let e = classify(status, &reply.body);
                // A node behind the session's index is healthy, just late.
                if status >= 500 && e != AttemptError::Behind {
                    state
                        .errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}
