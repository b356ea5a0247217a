//! A minimal synchronous ZooKeeper client over the wire (the codec of `src/jute`, as real
//! clients encode it), and helpers for tests that run servers on loopback.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zabkeeper::jute::codec;
use zabkeeper::jute::proto::{op, ConnectRequest, ReplyFrame, Request, RequestFrame, Response};
use zabkeeper::zk::{Acl, CreateMode};

/// A fresh directory for this test run, `<temp>/zabkeeper-tests/<pid>/<name>`. A run's
/// directories stay for a look after a failure; the first call of a run removes those of
/// earlier runs whose process is gone.
pub fn scratch(name: &str) -> PathBuf {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    let root = std::env::temp_dir().join("zabkeeper-tests");
    SWEEP.call_once(|| sweep(&root));
    let dir = root.join(std::process::id().to_string()).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes the scratch directories of test runs that are no longer running.
fn sweep(root: &std::path::Path) {
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let pid = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok());
        let running = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !running {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Not a ZooKeeper code: the connection closed before the reply.
pub const LOST: i32 = -999;

/// A minimal synchronous ZooKeeper client.
pub struct Client {
    s: TcpStream,
    xid: i32,
}

impl Client {
    /// Connects, retrying until the server serves (a server that does not serve closes the
    /// connection) or `deadline` passes.
    pub fn connect(addr: SocketAddr, deadline: Duration) -> Client {
        let start = Instant::now();
        loop {
            if let Some(c) = Client::try_connect(addr) {
                return c;
            }
            assert!(start.elapsed() < deadline, "{addr} never served");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn try_connect(addr: SocketAddr) -> Option<Client> {
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
    pub fn call(&mut self, code: i32, body: Request) -> Option<ReplyFrame> {
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
    pub fn create(&mut self, path: &str, data: &[u8]) -> i32 {
        let body = Request::Create {
            path: path.into(),
            data: Some(data.to_vec()),
            acl: Acl::open(),
            flags: CreateMode::Persistent as i32,
        };
        self.call(op::CREATE, body).map_or(LOST, |r| r.err)
    }

    pub fn get(&mut self, path: &str) -> Option<Vec<u8>> {
        self.read(path, false)
    }

    /// getData with a watch.
    pub fn get_watch(&mut self, path: &str) -> Option<Vec<u8>> {
        self.read(path, true)
    }

    fn read(&mut self, path: &str, watch: bool) -> Option<Vec<u8>> {
        let body = Request::Read {
            path: path.into(),
            watch,
        };
        match self.call(op::GET_DATA, body) {
            Some(ReplyFrame {
                body: Response::GetData(data, _),
                ..
            }) => Some(data.unwrap_or_default()), // null data reads as empty here
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

/// A port no other test of this run was given and nothing listens on now. Taken below the
/// kernel's ephemeral range (32768 and up), so that an outgoing connection's local port, which
/// the kernel picks there, never takes a port a test has chosen but not bound yet.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 6) as u16 * 2_000;
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 2_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The answer to a four-letter word (empty if the server is down).
pub fn four(addr: SocketAddr, cmd: &str) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(cmd.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
