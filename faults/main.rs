//! The fault harness (docs/reliability.md): zabkeeper servers, each in its own network
//! namespace on a bridge this harness makes, clients each with its own session doing one of
//! the workloads, a nemesis injecting faults, and checkers deciding the recorded history.
//!
//!     cargo test --release --test faults                      # the short sample CI runs
//!     cargo test --release --test faults -- campaign --help   # everything else
//!
//! Needs root, `ip` and `iptables`; without them it says so and passes, unless
//! `ZABKEEPER_FAULTS=require` (as `.ci/run` sets). Everything it makes (namespaces, links,
//! processes) carries its pid and is removed when it ends, on Ctrl-C too; a run also removes
//! the leftovers of runs whose process is gone.

mod checks;
mod cluster;
mod disk;
mod history;
mod linear;
mod lock;
mod nemesis;
mod net;
mod run;
mod workload;

use clap::Parser;
use nemesis::Nemesis;
use std::path::PathBuf;
use workload::Workload;

/// `campaign`: every chosen workload against every chosen nemesis, `--runs` times each, run
/// k with seed `--seed + k`.
#[derive(Parser, Debug)]
#[command(name = "faults campaign")]
pub struct Campaign {
    /// Workloads, comma-separated, or `all`: register, set, ids, counter, queue, lock.
    #[arg(long, default_value = "all")]
    pub workloads: String,
    /// Nemeses, comma-separated, or `all`: none, kill-leader, kill-random, kill-majority,
    /// kill-all, pause-leader, pause-follower, partition, isolate-leader, isolate-leader-peers, bridge,
    /// one-way, mix.
    #[arg(long, default_value = "all")]
    pub nemeses: String,
    /// Runs of each (workload, nemesis) pair.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// The first run's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds of load and faults per run.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Clients per run, each its own session.
    #[arg(long, default_value_t = 5)]
    pub clients: usize,
    /// Servers per run.
    #[arg(long, default_value_t = 3)]
    pub servers: usize,
    /// Where the runs' directories go (default target/faults/<pid>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run the servers broken (ZABKEEPER_BREAK): the harness must then report violations.
    #[arg(long = "break")]
    pub broken: Option<String>,
    /// Make `kill -9` a power cut (ZABKEEPER_POWER_CUT): a server's log appends reach its
    /// file only when their fsync returns, each fsync taking this many milliseconds, so a
    /// killed server loses what it had not fsynced.
    #[arg(long, value_name = "MS")]
    pub power_cut: Option<u64>,
    /// Configurations the linearizability checker explores per key before it gives up.
    #[arg(long, default_value_t = 2_000_000)]
    pub budget: usize,
    /// Keep the servers' data directories of runs that passed.
    #[arg(long)]
    pub keep: bool,
}

fn list<T: Copy>(spec: &str, all: &[T], parse: fn(&str) -> Option<T>, what: &str) -> Vec<T> {
    if spec == "all" {
        return all.to_vec();
    }
    spec.split(',')
        .map(|s| parse(s.trim()).unwrap_or_else(|| panic!("unknown {what} `{s}`")))
        .collect()
}

