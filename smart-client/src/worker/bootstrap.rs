//! The first topology, fetched from the seeds before the client is ready.

use std::time::Duration;

use awc::http::Method;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::shared::Shared;
use crate::topology::parse_topology;
use crate::transport::Transport;

/// First topology from the first seed that answers; retried until the
/// request timeout passes.
pub(super) async fn bootstrap(shared: &Shared, transport: &Transport) -> Result<()> {
    let deadline = Instant::now() + shared.config.request_timeout;
    let mut last_error = String::from("no seed tried");
    loop {
        for seed in &shared.config.seeds {
            let url = format!("{seed}/topology");
            let timeout = shared.config.attempt_timeout;
            match transport.send(Method::GET, &url, None, timeout).await {
                Ok(r) if r.status == 200 => match parse_topology(&r.body) {
                    Ok(view) => {
                        shared.install_topology(view);
                        return Ok(());
                    }
                    Err(e) => last_error = format!("{url}: bad topology: {e}"),
                },
                Ok(r) => last_error = format!("{url}: HTTP {}", r.status),
                Err(e) => last_error = format!("{url}: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Unavailable {
                last_error: format!("no seed answered /topology: {last_error}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
