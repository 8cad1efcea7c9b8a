#[cfg(test)]
mod client_read_test;

#[cfg(test)]
mod client_write_test;

#[cfg(test)]
mod event_handling_test;

#[cfg(test)]
mod snapshot_test;

#[cfg(test)]
mod replication_test;

#[cfg(test)]
mod state_management_test;

#[cfg(test)]
mod membership_change_test;

#[cfg(test)]
mod cluster_metadata_test;

#[cfg(test)]
mod fatal_error_test;

#[cfg(test)]
mod backpressure_test;

#[cfg(test)]
mod buffer_cleanup_test;

#[cfg(test)]
mod commit_index_test;

#[cfg(test)]
mod worker_lifecycle_test;

#[cfg(test)]
mod lease_refresh_on_log_flushed_test;

#[cfg(test)]
mod deadline_test;

#[cfg(test)]
mod pending_commit_actions_test;

#[cfg(test)]
mod snapshot_worker_test;

#[cfg(test)]
mod pending_lease_reads_test;

#[cfg(test)]
mod single_voter_commit_test;

#[cfg(test)]
mod stale_learner_deadline_test;

#[cfg(test)]
mod pending_reads_test;
