//! The runtime: the unmodified actor over TCP with its data directory, driven by a minimal jute
//! client. Loopback only.

use crate::zk_wire::{free_port, scratch, Client};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use zabkeeper::runtime::{self, config::ZooConfig, Event, Running};
use zabkeeper::zk::Code;

/// A server with its own tokio runtime, so that stopping it closes its ports.
pub struct Node {
    pub running: Running,
    rt: tokio::runtime::Runtime,
}

impl Node {
    pub fn start(cfg_text: &str, dir: &Path) -> Node {
        let path = dir.join("zoo.cfg");
        std::fs::write(&path, cfg_text).unwrap();
        let cfg = ZooConfig::parse(&path, cfg_text).unwrap();
        let myid = cfg.myid().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let running = runtime::start(&cfg, myid, rt.handle()).unwrap();
        Node { running, rt }
    }

    /// Stops the server as a crash would: no goodbye to anyone.
    pub fn stop(self) {
        let _ = self.running.inbox.send(Event::Stop);
        self.running.thread.join().unwrap().unwrap();
        self.rt.shutdown_timeout(Duration::from_millis(100));
    }
}

/// `n` voters in-process on loopback, with `extra` appended to every zoo.cfg.
pub fn ensemble(name: &str, n: usize, extra: &str) -> Vec<Node> {
    ensemble_with_observers(name, n, 0, extra)
}

/// `voters` voters and then `observers` observers, in-process on loopback.
pub fn ensemble_with_observers(
    name: &str,
    voters: usize,
    observers: usize,
    extra: &str,
) -> Vec<Node> {
    let n = voters + observers;
    let dir = scratch(name);
    let ports: Vec<u16> = (0..3 * n).map(|_| free_port()).collect();
    let servers: String = (1..=n)
        .map(|i| {
            let (q, e) = (ports[i * 3 - 3], ports[i * 3 - 2]);
            let role = if i > voters { ":observer" } else { "" };
            format!("server.{i}=127.0.0.1:{q}:{e}{role}\n")
        })
        .collect();
    (1..=n)
        .map(|i| {
            let d = dir.join(format!("s{i}"));
            std::fs::create_dir_all(d.join("data")).unwrap();
            std::fs::write(d.join("data/myid"), i.to_string()).unwrap();
            let cfg = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\n{servers}{extra}",
                d.join("data").display(),
                ports[i * 3 - 1]
            );
            Node::start(&cfg, &d)
        })
        .collect()
}

/// The connect string of `nodes` (`host:port,...`).
pub fn cluster(nodes: &[Node]) -> String {
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| n.running.client_addr.to_string())
        .collect();
    addrs.join(",")
}

/// A standalone server's zoo.cfg (tickTime 200 ms, a free loopback client port) with `extra`
/// appended, and its directory.
pub fn standalone_cfg(name: &str, extra: &str) -> (String, std::path::PathBuf) {
    let dir = scratch(name);
    let port = free_port();
    let cfg = format!(
        "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n{extra}",
        dir.join("data").display()
    );
    (cfg, dir)
}

#[test]
fn standalone_server_keeps_acknowledged_writes_across_a_restart() {
    // A standalone server is an ensemble of one running the same actor; what it acknowledged
    // was fsynced before the reply, so a restart from the data directory still has it.
    let (cfg, dir) = standalone_cfg("standalone", "");
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr;
    let mut c = Client::connect(addr, Duration::from_secs(10));
    for i in 0..20 {
        assert_eq!(c.create(&format!("/n{i}"), b"v"), Code::Ok as i32);
    }
    assert_eq!(c.create("/n0", b"v"), Code::NodeExists as i32);
    drop(c);
    node.stop();
    restart_and_read(&cfg, &dir, "/n", 20);
}

/// Starts the stopped server of `cfg` again and reads `<prefix>0` to `<prefix><n-1>` back
/// (each created with the value `v`).
fn restart_and_read(cfg: &str, dir: &Path, prefix: &str, n: usize) {
    let node = Node::start(cfg, dir);
    let mut c = Client::connect(node.running.client_addr, Duration::from_secs(10));
    for i in 0..n {
        let path = format!("{prefix}{i}");
        assert_eq!(c.get(&path).as_deref(), Some(&b"v"[..]), "{path}");
    }
    node.stop();
}

