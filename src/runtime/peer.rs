//! Connections between servers: one TCP connection per direction and port, as `zoo.cfg`
//! names them (election traffic on the election port, the rest on the quorum port).
//!
//! A connection starts with a handshake: [`HANDSHAKE_MAGIC`], the peer protocol's version
//! (u32 BE) and the sender's index (u64 BE); then it carries frames `length (u32 BE) |
//! message (postcard)`. docs/storage.md describes the bytes. An outbound link connects, and
//! reconnects with backoff; messages wait while it is down. When an established connection
//! breaks, the messages queued on it are dropped (they were in flight on a connection that
//! reset); when a quorum connection breaks in either direction the server is told with
//! `Disconnected`, as the model's environment tells it.

use super::trace::{self, Break, Record, Tracer};
use super::Event;
use crate::zab::msg::Channel;
use crate::zab::Msg;
use crate::zk::ZooKeeper;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// The first bytes a server sends on a connection to another.
pub const HANDSHAKE_MAGIC: [u8; 4] = *b"ZABP";
/// The version of the peer protocol (messages and their encoding); servers of different
/// versions do not talk.
pub const PEER_VERSION: u32 = 3;

/// The handshake server `me` opens a connection with.
pub fn handshake(me: usize) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..4].copy_from_slice(&HANDSHAKE_MAGIC);
    h[4..8].copy_from_slice(&PEER_VERSION.to_be_bytes());
    h[8..].copy_from_slice(&(me as u64).to_be_bytes());
    h
}

/// The largest peer frame accepted (a SNAP carries a whole tree).
const MAX_PEER_FRAME: usize = 512 << 20;

type M = Msg<ZooKeeper>;

/// What every peer connection of a server shares: its trace, and a deliberate fault.
#[derive(Clone, Default)]
pub struct Peers {
    /// The step log, when tracing (`ZABKEEPER_TRACE`).
    pub tracer: Option<Arc<Tracer>>,
    /// A deliberate fault (`ZABKEEPER_BREAK`), tests only.
    pub faults: Option<Break>,
}

impl Peers {
    fn log(&self, record: impl FnOnce() -> Record) {
        if let Some(t) = &self.tracer {
            t.log(&record());
        }
    }
}

/// The quorum message a `reorder` or `duplicate` fault acts on (the tenth on a connection).
const FAULTY: usize = 10;

/// Starts the outbound link from `me` to `peer` on `channel`; returns its queue.
pub fn link(
    rt: &tokio::runtime::Handle,
    (me, peer): (usize, usize),
    addr: SocketAddr,
    channel: Channel,
    inbox: Sender<Event>,
    peers: Peers,
) -> UnboundedSender<M> {
    let (tx, rx) = unbounded_channel();
    rt.spawn(outbound((me, peer), addr, channel, rx, inbox, peers));
    tx
}

async fn outbound(
    (me, peer): (usize, usize),
    addr: SocketAddr,
    channel: Channel,
    mut rx: UnboundedReceiver<M>,
    inbox: Sender<Event>,
    peers: Peers,
) {
    let reorder = peers.faults == Some(Break::Reorder) && channel == Channel::Quorum;
    let mut backoff = Duration::from_millis(20);
    loop {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
            if rx.is_closed() {
                return;
            }
            continue;
        };
        backoff = Duration::from_millis(20);
        let _ = stream.set_nodelay(true);
        tracing::debug!(peer, ?channel, %addr, "connected");
        if stream.write_all(&handshake(me)).await.is_err() {
            continue;
        }
        let conn: Arc<str> = stream
            .local_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string())
            .into();
        let (mut rd, mut wr) = stream.into_split();
        let mut probe = [0u8; 1];
        let (mut written, mut held) = (0usize, None);
        loop {
            // The peer never writes on this connection: a read that ends means it is gone,
            // noticed at once rather than at the next write (which could be lost).
            let msg = tokio::select! {
                msg = rx.recv() => msg,
                _ = rd.read(&mut probe) => break,
            };
            let Some(msg) = msg else { break };
            // What else is queued goes out in the same write (one syscall, not one per frame).
            let mut next = Vec::new();
            let mut queued = vec![msg];
            while queued.len() < BATCH {
                match rx.try_recv() {
                    Ok(msg) => queued.push(msg),
                    Err(_) => break,
                }
            }
            for msg in queued {
                written += 1;
                if reorder && written == FAULTY {
                    held = Some(msg);
                    continue;
                }
                next.push(msg);
                next.extend(held.take());
            }
            if !write_all(&mut wr, next.into_iter(), (peer, channel, &conn), &peers).await {
                break;
            }
        }
        if rx.is_closed() {
            return;
        }
        tracing::info!(peer, ?channel, "connection lost");
        // What was queued for the lost connection was in flight when it broke: dropped, as the
        // model's reset and crash drop it (what is queued from now on goes to the next one).
        for msg in held
            .take()
            .into_iter()
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
        {
            peers.log(|| Record::Dropped {
                dst: peer,
                ch: trace::channel_name(channel).into(),
                d: trace::msg_digest(&msg),
                kind: msg.kind().into(),
            });
        }
        if channel == Channel::Quorum {
            let _ = inbox.send(Event::Broken { src: peer, conn });
        }
    }
}

