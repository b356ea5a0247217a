//! The client port: ZooKeeper's jute protocol between real clients and the server actor, and
//! the four-letter words.
//!
//! Each connection gets an id (from [`CLIENT_BASE`] up) under which the actor knows it. The
//! reader turns the connect frame and then each request frame into a [`ClientMsg`] for the
//! actor; the writer encodes what the actor sends back. A malformed, truncated or oversized
//! frame closes that connection with a logged reason; the server and other sessions go on.

use super::four;
use super::stats::{ClientStats, ConnStats, ConnView, Latency};
use super::Event;
use crate::jute::{codec, frame_length, JuteError};
use crate::zab::Msg;
use crate::zk::server::{ClientMsg, Origin};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_rustls::TlsAcceptor;

/// Connection ids start here (server ids are below).
pub const CLIENT_BASE: usize = 1 << 20;

/// One open connection: where its replies go, where it comes from, what it has done.
struct Conn {
    /// None for a four-letter-word connection (answered directly).
    tx: Option<UnboundedSender<ClientMsg>>,
    addr: SocketAddr,
    stats: Arc<ConnStats>,
}

/// The open client connections, by id, and the server-wide counters.
pub struct Registry {
    conns: Mutex<HashMap<usize, Conn>>,
    next: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, u32>>,
    received: AtomicU64,
    sent: AtomicU64,
    latency: Mutex<Latency>,
    started: Instant,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            conns: Mutex::default(),
            next: AtomicUsize::default(),
            per_ip: Mutex::default(),
            received: AtomicU64::default(),
            sent: AtomicU64::default(),
            latency: Mutex::default(),
            started: Instant::now(),
        }
    }
}

impl Registry {
    /// Hands `msg` to connection `id` (dropped if it is gone).
    pub fn send(&self, id: usize, msg: ClientMsg) {
        if let Some(Conn { tx: Some(tx), .. }) = self.conns.lock().expect("registry").get(&id) {
            let _ = tx.send(msg);
        }
    }

    /// Open connections.
    pub fn count(&self) -> usize {
        self.conns.lock().expect("registry").len()
    }

    /// The peer address and counters of each open connection, by id.
    pub fn connections(&self) -> BTreeMap<usize, (SocketAddr, ConnView)> {
        let conns = self.conns.lock().expect("registry");
        conns
            .iter()
            .map(|(id, c)| (*id, (c.addr, c.stats.view())))
            .collect()
    }

    /// Frames received from and sent to clients since the server started.
    pub fn packets(&self) -> (u64, u64) {
        (
            self.received.load(Ordering::Relaxed),
            self.sent.load(Ordering::Relaxed),
        )
    }

    /// Request latencies since the server started.
    pub fn latency(&self) -> Latency {
        *self.latency.lock().expect("registry")
    }

    /// Milliseconds since the server started.
    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The counters now, for the four-letter words.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            conns: self.connections(),
            packets: self.packets(),
            latency: self.latency(),
            uptime_ms: self.uptime_ms(),
        }
    }

    /// Registers a connection; `tx` is None for a four-letter word.
    fn open(
        &self,
        addr: SocketAddr,
        tx: Option<UnboundedSender<ClientMsg>>,
    ) -> (usize, Arc<ConnStats>) {
        let id = CLIENT_BASE + self.next.fetch_add(1, Ordering::Relaxed);
        let stats = Arc::new(ConnStats::default());
        let conn = Conn {
            tx,
            addr,
            stats: stats.clone(),
        };
        self.conns.lock().expect("registry").insert(id, conn);
        (id, stats)
    }

    /// Counts a frame read on a connection (`request`: its xid and opcode).
    fn received(&self, stats: &ConnStats, request: Option<(i32, i32)>) {
        self.received.fetch_add(1, Ordering::Relaxed);
        stats.received(request);
    }

    /// Counts a frame written on a connection (`reply`: its xid and zxid).
    fn sent(&self, stats: &ConnStats, reply: Option<(i32, i64)>) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        if let Some(ms) = stats.sent(reply) {
            self.latency.lock().expect("registry").add(ms);
        }
    }

    fn close(&self, id: usize) {
        self.conns.lock().expect("registry").remove(&id);
    }

    /// Counts a new connection from `ip`, unless `max` (0: no limit) are open already.
    fn admit(&self, ip: IpAddr, max: u32) -> bool {
        let mut per_ip = self.per_ip.lock().expect("registry");
        let n = per_ip.entry(ip).or_default();
        if max > 0 && *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn release(&self, ip: IpAddr) {
        let mut per_ip = self.per_ip.lock().expect("registry");
        if let Some(n) = per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&ip);
            }
        }
    }
}

/// What a connection needs besides its socket.
#[derive(Clone)]
pub struct ClientPort {
    /// The actor's inbox.
    pub inbox: Sender<Event>,
    /// The open connections.
    pub registry: Arc<Registry>,
    /// The four-letter words and what they need to answer.
    pub four: Arc<four::Context>,
    /// `maxClientCnxns`: connections per client address (0: no limit).
    pub max_per_ip: u32,
}

/// Accepts clients on `listener`; with `tls`, each connection starts with a TLS handshake
/// (the secure client port).
pub async fn accept(listener: TcpListener, port: ClientPort, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            continue;
        };
        if !port.registry.admit(from.ip(), port.max_per_ip) {
            // ZooKeeper's NIOServerCnxnFactory refuses the same way.
            let max = port.max_per_ip;
            tracing::warn!(%from, max, "too many connections from this address; closed");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let port = port.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                None => serve(stream, from, &port, None).await,
                Some(tls) => serve_tls(stream, from, &port, tls).await,
            };
            if let Err(reason) = result {
                tracing::warn!(%from, reason = %reason, "client connection closed");
            }
            port.registry.release(from.ip());
        });
    }
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

