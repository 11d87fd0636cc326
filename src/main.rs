//! The `burrow` executable: parse the command line, start logging, run the chosen command.

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = burrow::config::Cli::parse_or_exit();
    let filter = match EnvFilter::try_new(&cli.config.log) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --log {:?}: {e}", cli.config.log);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    burrow::run(cli)
}
