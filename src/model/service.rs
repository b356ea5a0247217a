//! The `service` model: ZooKeeper servers running the whole pipeline (sessions, the request
//! queue, the znode tree, watches, leader-decided expiry) over ZAB, with client actors.
//!
//! Two voters start with server 0 elected (the oracle's outcome is already in flight, as in
//! the multi-grained models). Two clients run short scripts: A creates and updates `/a` with a
//! versioned set and reads it; B creates its ephemeral `/e1`, syncs and reads `/a`. The
//! leader's session tick may fire at any moment (up to `max_ticks` times), so B's session may
//! expire at any point of its script; a client whose connection closes reconnects to the next
//! server with its session, once. There are no crashes yet: stateright's own crash action
//! bounds crashed actors at a time, not crashes in all, and would crash clients too; the ZAB
//! models' crash environment (connections reset, peers told) is not yet generic over the
//! actor. This model checks the service on a stable ZAB; ZAB's recovery is what the other
//! models check.
//!
//! Properties: every history of the clients is linearizable and sequentially consistent
//! (stateright's testers against [`ZkSpec`]); no server keeps an ephemeral whose session is
//! gone; two servers that committed up to the same zxid have identical trees.

use super::service_spec::{ZkOp, ZkRet, ZkSpec};
use crate::jute::proto::{op, ConnectRequest, Request, RequestFrame, Response};
use crate::zab::{Config, Durable, Msg, Server, ServerState, Timer};
use crate::zk::server::ClientMsg;
use crate::zk::stat::NodeKind;
use crate::zk::{Acl, Code, CreateMode, DataTree};
use stateright::actor::{Actor, ActorModel, ActorModelState, Envelope, Id, Network, Out};
use stateright::semantics::{
    ConsistencyTester, LinearizabilityTester, SequentialConsistencyTester,
};
use std::borrow::Cow;
use std::sync::Arc;

/// A client running a script of operations, one at a time.
#[derive(Clone, Debug)]
pub struct ZkClient {
    /// Servers to connect to, in order of preference.
    pub servers: Vec<usize>,
    /// The operations, in order (paths starting with `/e` are created ephemeral).
    pub script: Vec<ZkOp>,
}

/// A client's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClientState {
    /// Index into `servers` of the current server.
    pub server: usize,
    /// Its session (0 before the handshake).
    pub session: i64,
    /// The session password.
    pub passwd: Vec<u8>,
    /// The next operation of the script.
    pub next: usize,
    /// Whether an operation is outstanding.
    pub waiting: bool,
    /// Reconnections so far.
    pub reconnects: u8,
    /// Finished: script done, session expired, or an operation left without an answer.
    pub done: bool,
    /// A reconnect was told the session had expired.
    pub expired: bool,
}

/// A server or a client of the `service` model.
#[derive(Clone, Debug)]
pub enum Node {
    /// A ZooKeeper server (the unmodified actor).
    Server(Server<DataTree>),
    /// A scripted client.
    Client(ZkClient),
}

/// The state of a [`Node`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// A server's state.
    Server(Box<ServerState<DataTree>>),
    /// A client's state.
    Client(ClientState),
}

type M = Msg<DataTree>;

