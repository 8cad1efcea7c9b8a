mod buffered_raft_log;
mod lease;
mod raft_log;
mod snapshot_path_manager;
mod state_machine;
mod storage_engine;

pub use buffered_raft_log::*;
pub use lease::*;
#[doc(hidden)]
pub use raft_log::*;
pub(crate) use snapshot_path_manager::*;
pub use state_machine::*;
pub use storage_engine::*;
#[cfg(test)]
mod buffered_raft_log_test;
#[cfg(test)]
mod snapshot_path_manager_test;
#[cfg(any(test, feature = "__test_support"))]
#[doc(hidden)]
pub mod state_machine_test;

#[cfg(any(test, feature = "__test_support"))]
#[doc(hidden)]
pub mod storage_engine_test;