async fn serve_tls(
    stream: TcpStream,
    from: SocketAddr,
    port: &ClientPort,
    tls: TlsAcceptor,
) -> Result<(), ClientError> {
    let stream = tokio::time::timeout(HANDSHAKE, tls.accept(stream))
        .await
        .map_err(|_| ClientError::Tls("no handshake within 10 s".into()))?
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    // The verifier checked the chain; the first certificate is the client's own.
    let subject = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| super::tls::subject(c));
    serve(stream, from, port, subject).await
}

/// Why a client connection was closed by the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A frame that is no valid jute message (or too long: `jute.maxbuffer`).
    #[error("malformed frame: {0}")]
    Malformed(#[from] JuteError),
    /// The connection ended inside a frame.
    #[error("truncated frame: {0}")]
    Truncated(std::io::Error),
    /// The TLS handshake failed (on the secure client port).
    #[error("TLS: {0}")]
    Tls(String),
}

/// A client connection's byte stream: plain TCP or TLS.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for S {}

async fn serve<S: Stream>(
    stream: S,
    from: SocketAddr,
    port: &ClientPort,
    x509: Option<String>,
) -> Result<(), ClientError> {
    let (mut rd, wr) = tokio::io::split(stream);
    let mut header = [0u8; 4];
    if rd.read_exact(&mut header).await.is_err() {
        return Ok(());
    }
    if let Some(cmd) = four::command(&header) {
        // ZooKeeper counts the asking connection among the open ones (`cons`, `stat`).
        let (id, stats) = port.registry.open(from, None);
        port.registry.received(&stats, None);
        let answer = port
            .four
            .answer(cmd, port.registry.stats(), &port.inbox)
            .await;
        port.registry.close(id);
        let mut wr = wr;
        let _ = wr.write_all(answer.as_bytes()).await;
        let _ = wr.shutdown().await;
        return Ok(());
    }
    let (tx, rx) = unbounded_channel();
    let (id, stats) = port.registry.open(from, Some(tx));
    let writer = tokio::spawn(write_loop(wr, rx, port.registry.clone(), stats.clone()));
    let origin = Origin {
        ip: Some(from.ip().to_canonical().to_string()),
        x509,
        nonce: String::new(),
    };
    // Buffered: the requests a client pipelines are read in one syscall, not two apiece.
    let mut rd = tokio::io::BufReader::with_capacity(16 << 10, rd);
    let result = read_loop(&mut rd, header, (id, &stats, origin), port).await;
    port.registry.close(id);
    let _ = port.inbox.send(Event::Msg {
        src: id,
        msg: Msg::Client(ClientMsg::Close),
    });
    writer.abort();
    result
}

async fn read_loop(
    rd: &mut (impl AsyncRead + Unpin),
    first: [u8; 4],
    (id, stats, origin): (usize, &ConnStats, Origin),
    port: &ClientPort,
) -> Result<(), ClientError> {
    let inbox = &port.inbox;
    let mut header = first;
    let mut connected = false;
    loop {
        let len = frame_length(header)?;
        let mut body = vec![0u8; len];
        rd.read_exact(&mut body)
            .await
            .map_err(ClientError::Truncated)?;
        let msg = if connected {
            let frame = codec::decode_request(&body)?;
            port.registry.received(stats, Some((frame.xid, frame.op)));
            ClientMsg::Request(frame)
        } else {
            connected = true;
            port.registry.received(stats, None);
            let origin = Origin {
                nonce: nonce(),
                ..origin.clone()
            };
            ClientMsg::Connect(codec::decode_connect_request(&body)?, origin)
        };
        let event = Event::Msg {
            src: id,
            msg: Msg::Client(msg),
        };
        if inbox.send(event).is_err() {
            return Ok(());
        }
        if rd.read_exact(&mut header).await.is_err() {
            return Ok(());
        }
    }
}

async fn write_loop<S: Stream>(
    mut wr: WriteHalf<S>,
    mut rx: UnboundedReceiver<ClientMsg>,
    registry: Arc<Registry>,
    stats: Arc<ConnStats>,
) {
    let mut out = Vec::new();
    let mut sent = Vec::new();
    let mut closing = false;
    while let Some(first) = rx.recv().await {
        // Everything queued for this connection goes out in one write, then a flush: a TLS
        // stream may otherwise keep the last record in its buffer until the next write.
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            let framed = match msg {
                ClientMsg::Connected(r) => Some((codec::encode_connect_response(&r), None)),
                ClientMsg::Reply(r) => Some((codec::encode_reply(&r), Some((r.xid, r.zxid)))),
                ClientMsg::Close => {
                    closing = true;
                    break;
                }
                _ => None,
            };
            if let Some((body, reply)) = framed {
                out.extend((body.len() as u32).to_be_bytes());
                out.extend(body);
                sent.push(reply);
            }
            next = rx.try_recv().ok();
        }
        if !out.is_empty() && (wr.write_all(&out).await.is_err() || wr.flush().await.is_err()) {
            break;
        }
        out.clear();
        for reply in sent.drain(..) {
            registry.sent(&stats, reply);
        }
        if closing {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

/// A nonce for a connection's SASL challenge: 24 bytes from the operating system's random
/// source, in base64 (as Java's DIGEST-MD5 server draws its own). Where that source cannot be
/// read, the randomly keyed hashes of the standard library stand in, with the time.
fn nonce() -> String {
    use base64::Engine;
    use std::io::Read;
    let mut bytes = [0u8; 24];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(Instant::now().elapsed().as_nanos());
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
