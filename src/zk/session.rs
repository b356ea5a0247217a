//! Sessions: the timeout a client gets, and the leader's expiry tracker.
//!
//! A session's timeout is negotiated at connect time into `[min, max]` (by default 2 and 20
//! ticks, `minSessionTimeout`/`maxSessionTimeout`). Only the leader decides expiry: every
//! server reports the sessions its clients showed signs of life on, the leader pushes their
//! deadlines, and on each tick proposes `closeSession` for every session past its deadline
//! (ZooKeeper's `SessionTrackerImpl`; the deletion is a transaction like any other).

use super::service::ZooKeeper;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Session timeout limits, in ticks of `tick_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionLimits {
    /// Milliseconds per tick (`tickTime`).
    pub tick_ms: i32,
    /// Smallest timeout, in ms (`minSessionTimeout`, default 2 ticks).
    pub min_ms: i32,
    /// Largest timeout, in ms (`maxSessionTimeout`, default 20 ticks).
    pub max_ms: i32,
}

impl SessionLimits {
    /// ZooKeeper's defaults for a tick length.
    pub fn for_tick(tick_ms: i32) -> SessionLimits {
        SessionLimits {
            tick_ms,
            min_ms: 2 * tick_ms,
            max_ms: 20 * tick_ms,
        }
    }

    /// The timeout a client asking for `requested` ms gets.
    pub fn negotiate(&self, requested: i32) -> i32 {
        requested.clamp(self.min_ms, self.max_ms)
    }

    /// A timeout in whole ticks (at least one).
    pub fn ticks(&self, timeout_ms: i32) -> u64 {
        (timeout_ms / self.tick_ms.max(1)).max(1) as u64
    }
}

/// The leader's expiry deadlines, in ticks of its own clock.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionTracker {
    /// The leader's tick count.
    pub now: u64,
    deadlines: BTreeMap<i64, u64>,
}

impl SessionTracker {
    /// The session showed a sign of life: its deadline moves to now + its timeout.
    pub fn touch(&mut self, session: i64, timeout_ticks: u64) {
        self.deadlines.insert(session, self.now + timeout_ticks);
    }

    /// The session is gone (closed or expired): stop tracking it.
    pub fn remove(&mut self, session: i64) {
        self.deadlines.remove(&session);
    }

    /// Advances one tick; the sessions now past their deadline (each reported once: they stop
    /// being tracked, and the leader proposes their `closeSession`).
    pub fn tick(&mut self) -> Vec<i64> {
        self.now += 1;
        let now = self.now;
        let expired: Vec<i64> = self
            .deadlines
            .iter()
            .filter(|(_, &d)| d < now)
            .map(|(&s, _)| s)
            .collect();
        for s in &expired {
            self.deadlines.remove(s);
        }
        expired
    }

    /// The tick at which a tracked session expires.
    pub fn deadline(&self, session: i64) -> Option<u64> {
        self.deadlines.get(&session).copied()
    }

    /// Whether a session is tracked.
    pub fn tracks(&self, session: i64) -> bool {
        self.deadlines.contains_key(&session)
    }
}

/// The session password: derived from the session id and a server secret (ZooKeeper seeds a
/// random generator with `sessionId ^ superSecret`), so any server can check it.
pub fn password(session: i64, secret: u64) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(session.to_be_bytes());
    h.update(secret.to_be_bytes());
    h.finalize()[..16].to_vec()
}

// The client layer's session handling (runs inside the server actor's steps).

use super::server::{submit, ClientMsg, Conn, Origin, PeerMsg, ZkTimer, SECRET};
use super::tree::{Applied, DataTree};
use super::txn::WriteOp;
use super::Id;
use crate::jute::proto::{op, ConnectRequest, ConnectResponse};
use crate::zab::service::Host;

pub(crate) fn connect(h: &mut Host<ZooKeeper>, client: usize, req: ConnectRequest, origin: Origin) {
    // `IPAuthenticationProvider`: every connection is the identity `ip:<address>`;
    // `X509AuthenticationProvider`: a verified client certificate, `x509:<subject>`.
    let mut auth: Vec<Id> = origin.ip.iter().map(|a| Id::new("ip", a)).collect();
    if let Some(subject) = &origin.x509 {
        auth.push(Id::new("x509", subject));
        if h.state().local.opts.x509_super_user.as_ref() == Some(subject) {
            auth.push(Id::new("super", ""));
        }
    }
    let sasl = super::sasl::Exchange::Fresh(origin.nonce);
    // A client never sees an older state than it has (ZooKeeper's lastZxidSeen check).
    if req.last_zxid_seen > h.state().committed.0 as i64 {
        h.send(client, ClientMsg::Close);
        return;
    }
    if !h.serving() {
        if h.state().local.read_only && req.read_only == Some(true) {
            super::read_only::session(h, client, req, auth);
        } else {
            h.send(client, ClientMsg::Close);
        }
        return;
    }
    if req.session_id == 0 {
        let timeout = limits(h).negotiate(req.timeout);
        let conn = Conn {
            timeout,
            auth,
            sasl,
            ..Conn::default()
        };
        h.local_mut().conns.insert(client, conn);
        let origin = ((h.id() as i64) << 32) | client as i64;
        submit(h, origin, 0, Vec::new(), WriteOp::CreateSession { timeout });
        return;
    }
    let known = h.state().sm.sessions().get(&req.session_id).copied();
    match known {
        Some(timeout) if req.passwd == password(req.session_id, SECRET) => {
            let conn = Conn {
                session: req.session_id,
                timeout,
                auth,
                sasl,
                ..Conn::default()
            };
            h.local_mut().conns.insert(client, conn);
            h.local_mut().touched.insert(req.session_id, timeout);
            h.send(client, connected(req.session_id, timeout, false));
        }
        _ => {
            h.send(client, connected(0, 0, false));
            h.send(client, ClientMsg::Close);
        }
    }
}

/// The server's session limits.
pub(crate) fn limits(h: &Host<ZooKeeper>) -> SessionLimits {
    h.state().local.opts.limits
}

pub(crate) fn connected(session: i64, timeout: i32, read_only: bool) -> ClientMsg {
    let passwd = if session == 0 {
        vec![0; 16]
    } else {
        password(session, SECRET)
    };
    ClientMsg::Connected(ConnectResponse {
        protocol_version: 0,
        timeout,
        session_id: session,
        passwd,
        read_only: Some(read_only),
    })
}

pub(crate) fn session_created(h: &mut Host<ZooKeeper>, a: &Applied, timeout: i32, origin: i64) {
    if h.leading() {
        let ticks = limits(h).ticks(timeout);
        h.local_mut().tracker.touch(a.session, ticks);
    }
    let me = h.id() as i64;
    let target = h
        .state()
        .local
        .conns
        .iter()
        .find(|(id, c)| c.session == 0 && ((me << 32) | **id as i64) == origin)
        .map(|(id, _)| *id);
    if let Some(client) = target {
        let conn = h.local_mut().conns.get_mut(&client).expect("conn");
        conn.session = a.session;
        let early = std::mem::take(&mut conn.early);
        h.send(client, connected(a.session, timeout, false));
        for frame in early {
            super::server::request(h, client, frame);
        }
    }
}

pub(crate) fn session_closed(h: &mut Host<ZooKeeper>, a: &Applied) {
    h.local_mut().tracker.remove(a.session);
    h.local_mut().watches.remove_session(a.session);
    let gone: Vec<usize> = h
        .state()
        .local
        .conns
        .iter()
        .filter(|(_, c)| {
            c.session == a.session && c.queue.front().is_none_or(|f| f.op != op::CLOSE_SESSION)
        })
        .map(|(id, _)| *id)
        .collect();
    for c in gone {
        h.send(c, ClientMsg::Close);
        h.local_mut().conns.remove(&c);
    }
}

pub(crate) fn flush_touches(h: &mut Host<ZooKeeper>) {
    if h.state().local.touched.is_empty() {
        return;
    }
    let touched: Vec<(i64, i32)> = std::mem::take(&mut h.local_mut().touched)
        .into_iter()
        .collect();
    if h.leading() {
        let limits = limits(h);
        for (s, t) in touched {
            h.local_mut().tracker.touch(s, limits.ticks(t));
        }
    } else if let Some(leader) = h.state().leader() {
        h.send_peer(leader, PeerMsg::Touch(touched));
    }
}

/// The leader's session tick: propose `closeSession` for every session gone silent.
pub fn on_session_tick(h: &mut Host<ZooKeeper>) {
    if !h.leading() {
        return;
    }
    let expired = h.local_mut().tracker.tick();
    for s in expired {
        submit(h, s, 0, Vec::new(), WriteOp::CloseSession);
    }
    for path in empty_containers(&h.state().sm, h.state().local.now_ms) {
        submit(h, 0, 0, Vec::new(), WriteOp::DeleteContainer { path });
    }
    let tick = h.tick();
    h.set_timer(ZkTimer::Session, tick);
}

/// ZooKeeper's `ContainerManager`: containers that had children and have none left, and TTL
/// nodes without children unchanged for longer than their TTL by the clock the runtime last
/// delivered (`now_ms`; 0, as in the models, never expires a TTL node).
fn empty_containers(tree: &DataTree, now_ms: i64) -> Vec<String> {
    use super::stat::NodeKind;
    tree.maybe_expiring()
        .filter(|(_, n)| {
            let childless = n.children.is_empty();
            match NodeKind::of(n.stat.ephemeral_owner, tree.extended_types) {
                NodeKind::Container => childless && n.stat.cversion > 0,
                NodeKind::Ttl(ttl) => childless && now_ms > 0 && now_ms - n.stat.mtime > ttl,
                _ => false,
            }
        })
        .map(|(p, _)| p.to_string())
        .collect()
}
