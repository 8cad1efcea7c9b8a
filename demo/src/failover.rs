//! The failover demo (issue 4). Placeholder until implemented.

use std::process::ExitCode;

/// Flags of the failover demo.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {}

/// Run the demo.
pub fn main(_args: DemoArgs) -> ExitCode {
    eprintln!("demo: not implemented yet");
    ExitCode::FAILURE
}