/// At most this many queued messages go out in one write.
const BATCH: usize = 256;

/// A write that has this many bytes goes out before the next message is encoded (a SNAP may
/// be large on its own; this keeps a batch of small messages from growing without bound).
const BATCH_BYTES: usize = 256 << 10;

/// Writes `msgs` to a peer's connection, as few writes as [`BATCH_BYTES`] allows; false when
/// the connection failed. Each message is logged as written before its bytes go out (a
/// `kill -9` may come between: the trace then says written of a message the peer never reads,
/// which a broken connection allows, and never leaves a message read that no line says was
/// written); the rest after a failed write are logged as dropped.
async fn write_all(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    mut msgs: impl Iterator<Item = M>,
    (peer, channel, conn): (usize, Channel, &Arc<str>),
    peers: &Peers,
) -> bool {
    let ch = || trace::channel_name(channel).to_string();
    let mut out = Vec::new();
    loop {
        let msg = msgs.next();
        if let Some(msg) = &msg {
            let start = out.len();
            encode_into(msg, &mut out);
            peers.log(|| Record::Wrote {
                dst: peer,
                ch: ch(),
                conn: conn.to_string(),
                d: trace::digest(&out[start + 4..]),
                kind: msg.kind().into(),
            });
        }
        if out.len() < BATCH_BYTES && msg.is_some() {
            continue;
        }
        if !out.is_empty() && wr.write_all(&out).await.is_err() {
            for msg in msgs {
                peers.log(|| Record::Dropped {
                    dst: peer,
                    ch: ch(),
                    d: trace::msg_digest(&msg),
                    kind: msg.kind().into(),
                });
            }
            return false;
        }
        out.clear();
        if msg.is_none() {
            return true;
        }
    }
}

/// One of this server's peer ports.
#[derive(Clone)]
pub struct Port {
    /// How many servers the ensemble has.
    pub servers: usize,
    /// The election or the quorum port.
    pub channel: Channel,
    /// The trace and faults.
    pub peers: Peers,
}

/// Accepts peers' connections on `listener` (the election or the quorum port of this server).
pub async fn accept(listener: TcpListener, port: Port, inbox: Sender<Event>) {
    let channel = port.channel;
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let inbox = inbox.clone();
        let port = port.clone();
        tokio::spawn(async move {
            match inbound(stream, from, &port, &inbox).await {
                Ok(()) => {}
                Err(e @ (PeerError::Forbidden { .. } | PeerError::WrongChannel { .. })) => {
                    tracing::warn!(%from, ?channel, reason = %e, "peer message refused, connection closed");
                }
                Err(e) => tracing::info!(%from, ?channel, reason = %e, "peer connection closed"),
            }
        });
    }
}

/// Why the runtime closed a connection from a peer. Every refusal is logged with its reason.
#[derive(Debug, Error)]
pub enum PeerError {
    /// The connection ended before the sender named itself.
    #[error("no handshake: {0}")]
    NoHandshake(std::io::Error),
    /// The handshake is not this peer protocol's, or another version of it.
    #[error("handshake of another protocol or version (magic {magic:02x?}, version {version})")]
    Version {
        /// The first four bytes.
        magic: [u8; 4],
        /// The version announced.
        version: u32,
    },
    /// The handshake names a server the configuration does not have.
    #[error("handshake names unknown server {0}")]
    UnknownServer(usize),
    /// A frame longer than any message a server sends.
    #[error("frame of {len} bytes from server {src}")]
    TooLong {
        /// The sender.
        src: usize,
        /// The announced length.
        len: usize,
    },
    /// The connection ended inside a frame.
    #[error("truncated frame: {0}")]
    Truncated(std::io::Error),
    /// The bytes are no message.
    #[error("bad frame from server {src}: {reason}")]
    Undecodable {
        /// The sender.
        src: usize,
        /// What the decoder said.
        reason: String,
    },
    /// A message that only this server's environment may hand it
    /// ([`Msg::may_come_from_peer`]).
    #[error("server {src} may not send {kind}: it is not a message between servers")]
    Forbidden {
        /// The sender.
        src: usize,
        /// The message's kind.
        kind: &'static str,
    },
    /// A message on the other port than the one it travels on ([`Msg::channel`]).
    #[error("server {src} sent {kind} on the {channel:?} port")]
    WrongChannel {
        /// The sender.
        src: usize,
        /// The message's kind.
        kind: &'static str,
        /// The port it came on.
        channel: Channel,
    },
}

