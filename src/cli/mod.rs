//! The command line: `check` and `explore`.

pub mod check;
pub mod explore;
pub mod trace;

use crate::model::{configs, ModelConfig};
use crate::zab::Bugs;
use clap::{Parser, Subcommand, ValueEnum};

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
}

/// A deliberately broken variant of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BugName {
    /// Followers acknowledge a PROPOSAL before it is durable (breaks the durability rule).
    AckBeforeSave,
}

impl BugName {
    /// The switches this bug turns on.
    pub fn bugs(self) -> Bugs {
        match self {
            BugName::AckBeforeSave => Bugs {
                ack_before_save: true,
            },
        }
    }
}

/// Looks a configuration up by name, with a message listing the valid names.
pub fn model_config(name: &str, bug: Option<BugName>) -> Result<ModelConfig, String> {
    let cfg = ModelConfig::named(name).ok_or_else(|| {
        format!(
            "unknown model `{name}`; the models are: {} (see `zabkeeper check --list`)",
            configs::NAMES.join(", ")
        )
    })?;
    Ok(match bug {
        Some(bug) => cfg.with_bugs(bug.bugs()),
        None => cfg,
    })
}
