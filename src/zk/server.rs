//! The client layer of a ZooKeeper server (ZooKeeper's request pipeline): connections and
//! sessions, each session's requests answered in order, reads from the local tree, writes
//! through ZAB, watches, and the leader's session expiry.
//!
//! It runs inside the ZAB actor's steps through [`Host`] and decides nothing about ZAB.
//! - A connect with session 0 submits `createSession`; the reply waits for its commit. A
//!   reconnect names a session and password that the local tree must know (else the client is
//!   told its session expired, timeout 0).
//! - A session's requests queue up: reads are served from the committed tree once every
//!   earlier write of the session has committed here. Consecutive writes are pipelined: each
//!   goes to ZAB as it arrives (the leader prepares a session's writes in arrival order, so
//!   their zxids, and their replies, keep it); a write that follows a read, a sync or a
//!   closeSession waits until that one is answered, so a read never sees a later write of its
//!   own session ([`super::queue`]).
//! - `sync` is ZAB's ([`Host::sync`]): the leader answers once everything it proposed before
//!   has committed, and the answer follows those COMMITs on the same connection.
//! - Watch events of a commit go out before the reply to the write that caused them.
//! - Only the leader expires sessions: servers report activity (`Touch`), the leader's tracker
//!   ticks, and an expired session becomes a `closeSession` transaction.
//! - A server that stops serving (goes LOOKING) closes every client connection.

use super::jute_map::{reply_for, to_read};
use super::prep::{WriteRequest, ZkRequest};
use super::queue::drain;
pub use super::queue::on_synced;
use super::read::{read, set_watches};
use super::service::ZooKeeper;
use super::session::{
    self, connect, flush_touches, session_closed, session_created, SessionLimits, SessionTracker,
};
use super::tree::Applied;
use super::txn::{TxnOp, WriteOp};
use super::watch::{EventType, WatchKind, WatchManager, WatcherType};
use super::{authn, read_only, sasl, Code, Id};
use crate::jute::proto::{
    op, xid, ConnectRequest, ConnectResponse, MultiResult, ReplyFrame, Request, RequestFrame,
    Response,
};
use crate::zab::service::Host;
use crate::zab::ServerState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// What clients and servers exchange (the runtime turns jute frames into these).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClientMsg {
    /// Client to server: the connect handshake, with what the runtime knows of the connection.
    Connect(ConnectRequest, Origin),
    /// Client to server: a request.
    Request(RequestFrame),
    /// Server to client: the handshake's answer (timeout 0: the session has expired).
    Connected(ConnectResponse),
    /// Server to client: a reply or a watch event.
    Reply(ReplyFrame),
    /// Either way: the connection is closed.
    Close,
}

/// What the runtime knows of a client connection that the client did not say (nothing, in the
/// models).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The client's address as the runtime saw it: the session's `ip` identity.
    pub ip: Option<String>,
    /// The subject of the client's verified TLS certificate: the `x509` identity.
    pub x509: Option<String>,
    /// A nonce the runtime drew at random for this connection's SASL challenge.
    pub nonce: String,
}

/// What the client layers of two servers exchange.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PeerMsg {
    /// Server to its leader: these sessions showed signs of life (ZooKeeper piggybacks them on
    /// the learner's PING).
    Touch(Vec<(i64, i32)>),
}

/// What the runtime hands its own server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Input {
    /// The wall clock in ms. Time is an input like any other: it stamps the transactions this
    /// server submits (ctime, mtime) and, at the leader, decides when a TTL node has expired.
    Clock(i64),
}

/// The client layer's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ZkTimer {
    /// The leader's session tracker tick: expire sessions that went silent (ZooKeeper's
    /// `SessionTrackerImpl`, every `tickTime`).
    Session,
    /// Out of a quorum long enough (`readonlymode.enabled`): serve read-only sessions
    /// (ZooKeeper starts its `ReadOnlyZooKeeperServer` after max(2 s, tickTime) of LOOKING).
    ReadOnly,
}

