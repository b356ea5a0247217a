//! The `zabkeeper` command.

use clap::Parser;
use std::process::ExitCode;
use zabkeeper::cli::{self, Cli, Command};

/// The log level: `ZABKEEPER_LOG` (error, warn, info, debug, trace), info by default.
fn log_level() -> tracing::Level {
    std::env::var("ZABKEEPER_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(tracing::Level::INFO)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Explore(args) => cli::explore::run(args).map(|()| true),
        Command::Server(args) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_max_level(log_level())
                .init();
            cli::server::run(args).map(|()| true)
        }
        Command::Ensemble(args) => cli::ensemble::run(args).map(|()| true),
        Command::ValidateTrace(args) => cli::validate::run(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
