//! A load generator: `cargo bench --bench load` measures setData and getData throughput and
//! latency against an in-process zabkeeper (standalone and three servers on loopback), or
//! against any ZooKeeper-compatible address given in `ZK_BENCH_TARGET` (to run ZooKeeper
//! itself side by side). Each client is its own session (the `zookeeper-client` crate) with a
//! number of requests in flight; values are 100 bytes.
//!
//! Client `c` connects to the `c`-th address of the connect string, round-robin, so the load is
//! spread over the servers the same way for every target.
//!
//! Environment: `ZK_BENCH_TARGET` (host:port,...), `ZK_BENCH_SECONDS` (default 5),
//! `ZK_BENCH_CLIENTS` (default 32), `ZK_BENCH_INFLIGHT` (default 32), `ZK_BENCH_ONLY` (run only
//! the loads whose name starts with it, such as `setData 32x32` or `getData`).
//!
//! Failover: with `ZK_BENCH_KILL=<pid>` (the leader's process) and `ZK_BENCH_TARGET` naming the
//! other servers, it sends SIGKILL to that process and measures the time until the first write
//! succeeds: a new session on one of the survivors (creating a session is itself a write the
//! new leader must commit) followed by a setData, tried again every 10 ms, each try on a fresh
//! connection so that no client back-off is measured.
//!
//! Fill: with `ZK_BENCH_FILL=<n>` and `ZK_BENCH_TARGET`, it creates `n` znodes of 100 bytes
//! under `/scale` (`ZK_BENCH_PARENTS` parents `/scale/p<k>`, a thousand by default, children
//! `/scale/p<k>/n<i>`) with the clients and requests in flight above, and reports how long that
//! took (benches/scale.sh).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zabkeeper::runtime::{self, config::ZooConfig, Event};
use zookeeper_client as zk;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `n` zabkeeper servers in this process; returns the connect string and their inboxes.
fn start(n: usize, rt: &tokio::runtime::Runtime) -> (String, Vec<std::sync::mpsc::Sender<Event>>) {
    let dir = std::env::temp_dir().join(format!("zabkeeper-bench-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ports: Vec<u16> = (0..3 * n).map(|_| free_port()).collect();
    let servers: String = if n == 1 {
        String::new()
    } else {
        (1..=n)
            .map(|i| {
                format!(
                    "server.{i}=127.0.0.1:{}:{}\n",
                    ports[3 * i - 3],
                    ports[3 * i - 2]
                )
            })
            .collect()
    };
    let mut addrs = Vec::new();
    let mut inboxes = Vec::new();
    for i in 1..=n {
        let data = dir.join(format!("s{i}"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("myid"), i.to_string()).unwrap();
        let text = format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
             clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n{servers}",
            data.display(),
            ports[3 * i - 1]
        );
        let cfg = ZooConfig::parse(&data.join("zoo.cfg"), &text).unwrap();
        let myid = cfg.myid().unwrap();
        let running = runtime::start(&cfg, myid, rt.handle()).unwrap();
        addrs.push(running.client_addr.to_string());
        inboxes.push(running.inbox);
    }
    (addrs.join(","), inboxes)
}

async fn connect(cluster: &str) -> zk::Client {
    for _ in 0..200 {
        if let Ok(c) = zk::Client::connect(cluster).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cannot connect to {cluster}");
}

/// Runs `clients` sessions with `inflight` requests each for `seconds`; returns ops/s and the
/// latencies (sorted).
async fn run(
    cluster: &str,
    write: bool,
    clients: u64,
    inflight: u64,
    seconds: u64,
) -> (f64, Vec<Duration>) {
    let addrs: Vec<&str> = cluster.split(',').collect();
    let setup = connect(cluster).await;
    let value = vec![b'x'; 100];
    for c in 0..clients {
        let path = format!("/bench-{c}");
        let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        let _ = setup.create(&path, &value, &opts).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = connect(addrs[c as usize % addrs.len()]).await;
        for _ in 0..inflight {
            let (client, stop, value) = (client.clone(), stop.clone(), value.clone());
            let path = format!("/bench-{c}");
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let ok = if write {
                        client.set_data(&path, &value, None).await.is_ok()
                    } else {
                        client.get_data(&path).await.is_ok()
                    };
                    if ok {
                        lat.push(t.elapsed());
                    }
                }
                lat
            }));
        }
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / secs, all)
}

