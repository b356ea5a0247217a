//! Connections between servers: one TCP connection per direction and port, as `zoo.cfg`
//! names them (election traffic on the election port, the rest on the quorum port).
//!
//! A connection starts with a handshake naming the sender (its index, 8 bytes, big-endian),
//! then carries frames `length (u32 BE) | message (bincode)`. An outbound link connects, and
//! reconnects with backoff; messages wait while it is down. When an established quorum
//! connection breaks in either direction, the messages queued on it are dropped (they were in
//! flight on a connection that reset) and the server is told with `Disconnected`, exactly as the
//! model's environment tells it.

use super::node::Event;
use crate::zab::msg::Channel;
use crate::zab::Msg;
use crate::zk::DataTree;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// The largest peer frame accepted (a SNAP carries a whole tree).
const MAX_PEER_FRAME: usize = 512 << 20;

type M = Msg<DataTree>;

/// Starts the outbound link from `me` to peer `peer` on `channel`; returns its queue.
pub fn link(
    rt: &tokio::runtime::Handle,
    me: usize,
    peer: usize,
    addr: SocketAddr,
    channel: Channel,
    inbox: Sender<Event>,
) -> UnboundedSender<M> {
    let (tx, rx) = unbounded_channel();
    rt.spawn(outbound(me, peer, addr, channel, rx, inbox));
    tx
}

async fn outbound(
    me: usize,
    peer: usize,
    addr: SocketAddr,
    channel: Channel,
    mut rx: UnboundedReceiver<M>,
    inbox: Sender<Event>,
) {
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
        if stream.write_all(&(me as u64).to_be_bytes()).await.is_err() {
            continue;
        }
        let (mut rd, mut wr) = stream.into_split();
        let mut probe = [0u8; 1];
        loop {
            // The peer never writes on this connection: a read that ends means it is gone,
            // noticed at once rather than at the next write (which could be lost).
            let msg = tokio::select! {
                msg = rx.recv() => msg,
                _ = rd.read(&mut probe) => break,
            };
            let Some(msg) = msg else { break };
            let body = bincode::serialize(&msg).expect("messages serialize");
            let mut frame = (body.len() as u32).to_be_bytes().to_vec();
            frame.extend(body);
            if wr.write_all(&frame).await.is_err() {
                break;
            }
        }
        if rx.is_closed() {
            return;
        }
        tracing::info!(peer, ?channel, "connection lost");
        if channel == Channel::Quorum {
            while rx.try_recv().is_ok() {}
            let _ = inbox.send(Event::Msg {
                src: peer,
                msg: Msg::Disconnected,
            });
        }
    }
}

/// Accepts peers' connections on `listener` (the election or the quorum port of this server).
pub async fn accept(listener: TcpListener, servers: usize, channel: Channel, inbox: Sender<Event>) {
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let inbox = inbox.clone();
        tokio::spawn(async move {
            if let Err(reason) = inbound(stream, servers, channel, &inbox).await {
                tracing::info!(%from, ?channel, reason, "peer connection closed");
            }
        });
    }
}

async fn inbound(
    mut stream: TcpStream,
    servers: usize,
    channel: Channel,
    inbox: &Sender<Event>,
) -> Result<(), String> {
    let mut id = [0u8; 8];
    stream
        .read_exact(&mut id)
        .await
        .map_err(|e| format!("no handshake: {e}"))?;
    let src = u64::from_be_bytes(id) as usize;
    if src >= servers {
        return Err(format!("handshake names unknown server {src}"));
    }
    let result = frames(&mut stream, src, inbox).await;
    if channel == Channel::Quorum {
        let _ = inbox.send(Event::Msg {
            src,
            msg: Msg::Disconnected,
        });
    }
    result
}

async fn frames(stream: &mut TcpStream, src: usize, inbox: &Sender<Event>) -> Result<(), String> {
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).await.is_err() {
            return Ok(());
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_PEER_FRAME {
            return Err(format!("frame of {len} bytes from server {src}"));
        }
        let mut body = vec![0u8; len];
        stream
            .read_exact(&mut body)
            .await
            .map_err(|e| format!("truncated frame: {e}"))?;
        let msg: M = bincode::deserialize(&body).map_err(|e| format!("bad frame: {e}"))?;
        // A peer's `Disconnected` stands for it closing the connection (the actor says so when
        // it drops a learner or leaves its leader); the oracle's outcome never travels.
        if matches!(msg, Msg::ElectionOutcome { .. }) {
            return Err("a peer may not send the election oracle's outcome".into());
        }
        if inbox.send(Event::Msg { src, msg }).is_err() {
            return Ok(());
        }
    }
}
