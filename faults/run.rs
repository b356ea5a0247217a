//! One run: network, servers, clients, nemesis, then heal, final reads and checks; and the
//! campaign of runs with its summary.

use crate::checks::{self, Finding};
use crate::cluster::Cluster;
use crate::history::{self, Recorder};
use crate::nemesis::{self, Nemesis};
use crate::net::{self, Net};
use crate::workload::{self, Client, Rng, Session, Workload};
use crate::Campaign;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one run found.
pub struct Outcome {
    pub ops: usize,
    pub ok: usize,
    pub failed: usize,
    pub unknown: usize,
    pub findings: Vec<Finding>,
    pub events: usize,
}

/// Runs `pairs` in order; prints one line per run and a summary; returns how many runs found
/// violations or failed.
pub fn campaign(cfg: &Campaign, pairs: &[(Workload, Nemesis)]) -> usize {
    net::sweep_leftovers();
    let out = cfg.out.clone().expect("an output directory");
    std::fs::create_dir_all(&out).expect("output directory");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.spawn(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).unwrap();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!("faults: interrupted; removing namespaces and servers");
        net::cleanup();
        std::process::exit(130);
    });
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        net::cleanup();
        hook(info)
    }));
    let mut summary = String::from(
        "| run | seed | workload | nemesis | ops | ok | failed | unknown | faults | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut violations = 0;
    let started = Instant::now();
    for (k, &(w, n)) in pairs.iter().enumerate() {
        let seed = cfg.seed + k as u64;
        let name = format!("{k:03}-{}-{}-s{seed}", w.name(), n.name());
        let dir = out.join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let result = one(cfg, w, n, seed, k, &dir, &rt);
        let verdict = match &result {
            Err(e) => {
                violations += 1;
                format!("ERROR: {e}")
            }
            Ok(o) => {
                let bad: Vec<&Finding> = o.findings.iter().filter(|f| f.is_violation()).collect();
                let undecided = o.findings.len() - bad.len();
                if !bad.is_empty() {
                    violations += 1;
                    let kinds: std::collections::BTreeSet<&str> =
                        bad.iter().map(|f| f.kind).collect();
                    format!(
                        "VIOLATION ({})",
                        kinds.into_iter().collect::<Vec<_>>().join(", ")
                    )
                } else if undecided > 0 {
                    format!("ok ({undecided} undecided)")
                } else {
                    "ok".to_string()
                }
            }
        };
        let row = match &result {
            Ok(o) => format!(
                "| {k} | {seed} | {} | {} | {} | {} | {} | {} | {} | {verdict} |\n",
                w.name(),
                n.name(),
                o.ops,
                o.ok,
                o.failed,
                o.unknown,
                o.events
            ),
            Err(_) => format!(
                "| {k} | {seed} | {} | {} | | | | | | {verdict} |\n",
                w.name(),
                n.name()
            ),
        };
        print!("faults: {row}");
        let _ = std::io::stdout().flush();
        summary += &row;
        std::fs::write(out.join("summary.md"), &summary).unwrap();
    }
    println!(
        "faults: {} runs in {:.0} s, {violations} with violations or errors; histories in {}",
        pairs.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    violations
}

fn one(
    cfg: &Campaign,
    w: Workload,
    n: Nemesis,
    seed: u64,
    k: usize,
    dir: &Path,
    rt: &tokio::runtime::Runtime,
) -> Result<Outcome, String> {
    let net = Net::create(cfg.servers, k)?;
    let mut env = Vec::new();
    if let Some(b) = &cfg.broken {
        env.push(("ZABKEEPER_BREAK".to_string(), b.clone()));
    }
    if let Some(ms) = cfg.power_cut {
        env.push(("ZABKEEPER_POWER_CUT".to_string(), ms.to_string()));
    }
    let small = (n == Nemesis::FullDisk).then_some(64);
    let cluster = Cluster::start(net, dir, env, small)?;
    cluster.await_serving(Duration::from_secs(30))?;
    let conns: Vec<String> = (1..=cfg.servers)
        .map(|i| cluster.connect_string(i))
        .collect();
    let cluster = Arc::new(Mutex::new(cluster));
    rt.block_on(workload::setup(w, &conns[0], Duration::from_secs(20)))?;

    let start = Instant::now();
    let end = start + Duration::from_secs(cfg.seconds);
    let rec = Recorder::new(start);
    let events = Arc::new(Mutex::new(Vec::new()));
    let key_ops = Arc::new(AtomicUsize::new(0));
    let nem = {
        let (cluster, rec, events) = (cluster.clone(), rec.clone(), events.clone());
        std::thread::spawn(move || nemesis::run(n, cluster, rec, events, seed, end))
    };
    let tasks: Vec<_> = (0..cfg.clients)
        .map(|c| {
            let client = Client {
                w,
                id: c,
                rec: rec.clone(),
                session: Session::new(conns[c % conns.len()].clone()),
                rng: Rng::new(seed * 1000 + c as u64),
                key_ops: key_ops.clone(),
                n: 0,
            };
            rt.spawn(client.run(end))
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });
    nem.join()
        .map_err(|_| "the nemesis thread panicked".to_string())?;
    let log = |what: String| {
        events.lock().unwrap().push(history::Event {
            at: rec.elapsed(),
            what,
        })
    };
    nemesis::heal(&cluster, &log);

    let mut findings = Vec::new();
    let cluster_guard = cluster.lock().unwrap();
    if let Err(e) = cluster_guard.await_serving(Duration::from_secs(30)) {
        findings.push(Finding {
            kind: "no-recovery",
            message: e,
            blamed: Vec::new(),
        });
    }
    let mut states = Vec::new();
    let used = workload::keys_used(&key_ops);
    for i in 1..=cfg.servers {
        let addr = cluster_guard.client_addr(i).to_string();
        match rt.block_on(workload::final_read(
            w,
            &addr,
            &rec,
            cfg.clients + i - 1,
            used,
        )) {
            Ok(s) => states.push((i, s)),
            Err(e) => findings.push(Finding {
                kind: "no-recovery",
                message: e,
                blamed: Vec::new(),
            }),
        }
    }
    let mut zxids = cluster_guard.zxids();
    for _ in 0..50 {
        if zxids
            .iter()
            .map(|(_, z)| z)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            <= 1
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        zxids = cluster_guard.zxids();
    }
    if findings.iter().any(|f| f.kind == "no-recovery")
        || zxids
            .iter()
            .map(|(_, z)| z)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1
    {
        cluster_guard.dump_stacks();
    }
    let crashes = cluster_guard.crashes.clone();
    drop(cluster_guard);
    let ops = rec.take();
    findings.extend(checks::check(w, &ops, cfg.clients, cfg.budget));
    findings.extend(checks::agreement(&states, &zxids));
    for c in crashes {
        findings.push(Finding {
            kind: "crash",
            message: c,
            blamed: Vec::new(),
        });
    }
    let events = events.lock().unwrap().clone();
    save(dir, w, n, seed, &ops, &events, &findings, &states)?;
    let violated = findings.iter().any(Finding::is_violation);
    // Stop the servers (and free the namespaces) before the next run.
    match Arc::try_unwrap(cluster) {
        Ok(c) => drop(c.into_inner().unwrap()),
        Err(_) => return Err("the cluster is still shared".into()),
    }
    if !violated && !cfg.keep {
        for i in 1..=cfg.servers {
            let _ = std::fs::remove_dir_all(dir.join(format!("s{i}/data")));
        }
    }
    let count = |p: fn(&history::Outcome) -> bool| ops.iter().filter(|o| p(&o.outcome)).count();
    Ok(Outcome {
        ops: ops.len(),
        ok: count(|o| matches!(o, history::Outcome::Ok(_))),
        failed: count(|o| matches!(o, history::Outcome::Fail(_))),
        unknown: count(|o| matches!(o, history::Outcome::Info(_) | history::Outcome::Pending)),
        findings,
        events: events.len(),
    })
}

#[allow(clippy::too_many_arguments)]
fn save(
    dir: &Path,
    w: Workload,
    n: Nemesis,
    seed: u64,
    ops: &[history::Op],
    events: &[history::Event],
    findings: &[Finding],
    states: &[(usize, String)],
) -> Result<(), String> {
    let io = |p: PathBuf, text: String| {
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let json = serde_json::json!({ "workload": w.name(), "nemesis": n.name(), "seed": seed, "ops": ops, "events": events });
    io(
        dir.join("history.json"),
        serde_json::to_string(&json).unwrap(),
    )?;
    let blamed: Vec<usize> = findings
        .iter()
        .flat_map(|f| f.blamed.iter().copied())
        .collect();
    let title = format!("{} under {} (seed {seed})", w.name(), n.name());
    io(
        dir.join("timeline.svg"),
        history::svg(&title, ops, events, &blamed),
    )?;
    let mut report = format!("{title}\n\nfaults:\n");
    for e in events {
        report += &format!("  {:>8.3} s  {}\n", e.at as f64 / 1e6, e.what);
    }
    report += "\nservers after healing:\n";
    for (i, s) in states {
        report += &format!("  {i}: {s}\n");
    }
    report += "\nfindings:\n";
    if findings.is_empty() {
        report += "  none\n";
    }
    for f in findings {
        report += &format!("  [{}] {}\n", f.kind, f.message);
        for &b in f.blamed.iter().take(8) {
            let o = &ops[b];
            report += &format!(
                "      #{b} client {} {} {:?} at {:.3} s -> {:?}{}\n",
                o.process,
                o.key,
                o.f,
                o.invoke as f64 / 1e6,
                o.outcome,
                o.complete
                    .map(|c| format!(" at {:.3} s", c as f64 / 1e6))
                    .unwrap_or_default()
            );
        }
    }
    io(dir.join("report.txt"), report)
}