/// One client connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Conn {
    /// Its session (0 while the createSession is in flight).
    pub session: i64,
    /// The negotiated timeout.
    pub timeout: i32,
    /// Identities from the connection, `addAuth` and SASL.
    pub auth: Vec<Id>,
    /// The connection's SASL exchange.
    pub sasl: sasl::Exchange,
    /// Requests not yet answered, in arrival order.
    pub queue: VecDeque<RequestFrame>,
    /// How many requests at the head of the queue went to ZAB and await their outcome: a run
    /// of writes (pipelined, as ZooKeeper's FollowerRequestProcessor forwards each write at
    /// once; their outcomes come back in zxid order, which is the queue's order), or one sync.
    pub submitted: usize,
    /// A read-only session's connection, to a server out of the quorum: reads only.
    pub read_only: bool,
    /// Requests that came after the ConnectRequest while its createSession was in flight, in
    /// arrival order: handled once the session exists (a client may pipeline them, as
    /// ZooKeeper's Netty client does), at most [`EARLY_LIMIT`].
    pub early: Vec<RequestFrame>,
}

/// How many requests a connection may send before its session exists; more closes it.
pub const EARLY_LIMIT: usize = 1024;

/// The client layer's state on one server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Local {
    /// Connections by client id.
    pub conns: BTreeMap<usize, Conn>,
    /// Watches by session.
    pub watches: WatchManager,
    /// The leader's expiry deadlines (empty elsewhere).
    pub tracker: SessionTracker,
    /// Whether the server served at the end of the last step.
    pub serving: bool,
    /// Whether it led at the end of the last step.
    pub leading: bool,
    /// Sessions active during this step, to report to the leader.
    pub touched: BTreeMap<i64, i32>,
    /// The last clock reading the runtime delivered (0: none; the models never deliver one).
    pub now_ms: i64,
    /// Read-only mode: out of the quorum, serving read-only sessions.
    pub read_only: bool,
    /// The read-only timer is set.
    pub read_only_timer: bool,
    /// Read-only sessions opened so far (their ids are this server's own).
    pub read_only_sessions: i64,
    /// The server's options (from its configuration; they survive a restart).
    pub opts: Arc<ZkOptions>,
    /// The leader's record of what its pending proposals change (a memo: states compare
    /// equal whatever it holds).
    pub outstanding: super::outstanding::Outstanding,
}

impl Local {
    /// The starting state of a server configured with `opts`.
    pub fn with_options(opts: ZkOptions) -> Local {
        Local {
            opts: Arc::new(opts),
            ..Local::default()
        }
    }
}

/// A server's client-layer options: zoo.cfg's `tickTime` and `min/maxSessionTimeout`, and the
/// digest provider's `superDigest` (`zookeeper.DigestAuthenticationProvider.superDigest`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkOptions {
    /// Session timeout limits and the tick they are counted in.
    pub limits: SessionLimits,
    /// `super:<base64 sha1>`: presenting its password with `addAuth digest` grants `super`.
    pub super_digest: Option<String>,
    /// The users SASL (DIGEST-MD5) authenticates, from the JAAS file (none: SASL refused).
    pub sasl_users: sasl::SaslUsers,
    /// `zookeeper.superUser`: the SASL user that is also `super`.
    pub sasl_super_user: Option<String>,
    /// `enforceQuota`: the leader refuses writes past a quota's hard limits.
    pub enforce_quota: bool,
    /// `readonlymode.enabled`: out of the quorum, serve read-only sessions.
    pub read_only_mode: bool,
    /// `X509AuthenticationProvider.superUser`: the certificate subject that is also `super`.
    pub x509_super_user: Option<String>,
    /// What `/zookeeper/config` holds on an ensemble (`server.N=...` lines and `version=`):
    /// ZooKeeper's static configuration, as each server knows it from its `zoo.cfg`, not a
    /// replicated value. None for a standalone server (the node is then empty, as ZooKeeper's).
    pub config: Option<String>,
}

