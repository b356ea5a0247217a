//! `zabkeeper explore`: stateright's web explorer over a named configuration.

use super::{model_config, parse_bug};
use clap::Args;
use stateright::Model;

/// Arguments of `explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// The configuration to explore (see `check --list`).
    pub model: String,
    /// The address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: String,
    /// Explore a deliberately broken variant.
    #[arg(long, value_enum)]
    pub bug: Option<String>,
}

/// Serves the explorer until interrupted.
pub fn run(args: ExploreArgs) -> Result<(), String> {
    let bug = args.bug.as_deref().map(parse_bug).transpose()?;
    let cfg = model_config(&args.model, bug)?;
    // tiny_http panics on a bind error; find out first and say so plainly.
    std::net::TcpListener::bind(&args.addr)
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    println!("Explorer for `{}` at http://{}/", cfg.name, args.addr);
    println!(
        "A path printed by `check` opens at http://{}/#/steps/PATH",
        args.addr
    );
    cfg.into_model().checker().serve(args.addr.as_str());
    Ok(())
}
