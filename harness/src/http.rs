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

/// The value of the Prometheus sample `name{labels}` (labels exactly as the
/// node renders them, e.g. `file="raft_log"`; empty for none) in the node's
/// `/metrics` at `base`; `None` when the node does not answer or has no such
/// sample yet.
pub fn metric(base: &str, name: &str, labels: &str) -> Option<f64> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(2))
        .build();
    let url = format!("{}/metrics", base.trim_end_matches('/'));
    let text = agent.get(&url).call().ok()?.into_string().ok()?;
    let series = if labels.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{labels}}}")
    };
    text.lines().find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        (key == series).then(|| value.parse().ok()).flatten()
    })
}
