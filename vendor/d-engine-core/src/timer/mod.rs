mod election_timer;
mod replication_timer;

pub use election_timer::*;
pub use replication_timer::*;

#[cfg(test)]
mod timer_test;
