//! What the clients saw, recorded from the messages they exchange with the servers.

use super::spec::{ZkOp, ZkRet, ZkSpec};
use super::ServiceConfig;
use crate::jute::proto::{ReplyFrame, Response};
use crate::zab::Msg;
use crate::zk::server::ClientMsg;
use crate::zk::Code;
use crate::zk::ZooKeeper;
use stateright::actor::{Envelope, Id};
use stateright::semantics::{
    ConsistencyTester, LinearizabilityTester, SequentialConsistencyTester,
};

type M = Msg<ZooKeeper>;

/// What the clients saw, checked by stateright's consistency testers against ZooKeeper's
/// guarantees ("ZooKeeper guarantees" in the Programmer's Guide): writes are linearizable;
/// reads may be stale, but every session's operations, reads included, are sequentially
/// consistent (one total order that keeps each session's order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct History {
    /// Linearizability of the writes.
    pub lin: LinearizabilityTester<Id, ZkSpec>,
    /// Sequential consistency of all operations.
    pub seq: SequentialConsistencyTester<Id, ZkSpec>,
    /// Server crashes so far (the model's fault budget).
    pub crashes: u8,
    /// How many timers each actor has set (`model::env::timer_counts`: without it the checker's
    /// fingerprint cannot tell which server holds a timer).
    pub timer_counts: Vec<u8>,
}

/// The scripted operation that client actor `client` sends as request `xid` (xids count from 1).
fn scripted(cfg: &ServiceConfig, client: Id, xid: i32) -> Option<ZkOp> {
    let index = usize::from(client).checked_sub(cfg.servers)?;
    let op = cfg
        .scripts
        .get(index)?
        .get(usize::try_from(xid - 1).ok()?)?;
    Some(op.clone())
}

pub(super) fn record_invoke(
    cfg: &ServiceConfig,
    h: &History,
    env: Envelope<&M>,
) -> Option<History> {
    let Msg::Client(ClientMsg::Request(f)) = env.msg else {
        return None;
    };
    let zop = scripted(cfg, env.src, f.xid)?;
    let mut next = h.clone();
    let thread = thread(cfg, env.src, f.xid);
    if zop.is_write() {
        let _ = next.lin.on_invoke(thread, zop.clone());
    }
    let _ = next.seq.on_invoke(thread, zop);
    Some(next)
}

pub(super) fn record_return(
    cfg: &ServiceConfig,
    h: &History,
    env: Envelope<&M>,
) -> Option<History> {
    let Msg::Client(ClientMsg::Reply(r)) = env.msg else {
        return None;
    };
    let zop = scripted(cfg, env.dst, r.xid)?;
    let ret = ret_of(r);
    let mut next = h.clone();
    let thread = thread(cfg, env.dst, r.xid);
    if zop.is_write() {
        let _ = next.lin.on_return(thread, ret.clone());
    }
    let _ = next.seq.on_return(thread, ret);
    Some(next)
}

/// What a reply says, as the history records it.
pub fn ret_of(r: &ReplyFrame) -> ZkRet {
    match (&r.body, Code::from_value(r.err)) {
        (_, Some(c)) if c != Code::Ok => ZkRet::Err(c),
        (Response::Stat(s), _) => ZkRet::Version(s.version),
        (Response::GetData(d, s), _) => ZkRet::Data(
            crate::zk::data::bytes(d).first().copied().unwrap_or(0),
            s.version,
        ),
        _ => ZkRet::Ok,
    }
}

/// The testers' thread of request `xid` of `client`. stateright's testers take one operation
/// in flight per thread, so each request of the pipelining client A is a thread of its own
/// (invoked when sent, returned when answered: real time kept, the order among A's requests
/// not); that order, and A reading its own writes, is the property "a pipelining session
/// gets its script's answers in order" ([`super::ServiceModel`]).
fn thread(cfg: &ServiceConfig, client: Id, xid: i32) -> Id {
    let pipelining = cfg.pipelined && usize::from(client).checked_sub(cfg.servers) == Some(0);
    if pipelining {
        Id::from(PIPELINE_THREADS + xid.max(0) as usize)
    } else {
        client
    }
}

/// Where the thread ids of A's pipelined requests start (above every actor id).
const PIPELINE_THREADS: usize = 1000;

/// The full scripts: A creates and updates `/a` with a versioned set and reads it; B creates
/// its ephemeral `/e1`, syncs and reads `/a`.
pub fn full_scripts() -> [Vec<ZkOp>; 2] {
    let a = "/a".to_string();
    [
        vec![
            ZkOp::Create(a.clone(), 1),
            ZkOp::Set(a.clone(), 2, 0),
            ZkOp::Get(a.clone()),
        ],
        vec![
            ZkOp::Create("/e1".into(), 3),
            ZkOp::Sync(a.clone()),
            ZkOp::Get(a),
        ],
    ]
}
