//! Where calls run. The client's I/O thread is an actix system (current-thread
//! tokio runtime plus `LocalSet`) that owns a `!Send` awc client, runs the
//! refresher and prober actors, and executes each [`Call`] sent to it as a
//! local task. A call made on an actix system thread (an actix-web handler,
//! an `actix_rt` main) runs on that thread instead, with a worker and awc
//! client of its own for this client ([`run_here`]): no hop to the I/O thread
//! and back (two cross-thread wake-ups per call).
//!
//! * this file: the thread, the actors' start-up and the call loop;
//! * `bootstrap`: the first topology, from the seeds;
//! * `execute`: one call's retry loop (deadline, budget, backoff, redirects)
//!   and its final error;
//! * `routing`: which node an attempt goes to;
//! * `attempt`: one HTTP exchange with one node, with its bookkeeping;
//! * `decode`: reading a reply body.

mod attempt;
mod bootstrap;
mod decode;
mod execute;
mod routing;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::request::{Answer, Call, Op};
use crate::selection::Selector;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::transport::Transport;
use bootstrap::bootstrap;

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

    let worker = Rc::new(Worker::new(shared, transport));
    while let Some(call) = calls.recv().await {
        actix_rt::spawn(worker.clone().serve(call));
    }
    tracing::debug!("last client handle dropped: I/O thread stops");
}

thread_local! {
    /// Workers of the clients called on this (actix system) thread.
    static LOCAL_WORKERS: RefCell<Vec<Rc<Worker>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `call` on the calling thread when it is an actix system thread (awc
/// needs its `LocalSet`), as a local task with this thread's worker for the
/// client; gives the call back otherwise, for the I/O thread. The caller only
/// awaits the call's oneshot reply, so its future stays `Send`.
pub(crate) fn run_here(shared: &Arc<Shared>, call: Call) -> Option<Call> {
    let Some(worker) = local_worker(shared) else {
        return Some(call);
    };
    Counters::bump(&shared.counters.calls_on_caller_thread);
    actix_rt::spawn(worker.serve(call));
    None
}

/// This thread's worker for the client of `shared`, made on first use;
/// `None` off actix system threads.
pub(crate) fn local_worker(shared: &Arc<Shared>) -> Option<Rc<Worker>> {
    actix_rt::Arbiter::try_current()?;
    Some(LOCAL_WORKERS.with(|workers| {
        let mut workers = workers.borrow_mut();
        workers.retain(|w| !w.shared.is_closed());
        if let Some(w) = workers.iter().find(|w| Arc::ptr_eq(&w.shared, shared)) {
            return w.clone();
        }
        let transport = Rc::new(Transport::new(shared.config.max_connections));
        let w = Rc::new(Worker::new(shared.clone(), transport));
        workers.push(w.clone());
        w
    }))
}

/// Per-thread executor of calls.
pub(crate) struct Worker {
    shared: Arc<Shared>,
    transport: Rc<Transport>,
    /// Scratch buffers for selection (single thread: borrowed briefly, never
    /// across an await).
    selector: RefCell<Selector>,
    rng: RefCell<SmallRng>,
    /// What selection needs of each member that changes only with the
    /// topology view or the leader (see `routing::Members`).
    members: RefCell<Option<routing::Members>>,
}

impl Worker {
    fn new(shared: Arc<Shared>, transport: Rc<Transport>) -> Self {
        Self {
            shared,
            transport,
            selector: RefCell::new(Selector::with_capacity(8)),
            rng: RefCell::new(SmallRng::from_entropy()),
            members: RefCell::new(None),
        }
    }

    /// Executes one call and sends its outcome to the caller.
    async fn serve(self: Rc<Self>, call: Call) {
        let Call {
            op,
            path,
            body,
            key_len,
            reply,
        } = call;
        let _ = reply.send(self.run(op, &path, body, key_len).await);
    }

    /// Executes one call on this thread and returns its outcome.
    pub(crate) async fn run(
        &self,
        op: Op,
        path: &str,
        body: Option<Bytes>,
        key_len: usize,
    ) -> Result<Answer> {
        let span = tracing::debug_span!("kv_request", op = op.name(), key_len);
        let result = self.execute(op, path, body).instrument(span).await;
        if result.is_err() {
            Counters::bump(&self.shared.counters.errors);
        }
        crate::metrics::call(op.name(), result.is_ok());
        result
    }
}
