//! A session's request queue on its server: what is answered now, what goes to ZAB, what
//! waits (the order rules of [`super::server`]'s module docs).

use super::jute_map::to_write;
use super::server::{close_conn, reply, serve_read, submit};
use super::service::ZooKeeper;
use super::{acl, read_only, Code};
use crate::jute::proto::{op, Request, RequestFrame, Response};
use crate::zab::service::Host;

/// ZAB completed the `sync` that `client` asked for: answer it, after everything the leader
/// had proposed when it arrived.
pub fn on_synced(h: &mut Host<ZooKeeper>, client: usize) {
    let Some(c) = h.local_mut().conns.get_mut(&client) else {
        return;
    };
    if !(c.submitted > 0 && c.queue.front().is_some_and(|f| f.op == op::SYNC)) {
        return;
    }
    let f = c.queue.pop_front().expect("head");
    c.submitted = 0;
    let path = match f.body {
        Request::Path(p) => p,
        _ => String::new(),
    };
    reply(h, client, f.xid, Code::Ok, Response::Path(path));
    drain(h, client);
}

/// Answers, in order with the connection's other requests, those that read no znode:
/// `whoAmI`, and the requests zabkeeper does not serve. Returns the frame back otherwise.
fn answer_local(h: &mut Host<ZooKeeper>, client: usize, f: RequestFrame) -> Option<RequestFrame> {
    let (code, body) = match (f.op, &f.body) {
        (op::WHO_AM_I, _) => {
            let conn = h.state().local.conns.get(&client)?;
            (Code::Ok, Response::WhoAmI(acl::client_infos(&conn.auth)))
        }
        // `reconfigEnabled` is off (ZooKeeper's default): dynamic reconfiguration is refused.
        (op::RECONFIG, _) => (Code::ReconfigDisabled, Response::Empty),
        (_, Request::Unsupported) => {
            // As ZooKeeper's UnimplementedRequestProcessor: the error, then the connection
            // closes (an opcode ZooKeeper does not have either).
            reply(h, client, f.xid, Code::Unimplemented, Response::Empty);
            close_conn(h, client);
            return None;
        }
        _ => return Some(f),
    };
    reply(h, client, f.xid, code, body);
    None
}

/// Answers the queue's head for as long as it can be answered now, and sends on to ZAB each
/// write that follows only writes already sent.
pub(crate) fn drain(h: &mut Host<ZooKeeper>, client: usize) {
    loop {
        let Some(c) = h.state().local.conns.get(&client) else {
            return;
        };
        let Some(frame) = c.queue.get(c.submitted).cloned() else {
            return;
        };
        let in_flight = c.submitted;
        // A sync, and a closeSession, are answered before anything after them goes out.
        let behind_barrier = in_flight > 0
            && (c.queue.front().is_some_and(|f| f.op == op::SYNC)
                || c.queue[in_flight - 1].op == op::CLOSE_SESSION);
        let (session, auth) = (c.session, c.auth.clone());
        let write = to_write(&frame);
        if in_flight > 0 && (write.is_none() || behind_barrier) {
            return; // it waits for the outcomes ahead of it
        }
        if c.read_only && (frame.op == op::SYNC || write.is_some()) {
            read_only::refuse_write(h, client, frame);
            continue;
        }
        if let Some(write) = write {
            h.local_mut()
                .conns
                .get_mut(&client)
                .expect("conn")
                .submitted += 1;
            submit(h, session, frame.xid, auth, write);
            continue;
        }
        if frame.op == op::SYNC {
            h.local_mut()
                .conns
                .get_mut(&client)
                .expect("conn")
                .submitted = 1;
            return h.sync(client);
        }
        h.local_mut()
            .conns
            .get_mut(&client)
            .expect("conn")
            .queue
            .pop_front();
        let Some(frame) = answer_local(h, client, frame) else {
            continue;
        };
        serve_read(h, client, session, &auth, frame);
    }
}