#[test]
fn snapshots_taken_every_snap_count_are_put_in_place_reported_and_recovered() {
    // snapCount=10: the committed transactions are folded into a snapshot every ten, written
    // on its own thread while the log goes on; mntr counts each one put in place.
    use crate::zk_wire::four;
    let (cfg, dir) = standalone_cfg("snapshots", "snapCount=10\n4lw.commands.whitelist=mntr\n");
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr;
    let mut c = Client::connect(addr, Duration::from_secs(10));
    for i in 0..35 {
        assert_eq!(c.create(&format!("/s{i}"), b"v"), Code::Ok as i32);
    }
    let count = || {
        let mntr = four(addr, "mntr");
        let v = mntr
            .lines()
            .find_map(|l| l.strip_prefix("zk_cnt_snapshottime\t"));
        v.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    // The empty directory's first snapshot, then three taken here (36 transactions with the
    // createSession).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count() < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(count() >= 4, "{}", four(addr, "mntr"));
    let names: Vec<String> = std::fs::read_dir(dir.join("data/version-2"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let snapshots = names.iter().filter(|n| n.starts_with("snapshot.")).count();
    assert!(snapshots >= 4, "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    drop(c);
    node.stop();
    restart_and_read(&cfg, &dir, "/s", 35);
}

#[test]
fn commit_log_count_bounds_the_log_in_memory_not_the_snapshots_on_disk() {
    // commitLogCount=3, snapCount=10: the actor folds its committed log every three
    // transactions (so it keeps few in memory), the disk gets a snapshot only once its log
    // holds ten; a restart recovers every write from the older snapshot and the longer log.
    let cfg_text = "snapCount=10\ncommitLogCount=3\n";
    let (cfg, dir) = standalone_cfg("commit-log-count", cfg_text);
    let node = Node::start(&cfg, &dir);
    let mut c = Client::connect(node.running.client_addr, Duration::from_secs(10));
    for i in 0..35 {
        assert_eq!(c.create(&format!("/s{i}"), b"v"), Code::Ok as i32);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let ask = move |st: &zabkeeper::zab::ServerState<zabkeeper::zk::ZooKeeper>| {
        let _ = tx.send(st.durable.log.len());
    };
    let inspect = zabkeeper::runtime::Event::Inspect(Box::new(ask));
    node.running.inbox.send(inspect).unwrap();
    let log_len = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(log_len <= 3, "the actor keeps {log_len} transactions");
    std::thread::sleep(Duration::from_millis(300)); // a snapshot's thread may still write
    let names: Vec<String> = std::fs::read_dir(dir.join("data/version-2"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let snapshots = names.iter().filter(|n| n.starts_with("snapshot.")).count();
    // The empty directory's, then one per ten or so of the 36 transactions: not one per fold.
    assert!((2..=5).contains(&snapshots), "{names:?}");
    drop(c);
    node.stop();
    restart_and_read(&cfg, &dir, "/s", 35);
}

#[test]
fn three_servers_replicate_and_elect_a_new_leader_when_one_stops() {
    // ZAB over TCP: a write through any server is read on the others (after sync of its own
    // session order: each client reads through its own server); stopping one server leaves
    // a quorum that keeps serving.
    let mut nodes = ensemble("ensemble", 3, "");
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.running.client_addr).collect();
    let mut a = Client::connect(addrs[0], Duration::from_secs(20));
    assert_eq!(a.create("/replicated", b"hello"), Code::Ok as i32);
    // Reads are local: wait until the other servers have applied the write.
    for &addr in &addrs[1..] {
        let mut c = Client::connect(addr, Duration::from_secs(20));
        let start = Instant::now();
        while c.get("/replicated").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{addr} never saw it"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(a);
    nodes.remove(0).stop();
    let mut b = Client::connect(addrs[1], Duration::from_secs(20));
    let start = Instant::now();
    loop {
        let err = b.create("/after", b"x");
        // A retried create may find its own earlier attempt committed.
        if err == Code::Ok as i32 || err == Code::NodeExists as i32 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no leader: {err}"
        );
        b = Client::connect(addrs[1], Duration::from_secs(20));
    }
    assert_eq!(b.get("/replicated").as_deref(), Some(&b"hello"[..]));
    for n in nodes {
        n.stop();
    }
}

#[test]
fn max_client_cnxns_limits_connections_per_address() {
    // Administrator's Guide, maxClientCnxns: connections from one address beyond the limit are
    // refused; the others are served, and a closed one frees its place.
    let (cfg, dir) = standalone_cfg("maxcnxns", "maxClientCnxns=2\n");
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr;
    let mut a = Client::connect(addr, Duration::from_secs(10));
    let b = Client::connect(addr, Duration::from_secs(10));
    assert!(
        Client::try_connect(addr).is_none(),
        "a third connection was served"
    );
    assert_eq!(a.create("/ok", b""), Code::Ok as i32);
    drop(b);
    let start = Instant::now();
    while Client::try_connect(addr).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the freed place was not reused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    node.stop();
}

#[test]
fn malformed_frames_close_only_their_connection() {
    // A frame whose length is negative or beyond jute.maxbuffer, or whose body does not
    // decode, closes that connection; the server and the other sessions go on.
    use std::io::{Read, Write};
    let (cfg, dir) = standalone_cfg("malformed", "");
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr;
    let mut good = Client::connect(addr, Duration::from_secs(10));
    let bad_frames: [&[u8]; 3] = [
        &[0x7f, 0xff, 0xff, 0xff], // oversized
        &[0xff, 0xff, 0xff, 0xf0], // negative
        &[0, 0, 0, 4, 0, 0, 0, 0], // a connect request cut short
    ];
    for frame in bad_frames {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(frame).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            s.read(&mut buf).unwrap_or(0),
            0,
            "the connection was not closed"
        );
    }
    assert_eq!(good.create("/still", b"ok"), Code::Ok as i32);
    node.stop();
}

#[test]
fn four_letter_words_answer_in_zookeeper_s_formats() {
    // Administrator's Guide, "The Four Letter Words", and 4lw.commands.whitelist.
    use crate::zk_wire::four;
    let (cfg, dir) = standalone_cfg(
        "fourlw",
        "4lw.commands.whitelist=ruok, srvr, stat, mntr, wchs, isro, cons\n",
    );
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr;
    let mut c = Client::connect(addr, Duration::from_secs(10));
    assert_eq!(c.create("/w", b"x"), Code::Ok as i32);
    assert!(c.get_watch("/w").is_some());
    assert_eq!(four(addr, "ruok"), "imok");
    assert_eq!(four(addr, "isro"), "rw");
    let srvr = four(addr, "srvr");
    assert!(
        srvr.starts_with("Zookeeper version: 3.8.0-zabkeeper"),
        "{srvr}"
    );
    // ZooKeeper counts the asking connection too.
    assert!(
        srvr.contains("Mode: standalone\n") && srvr.contains("Connections: 2\n"),
        "{srvr}"
    );
    let stat = four(addr, "stat");
    assert!(stat.contains("Clients:\n /127.0.0.1:"), "{stat}");
    assert!(stat.contains("[0](queued=0,recved=1,sent=0)\n"), "{stat}");
    // The client's connect, create and getData: three frames each way; the last op a getData.
    let cons = four(addr, "cons");
    assert!(
        cons.contains("[1](queued=0,recved=3,sent=3,sid=0x"),
        "{cons}"
    );
    assert!(cons.contains(",lop=GETD,"), "{cons}");
    let mntr = four(addr, "mntr");
    assert!(mntr.contains("zk_server_state\tstandalone\n"), "{mntr}");
    assert!(mntr.contains("zk_znode_count\t5\n"), "{mntr}");
    // The createSession and the create were saved by the log writer's group commits: two
    // transactions at least (the batch size counts transactions, as ZooKeeper's does).
    let field = |key: &str| {
        let line = mntr
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('\t'));
        line.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    let commits = field("zk_cnt_sync_processor_batch_size");
    assert!(commits >= 1, "{mntr}");
    assert!(field("zk_sum_sync_processor_batch_size") >= 2, "{mntr}");
    assert_eq!(field("zk_cnt_fsynctime"), commits, "{mntr}");
    assert_eq!(
        four(addr, "wchs"),
        "1 connections watching 1 paths\nTotal watches:1\n"
    );
    assert_eq!(
        four(addr, "dump"),
        "dump is not executed because it is not in the whitelist.\n"
    );
    node.stop();
}

#[test]
fn an_observer_serves_forwards_writes_and_learns_commits() {
    // Observers (ZooKeeper's Observers Guide): they do not vote, forward writes to the leader,
    // and receive what is committed (INFORM).
    use crate::zk_wire::four;
    let nodes = ensemble_with_observers("observer", 2, 1, "");
    let observer = nodes[2].running.client_addr;
    let mut c = Client::connect(observer, Duration::from_secs(20));
    assert!(four(observer, "srvr").contains("Mode: observer"));
    assert_eq!(c.create("/via-observer", b"o"), Code::Ok as i32);
    let mut v = Client::connect(nodes[0].running.client_addr, Duration::from_secs(20));
    let start = Instant::now();
    while v.get("/via-observer").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a voter never saw it"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(v.create("/via-voter", b"v"), Code::Ok as i32);
    while c.get("/via-voter").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the observer never learned it"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for n in nodes {
        n.stop();
    }
}
