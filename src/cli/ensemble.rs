//! `zabkeeper ensemble --nodes 3 [--observers 1] --dir DIR`: a local ensemble on loopback.
//!
//! Writes `DIR/<id>/zoo.cfg` and `DIR/<id>/data/myid` for each server (keeping existing data
//! directories, so a second run restarts the same ensemble), starts each server as a child
//! process (`zabkeeper server --config ...`, logs in `DIR/<id>/server.log`), prints the
//! connect string, and on Ctrl-C waits for the servers to stop (the terminal's Ctrl-C reaches
//! them too; any still running after five seconds is killed).

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Arguments of `ensemble`.
#[derive(Args, Debug)]
pub struct EnsembleArgs {
    /// Voting servers.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    pub nodes: u16,
    /// Observers (non-voting servers).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=9))]
    pub observers: u16,
    /// Directory for the servers' configurations, data and logs.
    #[arg(long)]
    pub dir: PathBuf,
    /// The first client port; server N listens on base + N - 1, its quorum port on
    /// base + 100 + N and its election port on base + 200 + N.
    #[arg(long, default_value_t = 2181)]
    pub base_port: u16,
    /// `tickTime` in ms.
    #[arg(long, default_value_t = 2000)]
    pub tick_time: u32,
}

/// The `zoo.cfg` of server `id` of the ensemble.
pub fn config_text(args: &EnsembleArgs, id: u16, data: &Path) -> String {
    let total = args.nodes + args.observers;
    let mut text = format!(
        "# written by `zabkeeper ensemble`\ntickTime={}\ninitLimit=10\nsyncLimit=5\n\
         dataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n",
        args.tick_time,
        data.display(),
        args.base_port + id - 1
    );
    for n in 1..=total {
        let role = if n > args.nodes { ":observer" } else { "" };
        text.push_str(&format!(
            "server.{n}=127.0.0.1:{}:{}{role}\n",
            args.base_port + 100 + n,
            args.base_port + 200 + n
        ));
    }
    text
}

/// Runs the ensemble until Ctrl-C.
pub fn run(args: EnsembleArgs) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let total = args.nodes + args.observers;
    let mut children: Vec<(u16, Child)> = Vec::new();
    for id in 1..=total {
        children.push((id, spawn_server(&args, &exe, id)?));
    }
    let connect: Vec<String> = (1..=total)
        .map(|id| format!("127.0.0.1:{}", args.base_port + id - 1))
        .collect();
    println!("{}", connect.join(","));
    eprintln!(
        "{total} servers running (logs in {}/<id>/server.log); Ctrl-C stops them",
        args.dir.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let interrupted = rt.block_on(async {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => true,
            _ = watch_exits(&mut children, &args.dir) => false,
        }
    });
    if interrupted {
        eprintln!("stopping the servers");
    }
    // Ask every server to stop as Ctrl-C does (a terminal's Ctrl-C reaches them already; a
    // signal sent to this process alone does not).
    for (_, child) in &mut children {
        if child.try_wait().ok().flatten().is_some() {
            continue;
        }
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for (id, child) in &mut children {
        while Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        if child.try_wait().ok().flatten().is_none() {
            eprintln!("server {id} did not stop; killing it");
            let _ = child.kill();
        }
        let _ = child.wait();
    }
    eprintln!("ensemble stopped");
    Ok(())
}

/// Writes server `id`'s files and starts it.
fn spawn_server(args: &EnsembleArgs, exe: &Path, id: u16) -> Result<Child, String> {
    let dir = args.dir.join(id.to_string());
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let data = data.canonicalize().map_err(|e| e.to_string())?;
    std::fs::write(data.join("myid"), id.to_string()).map_err(|e| e.to_string())?;
    let cfg = dir.join("zoo.cfg");
    std::fs::write(&cfg, config_text(args, id, &data)).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    Command::new(exe)
        .arg("server")
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start server {id}: {e}"))
}

/// Reports each server that exits by itself (killed, or stopped with its reason in its log);
/// the others go on, so a `kill -9` shows a failover. Returns when none is left.
async fn watch_exits(children: &mut [(u16, Child)], dir: &Path) {
    let mut gone = std::collections::BTreeSet::new();
    while gone.len() < children.len() {
        for (id, child) in children.iter_mut() {
            if gone.contains(id) {
                continue;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let cfg = dir.join(id.to_string()).join("zoo.cfg");
                eprintln!(
                    "server {id} exited ({status}); the others go on. To restart it: \
                     zabkeeper server --config {}",
                    cfg.display()
                );
                gone.insert(*id);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("every server has exited");
}
