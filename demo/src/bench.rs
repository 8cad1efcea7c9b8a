//! The benchmark (issue 5). Placeholder until implemented.

use std::process::ExitCode;

/// Flags of the benchmark.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {}

/// Run the benchmark.
pub fn main(_args: BenchArgs) -> ExitCode {
    eprintln!("bench: not implemented yet");
    ExitCode::FAILURE
}
