//! The runtime: the unmodified actor over TCP with its data directory, driven by a minimal jute
//! client (the codec of `src/jute`, as real clients encode it). Loopback only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zabkeeper::jute::codec;
use zabkeeper::jute::proto::{op, ConnectRequest, ReplyFrame, Request, RequestFrame, Response};
use zabkeeper::runtime::{self, config::ZooConfig, node::Event, Running};
use zabkeeper::zk::{Acl, Code, CreateMode};

/// A fresh directory under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zabkeeper-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server with its own tokio runtime, so that stopping it closes its ports.
struct Node {
    running: Running,
    rt: tokio::runtime::Runtime,
}

impl Node {
    fn start(cfg_text: &str, dir: &Path) -> Node {
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
    fn stop(self) {
        let _ = self.running.inbox.send(Event::Stop);
        self.running.thread.join().unwrap().unwrap();
        self.rt.shutdown_timeout(Duration::from_millis(100));
    }
}

/// Not a ZooKeeper code: the connection closed before the reply.
const LOST: i32 = -999;

/// A minimal synchronous ZooKeeper client.
struct Client {
    s: TcpStream,
    xid: i32,
}

impl Client {
    /// Connects, retrying until the server serves (a server that does not serve closes the
    /// connection) or `deadline` passes.
    fn connect(addr: SocketAddr, deadline: Duration) -> Client {
        let start = Instant::now();
        loop {
            if let Some(c) = Client::try_connect(addr) {
                return c;
            }
            assert!(start.elapsed() < deadline, "{addr} never served");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn try_connect(addr: SocketAddr) -> Option<Client> {
        let mut s = TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout: 10000,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        };
        write_frame(&mut s, &codec::encode_connect_request(&req)).ok()?;
        let body = read_frame(&mut s)?;
        let resp = codec::decode_connect_response(&body).ok()?;
        (resp.session_id != 0).then_some(Client { s, xid: 0 })
    }

    /// Sends a request and waits for its reply (None: the connection closed).
    fn call(&mut self, code: i32, body: Request) -> Option<ReplyFrame> {
        self.xid += 1;
        let frame = RequestFrame {
            xid: self.xid,
            op: code,
            body,
        };
        write_frame(&mut self.s, &codec::encode_request(&frame)).ok()?;
        loop {
            let buf = read_frame(&mut self.s)?;
            let reply = codec::decode_reply(&buf, code).unwrap();
            if reply.xid == self.xid {
                return Some(reply);
            }
        }
    }

    /// The create's error code (`LOST` when the connection closed first).
    fn create(&mut self, path: &str, data: &[u8]) -> i32 {
        let body = Request::Create {
            path: path.into(),
            data: data.to_vec(),
            acl: Acl::open(),
            flags: CreateMode::Persistent as i32,
        };
        self.call(op::CREATE, body).map_or(LOST, |r| r.err)
    }

    fn get(&mut self, path: &str) -> Option<Vec<u8>> {
        let body = Request::Read {
            path: path.into(),
            watch: false,
        };
        match self.call(op::GET_DATA, body) {
            Some(ReplyFrame {
                body: Response::GetData(data, _),
                ..
            }) => Some(data),
            _ => None,
        }
    }
}

fn write_frame(s: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    s.write_all(&frame)
}

fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn standalone_server_keeps_acknowledged_writes_across_a_restart() {
    // A standalone server is an ensemble of one running the same actor; what it acknowledged
    // was fsynced before the reply, so a restart from the data directory still has it.
    let dir = scratch("standalone");
    let port = free_port();
    let cfg = format!(
        "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n",
        dir.join("data").display()
    );
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr;
    let mut c = Client::connect(addr, Duration::from_secs(10));
    for i in 0..20 {
        assert_eq!(c.create(&format!("/n{i}"), b"v"), Code::Ok as i32);
    }
    assert_eq!(c.create("/n0", b"v"), Code::NodeExists as i32);
    drop(c);
    node.stop();
    let node = Node::start(&cfg, &dir);
    let mut c = Client::connect(addr, Duration::from_secs(10));
    for i in 0..20 {
        assert_eq!(
            c.get(&format!("/n{i}")).as_deref(),
            Some(&b"v"[..]),
            "/n{i}"
        );
    }
    node.stop();
}

#[test]
fn three_servers_replicate_and_elect_a_new_leader_when_one_stops() {
    // ZAB over TCP: a write through any server is read on the others (after sync of its own
    // session order: each client reads through its own server); stopping one server leaves
    // a quorum that keeps serving.
    let dir = scratch("ensemble");
    let ports: Vec<u16> = (0..9).map(|_| free_port()).collect();
    let servers: String = (1..=3)
        .map(|i| {
            let (q, e) = (ports[i * 3 - 3], ports[i * 3 - 2]);
            format!("server.{i}=127.0.0.1:{q}:{e}\n")
        })
        .collect();
    let mut nodes = Vec::new();
    for i in 1..=3 {
        let d = dir.join(format!("s{i}"));
        std::fs::create_dir_all(d.join("data")).unwrap();
        std::fs::write(d.join("data/myid"), i.to_string()).unwrap();
        let cfg = format!(
            "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
             clientPortAddress=127.0.0.1\n{servers}",
            d.join("data").display(),
            ports[i * 3 - 1]
        );
        nodes.push(Node::start(&cfg, &d));
    }
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
