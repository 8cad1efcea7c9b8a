//! The health prober actor: re-admits ejected nodes.
//!
//! Passive ejection (consecutive request failures, see
//! [`crate::retry::HealthState`]) takes a node out of rotation; this actor,
//! on the client's I/O thread, periodically sends a cheap `GET /topology` to
//! every node whose ejection ran out (or that has recent failures) and feeds
//! the outcome back: a success re-admits the node before any real request
//! has to risk it, a failure ejects it again for longer.

use std::sync::Arc;
use std::time::Duration;

use awc::http::Method;
use tokio::time::Instant;

use crate::shared::Shared;
use crate::transport::Transport;

/// Longest wait for one probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// The actor loop: probe due nodes every `interval`, forever.
pub(crate) async fn run(shared: Arc<Shared>, transport: std::rc::Rc<Transport>) {
    let interval = shared.config.probe_interval;
    loop {
        tokio::time::sleep(interval).await;
        probe_due(&shared, &transport).await;
    }
}

/// Probes every node that wants it, one after another.
async fn probe_due(shared: &Shared, transport: &Transport) {
    let now = Instant::now();
    let view = shared.cache.members();
    for member in &view.members {
        let (Some(base), Some(state)) = (member.api_url.as_deref(), shared.registry.get(member.id))
        else {
            continue;
        };
        if !state.wants_probe(now) {
            continue;
        }
        let url = format!("{base}/topology");
        match transport.send(Method::GET, &url, None, PROBE_TIMEOUT).await {
            Ok(reply) if reply.status < 500 => {
                tracing::debug!(node = member.id, "probe ok: node re-admitted");
                state.on_probe_success();
            }
            Ok(reply) => {
                tracing::debug!(node = member.id, status = reply.status, "probe refused");
                state.on_probe_failure(Instant::now());
            }
            Err(e) => {
                if state.on_probe_failure(Instant::now()) {
                    tracing::debug!(node = member.id, error = %e, "probe failed: ejected");
                }
            }
        }
    }
}
