//! Faults against real server processes (`zabkeeper server`) on loopback: `kill -9` of the
//! leader under writes, a follower restarted from its data directory (DIFF), and one whose
//! data directory was wiped (SNAP). Timings are printed, not asserted (docs/runtime.md has
//! them); what is asserted is that no acknowledged write is lost, and that the servers' step
//! logs (`ZABKEEPER_TRACE`) are a run of the model (`zabkeeper validate-trace`). Each runtime
//! fault `ZABKEEPER_BREAK` switches on must make validation fail at the bad step.

use crate::zk_wire::{four, free_port, scratch, Client, LOST};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zabkeeper::zk::Code;

/// A `zabkeeper server` process with its directory (zoo.cfg, data, server.log).
pub struct Proc {
    pub dir: PathBuf,
    pub cfg: PathBuf,
    pub client: SocketAddr,
    pub child: Option<Child>,
    /// Environment variables for the process.
    pub env: Vec<(&'static str, String)>,
}

impl Proc {
    /// A server configured by `cfg` in `dir`, not started yet.
    pub fn new(dir: PathBuf, cfg: PathBuf, client: SocketAddr) -> Proc {
        Proc {
            dir,
            cfg,
            client,
            child: None,
            env: Vec::new(),
        }
    }

    /// Starts the process, its log (trace level) appended to `server.log`.
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zabkeeper"))
            .env("ZABKEEPER_LOG", "trace")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["server", "--config"])
            .arg(&self.cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three servers on loopback, each tracing into `<scratch>/trace`, with `env` set; started.
fn ensemble(name: &str, env: &[(&'static str, &str)]) -> (Vec<Proc>, PathBuf) {
    let dir = scratch(name);
    let trace = dir.join("trace");
    let ports: Vec<u16> = (0..9).map(|_| free_port()).collect();
    let servers: String = (1..=3)
        .map(|i| {
            format!(
                "server.{i}=127.0.0.1:{}:{}\n",
                ports[i * 3 - 3],
                ports[i * 3 - 2]
            )
        })
        .collect();
    let procs = (1..=3)
        .map(|i| {
            let d = dir.join(format!("s{i}"));
            std::fs::create_dir_all(d.join("data")).unwrap();
            std::fs::write(d.join("data/myid"), i.to_string()).unwrap();
            let port = ports[i * 3 - 1];
            let cfg = d.join("zoo.cfg");
            let text = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\nsnapCount=25\ndataDir={}\n\
                 clientPort={port}\nclientPortAddress=127.0.0.1\n{servers}",
                d.join("data").display()
            );
            std::fs::write(&cfg, text).unwrap();
            let mut p = Proc::new(d, cfg, SocketAddr::from(([127, 0, 0, 1], port)));
            p.env.push(("ZABKEEPER_TRACE", trace.display().to_string()));
            p.env.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
            p.start();
            p
        })
        .collect();
    (procs, trace)
}

/// `zabkeeper validate-trace DIR`: its exit code and what it printed.
fn validate(trace: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zabkeeper"))
        .arg("validate-trace")
        .arg(trace)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Waits for a leader among `procs`.
fn await_leader(procs: &[Proc]) -> usize {
    let start = Instant::now();
    loop {
        if let Some(l) = leader(procs) {
            return l;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no leader");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn leader(procs: &[Proc]) -> Option<usize> {
    procs
        .iter()
        .position(|p| p.child.is_some() && four(p.client, "srvr").contains("Mode: leader"))
}

/// Writes `/w<from>..` until `to`, reconnecting to the next live server when a connection
/// drops; returns the acknowledged indices and the longest wait for one acknowledgement.
fn write(
    procs: &[Proc],
    client: &mut Option<Client>,
    range: std::ops::Range<usize>,
) -> (Vec<usize>, Duration) {
    let mut acked = Vec::new();
    let mut longest = Duration::ZERO;
    let mut next = 0;
    for i in range {
        let start = Instant::now();
        loop {
            if client.is_none() {
                let live: Vec<&Proc> = procs.iter().filter(|p| p.child.is_some()).collect();
                next = (next + 1) % live.len();
                *client = Client::try_connect(live[next].client);
            }
            let err = client
                .as_mut()
                .map_or(LOST, |c| c.create(&format!("/w{i}"), b"x"));
            if err == Code::Ok as i32 || err == Code::NodeExists as i32 {
                break;
            }
            *client = None;
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no service for 30 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        longest = longest.max(start.elapsed());
        acked.push(i);
    }
    (acked, longest)
}

/// Waits until the server at `addr` has every acknowledged write.
fn assert_has_all(addr: SocketAddr, acked: &[usize]) {
    let start = Instant::now();
    let mut c = Client::connect(addr, Duration::from_secs(30));
    for i in acked {
        while c.get(&format!("/w{i}")).is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{addr} lacks /w{i}"
            );
            std::thread::sleep(Duration::from_millis(20));
            c = Client::connect(addr, Duration::from_secs(30));
        }
    }
}

#[test]
fn kill_9_of_the_leader_loses_no_acknowledged_write_and_followers_catch_up() {
    let (mut procs, trace) = ensemble("faults", &[]);
    let first = await_leader(&procs);
    let mut client = None;
    // A follower stopped for a few writes comes back from its data directory by DIFF (fewer
    // transactions than snapCount=25 so far: the leader's log still holds what it lacks).
    let (mut acked, _) = write(&procs, &mut client, 0..8);
    let follower = (0..3).find(|&i| i != first).unwrap();
    procs[follower].kill();
    client = None;
    let (more, _) = write(&procs, &mut client, 8..14);
    acked.extend(more);
    procs[follower].start();
    assert_has_all(procs[follower].client, &acked);
    let log = procs[first].log();
    let diff = log
        .lines()
        .any(|l| l.contains("mode=\"DIFF\"") && !l.contains("proposals=0"));
    assert!(diff, "no DIFF with proposals in the leader's log:\n{log}");
    // kill -9 of the leader while a client writes.
    let (more, _) = write(&procs, &mut client, 14..60);
    acked.extend(more);
    procs[first].kill();
    let (more, longest) = write(&procs, &mut client, 60..120);
    acked.extend(more);
    eprintln!("kill -9 of the leader: longest wait for an acknowledgement {longest:?}");
    for p in procs.iter().filter(|p| p.child.is_some()) {
        assert_has_all(p.client, &acked);
    }
    // The old leader restarts from its data directory and catches up.
    procs[first].start();
    assert_has_all(procs[first].client, &acked);
    // A follower whose data directory is wiped (myid kept) comes back by SNAP: the leader's
    // log starts after its snapshot (snapCount=25).
    let now = leader(&procs).expect("a leader");
    let wiped = (0..3).find(|&i| i != now).unwrap();
    procs[wiped].kill();
    let (more, _) = write(&procs, &mut client, 120..160);
    acked.extend(more);
    std::fs::remove_dir_all(procs[wiped].dir.join("data/version-2")).unwrap();
    procs[wiped].start();
    assert_has_all(procs[wiped].client, &acked);
    let log = procs[now].log();
    assert!(
        log.contains("mode=\"SNAP\""),
        "no SNAP in the leader's log:\n{log}"
    );
    for p in &mut procs {
        p.kill();
    }
    let (code, report) = validate(&trace);
    eprintln!("{report}");
    assert_eq!(code, 0, "the run is not one of the model:\n{report}");
    // The follower, the old leader and the wiped follower each restarted once.
    assert!(
        report.contains(" 3 restarts from the last saved state"),
        "{report}"
    );
    crate::trace_validation::changes_are_rejected(&trace);
}

/// Runs three servers with `fault` switched on under a few writes, and returns what
/// `validate-trace` said of their traces.
fn broken_run(fault: &str) -> (i32, String) {
    let (mut procs, trace) = ensemble(&format!("break-{fault}"), &[("ZABKEEPER_BREAK", fault)]);
    await_leader(&procs);
    // A broken runtime may stop serving: write what it takes within 15 s, no more.
    let start = Instant::now();
    let mut written = 0;
    while written < 20 && start.elapsed() < Duration::from_secs(15) {
        let c = Client::try_connect(procs[written % 3].client);
        match c.map(|mut c| c.create(&format!("/b{written}"), b"x")) {
            Some(code) if code == Code::Ok as i32 || code == Code::NodeExists as i32 => {
                written += 1
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    eprintln!("{fault}: {written} writes acknowledged");
    for p in &mut procs {
        p.kill();
    }
    validate(&trace)
}

#[test]
fn validation_rejects_a_connection_that_delivers_a_message_twice() {
    let (code, report) = broken_run("duplicate");
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("reordered or duplicated"), "{report}");
}

#[test]
fn validation_rejects_a_connection_that_swaps_two_messages() {
    let (code, report) = broken_run("reorder");
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("reordered or duplicated"), "{report}");
}

#[test]
fn validation_rejects_an_ack_sent_before_its_fsync() {
    let (code, report) = broken_run("ack-before-fsync");
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("before the save of step"), "{report}");
}
