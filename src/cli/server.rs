//! `zabkeeper server --config zoo.cfg`: one server of an ensemble (or a standalone server).

use crate::runtime::{self, config::ZooConfig, Event};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `server`.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// ZooKeeper's configuration file (`zoo.cfg` format); `myid` is read from its dataDir.
    #[arg(long)]
    pub config: PathBuf,
}

/// Runs a server until Ctrl-C or a fatal error.
pub fn run(args: ServerArgs) -> Result<(), String> {
    let cfg = ZooConfig::load(&args.config).map_err(|e| e.to_string())?;
    for (line, key) in &cfg.unknown {
        tracing::warn!(
            "{}:{line}: unknown key {key:?} ignored",
            args.config.display()
        );
    }
    let myid = cfg.myid().map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let running = runtime::start(&cfg, myid, rt.handle()).map_err(|e| e.to_string())?;
    tracing::info!(myid, client = %running.client_addr, "serving");
    let inbox = running.inbox.clone();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("stopping");
            let _ = inbox.send(Event::Stop);
        }
    });
    let result = running
        .thread
        .join()
        .map_err(|_| "the server thread panicked".to_string())?;
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    result.map_err(|e| e.to_string())
}