impl Default for ZkOptions {
    /// ZooKeeper's defaults for a 2-second tick, no super digest.
    fn default() -> Self {
        ZkOptions {
            limits: SessionLimits::for_tick(2000),
            super_digest: None,
            sasl_users: sasl::SaslUsers::new(),
            sasl_super_user: None,
            enforce_quota: false,
            read_only_mode: false,
            x509_super_user: None,
            config: None,
        }
    }
}

/// The secret session passwords derive from; a constant, as ZooKeeper's `superSecret`, so that
/// every server of the ensemble checks a reconnecting session's password alike.
pub(crate) const SECRET: u64 = 0x7a61_626b_6565_7065;

/// A message from a client.
pub fn on_client(h: &mut Host<ZooKeeper>, from: usize, msg: ClientMsg) {
    match msg {
        ClientMsg::Connect(req, origin) => connect(h, from, req, origin),
        ClientMsg::Request(frame) => request(h, from, frame),
        ClientMsg::Close => drop_conn(h, from),
        ClientMsg::Connected(_) | ClientMsg::Reply(_) => {}
    }
}

/// A message from another server's client layer.
pub fn on_peer(h: &mut Host<ZooKeeper>, _from: usize, msg: PeerMsg) {
    match msg {
        PeerMsg::Touch(sessions) => {
            if h.leading() {
                let limits = session::limits(h);
                for (s, t) in sessions {
                    h.local_mut().tracker.touch(s, limits.ticks(t));
                }
            }
        }
    }
}

/// An input from the runtime.
pub fn on_input(h: &mut Host<ZooKeeper>, input: Input) {
    match input {
        Input::Clock(ms) => {
            if h.state().local.now_ms != ms {
                h.local_mut().now_ms = ms;
            }
        }
    }
}

pub(crate) fn request(h: &mut Host<ZooKeeper>, client: usize, frame: RequestFrame) {
    let Some(c) = h.local_mut().conns.get_mut(&client) else {
        h.send(client, ClientMsg::Close);
        return;
    };
    let (session, timeout) = (c.session, c.timeout);
    if session == 0 {
        if c.early.len() < EARLY_LIMIT {
            c.early.push(frame);
        } else {
            close_conn(h, client);
        }
        return;
    }
    h.local_mut().touched.insert(session, timeout);
    match frame.xid {
        xid::PING => {
            let zxid = h.state().committed.0 as i64;
            let r = ReplyFrame {
                xid: xid::PING,
                zxid,
                err: 0,
                body: Response::Empty,
            };
            h.send(client, ClientMsg::Reply(r));
        }
        // An auth packet is known by its opcode, whatever its xid (as ZooKeeper's
        // NIOServerCnxn/NettyServerCnxn read it); xid -4 is only the usual one.
        _ if frame.op == op::AUTH => authn::auth(h, client, frame),
        // So is a SASL token (ZooKeeperServer.processSasl, outside the request pipeline).
        _ if frame.op == op::SASL => authn::sasl_token(h, client, frame),
        _ => {
            let conn = h.local_mut().conns.get_mut(&client).expect("conn");
            conn.queue.push_back(frame);
            drain(h, client);
        }
    }
}