impl Actor for Node {
    type Msg = M;
    type Timer = Timer;
    type State = NodeState;
    type Storage = Durable<DataTree>;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> NodeState {
        match self {
            Node::Server(s) => {
                let mut inner = Out::new();
                let st = s.on_start(id, storage, &mut inner);
                o.append(&mut inner);
                NodeState::Server(Box::new(st))
            }
            Node::Client(c) => {
                let st = ClientState::default();
                connect(c, &st, o);
                NodeState::Client(st)
            }
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<NodeState>, src: Id, msg: M, o: &mut Out<Self>) {
        match (self, state.as_ref()) {
            (Node::Server(s), NodeState::Server(st)) => {
                let mut inner = Out::new();
                let mut cow = Cow::Borrowed(st.as_ref());
                s.on_msg(id, &mut cow, src, msg, &mut inner);
                if let Cow::Owned(next) = cow {
                    *state.to_mut() = NodeState::Server(Box::new(next));
                }
                o.append(&mut inner);
            }
            (Node::Client(c), NodeState::Client(st)) => {
                if let Msg::Client(m) = msg {
                    let mut next = st.clone();
                    client_on_msg(c, &mut next, m, o);
                    if next != *st {
                        *state.to_mut() = NodeState::Client(next);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<NodeState>, timer: &Timer, o: &mut Out<Self>) {
        if let (Node::Server(s), NodeState::Server(st)) = (self, state.as_ref()) {
            let mut inner = Out::new();
            let mut cow = Cow::Borrowed(st.as_ref());
            s.on_timeout(id, &mut cow, timer, &mut inner);
            if let Cow::Owned(next) = cow {
                *state.to_mut() = NodeState::Server(Box::new(next));
            }
            o.append(&mut inner);
        }
    }
}

fn connect(c: &ZkClient, st: &ClientState, o: &mut Out<Node>) {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 4000,
        session_id: st.session,
        passwd: if st.session == 0 {
            vec![0; 16]
        } else {
            st.passwd.clone()
        },
        read_only: Some(false),
    };
    o.send(
        Id::from(c.servers[st.server]),
        Msg::Client(ClientMsg::Connect(req)),
    );
}

fn client_on_msg(c: &ZkClient, st: &mut ClientState, m: ClientMsg, o: &mut Out<Node>) {
    if st.done {
        return;
    }
    match m {
        ClientMsg::Connected(r) if r.timeout == 0 => {
            st.done = true;
            st.expired = true;
        }
        ClientMsg::Connected(r) if st.waiting => {
            // Reconnected with an operation whose outcome is unknown: stop here (the testers
            // take one outstanding operation per client).
            st.session = r.session_id;
            st.done = true;
        }
        ClientMsg::Connected(r) => {
            st.session = r.session_id;
            st.passwd = r.passwd;
            send_next(c, st, o);
        }
        ClientMsg::Reply(r) if st.waiting && r.xid == st.next as i32 + 1 => {
            st.waiting = false;
            st.next += 1;
            send_next(c, st, o);
        }
        ClientMsg::Close if st.session == 0 || st.reconnects > 0 => st.done = true,
        ClientMsg::Close => {
            st.reconnects += 1;
            st.server = (st.server + 1) % c.servers.len();
            connect(c, st, o);
        }
        _ => {}
    }
}

fn send_next(c: &ZkClient, st: &mut ClientState, o: &mut Out<Node>) {
    let Some(op) = c.script.get(st.next) else {
        st.done = true;
        return;
    };
    st.waiting = true;
    let frame = frame(st.next as i32 + 1, op);
    o.send(
        Id::from(c.servers[st.server]),
        Msg::Client(ClientMsg::Request(frame)),
    );
}

/// The request frame of a script operation.
pub fn frame(xid: i32, zop: &ZkOp) -> RequestFrame {
    let (code, body) = match zop {
        ZkOp::Create(p, d) => {
            let mode = if p.starts_with("/e") {
                CreateMode::Ephemeral
            } else {
                CreateMode::Persistent
            };
            let body = Request::Create {
                path: p.to_string(),
                data: vec![*d],
                acl: Acl::open(),
                flags: mode as i32,
            };
            (op::CREATE, body)
        }
        ZkOp::Set(p, d, v) => (
            op::SET_DATA,
            Request::SetData {
                path: p.to_string(),
                data: vec![*d],
                version: *v,
            },
        ),
        ZkOp::Get(p) => (
            op::GET_DATA,
            Request::Read {
                path: p.to_string(),
                watch: false,
            },
        ),
        ZkOp::Sync(p) => (op::SYNC, Request::Path(p.to_string())),
    };
    RequestFrame {
        xid,
        op: code,
        body,
    }
}

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
}

/// Bounds of the `service` model.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Voting servers.
    pub servers: usize,
    /// The leader's session tracker may tick at most this often.
    pub max_ticks: u64,
}

impl ServiceConfig {
    /// What `check --list` says about it.
    pub const ABOUT: &'static str =
        "ZooKeeper service: 2 servers, 2 scripted clients (creates, versioned set, reads, sync, \
         an ephemeral), session expiry by the leader; writes linearizable, sessions sequentially \
         consistent";

    /// The named configuration: 2 servers, 3 session ticks.
    pub fn named() -> ServiceConfig {
        ServiceConfig {
            servers: 2,
            max_ticks: 3,
        }
    }

    /// The model.
    pub fn into_model(self) -> ActorModel<Node, ServiceConfig, History> {
        let n = self.servers;
        let cfg = Arc::new(Config::new(n));
        let [a, b] = scripts();
        let a = ZkClient {
            servers: vec![0, 1],
            script: a,
        };
        let b = ZkClient {
            servers: vec![1, 0],
            script: b,
        };
        let outcome = (0..n).map(|i| Envelope {
            src: Id::from(n + 2),
            dst: Id::from(i),
            msg: Msg::ElectionOutcome { leader: 0 },
        });
        ActorModel::new(self, History::default())
            .actors((0..n).map(|_| Node::Server(Server::new(cfg.clone()))))
            .actor(Node::Client(a))
            .actor(Node::Client(b))
            .init_network(Network::new_ordered(outcome))
            .record_msg_out(record_invoke)
            .record_msg_in(record_return)
            .within_boundary(within_boundary)
            .property(
                stateright::Expectation::Always,
                "writes linearizable",
                |_, s| s.history.lin.is_consistent(),
            )
            .property(
                stateright::Expectation::Always,
                "sequentially consistent",
                |_, s| s.history.seq.is_consistent(),
            )
            .property(
                stateright::Expectation::Always,
                "ephemerals die with their session",
                |_, s| servers(s).all(ephemerals_owned),
            )
            .property(
                stateright::Expectation::Always,
                "identical trees at identical zxids",
                |_, s| identical_trees(s),
            )
            .property(
                stateright::Expectation::Sometimes,
                "a reconnect finds its session expired",
                |_, s| clients(s).any(|c| c.expired),
            )
            .property(
                stateright::Expectation::Sometimes,
                "both scripts complete",
                |_, s| clients(s).all(|c| c.done && c.next == 3),
            )
    }
}

type S = ActorModelState<Node, History>;

fn servers(s: &S) -> impl Iterator<Item = &ServerState<DataTree>> {
    s.actor_states.iter().filter_map(|a| match a.as_ref() {
        NodeState::Server(st) => Some(st.as_ref()),
        _ => None,
    })
}

fn clients(s: &S) -> impl Iterator<Item = &ClientState> {
    s.actor_states.iter().filter_map(|a| match a.as_ref() {
        NodeState::Client(c) => Some(c),
        _ => None,
    })
}

fn ephemerals_owned(st: &ServerState<DataTree>) -> bool {
    st.sm
        .nodes()
        .values()
        .all(|n| match NodeKind::of(n.stat.ephemeral_owner, false) {
            NodeKind::Ephemeral(s) => st.sm.sessions().contains_key(&s),
            _ => true,
        })
}

fn identical_trees(s: &S) -> bool {
    let all: Vec<&ServerState<DataTree>> = servers(s).collect();
    all.iter().all(|a| {
        all.iter()
            .all(|b| a.committed != b.committed || a.sm == b.sm)
    })
}

fn within_boundary(cfg: &ServiceConfig, s: &S) -> bool {
    servers(s).all(|st| st.local.tracker.now <= cfg.max_ticks)
}

fn record_invoke(cfg: &ServiceConfig, h: &History, env: Envelope<&M>) -> Option<History> {
    let Msg::Client(ClientMsg::Request(f)) = env.msg else {
        return None;
    };
    let client = usize::from(env.src).checked_sub(cfg.servers)?;
    let zop = scripts()
        .get(client)?
        .get(usize::try_from(f.xid - 1).ok()?)?
        .clone();
    let mut next = h.clone();
    if zop.is_write() {
        let _ = next.lin.on_invoke(env.src, zop.clone());
    }
    let _ = next.seq.on_invoke(env.src, zop);
    Some(next)
}

fn record_return(cfg: &ServiceConfig, h: &History, env: Envelope<&M>) -> Option<History> {
    let Msg::Client(ClientMsg::Reply(r)) = env.msg else {
        return None;
    };
    let client = usize::from(env.dst).checked_sub(cfg.servers)?;
    let zop = scripts()
        .get(client)?
        .get(usize::try_from(r.xid - 1).ok()?)?
        .clone();
    let ret = match (&r.body, Code::from_value(r.err)) {
        (_, Some(c)) if c != Code::Ok => ZkRet::Err(c),
        (Response::Stat(s), _) => ZkRet::Version(s.version),
        (Response::GetData(d, s), _) => ZkRet::Data(d.first().copied().unwrap_or(0), s.version),
        _ => ZkRet::Ok,
    };
    let mut next = h.clone();
    if zop.is_write() {
        let _ = next.lin.on_return(env.dst, ret.clone());
    }
    let _ = next.seq.on_return(env.dst, ret);
    Some(next)
}

/// The two clients' scripts: A creates and updates `/a` with a versioned set and reads it;
/// B creates its ephemeral `/e1`, syncs and reads `/a`.
fn scripts() -> [Vec<ZkOp>; 2] {
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

/// The `service` model's type.
pub type ServiceModel = ActorModel<Node, ServiceConfig, History>;
