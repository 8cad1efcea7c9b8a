//! A real HAProxy in front of a harness cluster, configured from `config/haproxy.cfg`.

use std::fs;
use std::path::{Path, PathBuf};

/// Where HAProxy is usually installed (Debian puts it in /usr/sbin).
pub fn haproxy_binary() -> Option<PathBuf> {
    [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// The project's `config/haproxy.cfg` with its ports rewritten: the frontend
/// binds `frontend_port`, and node N's `127.0.0.1:808N` / `port 1000N` become
/// the given API and health ports. `nodes` is `(id, api_port, health_port)`.
pub fn haproxy_config(frontend_port: u16, nodes: &[(u32, u16, u16)]) -> Result<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/haproxy.cfg");
    let mut cfg = fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    cfg = cfg.replace(
        "bind 127.0.0.1:8080",
        &format!("bind 127.0.0.1:{frontend_port}"),
    );
    for (id, api, health) in nodes {
        cfg = cfg.replace(&format!("127.0.0.1:808{id} "), &format!("127.0.0.1:{api} "));
        cfg = cfg.replace(&format!("port 1000{id}"), &format!("port {health}"));
    }
    if cfg.contains(":808") || cfg.contains("port 1000") {
        return Err(format!(
            "{}: some server ports were not rewritten (expected nodes 1-3)",
            path.display()
        ));
    }
    Ok(cfg)
}
