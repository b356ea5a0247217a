//! Clients that are not ours, unmodified: kazoo (PyPI) and zkCli (Debian's `zookeeper`
//! package, Apache ZooKeeper 3.8), against a standalone zabkeeper and three servers; and
//! zabkeeper side by side with Apache ZooKeeper itself, where zkCli must print the same and
//! the four-letter words must have the same lines.
//!
//! The tools are not Rust crates: `.ci/run` installs them, and sets `ZABKEEPER_INTEROP=require`
//! so that a missing tool fails there. Elsewhere a missing tool skips its test with a message.

use crate::runtime::{cluster, ensemble, standalone_cfg, Node};
use crate::zk_wire::{four, free_port, scratch, Client};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zabkeeper::jute::proto::{op, Request};
use zabkeeper::zk::{Acl, Code, CreateMode};

/// Apache ZooKeeper 3.8's jars as Debian installs them.
const ZK_JARS: [&str; 4] = [
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-api.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
];

/// What Netty (ZooKeeper's TLS) needs besides the jars zookeeper.jar's manifest names: Debian's
/// manifest leaves out netty-codec and netty-resolver.
pub const NETTY_JARS: [&str; 3] = [
    "/usr/share/java/netty-codec.jar",
    "/usr/share/java/netty-resolver.jar",
    "/usr/share/java/netty-transport-native-unix-common.jar",
];

/// Whether a tool is there; if not, fails under `ZABKEEPER_INTEROP=require`, else says why
/// the test is skipped.
pub fn need(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if std::env::var("ZABKEEPER_INTEROP").as_deref() == Ok("require") {
        panic!("{what} is required (ZABKEEPER_INTEROP=require) but missing");
    }
    eprintln!("SKIPPED: {what} is missing (.ci/run installs it)");
    false
}

pub fn kazoo() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import kazoo"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    need("python3 with kazoo (pip install kazoo)", ok)
}

fn zkcli_path() -> PathBuf {
    std::env::var_os("ZKCLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/share/zookeeper/bin/zkCli.sh".into())
}

pub fn zookeeper() -> bool {
    let ok = zkcli_path().exists() && Path::new(ZK_JARS[0]).exists();
    need(
        "Apache ZooKeeper with zkCli (apt-get install zookeeper)",
        ok,
    )
}

/// Runs `cmd` to its end (at most two minutes), returning whether it succeeded and its
/// output, standard error after standard output.
pub fn run(cmd: Command, input: &str) -> (bool, String) {
    run_for(cmd, input, Duration::from_secs(120))
}

/// As [`run`], for at most `limit`.
pub fn run_for(mut cmd: Command, input: &str, limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = out.join().unwrap() + &err.join().unwrap();
    (status.success(), text)
}

