//! Learner management tests for ReplicationHandler
//!
//! Tests verify learner replication and progress tracking:
//! - D1: Mixed voters + learners scenarios
//! - D2: Pure learner cluster scenarios

/// Voter and learner mixed with voter success (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_voter_learner_mixed_voter_success() {
    // TODO: Implement test
}

/// Multiple voters and learner (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_multiple_voters_learner() {
    // TODO: Implement test
}

/// Learner success but voter fails (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_learner_success_voter_fails() {
    // TODO: Implement test
}

/// Multiple learners tracking (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_multiple_learners_tracking() {
    // TODO: Implement test
}

/// Pure learner cluster (TODO).
#[tokio::test]
#[ignore = "TODO: Implement test"]
async fn test_pure_learner_cluster() {
    // TODO: Implement test
}
