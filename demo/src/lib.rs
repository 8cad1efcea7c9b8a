//! The failover demo and the routing benchmark.
//!
//! - [`failover`]: `demo` (no subcommand) — a live view of client-side failover.
//! - [`bench`]: `demo bench` — smart client vs HAProxy vs a pinned follower.

pub mod bench;
pub mod failover;
