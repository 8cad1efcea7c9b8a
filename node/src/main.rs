//! The `kv-node` binary: parse flags, set up logging, serve.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kv_node::{NodeConfig, Overrides};

/// One node of the replicated key-value service (HTTP API + embedded Raft).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Node config file (TOML: `[node]` for HTTP, `[cluster]`/`[raft]` for d-engine).
    #[arg(long, env = "CONFIG_PATH")]
    config_path: PathBuf,
    /// Port of the HTTP API, overriding `node.api_addr`'s port.
    #[arg(long)]
    port: Option<u16>,
    /// Port of the health-check listener (`/primary`, `/replica`), overriding `node.health_addr`'s port.
    #[arg(long)]
    health_port: Option<u16>,
    /// Data directory (Raft log, state machine), overriding `cluster.db_root_dir`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    kv_node::init_tracing();
    let overrides = Overrides {
        port: args.port,
        health_port: args.health_port,
        data_dir: args.data_dir,
    };
    let cfg = match NodeConfig::load(&args.config_path, &overrides) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("kv-node: {e}");
            return ExitCode::from(2);
        }
    };
    match kv_node::serve(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kv-node: {e}");
            ExitCode::FAILURE
        }
    }
}
