//! The command line: `check`, `explore`, `server`, `ensemble` and `validate-trace`.

pub mod check;
pub mod ensemble;
pub mod explore;
pub mod server;
pub mod trace;
pub mod validate;

use crate::model::{configs, ModelConfig};
use crate::zab::Bug;
use clap::{Parser, Subcommand};

/// zabkeeper: ZooKeeper's ZAB protocol as model-checked stateright actors.
#[derive(Parser, Debug)]
#[command(name = "zabkeeper", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Model-check a named configuration exhaustively and print the verdict of every property.
    Check(check::CheckArgs),
    /// Serve stateright's explorer for a named configuration.
    Explore(explore::ExploreArgs),
    /// Run one server from a ZooKeeper configuration file (`zoo.cfg`).
    Server(server::ServerArgs),
    /// Start a local ensemble on loopback, print its connect string, stop it on Ctrl-C.
    Ensemble(ensemble::EnsembleArgs),
    /// Check that the step logs of real servers (`ZABKEEPER_TRACE=DIR`) are one run of the
    /// model: FIFO connections, saves before the messages that vouch for them, restarts from
    /// the last saved state, every step replayed by the same actor, every property held.
    ValidateTrace(validate::ValidateArgs),
}

/// Looks a configuration up by name, with a message listing the valid names.
pub fn model_config(name: &str, bug: Option<Bug>) -> Result<ModelConfig, String> {
    let cfg = ModelConfig::named(name).ok_or_else(|| {
        format!(
            "unknown model `{name}`; the models are: {} (see `zabkeeper check --list`)",
            configs::NAMES.join(", ")
        )
    })?;
    Ok(match bug {
        Some(bug) => cfg.with_bug(bug),
        None => cfg,
    })
}

/// Parses a bug name for `--bug`, with a message listing the valid names.
pub fn parse_bug(name: &str) -> Result<Bug, String> {
    Bug::named(name).ok_or_else(|| {
        let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        format!(
            "unknown bug `{name}`; the bugs are: {} (see `zabkeeper check --list-bugs`)",
            names.join(", ")
        )
    })
}
