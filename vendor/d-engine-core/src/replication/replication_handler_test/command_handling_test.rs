//! Command handling tests for ReplicationHandler
//!
//! Tests verify command processing and batching scenarios:
//! - C1: Commands with content (single, multiple, large batches)
//! - C2: Empty commands (heartbeat/noop scenarios)

/// Single command replication (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_single_command_replication() {
    // TODO: Implement test
}

/// Multiple commands replication (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_multiple_commands_replication() {
    // TODO: Implement test
}

/// Large batch splitting (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_large_batch_splitting() {
    // TODO: Implement test
}

/// Empty commands on single node (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_empty_commands_single_node() {
    // TODO: Implement test
}

/// Empty commands on multi-node cluster (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_empty_commands_multi_node() {
    // TODO: Implement test
}

/// Heartbeat with peer success (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_heartbeat_peer_success() {
    // TODO: Implement test
}
