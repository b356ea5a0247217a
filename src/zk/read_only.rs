//! Read-only mode (`readonlymode.enabled`, ZooKeeper's `ReadOnlyZooKeeperServer`): a server
//! out of the quorum long enough serves clients that accept read-only sessions.
//!
//! The decision is this actor's: a server that does not serve sets the `ReadOnly` timer
//! (max(2 s, tickTime), as ZooKeeper waits before it decides it is partitioned); when it fires
//! and the server still does not serve, it turns read-only. A client that connects with
//! `canBeReadOnly` then gets a session (its answer says read-only) whose reads come from the
//! committed tree and whose writes and syncs get NotReadOnly; one whose last zxid is past the
//! committed tree is refused, as any connection is ([`super::session::connect`]), so that no
//! client sees the tree go back. Back in the quorum, every connection closes
//! ([`super::server::after_step`]). The `service-read-only` model checks it.

use super::server::{close_conn, reply, ClientMsg, Conn, ZkTimer, SECRET};
use super::service::ZooKeeper;
use super::session::{connected, limits, password};
use super::{Code, Id};
use crate::jute::proto::{op, ConnectRequest, RequestFrame, Response};
use crate::zab::service::Host;

/// After a step: a server out of the quorum, not read-only yet, sets the timer once.
pub(crate) fn arm(h: &mut Host<ZooKeeper>) {
    let local = &h.state().local;
    if !h.serving() && local.opts.read_only_mode && !local.read_only && !local.read_only_timer {
        h.local_mut().read_only_timer = true;
        let after = h.tick().max(std::time::Duration::from_secs(2));
        h.set_timer(ZkTimer::ReadOnly, after);
    }
}

/// The read-only timer fired: a server still out of the quorum serves read-only sessions.
pub fn on_timer(h: &mut Host<ZooKeeper>) {
    h.local_mut().read_only_timer = false;
    if !h.serving() && h.state().local.opts.read_only_mode {
        h.local_mut().read_only = true;
    }
}

/// A read-only server (out of the quorum) takes a client that accepts read-only mode: a new
/// session is this server's own (an id no ensemble session has: the high bit set, then the
/// server and a count), an existing one must be known to its tree with its password. The
/// session lives as long as the connection.
pub(crate) fn session(h: &mut Host<ZooKeeper>, client: usize, req: ConnectRequest, auth: Vec<Id>) {
    let timeout = limits(h).negotiate(req.timeout);
    let session = if req.session_id == 0 {
        let n = h.state().local.read_only_sessions + 1;
        h.local_mut().read_only_sessions = n;
        i64::MIN | ((h.id() as i64) << 40) | n
    } else {
        let known = h.state().sm.sessions().contains_key(&req.session_id);
        let mine = req.session_id < 0;
        if !(known || mine) || req.passwd != password(req.session_id, SECRET) {
            h.send(client, connected(0, 0, false));
            h.send(client, ClientMsg::Close);
            return;
        }
        req.session_id
    };
    let conn = Conn {
        session,
        timeout,
        auth,
        read_only: true,
        ..Conn::default()
    };
    h.local_mut().conns.insert(client, conn);
    h.send(client, connected(session, timeout, true));
}

/// A write or a sync on a read-only session (`ReadOnlyRequestProcessor`): NotReadOnly; a
/// closeSession closes the connection (the session is this server's own).
pub(crate) fn refuse_write(h: &mut Host<ZooKeeper>, client: usize, f: RequestFrame) {
    let conn = h.local_mut().conns.get_mut(&client).expect("conn");
    conn.queue.pop_front();
    if f.op == op::CLOSE_SESSION {
        reply(h, client, f.xid, Code::Ok, Response::Empty);
        return close_conn(h, client);
    }
    reply(h, client, f.xid, Code::NotReadOnly, Response::Empty);
}