pub(crate) fn serve_read(
    h: &mut Host<ZooKeeper>,
    client: usize,
    session: i64,
    auth: &[Id],
    f: RequestFrame,
) {
    match (f.op, &f.body) {
        (op::SET_WATCHES | op::SET_WATCHES2, Request::SetWatches(list)) => {
            let (fire, keep) = set_watches(&h.state().sm, list);
            for (path, kind) in keep {
                h.local_mut().watches.add(&path, session, kind);
            }
            for (event, path) in fire {
                send_event(h, client, (event, &path), -1);
            }
            reply(h, client, f.xid, Code::Ok, Response::Empty)
        }
        (op::MULTI_READ, Request::Multi(ops)) => {
            let results = ops.iter().map(|(code, body)| {
                let sub = RequestFrame {
                    xid: f.xid,
                    op: *code,
                    body: body.clone(),
                };
                match read_frame(h.state(), session, auth, &sub) {
                    (Code::Ok, Response::GetData(d, s), _) => MultiResult::GetData(d, s),
                    (Code::Ok, Response::Children(c), _) if *code == op::GET_CHILDREN => {
                        MultiResult::GetChildren(c)
                    }
                    (Code::Ok, _, _) => MultiResult::Error(Code::Unimplemented),
                    (err, _, _) => MultiResult::Error(err),
                }
            });
            let body = Response::Multi(results.collect());
            reply(h, client, f.xid, Code::Ok, body)
        }
        (op::ADD_WATCH, Request::AddWatch { path, mode }) => {
            let kind = if *mode == 0 {
                WatchKind::Persistent
            } else {
                WatchKind::PersistentRecursive
            };
            h.local_mut().watches.add(path, session, kind);
            reply(h, client, f.xid, Code::Ok, Response::ErrorBody(0))
        }
        (op::REMOVE_WATCHES | op::CHECK_WATCHES, Request::Watches { path, kind }) => {
            let which = WatcherType::from_value(*kind).unwrap_or(WatcherType::Any);
            let dry = f.op == op::CHECK_WATCHES;
            let found = h.local_mut().watches.remove(session, path, which, dry);
            let code = if found { Code::Ok } else { Code::NoWatcher };
            reply(h, client, f.xid, code, Response::Empty)
        }
        _ => {
            let (code, body, watch) = read_frame(h.state(), session, auth, &f);
            if let Some((path, kind)) = watch {
                h.local_mut().watches.add(&path, session, kind);
            }
            reply(h, client, f.xid, code, body)
        }
    }
}

/// Serves a read frame; the watch to leave, if any.
fn read_frame(
    st: &ServerState<ZooKeeper>,
    session: i64,
    auth: &[Id],
    f: &RequestFrame,
) -> (Code, Response, Option<(String, WatchKind)>) {
    let tree = &st.sm;
    let Some((kind, path, watch)) = to_read(f) else {
        return (Code::Unimplemented, Response::Empty, None);
    };
    let (mut result, w) = read(tree, session, auth, kind, &path, watch);
    if path == crate::zk::path::CONFIG_ZOOKEEPER {
        if let (Ok(r), Some(config)) = (&mut result, &st.local.opts.config) {
            super::read::with_config(r, config);
        }
    }
    let watch = w.map(|k| (path, k));
    match result {
        Ok(r) => {
            let body = super::jute_map::read_response(f.op, r, tree.extended_types);
            (Code::Ok, body, watch)
        }
        Err(code) => (code, Response::Empty, watch),
    }
}

pub(crate) fn submit(
    h: &mut Host<ZooKeeper>,
    session: i64,
    cxid: i32,
    auth: Vec<Id>,
    write: WriteOp,
) {
    let write = WriteRequest {
        session,
        cxid,
        auth,
        op: write,
    };
    let time = h.state().local.now_ms;
    h.submit(ZkRequest { write, time });
}

pub(crate) fn reply(h: &mut Host<ZooKeeper>, client: usize, x: i32, code: Code, body: Response) {
    let zxid = h.state().committed.0 as i64;
    let err = code.value();
    h.send(
        client,
        ClientMsg::Reply(ReplyFrame {
            xid: x,
            zxid,
            err,
            body,
        }),
    );
}

/// A watch event; `zxid` is the transaction that fired it (ZooKeeper 3.9, ZOOKEEPER-4655), -1
/// when no transaction did (a watch set on reconnection that finds the change already made).
fn send_event(h: &mut Host<ZooKeeper>, client: usize, (event, path): (EventType, &str), zxid: i64) {
    let body = Response::Event {
        kind: event as i32,
        state: 3,
        path: path.to_string(),
    };
    let r = ReplyFrame {
        xid: xid::NOTIFICATION,
        zxid,
        err: 0,
        body,
    };
    h.send(client, ClientMsg::Reply(r));
}

