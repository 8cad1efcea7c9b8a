//! The `kv-node` executable the harness runs: found next to the caller, or built.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Find the `kv-node` binary: `$KV_NODE_BIN`, else next to the running
/// executable (`target/<profile>/kv-node`, also from `target/<profile>/deps/`).
pub fn node_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KV_NODE_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?.to_path_buf();
    for _ in 0..2 {
        let cand = dir.join("kv-node");
        if cand.is_file() {
            return Some(cand);
        }
        dir = dir.parent()?.to_path_buf();
    }
    None
}

/// [`node_binary`], or, when there is none (e.g. `cargo test -p smart-client`
/// on a fresh checkout), [`build_node_binary`] once per process: tests that
/// start clusters in parallel wait for the same build.
pub fn node_binary_or_build() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match node_binary() {
        Some(binary) => Ok(binary),
        None => BUILT.get_or_init(build_node_binary).clone(),
    }
}

/// Build `kv-node` with cargo (same profile as the running executable) and
/// return its path. The demo calls it when the binary is missing, the benchmark
/// also when it is older than the node's sources.
pub fn build_node_binary() -> Result<PathBuf, String> {
    let release = !cfg!(debug_assertions);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace dir")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "-p", "kv-node", "--bin", "kv-node"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p kv-node failed: {status}"));
    }
    node_binary().ok_or_else(|| "kv-node not found after building it".into())
}
