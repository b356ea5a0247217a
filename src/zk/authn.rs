//! A connection's authentication: `addAuth` (opcode 100, the `digest` scheme) and SASL tokens
//! (opcode 102, DIGEST-MD5 by [`super::sasl`]). Both are answered at once, outside the queue of
//! the connection's requests, as ZooKeeper's `processPacket` answers them; a failure closes
//! the connection (the session lives on).

use super::server::{close_conn, reply, ClientMsg};
use super::service::ZooKeeper;
use super::{acl, sasl, Code, Id};
use crate::jute::proto::{ReplyFrame, Request, RequestFrame, Response};
use crate::zab::service::Host;

pub(crate) fn auth(h: &mut Host<ZooKeeper>, client: usize, frame: RequestFrame) {
    let x = frame.xid;
    let Request::Auth { scheme, auth, .. } = frame.body else {
        return reply(h, client, x, Code::AuthFailed, Response::Empty);
    };
    match acl::authenticate(&scheme, &auth, h.state().local.opts.super_digest.as_deref()) {
        Ok(ids) => {
            let conn = h.local_mut().conns.get_mut(&client).expect("conn");
            for id in ids {
                if !conn.auth.contains(&id) {
                    conn.auth.push(id);
                }
            }
            reply(h, client, x, Code::Ok, Response::Empty);
        }
        Err(code) => {
            reply(h, client, x, code, Response::Empty);
            close_conn(h, client);
        }
    }
}

pub(crate) fn sasl_token(h: &mut Host<ZooKeeper>, client: usize, frame: RequestFrame) {
    let x = frame.xid;
    let Request::Sasl(token) = frame.body else {
        return close_conn(h, client); // the codec decodes opcode 102 as a token
    };
    let opts = h.state().local.opts.clone();
    let conn = h.local_mut().conns.get_mut(&client).expect("conn");
    let (code, body) = match sasl::step(&mut conn.sasl, &token, &opts.sasl_users) {
        sasl::Step::Challenge(t) => (Code::Ok, Response::Sasl(Some(t))),
        sasl::Step::Authenticated { user, token } => {
            let mut ids = vec![Id::new("sasl", &user)];
            if opts.sasl_super_user.as_deref() == Some(user.as_str()) {
                ids.push(Id::new("super", ""));
            }
            for id in ids {
                if !conn.auth.contains(&id) {
                    conn.auth.push(id);
                }
            }
            (Code::Ok, Response::Sasl(Some(token)))
        }
        sasl::Step::Failed(_) => (Code::AuthFailed, Response::Sasl(None)),
    };
    // ZooKeeper answers SASL tokens with zxid 0.
    h.send(
        client,
        ClientMsg::Reply(ReplyFrame {
            xid: x,
            zxid: 0,
            err: code.value(),
            body,
        }),
    );
    if code != Code::Ok {
        close_conn(h, client);
    }
}
