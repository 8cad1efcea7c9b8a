//! `demo`: client-side failover, live (default), or `demo bench`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Client-side failover with the smart client, live in one command.
///
/// Without arguments it starts its own local 3-node cluster of kv-node
/// processes, runs a workload through the smart client, kills the leader and
/// shows the client riding through it. `demo bench` compares routing paths.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    demo: demo::failover::DemoArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Benchmark: smart client vs HAProxy vs a pinned follower, side by side.
    Bench(demo::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Some(Cmd::Bench(args)) => demo::bench::main(args),
        None => demo::failover::main(cli.demo),
    }
}
