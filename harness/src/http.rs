//! Blocking HTTP GETs against nodes (`ureq`), for waits and checks.

use std::time::Duration;

use kv_contract::Topology;
use serde::de::DeserializeOwned;

/// GET `url` and decode its JSON body (any status); `None` on transport
/// errors or a body that is not a `T`.
pub fn get_json<T: DeserializeOwned>(url: &str) -> Option<(u16, T)> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(2))
        .build();
    match agent.get(url).call() {
        Ok(r) => {
            let status = r.status();
            r.into_json().ok().map(|v| (status, v))
        }
        Err(ureq::Error::Status(status, r)) => r.into_json().ok().map(|v| (status, v)),
        Err(_) => None,
    }
}

/// The `/topology` of the node whose API is at `base`, if it answers with one.
pub fn topology_at(base: &str) -> Option<Topology> {
    get_json(&format!("{}/topology", base.trim_end_matches('/'))).map(|(_, t)| t)
}