/// The sample CI runs: five runs of 20 s across workloads and nemeses.
fn sample() -> Vec<(Workload, Nemesis)> {
    vec![
        (Workload::Register, Nemesis::KillLeader),
        (Workload::Lock, Nemesis::IsolateLeaderPeers),
        (Workload::Queue, Nemesis::PauseLeader),
        (Workload::Counter, Nemesis::Partition),
        (Workload::Set, Nemesis::Mix),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Without `campaign` this is run as a test binary: the sample, libtest's flags ignored
    // (`--list` answered for cargo-nextest, a name filter honoured).
    let is_campaign = args.first().map(String::as_str) == Some("campaign");
    let mut campaign = if is_campaign {
        Campaign::parse_from(
            std::iter::once("faults campaign".to_string()).chain(args[1..].iter().cloned()),
        )
    } else {
        if args.iter().any(|a| a == "--list") {
            println!("sample: test");
            return;
        }
        let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        if !filters.is_empty() && !filters.iter().any(|f| "sample".contains(f.as_str())) {
            return;
        }
        Campaign::parse_from(["faults campaign", "--seconds", "20"])
    };
    if let Some(why) = net::unavailable() {
        if std::env::var("ZABKEEPER_FAULTS").as_deref() == Ok("require") {
            eprintln!("faults: {why}, and ZABKEEPER_FAULTS=require");
            std::process::exit(1);
        }
        println!("faults: skipped: {why}");
        return;
    }
    let pairs: Vec<(Workload, Nemesis)> = if is_campaign {
        let ws = list(
            &campaign.workloads,
            &Workload::ALL,
            Workload::parse,
            "workload",
        );
        let ns = list(&campaign.nemeses, &Nemesis::ALL, Nemesis::parse, "nemesis");
        let mut v = Vec::new();
        for _ in 0..campaign.runs {
            for &n in &ns {
                for &w in &ws {
                    v.push((w, n));
                }
            }
        }
        v
    } else {
        sample()
    };
    campaign.out.get_or_insert_with(|| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("target/faults/{}", std::process::id()))
    });
    if let Err(e) = checks::selftest() {
        eprintln!("faults: {e}");
        std::process::exit(1);
    }
    let mut failed = run::campaign(&campaign, &pairs) > 0;
    if !is_campaign {
        failed |= run::campaign(&power_cut(&campaign, None), &POWER_CUT_SAMPLE) > 0;
        failed |= !broken_server_caught(&campaign);
    }
    net::cleanup();
    std::process::exit(i32::from(failed));
}

/// The sample's power cuts: every server killed at once, each losing what it had not fsynced.
const POWER_CUT_SAMPLE: [(Workload, Nemesis); 1] = [(Workload::Register, Nemesis::KillAll)];

/// `base` with kill -9 made a power cut (5 ms fsyncs), its servers broken with `broken`.
fn power_cut(base: &Campaign, broken: Option<&str>) -> Campaign {
    let sub = broken.unwrap_or("power-cut");
    Campaign {
        power_cut: Some(5),
        broken: broken.map(str::to_string),
        seconds: base.seconds,
        out: base.out.clone().map(|o| o.join(sub)),
        ..Campaign::parse_from(["faults campaign"])
    }
}

/// The sample's last part: broken servers must be caught, each within three short runs.
/// `late-commit` (a follower answers `sync` before it applied what was committed first): the
/// stale read needs a client on the leader (the client library shuffles its servers).
/// `ack-before-fsync` (ACKs and the leader's own vote leave before the log write is durable)
/// under power cuts: every server killed at once loses the acknowledged writes none of them
/// had fsynced.
fn broken_server_caught(base: &Campaign) -> bool {
    let late = Campaign {
        broken: Some("late-commit".into()),
        seconds: 10,
        out: base.out.clone().map(|o| o.join("late-commit")),
        ..Campaign::parse_from(["faults campaign"])
    };
    let early = Campaign {
        seconds: 15,
        ..power_cut(base, Some("ack-before-fsync"))
    };
    let runs = [
        (late, (Workload::Set, Nemesis::None)),
        (early, (Workload::Register, Nemesis::KillAll)),
    ];
    runs.iter().all(|(cfg, pair)| {
        let name = cfg.broken.as_deref().unwrap_or_default();
        for attempt in 1..=3 {
            println!(
                "faults: servers broken with {name}, attempt {attempt}: a violation is expected"
            );
            if run::campaign(cfg, &[*pair]) > 0 {
                println!("faults: the servers broken with {name} were caught");
                return true;
            }
        }
        eprintln!("faults: three runs against servers broken with {name} found nothing");
        false
    })
}
