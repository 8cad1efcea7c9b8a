//! State shared by every HTTP worker (all `Send + Sync`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use d_engine::{EmbeddedEngine, FileStateMachine};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;

use crate::cluster_view::ClusterView;
use crate::config::NodeSettings;
use crate::disk::{DiskHealth, DiskState};
use crate::error::{ApiError, ApiResult};
use crate::membership::RemovedFlag;
use crate::progress::Progress;
use crate::topology::NodeView;
use crate::validate::Limits;

/// Shared handler state, one instance per node behind `web::Data`.
pub struct AppState {
    /// This node's Raft id.
    pub node_id: u32,
    /// The embedded Raft engine.
    pub engine: Arc<EmbeddedEngine>,
    /// Latest cluster view published by the [`ClusterView`] actor.
    pub topology: watch::Receiver<Arc<NodeView>>,
    /// The actor itself, to ask for registry refreshes.
    pub view: Addr<ClusterView>,
    /// `[node]` settings.
    pub settings: NodeSettings,
    /// Key/value/body limits derived from the settings.
    pub limits: Limits,
    /// Admin bearer token, if configured.
    pub admin_token: Option<String>,
    /// Prometheus renderer for `/metrics`.
    pub metrics: PrometheusHandle,
    /// Applied and commit indexes, this node's and the other members'.
    pub progress: Arc<Progress>,
    /// Set once this node has been removed from the cluster.
    pub removed: Arc<RemovedFlag>,
    /// Data directory (where the removed state is stored).
    pub data_dir: PathBuf,
    /// The engine's state machine, read directly by eventual reads.
    pub state_machine: Arc<FileStateMachine>,
    /// Whether keys with a TTL are on (`[raft.state_machine.lease] enabled`).
    pub ttl_enabled: bool,
    /// The state of this node's disk (full, failed), from the storage wrapper.
    pub disk: Arc<DiskHealth>,
}

impl AppState {
    /// The latest topology snapshot (cheap: an `Arc` clone).
    pub fn topology(&self) -> Arc<NodeView> {
        self.topology.borrow().clone()
    }

    /// Deadline for reading a request body.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.request_timeout_ms)
    }

    /// `Ok` when this node may propose a write: 507 `storage_full` while its
    /// disk is full, 503 `storage_failed` once its storage failed (nothing
    /// proposed in either case).
    pub fn may_propose(&self) -> ApiResult<()> {
        match self.disk.state() {
            DiskState::Ok => Ok(()),
            DiskState::Full(reason) => Err(ApiError::StorageFull(format!(
                "the disk of node {} (the leader) is full ({reason}); nothing was written; \
                 writes resume once space is freed",
                self.node_id
            ))),
            DiskState::Failed(reason) => Err(self.storage_failed(reason, false)),
        }
    }

    /// The 503 `storage_failed` answer of this node.
    pub fn storage_failed(&self, reason: String, proposed: bool) -> ApiError {
        ApiError::StorageFailed {
            reason: format!(
                "the storage of node {} failed ({reason}); it acknowledges no writes until restarted",
                self.node_id
            ),
            proposed,
        }
    }

    /// Engine call timeout as reported in errors.
    pub fn engine_timeout_ms(&self) -> u64 {
        self.engine.client().timeout().as_millis() as u64
    }
}

/// Per-worker HTTP client used to forward requests to the leader (awc is `!Send`,
/// so each worker thread owns one, with its own connection pool).
pub struct Forwarder {
    /// The client.
    pub client: awc::Client,
}
