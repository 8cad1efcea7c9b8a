//! Running a node: engine, cluster view, registrar and the two HTTP servers,
//! on listeners the caller binds, until the shutdown future resolves.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError};

use crate::cluster_view::ClusterView;
use crate::config::{NodeConfig, NodeSettings};
use crate::disk::DiskState;
use crate::error::{ApiError, NodeError};
use crate::membership::{self, RemovedFlag};
use crate::progress::{self, Progress};
use crate::registry::{self, MemberRecord};
use crate::routes;
use crate::state::{AppState, Forwarder};
use crate::telemetry::{self, RequestTimer};
use crate::validate::Limits;

/// The two sockets a node serves on.
pub struct Listeners {
    /// HTTP API.
    pub api: TcpListener,
    /// Health checks for balancers.
    pub health: TcpListener,
}

impl Listeners {
    /// Bind the addresses from the settings.
    pub fn bind(settings: &NodeSettings) -> std::io::Result<Self> {
        Ok(Self {
            api: TcpListener::bind(settings.api_addr)?,
            health: TcpListener::bind(settings.health_addr)?,
        })
    }
}

/// Run a node on `listeners` until `shutdown` resolves, then drain in-flight
/// requests, stop the engine (which flushes its storage) and return.
///
/// Must run inside an actix `System` whose tokio runtime is multi-threaded
/// (see [`serve`]), so d-engine's tasks do not starve behind HTTP workers.
pub async fn run(
    mut cfg: NodeConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    if let Some(reason) = membership::load_removed(&cfg.data_dir) {
        return run_removed(cfg, listeners, shutdown, reason).await;
    }
    if let Some(stored) = membership::load(&cfg.data_dir) {
        tracing::info!(
            index = stored.index,
            members = ?stored.members.iter().map(|m| m.id).collect::<Vec<_>>(),
            "starting from the stored membership"
        );
        cfg.adopt_membership(&stored);
    }
    let metrics = telemetry::install_recorder();
    let crate::engine::Started {
        engine,
        state_machine,
        ttl_enabled,
        disk,
    } = crate::engine::start(&cfg).await?;
    let storage_watch = actix::spawn(stop_raft_on_storage_failure(engine.clone(), disk.clone()));
    let removed = Arc::new(RemovedFlag::default());
    let keeper = actix::spawn(membership::run_keeper(
        engine.clone(),
        cfg.data_dir.clone(),
        removed.clone(),
    ));
    let progress = Arc::new(Progress::new(cfg.node_id, state_machine.clone()));
    let initial = cfg
        .initial_cluster
        .iter()
        .map(|m| (m.id, m.raft_addr.clone()))
        .collect();
    let (view, topology) = ClusterView::new(engine.clone(), initial);
    let view = view.start();
    let admin_token = cfg.admin_token();
    let me = MemberRecord {
        id: cfg.node_id,
        api_url: cfg.api_url(),
        health_url: cfg.health_url(),
        raft_addr: cfg.raft_addr.clone(),
        labels: cfg.settings.labels.clone(),
        weight: Some(cfg.settings.weight),
    };
    let registrar = actix::spawn(registry::run_registrar(
        engine.clone(),
        topology.clone(),
        me,
        admin_token.clone(),
    ));
    let poller = actix::spawn(progress::run_poller(progress.clone(), topology.clone()));
    let settings = cfg.settings.clone();
    let state = web::Data::new(AppState {
        ttl_enabled,
        node_id: cfg.node_id,
        engine: engine.clone(),
        topology,
        view,
        limits: Limits::from(&settings),
        settings: settings.clone(),
        admin_token,
        metrics,
        progress,
        removed,
        data_dir: cfg.data_dir.clone(),
        state_machine,
        disk,
    });

    let api_state = state.clone();
    let description = web::Data::new(routes::openapi::Description(routes::openapi::build(
        &state.limits,
    )));
    let forward_timeout = Duration::from_millis(settings.forward_timeout_ms);
    let mut api = HttpServer::new(move || {
        App::new()
            .app_data(api_state.clone())
            .app_data(description.clone())
            .app_data(web::Data::new(Forwarder {
                client: awc::Client::builder()
                    .timeout(forward_timeout)
                    .max_http_version(awc::http::Version::HTTP_11)
                    .finish(),
            }))
            .wrap_fn(timed_unless_removed)
            .configure(routes::kv::configure)
            .configure(routes::watch::configure)
            .configure(routes::cluster::configure)
            .configure(routes::admin::configure)
            .configure(routes::openapi::configure)
            .default_service(web::to(routes::not_found))
    })
    .client_request_timeout(Duration::from_millis(settings.request_timeout_ms))
    .client_disconnect_timeout(Duration::from_secs(1))
    .shutdown_timeout(settings.shutdown_timeout_secs)
    .disable_signals();
    if settings.workers > 0 {
        api = api.workers(settings.workers);
    }
    let api = api.listen(listeners.api)?.run();

    let health_state = state.clone();
    let health = HttpServer::new(move || {
        App::new()
            .app_data(health_state.clone())
            .wrap_fn(timed_unless_removed)
            .configure(routes::cluster::health)
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .client_request_timeout(Duration::from_millis(settings.request_timeout_ms))
    .shutdown_timeout(settings.shutdown_timeout_secs)
    .disable_signals()
    .listen(listeners.health)?
    .run();

    let (api_handle, health_handle) = (api.handle(), health.handle());
    let mut api_task = actix::spawn(api);
    let health_task = actix::spawn(health);
    tracing::info!(
        node = cfg.node_id,
        api = %settings.api_addr,
        health = %settings.health_addr,
        raft = %cfg.raft_addr,
        "kv-node serving"
    );

    tokio::select! {
        _ = shutdown => tracing::info!("shutdown requested"),
        res = &mut api_task => tracing::error!(?res, "API server exited on its own"),
    }
    registrar.abort();
    poller.abort();
    keeper.abort();
    storage_watch.abort();
    // Stop accepting, let in-flight requests finish (up to shutdown_timeout), then stop Raft.
    health_handle.stop(true).await;
    api_handle.stop(true).await;
    let _ = health_task.await;
    engine
        .stop()
        .await
        .map_err(|e| NodeError::Engine(format!("stop: {e}")))?;
    tracing::info!(node = cfg.node_id, "kv-node stopped");
    Ok(())
}

/// Middleware of both servers: times every request (`RequestTimer`) and, once
/// this node has been removed or its storage failed, answers [`refusal`]
/// instead of calling the route.
fn timed_unless_removed<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse, Error = actix_web::Error>,
{
    let timer = RequestTimer::start(&req);
    let call = match refusal(&req) {
        None => Ok(srv.call(req)),
        Some(resp) => Err(req.into_response(resp)),
    };
    async move {
        match call {
            Ok(fut) => Ok(timer.finish(fut.await?)),
            Err(refused) => Ok(timer.finish(refused)),
        }
    }
}

/// Once this node has been removed, everything but `/metrics`, `/admin/*` and
/// `/internal/removed` answers 503 `removed`: it must not serve data, health
/// checks or a topology as if it were a member. Once its storage failed,
/// everything but `/metrics` answers 503 `storage_failed`: its Raft engine is
/// stopped and what it holds may be older than what it acknowledged.
fn refusal(req: &ServiceRequest) -> Option<HttpResponse> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let path = req.path();
    if let Some(reason) = state.removed.get() {
        if path == "/metrics" || path.starts_with("/admin/") || path == "/internal/removed" {
            return None;
        }
        return Some(ApiError::Removed(reason.to_string()).error_response());
    }
    if let DiskState::Failed(reason) = state.disk.state() {
        if path == "/metrics" {
            return None;
        }
        return Some(state.storage_failed(reason, false).error_response());
    }
    None
}

/// Stops the Raft engine once the disk has failed, so that this node neither
/// leads, votes nor acknowledges entries it may not hold (the cluster elects
/// another leader).
async fn stop_raft_on_storage_failure(
    engine: Arc<d_engine::EmbeddedEngine>,
    disk: Arc<crate::disk::DiskHealth>,
) {
    disk.wait_failed().await;
    if let Err(e) = engine.stop().await {
        tracing::warn!(error = %e, "stopping the Raft engine after the storage failure");
    }
}

/// A node started after its removal: no engine, every request answers 503
/// `removed` until `shutdown` resolves.
async fn run_removed(
    cfg: NodeConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
    reason: String,
) -> Result<(), NodeError> {
    tracing::warn!(node = cfg.node_id, %reason, "removed from the cluster: serving 503 removed only");
    let reason = Arc::new(reason);
    let app = move || {
        let reason = reason.clone();
        App::new().default_service(web::to(move || {
            let reason = reason.clone();
            async move { ApiError::Removed(reason.to_string()).error_response() }
        }))
    };
    let api = HttpServer::new(app.clone())
        .workers(1)
        .disable_signals()
        .listen(listeners.api)?
        .run();
    let health = HttpServer::new(app)
        .workers(1)
        .disable_signals()
        .listen(listeners.health)?
        .run();
    let (api_handle, health_handle) = (api.handle(), health.handle());
    let api_task = actix::spawn(api);
    let health_task = actix::spawn(health);
    shutdown.await;
    api_handle.stop(true).await;
    health_handle.stop(true).await;
    let _ = api_task.await;
    let _ = health_task.await;
    Ok(())
}

/// Resolve on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Bind the configured listeners and serve until SIGTERM/SIGINT, on an actix
/// system backed by a multi-threaded tokio runtime.
pub fn serve(cfg: NodeConfig) -> Result<(), NodeError> {
    let listeners = Listeners::bind(&cfg.settings)?;
    actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("kv-node-rt")
            .build()
            .expect("tokio runtime")
    })
    .block_on(run(cfg, listeners, shutdown_signal()))
}

/// Set up `tracing`: level from `RUST_LOG`, else `LOG_LEVEL`, else `warn`.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("LOG_LEVEL").ok())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
