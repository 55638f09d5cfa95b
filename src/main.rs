//! `kubectl vmchaos`: parse, run, exit. Everything else is in the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = kubectl_vmchaos::cli::Cli::parse();
    std::process::ExitCode::from(kubectl_vmchaos::run(cli).code())
}