/// Encodes `msg` as a peer frame (length, then the message).
pub fn encode(msg: &M) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_into(msg, &mut frame);
    frame
}

/// Appends `msg`'s peer frame to `out`.
fn encode_into(msg: &M, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend([0u8; 4]);
    postcard::to_io(msg, &mut *out).expect("messages serialize");
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Decodes a frame's body that server `src` sent on `channel`, and lets through only what a
/// server may send there: the trust boundary between servers.
pub fn decode(src: usize, channel: Channel, body: &[u8]) -> Result<M, PeerError> {
    let msg: M = postcard::from_bytes(body).map_err(|e| PeerError::Undecodable {
        src,
        reason: e.to_string(),
    })?;
    let kind = msg.kind();
    if !msg.may_come_from_peer() {
        return Err(PeerError::Forbidden { src, kind });
    }
    if msg.channel() != channel {
        return Err(PeerError::WrongChannel { src, kind, channel });
    }
    Ok(msg)
}

async fn inbound(
    mut stream: TcpStream,
    from: SocketAddr,
    port: &Port,
    inbox: &Sender<Event>,
) -> Result<(), PeerError> {
    let (servers, channel) = (port.servers, port.channel);
    let mut h = [0u8; 16];
    stream
        .read_exact(&mut h)
        .await
        .map_err(PeerError::NoHandshake)?;
    let magic: [u8; 4] = h[..4].try_into().expect("4 bytes");
    let version = u32::from_be_bytes(h[4..8].try_into().expect("4 bytes"));
    if magic != HANDSHAKE_MAGIC || version != PEER_VERSION {
        return Err(PeerError::Version { magic, version });
    }
    let src = u64::from_be_bytes(h[8..].try_into().expect("8 bytes")) as usize;
    if src >= servers {
        return Err(PeerError::UnknownServer(src));
    }
    let conn: Arc<str> = from.to_string().into();
    // Buffered: a batch of frames is read in one syscall, not two per frame.
    let mut stream = tokio::io::BufReader::with_capacity(64 << 10, stream);
    let late = (port.peers.faults == Some(Break::LateCommit) && channel == Channel::Quorum)
        .then(|| late_queue(inbox.clone()));
    let result = frames(
        &mut stream,
        (src, &conn),
        port,
        inbox,
        late.as_ref().map(|l| &l.0),
    )
    .await;
    if let Some((tx, task)) = late {
        // The connection's end comes after the commits still held.
        drop(tx);
        let _ = task.await;
    }
    port.peers.log(|| Record::Closed {
        src,
        ch: trace::channel_name(channel).into(),
        conn: conn.to_string(),
    });
    if channel == Channel::Quorum {
        let _ = inbox.send(Event::Broken { src, conn });
    }
    result
}

/// The `late-commit` fault: COMMITs reach the actor `LATE` after they arrived, in their
/// order, while the messages after them (a SYNC's answer among them) pass at once.
const LATE: Duration = Duration::from_millis(30);

type Late = UnboundedSender<(tokio::time::Instant, Event)>;

fn late_queue(inbox: Sender<Event>) -> (Late, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = unbounded_channel::<(tokio::time::Instant, Event)>();
    let task = tokio::spawn(async move {
        while let Some((at, event)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if inbox.send(event).is_err() {
                return;
            }
        }
    });
    (tx, task)
}

async fn frames(
    stream: &mut (impl AsyncRead + Unpin),
    (src, conn): (usize, &Arc<str>),
    port: &Port,
    inbox: &Sender<Event>,
    late: Option<&Late>,
) -> Result<(), PeerError> {
    let channel = port.channel;
    let duplicate = port.peers.faults == Some(Break::Duplicate) && channel == Channel::Quorum;
    let mut read = 0usize;
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).await.is_err() {
            return Ok(());
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_PEER_FRAME {
            return Err(PeerError::TooLong { src, len });
        }
        let mut body = vec![0u8; len];
        stream
            .read_exact(&mut body)
            .await
            .map_err(PeerError::Truncated)?;
        // A peer's `Disconnected` stands for it closing the connection (the actor says so when
        // it drops a learner or leaves its leader).
        let msg = decode(src, channel, &body)?;
        read += 1;
        let times = if duplicate && read == FAULTY { 2 } else { 1 };
        let digest = port
            .peers
            .tracer
            .as_ref()
            .map_or(0, |_| trace::digest(&body));
        for _ in 0..times {
            let event = Event::Peer {
                src,
                msg: msg.clone(),
                conn: conn.clone(),
                digest,
            };
            if let (Some(late), Msg::Commit(_)) = (late, &msg) {
                let _ = late.send((tokio::time::Instant::now() + LATE, event));
                continue;
            }
            if inbox.send(event).is_err() {
                return Ok(());
            }
        }
    }
}
