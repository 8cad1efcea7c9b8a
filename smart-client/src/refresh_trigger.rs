//! The coalescing "refresh soon" signal from requests to the refresher.
//!
//! Requests never fetch `/topology` themselves; they call
//! [`RefreshTrigger::request`], which stores at most one pending wake-up in a
//! [`Notify`] permit, and the refresher (`refresher::run_loop`) waits on it.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// Message to the refresher: "refresh soon". Coalesced by a single permit.
#[derive(Debug, Default)]
pub(crate) struct RefreshTrigger {
    notify: Notify,
    /// Refreshes completed (successful or not), for tests and waiting.
    completed: AtomicU64,
}

impl RefreshTrigger {
    /// Asks for one refresh; any number of calls before the refresher wakes
    /// up count as one.
    pub(crate) fn request(&self) {
        self.notify.notify_one();
    }

    /// Resolves when a refresh has been requested (consumes the permit).
    pub(crate) fn requested(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// Counts one finished refresh.
    pub(crate) fn mark_completed(&self) {
        self.completed.fetch_add(1, Ordering::Relaxed);
    }

    /// Refreshes completed so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }
}
