mod membership_guard;
mod membership_snapshot;
mod raft_membership;
pub(crate) use membership_guard::*;
pub use membership_snapshot::*;
pub use raft_membership::*;

#[cfg(test)]
mod membership_guard_test;
#[cfg(test)]
mod raft_membership_test;
