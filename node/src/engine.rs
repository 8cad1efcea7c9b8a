//! Starting d-engine with its file storage (no RocksDB, no C++ build), and
//! turning its client errors into API errors.

use std::sync::Arc;

use d_engine::{ClientApiError, EmbeddedEngine, ErrorCode, FileStateMachine, FileStorageEngine};

use crate::config::NodeConfig;
use crate::disk::{DiskHealth, GuardedStateMachine, GuardedStorage};
use crate::error::{ApiError, NodeError};

/// A started engine and what the node keeps of its parts.
pub struct Started {
    /// The engine (never cloned: see [`start`]).
    pub engine: Arc<EmbeddedEngine>,
    /// Its state machine, read directly by eventual reads.
    pub state_machine: Arc<FileStateMachine>,
    /// Whether keys with a TTL are on.
    pub ttl_enabled: bool,
    /// The state of the disk under the Raft log, fed by the storage wrapper.
    pub disk: Arc<DiskHealth>,
}

/// Start the embedded engine on the current (multi-threaded) tokio runtime.
///
/// The Raft log lives in `{data_dir}/storage`, the key-value state machine in
/// `{data_dir}/state_machine`; d-engine reads the rest of its settings from the
/// effective config file written into the data directory.
/// The engine is returned in an `Arc`: d-engine 0.2.4 logs an error whenever
/// *any clone* of `EmbeddedEngine` is dropped while running, so we never clone it.
/// The state machine is returned too, so the node can read its applied index,
/// and whether keys with a TTL are on (d-engine fails to *apply* a TTL write
/// when they are off, so the node must refuse one before proposing it).
/// The log storage is wrapped in [`GuardedStorage`], which counts fsyncs and
/// reports disk errors in the returned [`DiskHealth`].
pub async fn start(cfg: &NodeConfig) -> Result<Started, NodeError> {
    // d-engine 0.2.4 logs a Raft listener that cannot bind (`AddrInUse`)
    // and runs on without it, unreachable to its peers and starting
    // elections nobody hears: refuse to start instead. (A probe: the port
    // could still be taken between it and the engine's bind.)
    std::net::TcpListener::bind(&cfg.raft_addr).map_err(|e| {
        NodeError::Engine(format!(
            "cannot listen on the Raft address {}: {e}",
            cfg.raft_addr
        ))
    })?;
    let config_path = cfg.write_effective()?;
    let storage_dir = cfg.data_dir.join("storage");
    let storage = FileStorageEngine::new(storage_dir.clone())
        .map_err(|e| NodeError::Engine(format!("log storage in {}: {e}", storage_dir.display())))?;
    let disk = Arc::new(DiskHealth::default());
    let storage = GuardedStorage::new(&storage, storage_dir, disk.clone());
    let sm_dir = cfg.data_dir.join("state_machine");
    let mut state_machine = FileStateMachine::new(sm_dir.clone())
        .await
        .map_err(|e| NodeError::Engine(format!("state machine in {}: {e}", sm_dir.display())))?;
    let path = config_path.to_string_lossy().to_string();
    // With a custom state machine d-engine does not inject the lease manager
    // that keys with a TTL need (it does for the state machines it builds).
    let engine_config = d_engine_core::RaftNodeConfig::new()
        .and_then(|c| c.with_override_config(&path))
        .map_err(|e| NodeError::Engine(format!("engine config: {e}")))?;
    let lease = &engine_config.raft.state_machine.lease;
    let ttl_enabled = lease.enabled;
    if lease.enabled {
        state_machine.set_lease(Arc::new(d_engine::storage::DefaultLease::new(
            lease.clone(),
        )));
    }
    let state_machine = Arc::new(state_machine);
    let guarded = GuardedStateMachine::new(state_machine.clone(), sm_dir, disk.clone());
    let engine = EmbeddedEngine::start_custom(Arc::new(storage), Arc::new(guarded), Some(&path))
        .await
        .map_err(|e| NodeError::Engine(e.to_string()))?;
    Ok(Started {
        engine: Arc::new(engine),
        state_machine,
        ttl_enabled,
        disk,
    })
}

/// What a failed local engine call means for the request.
#[derive(Debug)]
pub enum EngineFailure {
    /// This node is not (or no longer) the leader: forward or report.
    NotLeader,
    /// Anything else, already mapped to an answer.
    Api(ApiError),
}

/// Classify an engine error. In embedded mode a follower's rejection arrives as
/// a generic "RPC error: Not leader", not as `ErrorCode::NotLeader`, so both are
/// recognised.
pub fn classify(err: ClientApiError, timeout_ms: u64) -> EngineFailure {
    let code = err.code();
    let message = err.to_string();
    let lower = message.to_ascii_lowercase();
    if code == ErrorCode::NotLeader
        || code == ErrorCode::LeaderChanged
        || lower.contains("not leader")
    {
        return EngineFailure::NotLeader;
    }
    // d-engine answers writes already in the leader's log with these codes
    // when it steps down or sees a higher term: a new leader may still
    // commit them, so neither "not leader" (forwarding would write twice)
    // nor "unavailable" is true.
    if matches!(code, ErrorCode::ProposeFailed | ErrorCode::TermOutdated)
        || lower.contains("proposefailed")
        || lower.contains("termoutdated")
    {
        return EngineFailure::Api(ApiError::OutcomeUnknown(format!(
            "leadership changed while the write was in this node's log ({message})"
        )));
    }
    if lower.contains("timed out") || lower.contains("timeout") {
        return EngineFailure::Api(ApiError::Timeout(timeout_ms));
    }
    if lower.contains("channel closed") {
        return EngineFailure::Api(ApiError::Unavailable("node is shutting down".into()));
    }
    EngineFailure::Api(ApiError::Unavailable(format!("engine refused: {message}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn business(message: &str) -> ClientApiError {
        ClientApiError::Business {
            code: ErrorCode::Uncategorized,
            message: message.into(),
            required_action: None,
        }
    }

    fn code(err: ClientApiError) -> &'static str {
        match classify(err, 3000) {
            EngineFailure::NotLeader => "forward",
            EngineFailure::Api(e) => e.code(),
        }
    }

    #[test]
    fn writes_in_the_log_of_a_deposed_leader_are_outcome_unknown() {
        // How EmbeddedClient::put reports them (map_error_response).
        assert_eq!(
            code(business("Error code: ProposeFailed")),
            "outcome_unknown"
        );
        assert_eq!(
            code(business("Error code: TermOutdated")),
            "outcome_unknown"
        );
        // Still in the propose buffer when leadership went: never appended.
        assert_eq!(code(business("RPC error: Not leader")), "forward");
        assert_eq!(
            code(business("RPC error: write request timeout")),
            "timeout"
        );
    }
}
