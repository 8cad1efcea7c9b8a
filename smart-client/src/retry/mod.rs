//! Bounded retries and outlier ejection.
//!
//! * [`Backoff`] (`backoff`): capped exponential delay with jitter between
//!   attempts.
//! * [`RetryBudget`] (`budget`): caps retries to a fraction of recent
//!   traffic (plus a small floor) so that retries cannot amplify an overload
//!   into a storm.
//! * [`RetryPolicy`] (`policy`): the named object the client consults before
//!   each retry; it combines an attempt cap, the budget and the backoff.
//! * [`HealthState`] (`ejection`): per-node consecutive-failure counter that
//!   ejects a node for an exponentially growing time and re-admits it after
//!   a success.
//!
//! All of it is synchronous and never holds a lock across an await. Time is
//! `tokio::time::Instant`, so tests drive it with `tokio::time::pause()`.

mod backoff;
mod budget;
mod ejection;
mod policy;

pub use backoff::{Backoff, Jitter};
pub use budget::RetryBudget;
pub use ejection::{EjectionPolicy, HealthState};
pub use policy::RetryPolicy;