/// Creates `n` znodes of 100 bytes under `parents` parents in `/scale`, `clients` sessions
/// with `inflight` creates each; returns the creates per second.
async fn fill(cluster: &str, n: u64, (clients, inflight): (u64, u64), parents: u64) -> f64 {
    let addrs: Vec<&str> = cluster.split(',').collect();
    let setup = connect(cluster).await;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let parents = parents.clamp(1, n.max(1));
    let _ = setup.create("/scale", b"", &opts).await;
    for k in 0..parents {
        let _ = setup.create(&format!("/scale/p{k}"), b"", &opts).await;
    }
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = connect(addrs[c as usize % addrs.len()]).await;
        for _ in 0..inflight {
            let (client, next) = (client.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
                let value = [b'x'; 100];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let path = format!("/scale/p{}/n{i}", i % parents);
                    match client.create(&path, &value, &opts).await {
                        Ok(_) | Err(zk::Error::NodeExists) => {}
                        Err(e) => panic!("create {path}: {e}"),
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// This process's peak resident memory (servers and load generator together), from /proc.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn pct(lat: &[Duration], p: f64) -> f64 {
    if lat.is_empty() {
        return 0.0;
    }
    let i = ((lat.len() as f64 * p) as usize).min(lat.len() - 1);
    lat[i].as_secs_f64() * 1000.0
}

/// One try at a write on `addr`: a new session, then a setData of `/failover`.
async fn try_write(addr: &str) -> bool {
    let connector = zk::Client::connector()
        .with_fail_eagerly()
        .with_connection_timeout(Duration::from_millis(200))
        .with_session_timeout(Duration::from_secs(4));
    let attempt = async {
        let client = connector.connect(addr).await.ok()?;
        let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        match client.create("/failover", b"x", &opts).await {
            Ok(_) | Err(zk::Error::NodeExists) => Some(()),
            Err(_) => None,
        }?;
        client.set_data("/failover", b"y", None).await.ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Some(_))
    )
}

/// Kills `pid` and returns the time until a write on one of `survivors` succeeds.
async fn failover(pid: &str, survivors: &str) -> Duration {
    let addrs: Vec<&str> = survivors.split(',').collect();
    assert!(try_write(addrs[0]).await, "no write before the kill");
    let start = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-9", pid])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -9 {pid} failed");
    for i in 0.. {
        if try_write(addrs[i % addrs.len()]).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: run only when benched.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let seconds = env("ZK_BENCH_SECONDS", 5);
    let clients = env("ZK_BENCH_CLIENTS", 32);
    let inflight = env("ZK_BENCH_INFLIGHT", 32);
    let only = std::env::var("ZK_BENCH_ONLY").ok();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let (Ok(pid), Ok(survivors)) = (
        std::env::var("ZK_BENCH_KILL"),
        std::env::var("ZK_BENCH_TARGET"),
    ) {
        let took = rt.block_on(failover(&pid, &survivors));
        println!(
            "failover: first write {} ms after kill -9",
            took.as_millis()
        );
        return;
    }
    if let (Ok(n), Ok(cluster)) = (
        std::env::var("ZK_BENCH_FILL"),
        std::env::var("ZK_BENCH_TARGET"),
    ) {
        let n: u64 = n.parse().expect("ZK_BENCH_FILL: a number of znodes");
        let start = Instant::now();
        let parents = env("ZK_BENCH_PARENTS", 1000);
        let rate = rt.block_on(fill(&cluster, n, (clients, inflight), parents));
        println!(
            "fill: {n} znodes of 100 bytes in {:.1} s ({rate:.0} creates/s)",
            start.elapsed().as_secs_f64()
        );
        return;
    }
    // The servers' inboxes are kept so that they live until the process ends.
    let mut keep = Vec::new();
    let targets: Vec<(String, String)> = match std::env::var("ZK_BENCH_TARGET") {
        Ok(t) => vec![("target".to_string(), t)],
        Err(_) => [1, 3]
            .iter()
            .map(|&n| {
                let (cluster, inboxes) = start(n, &rt);
                keep.push(inboxes);
                (format!("zabkeeper x{n}"), cluster)
            })
            .collect(),
    };
    println!("{clients} clients x {inflight} in flight, 100-byte values, {seconds} s each");
    for (name, cluster) in targets {
        for (op, write) in [("setData", true), ("getData", false)] {
            for (c, f) in [(clients, inflight), (1, 1)] {
                let load = format!("{op} {c}x{f}");
                if only.as_ref().is_some_and(|o| !load.starts_with(o.as_str())) {
                    continue;
                }
                let (ops, lat) = rt.block_on(run(&cluster, write, c, f, seconds));
                println!(
                    "{name:<14} {op} {c:>3}x{f:<3} {ops:>9.0} ops/s  p50 {:.2} ms  p99 {:.2} ms",
                    pct(&lat, 0.5),
                    pct(&lat, 0.99)
                );
            }
        }
    }
    if let Some(mib) = peak_rss_mib().filter(|_| !keep.is_empty()) {
        println!("peak resident memory of this process (servers + load generator): {mib} MiB");
    }
}
