//! Topology-aware client for the Raft-replicated KV service.
//!
//! The client decides, per request, which cluster node receives it: writes
//! and strong reads go to the leader, eventual reads follow a MongoDB-style
//! read preference with tag sets and a latency window, and the load is spread
//! by a pluggable balancing policy. Failed nodes are ejected for a while and
//! retries are bounded by a budget.
//!
//! * [`selection`]: pure node selection (suitable set, latency window, policy).
//! * [`ewma`]: round-trip-time averages that feed the latency window.
//! * [`retry`]: backoff, retry budget and outlier ejection.

pub mod ewma;
pub mod retry;
pub mod selection;
