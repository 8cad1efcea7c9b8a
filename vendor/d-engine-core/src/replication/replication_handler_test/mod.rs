//! Replication Handler Test Module
//!
//! This module contains comprehensive unit tests for `ReplicationHandler` and its
//! interaction with leader state batch processing. Tests are organized by functional
//! domains for better maintainability.
//!
//! ## Test Organization
//!
//! - `basic_scenarios_test`: Cluster topology tests (single/multi-node)
//! - `quorum_calculation_test`: Quorum achievement and failure scenarios
//! - `command_handling_test`: Command processing and batching
//! - `learner_management_test`: Learner replication and progress tracking
//! - `index_tracking_test`: Match index updates and conflict handling
//! - `edge_cases_test`: Network partitions, timeouts, large batches
//! - `log_retrieval_test`: Log synchronization and retrieval logic
//! - `helper_functions_test`: Internal helper function unit tests

#[cfg(test)]
mod basic_scenarios_test;

#[cfg(test)]
mod command_handling_test;

#[cfg(test)]
mod edge_cases_test;

#[cfg(test)]
mod helper_functions_test;

#[cfg(test)]
mod index_tracking_test;

#[cfg(test)]
mod learner_management_test;

#[cfg(test)]
mod log_retrieval_test;

#[cfg(test)]
mod quorum_calculation_test;

#[cfg(test)]
mod snapshot_trigger_test;
