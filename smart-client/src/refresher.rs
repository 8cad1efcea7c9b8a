//! The topology refresher actor: keeps the cached view current.
//!
//! It runs on the client's I/O thread and wakes up either every
//! `refresh_interval` or when a request asks for a refresh (a connection
//! error, `no_leader`, an unknown leader). Requests never fetch `/topology`
//! themselves; they call [`RefreshTrigger::request`] (`refresh_trigger`),
//! which stores at most one pending wake-up in a `Notify` permit. However
//! many requests fail at once, the refresher runs one refresh, plus at most
//! one more if triggers arrived while it was running: no stampede.
//!
//! Polling every 150 ms by default is cheap: one small JSON GET on a pooled
//! keep-alive connection to one node (a few hundred bytes, tens of
//! microseconds of server time), about 7 requests per second per client.
//! It bounds how long an idle client keeps a deposed leader (election
//! detection on the nodes takes about a second, so 150 ms adds little),
//! and new or removed members show up without any request failing first.
//! Each answered poll is also a round-trip sample for the node that answered,
//! so a node that one slow answer pushed out of the latency window (e.g. a
//! session read it held until it caught up) is measured again and returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use awc::http::Method;
use tokio::time::Instant;

use crate::refresh_trigger::RefreshTrigger;
use crate::selection::NodeId;
use crate::shared::Shared;
use crate::topology::parse_topology;
use crate::transport::Transport;

/// The actor loop: run `refresh` every `interval`, or sooner when triggered.
/// Generic over the refresh so the coalescing is tested without a network.
pub(crate) async fn run_loop<F, Fut>(
    trigger: Arc<RefreshTrigger>,
    interval: Duration,
    mut refresh: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = trigger.requested() => {}
        }
        refresh().await;
        trigger.mark_completed();
    }
}

/// Fetches `/topology` from one node after another until one answers, and
/// installs it. Order: nodes that look healthy and are not the leader first
/// (a paused leader would stall the poll; followers know about elections
/// first), rotating so the load spreads; then the rest; then the seeds.
pub(crate) async fn refresh_once(shared: &Shared, transport: &Transport, rotation: usize) {
    let view = shared.cache.members();
    let (_, leader) = shared.cache.leader();
    let now = Instant::now();
    let mut targets: Vec<(u8, NodeId, &str)> = view
        .members
        .iter()
        .filter_map(|m| {
            let url = m.api_url.as_deref()?;
            let sick = shared
                .registry
                .get(m.id)
                .is_some_and(|s| s.is_ejected(now) || s.wants_probe(now));
            let rank = u8::from(sick) * 2 + u8::from(leader == Some(m.id));
            Some((rank, m.id, url))
        })
        .collect();
    if !targets.is_empty() {
        let n = targets.len();
        targets.rotate_left(rotation % n);
    }
    targets.sort_by_key(|t| t.0);
    let timeout = shared
        .config
        .attempt_timeout
        .min(Duration::from_millis(500));
    let urls = targets
        .iter()
        .map(|t| (Some(t.1), t.2))
        .chain(shared.config.seeds.iter().map(|s| (None, s.as_str())));
    for (id, base) in urls {
        let url = format!("{base}/topology");
        let started = Instant::now();
        match transport.send(Method::GET, &url, None, timeout).await {
            Ok(reply) if reply.status == 200 => match parse_topology(&reply.body) {
                Ok(topo) => {
                    // The poll is also an RTT sample (as a MongoDB driver's
                    // monitor measures it): a node kept out of the latency
                    // window by one slow answer gets no requests, so only
                    // these samples bring its average back.
                    if let Some(state) = id.and_then(|id| shared.registry.get(id)) {
                        state.rtt.observe(started.elapsed());
                    }
                    shared.install_topology(topo);
                    return;
                }
                Err(e) => tracing::debug!(%url, error = %e, "bad topology body"),
            },
            Ok(reply) => tracing::debug!(%url, status = reply.status, "topology refused"),
            Err(e) => tracing::debug!(%url, error = %e, "topology fetch failed"),
        }
    }
    tracing::debug!("no node answered the topology refresh");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[tokio::test(start_paused = true)]
    async fn concurrent_triggers_coalesce_into_one_refresh() {
        let trigger = Arc::new(RefreshTrigger::default());
        let runs = Rc::new(Cell::new(0u32));
        let local = tokio::task::LocalSet::new();
        let r = runs.clone();
        local.spawn_local(run_loop(
            trigger.clone(),
            Duration::from_secs(3600),
            move || {
                let r = r.clone();
                async move {
                    r.set(r.get() + 1);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        ));
        local
            .run_until(async {
                // A burst of 100 failing requests asks for a refresh.
                for _ in 0..100 {
                    trigger.request();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                assert_eq!(runs.get(), 1, "one refresh for the burst");
                // More triggers while it runs: exactly one follow-up.
                for _ in 0..100 {
                    trigger.request();
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                assert_eq!(runs.get(), 2);
                assert_eq!(trigger.completed(), 2);
                // Idle: nothing until the interval elapses.
                tokio::time::sleep(Duration::from_secs(3599)).await;
                assert_eq!(runs.get(), 2);
                tokio::time::sleep(Duration::from_secs(2)).await;
                assert_eq!(runs.get(), 3, "periodic refresh");
            })
            .await;
    }
}
