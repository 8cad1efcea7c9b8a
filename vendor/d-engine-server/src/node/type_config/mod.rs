mod raft_type_config;

#[doc(hidden)]
pub use raft_type_config::*;
