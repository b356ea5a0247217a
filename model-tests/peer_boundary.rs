//! The trust boundary between servers: a peer connection carries only messages that one server
//! sends another (`Msg::may_come_from_peer`, on the port `Msg::channel` names). A connection
//! that brings anything else is refused with a logged reason and closed, and the server goes on
//! serving. Real `zabkeeper server` processes on loopback; the impostor names itself as a
//! configured server that does not run.

use crate::runtime_faults::Proc;
use crate::zk_wire::{four, free_port, scratch, Client};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use zabkeeper::runtime::peer;
use zabkeeper::zab::msg::Channel;
use zabkeeper::zab::Msg;
use zabkeeper::zk::server::{ClientMsg, Input};
use zabkeeper::zk::{WriteOp, WriteRequest, ZkRequest, ZooKeeper};

/// Four servers configured, three running: index 3 is the impostor's name.
const IMPOSTOR: u64 = 3;

struct Ensemble {
    procs: Vec<Proc>,
    /// (quorum, election) address of each configured server.
    ports: Vec<(SocketAddr, SocketAddr)>,
}

fn start() -> Ensemble {
    let dir = scratch("peer-boundary");
    let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let ports: Vec<(u16, u16, u16)> = (0..4)
        .map(|_| (free_port(), free_port(), free_port()))
        .collect();
    let servers: String = (0..4)
        .map(|i| format!("server.{}=127.0.0.1:{}:{}\n", i + 1, ports[i].0, ports[i].1))
        .collect();
    let procs = (0..3)
        .map(|i| {
            let d = dir.join(format!("s{}", i + 1));
            std::fs::create_dir_all(d.join("data")).unwrap();
            std::fs::write(d.join("data/myid"), (i + 1).to_string()).unwrap();
            let cfg = d.join("zoo.cfg");
            let text = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\n{servers}",
                d.join("data").display(),
                ports[i].2
            );
            std::fs::write(&cfg, text).unwrap();
            let mut p = Proc::new(d, cfg, addr(ports[i].2));
            p.start();
            p
        })
        .collect();
    let ports = ports.iter().map(|p| (addr(p.0), addr(p.1))).collect();
    Ensemble { procs, ports }
}

/// Opens a peer connection to `to` as the impostor and sends `msg` on it.
fn send_as_peer(to: SocketAddr, msg: &Msg<ZooKeeper>) -> TcpStream {
    let mut s = TcpStream::connect(to).unwrap();
    s.write_all(&peer::handshake(IMPOSTOR as usize)).unwrap();
    s.write_all(&peer::encode(msg)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s
}

/// Whether the server closed the connection within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 16];
    while start.elapsed() < within {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn client_write() -> Msg<ZooKeeper> {
    let write = WriteRequest {
        session: 0,
        cxid: 0,
        auth: Vec::new(),
        op: WriteOp::CloseSession,
    };
    Msg::ClientWrite(ZkRequest { write, time: 0 })
}

#[test]
fn a_peer_that_sends_what_only_the_environment_may_send_is_refused_and_the_server_serves_on() {
    let e = start();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !e
        .procs
        .iter()
        .any(|p| four(p.client, "srvr").contains("Mode: leader"))
    {
        assert!(Instant::now() < deadline, "no leader elected");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (quorum, election) = e.ports[0];
    // Each kind the boundary forbids, on both ports, and messages on the wrong port; with the
    // text each refusal must leave in the log.
    let forbidden: Vec<(Msg<ZooKeeper>, &str)> = vec![
        (
            Msg::ElectionOutcome { leader: 3 },
            "may not send ElectionOutcome",
        ),
        (client_write(), "may not send ClientWrite"),
        (Msg::Client(ClientMsg::Close), "may not send Client:"),
        (Msg::Input(Input::Clock(1)), "may not send Input"),
    ];
    let mut expected = Vec::new();
    for (msg, text) in &forbidden {
        for port in [quorum, election] {
            let mut s = send_as_peer(port, msg);
            assert!(
                closed_within(&mut s, Duration::from_secs(10)),
                "{} on {port} was not refused",
                msg.kind()
            );
        }
        expected.push(text.to_string());
    }
    let wrong_port = [
        (Msg::Ping, election, "sent PING on the Election port"),
        (
            Msg::Commit(Default::default()),
            election,
            "sent COMMIT on the Election port",
        ),
    ];
    for (msg, port, text) in &wrong_port {
        let mut s = send_as_peer(*port, msg);
        assert!(
            closed_within(&mut s, Duration::from_secs(10)),
            "{text}: not refused"
        );
        expected.push(text.to_string());
    }
    // A message between servers on its own port is taken: the connection stays open.
    let mut ok = send_as_peer(quorum, &Msg::Ping);
    assert!(
        !closed_within(&mut ok, Duration::from_millis(500)),
        "a PING was refused"
    );
    assert_eq!(
        Msg::<ZooKeeper>::Ping.channel(),
        Channel::Quorum,
        "the control message belongs on the quorum port"
    );
    drop(ok);
    // Still serving: a write through the server that was attacked, read back from another.
    let mut c = Client::connect(e.procs[0].client, Duration::from_secs(30));
    assert_eq!(c.create("/after", b"ok"), 0);
    let mut other = Client::connect(e.procs[1].client, Duration::from_secs(30));
    let read_deadline = Instant::now() + Duration::from_secs(10);
    while other.get("/after").is_none() {
        assert!(
            Instant::now() < read_deadline,
            "the write did not replicate"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = e.procs[0].log();
    for text in expected {
        let refusals = log
            .lines()
            .filter(|l| l.contains("peer message refused") && l.contains(&text))
            .count();
        assert!(refusals >= 1, "no logged refusal with {text:?}");
    }
}