fn kazoo_suite(connect: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("model-tests/interop/kazoo_suite.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(connect);
    let (ok, out) = run(cmd, "");
    println!("{out}");
    assert!(ok, "kazoo_suite.py failed against {connect}:\n{out}");
}

#[test]
fn kazoo_works_against_a_standalone_server() {
    if !kazoo() {
        return;
    }
    let (cfg, dir) = standalone_cfg("kazoo1", "");
    let node = Node::start(&cfg, &dir);
    kazoo_suite(&node.running.client_addr.to_string());
    node.stop();
}

#[test]
fn kazoo_works_against_three_servers() {
    if !kazoo() {
        return;
    }
    let nodes = ensemble("kazoo3", 3, "");
    kazoo_suite(&cluster(&nodes));
    for n in nodes {
        n.stop();
    }
}

/// zkCli's output for `script` (one command a line), without its log lines and with what
/// differs between two servers (zxids, session ids, times) blanked.
pub fn zkcli(server: SocketAddr, script: &str) -> String {
    zkcli_raw(server, script)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("SLF4J") && !l.starts_with("Connecting"))
        .filter(|l| !l.as_bytes().first().is_some_and(u8::is_ascii_digit) || !l.contains(" ["))
        .map(|l| match l.split_once(" = ") {
            Some((k @ ("ctime" | "mtime"), _)) => format!("{k} = ?"),
            _ => blank_hex(l),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// zkCli's output for `script`, nothing blanked.
pub fn zkcli_raw(server: SocketAddr, script: &str) -> String {
    // One stream, in the order zkCli wrote it: answers go to stdout, errors to stderr.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec \"$0\" -server \"$1\" 2>&1"])
        .arg(zkcli_path())
        .arg(server.to_string());
    run(cmd, script).1
}

fn blank_hex(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i + 2]);
        rest = rest[i + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
        out.push('?');
    }
    out + rest
}

/// zkCli's answers in order, and its watch events (printed by another thread, so their place
/// among the answers is a race) sorted.
fn answers_and_events(out: &str) -> (Vec<String>, Vec<String>) {
    let (mut answers, mut events) = (vec![], vec![]);
    for line in out.lines() {
        if line == "WATCHER::" || line.starts_with("WatchedEvent ") {
            events.push(line.to_string());
        } else {
            answers.push(line.to_string());
        }
    }
    events.sort();
    (answers, events)
}

/// Waits until every server answers requests (an election has ended).
fn wait_serving(nodes: &[Node]) {
    let start = Instant::now();
    for n in nodes {
        while four(n.running.client_addr, "srvr").contains("not currently serving") {
            assert!(start.elapsed() < Duration::from_secs(30), "no leader");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Everything zkCli can ask, once each, with the errors it reports.
const ZKCLI_SCRIPT: &str = "create /zk hello\ncreate -e /zk/e x\ncreate -s /zk/s- y\n\
    create -c /zk/c\ncreate -t 60000 /zk/t z\ncreate /zk/e/child\ncreate /zk hello\n\
    get -s /zk\nset -v 0 /zk new\nset -v 0 /zk again\ndelete -v 5 /zk/s-0000000001\n\
    delete /zk\nls -R /zk\nls -s /zk\nstat /zk/nothere\nget /zk/nothere\naddauth digest u:p\n\
    create /zk/secret s auth:u:p:cdrwa\ngetAcl /zk/secret\nsetAcl /zk/c world:anyone:r\n\
    create /zk/c/x\ngetAcl /zk/c\nget -w /zk\nset /zk w\nsync /zk\ngetEphemerals /zk\n\
    getAllChildrenNumber /zk\ndeleteall /zk/c\nquit\n";

/// Apache ZooKeeper 3.8 standalone on a free loopback port, killed when dropped.
pub struct RealZk {
    child: Child,
    pub addr: SocketAddr,
}

impl RealZk {
    fn start(name: &str) -> RealZk {
        RealZk::start_with(name, "", &[])
    }

    /// ZooKeeper with more zoo.cfg lines and JVM arguments.
    pub fn start_with(name: &str, extra: &str, jvm: &[String]) -> RealZk {
        let dir = scratch(name);
        let port = free_port();
        let cfg = dir.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 4lw.commands.whitelist=*\nadmin.enableServer=false\nextendedTypesEnabled=true\n{extra}",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("java")
            .args([
                "-Xmx256m",
                "-cp",
                &[&ZK_JARS[..], &NETTY_JARS[..]].concat().join(":"),
            ])
            .args(jvm)
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java");
        let zk = RealZk {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let start = Instant::now();
        while four(zk.addr, "ruok") != "imok" {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "ZooKeeper did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        zk
    }
}

impl Drop for RealZk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Apache ZooKeeper and a standalone zabkeeper (its zoo.cfg with `extra`), both running.
pub fn side_by_side(name: &str, extra: &str) -> (RealZk, Node) {
    let real = RealZk::start(&format!("{name}-real"));
    let (cfg, dir) = standalone_cfg(&format!("{name}-ours"), extra);
    (real, Node::start(&cfg, &dir))
}

#[test]
fn zkcli_prints_the_same_against_zabkeeper_as_against_zookeeper() {
    // Differential: the same zkCli script against Apache ZooKeeper and a standalone zabkeeper
    // (both with TTL nodes enabled) prints the same lines, once zxids, session ids and times
    // are blanked: every answer and every error message is the one ZooKeeper gives.
    if !zookeeper() {
        return;
    }
    let (real, node) = side_by_side("zkcli", "extendedTypesEnabled=true\n");
    let theirs = answers_and_events(&zkcli(real.addr, ZKCLI_SCRIPT));
    let ours = answers_and_events(&zkcli(node.running.client_addr, ZKCLI_SCRIPT));
    println!("{ours:#?}");
    assert!(theirs.0.iter().any(|l| l == "Created /zk/t"), "{theirs:?}");
    assert_eq!(ours, theirs);
    node.stop();
}

#[test]
fn zkcli_works_against_three_servers() {
    // The script through the first server; then, through the third, `sync` and reads see its
    // writes, and the ephemeral of zkCli's closed session is gone.
    if !zookeeper() {
        return;
    }
    let nodes = ensemble("zkcli3", 3, "extendedTypesEnabled=true\n");
    wait_serving(&nodes);
    let first = zkcli(nodes[0].running.client_addr, ZKCLI_SCRIPT);
    assert!(first.contains("Created /zk/s-0000000001"), "{first}");
    assert!(first.contains("Sync is OK"), "{first}");
    let read = "sync /zk\nget /zk\nget /zk/s-0000000001\nstat /zk/e\nquit\n";
    let third = zkcli(nodes[2].running.client_addr, read);
    println!("{third}");
    let lines: Vec<&str> = third.lines().collect();
    let at = lines.iter().position(|l| *l == "Sync is OK").expect(&third);
    assert_eq!(
        lines[at + 1..at + 4],
        ["w", "y", "Node does not exist: /zk/e"],
        "{third}"
    );
    for n in nodes {
        n.stop();
    }
}

/// A line of a four-letter word's answer reduced to its shape: its key, or the field names of
/// a connection line, with numbers blanked.
fn shape(line: &str) -> String {
    if let Some(conn) = line.strip_prefix(" /") {
        let fields = conn.split_once('(').map_or("", |(_, f)| f);
        let names: Vec<&str> = fields
            .split(',')
            .map(|f| f.split('=').next().unwrap())
            .collect();
        return format!("connection({})", names.join(","));
    }
    if line.starts_with('\t') {
        return "\t(entry)".to_string();
    }
    if line.starts_with("0x") || line.starts_with('/') {
        return "(session or path)".into();
    }
    let key = match line.find([':', '=', '\t']) {
        Some(i) => &line[..i],
        None => line,
    };
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    if out.starts_with("N expire at") {
        return "N expire at".into();
    }
    out
}

fn shapes(text: &str) -> std::collections::BTreeSet<String> {
    text.lines().map(shape).collect()
}

/// One client with an ephemeral node and a data watch, on `addr`.
fn busy_client(addr: SocketAddr) -> Client {
    let mut c = Client::connect(addr, Duration::from_secs(30));
    assert_eq!(c.create("/w", b"x"), Code::Ok as i32);
    let eph = Request::Create {
        path: "/eph".into(),
        data: Some(vec![]),
        acl: Acl::open(),
        flags: CreateMode::Ephemeral as i32,
    };
    assert_eq!(c.call(op::CREATE, eph).map(|r| r.err), Some(0));
    assert!(c.get_watch("/w").is_some());
    c
}

#[test]
fn four_letter_words_answer_with_zookeeper_s_lines() {
    // Administrator's Guide, "The Four Letter Words": with the same state (one session, one
    // ephemeral, one watch), each word's answer from zabkeeper has the lines ZooKeeper's has
    // (keys, connection fields); mntr and envi print a subset of ZooKeeper's keys (the rest are
    // JVM and pipeline internals).
    if !zookeeper() {
        return;
    }
    let (real, node) = side_by_side("fourlw", "4lw.commands.whitelist=*\n");
    let ours = node.running.client_addr;
    let _clients = (busy_client(real.addr), busy_client(ours));
    for word in [
        "ruok", "isro", "srvr", "stat", "conf", "cons", "wchs", "wchc", "wchp", "dump", "dirs",
        "mntr", "envi",
    ] {
        let (theirs, mine) = (shapes(&four(real.addr, word)), shapes(&four(ours, word)));
        if word == "mntr" || word == "envi" {
            let extra: Vec<_> = mine.difference(&theirs).collect();
            assert!(
                extra.is_empty(),
                "{word}: keys ZooKeeper does not print: {extra:?}"
            );
        } else {
            assert_eq!(mine, theirs, "{word}");
        }
    }
    node.stop();
}