/// Forgets the connection and tells the runtime to close it (ZooKeeper's `sendCloseSession`
/// after a failed authentication or an unimplemented request; the session lives on until it
/// expires or the client reconnects).
pub(crate) fn close_conn(h: &mut Host<ZooKeeper>, client: usize) {
    drop_conn(h, client);
    h.send(client, ClientMsg::Close);
}

fn drop_conn(h: &mut Host<ZooKeeper>, client: usize) {
    if let Some(c) = h.local_mut().conns.remove(&client) {
        let still = h
            .state()
            .local
            .conns
            .values()
            .any(|o| o.session == c.session);
        if !still {
            h.local_mut().watches.remove_session(c.session);
        }
    }
}

/// The end of a step: serving changes, answers for what committed, touches.
pub fn after_step(h: &mut Host<ZooKeeper>) {
    let local = &h.state().local;
    // Out of the quorum, or back in it from read-only mode: every connection closes.
    if (local.serving && !h.serving()) || (local.read_only && h.serving()) {
        let clients: Vec<usize> = h.state().local.conns.keys().copied().collect();
        for c in clients {
            h.send(c, ClientMsg::Close);
        }
        let local = &h.state().local;
        let (now_ms, opts) = (local.now_ms, local.opts.clone());
        let (timer, sessions) = (local.read_only_timer, local.read_only_sessions);
        *h.local_mut() = Local {
            now_ms,
            opts,
            read_only_timer: timer,
            read_only_sessions: sessions,
            ..Local::default()
        };
    }
    read_only::arm(h);
    if h.leading() && !h.state().local.leading {
        let sessions: Vec<(i64, i32)> = h
            .state()
            .sm
            .sessions()
            .iter()
            .map(|(s, t)| (*s, *t))
            .collect();
        let limits = session::limits(h);
        for (s, t) in sessions {
            h.local_mut().tracker.touch(s, limits.ticks(t));
        }
        let tick = h.tick();
        h.set_timer(ZkTimer::Session, tick);
    }
    let (serving, leading) = (h.serving(), h.leading());
    if h.state().local.serving != serving || h.state().local.leading != leading {
        let l = h.local_mut();
        l.serving = serving;
        l.leading = leading;
    }
    for a in h.take_applied() {
        applied(h, a);
    }
    flush_touches(h);
}

fn applied(h: &mut Host<ZooKeeper>, a: Applied) {
    for (event, path) in &a.triggers {
        let sessions = h.local_mut().watches.trigger(*event, path);
        let targets: Vec<usize> = h
            .state()
            .local
            .conns
            .iter()
            .filter(|(_, c)| sessions.contains(&c.session))
            .map(|(id, _)| *id)
            .collect();
        for c in targets {
            send_event(h, c, (*event, path), a.zxid);
        }
    }
    match &a.op {
        TxnOp::CreateSession { timeout, origin } => session_created(h, &a, *timeout, *origin),
        TxnOp::CloseSession { .. } => session_closed(h, &a),
        _ => {}
    }
    let waiting = h.state().local.conns.iter().find(|(_, c)| {
        c.session == a.session
            && c.submitted > 0
            && c.queue.front().is_some_and(|f| f.xid == a.cxid)
    });
    let Some((&client, _)) = waiting else { return };
    let conn = h.local_mut().conns.get_mut(&client).expect("conn");
    let frame = conn.queue.pop_front().expect("head");
    conn.submitted -= 1;
    let (code, body) = reply_for(&frame, &a.result, h.state().sm.extended_types);
    let r = ReplyFrame {
        xid: frame.xid,
        zxid: a.zxid,
        err: code.value(),
        body,
    };
    h.send(client, ClientMsg::Reply(r));
    if frame.op == op::CLOSE_SESSION {
        h.send(client, ClientMsg::Close);
        h.local_mut().conns.remove(&client);
        return;
    }
    drain(h, client);
}
