//! The actors of the `service` model: the unmodified ZooKeeper server, and a scripted client
//! that speaks to it with the client messages the runtime's connections carry.

use super::spec::ZkOp;
use crate::jute::proto::{op, ConnectRequest, Request, RequestFrame};
use crate::zab::{Durable, Msg, Server, ServerState, Timer};
use crate::zk::server::ZkTimer;
use crate::zk::server::{ClientMsg, Origin};
use crate::zk::ZooKeeper;
use crate::zk::{Acl, CreateMode, DataTree};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::time::Duration;

/// A client running a script of operations: one at a time, or all at once (`pipelined`).
#[derive(Clone, Debug)]
pub struct ZkClient {
    /// Servers to connect to, in order of preference.
    pub servers: Vec<usize>,
    /// The operations, in order (paths starting with `/e` are created ephemeral).
    pub script: Vec<ZkOp>,
    /// It accepts read-only sessions (`canBeReadOnly`), and then remembers the last zxid it
    /// saw and sends it when it connects, as real clients do (the other clients send 0, which
    /// no server refuses).
    pub read_only: bool,
    /// It waits on a timer (`Timer::Step`, its own) between a reply and its next operation, so
    /// that a crash or a mode change can come in between; otherwise it sends the next operation
    /// in the step that delivers the reply.
    pub pause: bool,
    /// It pipelines: once its session exists it sends every operation of its script, each
    /// without waiting for the reply to the one before.
    pub pipelined: bool,
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
    /// How many operations of the script it has sent.
    pub sent: usize,
    /// A reply came for another request than the oldest unanswered one.
    pub misordered: bool,
    /// A pipelining client's answers, in the order they came.
    pub answers: Vec<super::ZkRet>,
    /// Reconnections so far.
    pub reconnects: u8,
    /// Finished: script done, session expired, or an operation left without an answer.
    pub done: bool,
    /// A reconnect was told the session had expired.
    pub expired: bool,
    /// The last zxid a reply carried (kept by read-only clients only).
    pub last_zxid: i64,
    /// The current session is a read-only server's.
    pub read_only: bool,
    /// A read-only server answered an operation of the script.
    pub read_only_answer: bool,
}

/// A server or a client of the `service` model.
#[derive(Clone, Debug)]
pub enum Node {
    /// A ZooKeeper server (the unmodified actor).
    Server(Box<Server<ZooKeeper>>),
    /// A scripted client.
    Client(ZkClient),
}

/// The state of a [`Node`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// A server's state.
    Server(Box<ServerState<ZooKeeper>>),
    /// A client's state.
    Client(ClientState),
}

type M = Msg<ZooKeeper>;

impl Actor for Node {
    type Msg = M;
    type Timer = Timer<ZkTimer>;
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

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<NodeState>,
        timer: &Timer<ZkTimer>,
        o: &mut Out<Self>,
    ) {
        match (self, state.as_ref()) {
            (Node::Server(s), NodeState::Server(st)) => {
                let mut inner = Out::new();
                let mut cow = Cow::Borrowed(st.as_ref());
                s.on_timeout(id, &mut cow, timer, &mut inner);
                if let Cow::Owned(next) = cow {
                    *state.to_mut() = NodeState::Server(Box::new(next));
                }
                o.append(&mut inner);
            }
            // The pause between two operations is over.
            (Node::Client(c), NodeState::Client(st)) if !st.done && !st.waiting => {
                let mut next = st.clone();
                send_next(c, &mut next, o);
                *state.to_mut() = NodeState::Client(next);
            }
            _ => {}
        }
    }
}

fn connect(c: &ZkClient, st: &ClientState, o: &mut Out<Node>) {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: st.last_zxid,
        timeout: 2000,
        session_id: st.session,
        passwd: if st.session == 0 {
            vec![0; 16]
        } else {
            st.passwd.clone()
        },
        read_only: Some(c.read_only),
    };
    o.send(
        Id::from(c.servers[st.server]),
        Msg::Client(ClientMsg::Connect(req, Origin::default())),
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
            st.read_only = r.read_only == Some(true);
            send_next(c, st, o);
        }
        ClientMsg::Reply(r) if st.waiting && r.xid == st.next as i32 + 1 => {
            if c.read_only {
                st.last_zxid = st.last_zxid.max(r.zxid);
                st.read_only_answer |= st.read_only;
            }
            if c.pipelined {
                st.answers.push(super::history::ret_of(&r));
            }
            st.next += 1;
            st.waiting = st.next < st.sent;
            if st.waiting {
                // pipelined: the next reply is on its way
            } else if c.pause && st.next < c.script.len() {
                o.set_timer(Timer::Step, Duration::ZERO..Duration::ZERO);
            } else {
                send_next(c, st, o);
            }
        }
        // Script requests have xids from 1; any other reply (a watch event, a ping) has its own.
        ClientMsg::Reply(r) if r.xid > 0 => st.misordered = true,
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
    if st.next >= c.script.len() {
        st.done = true;
        return;
    }
    let upto = if c.pipelined {
        c.script.len()
    } else {
        st.next + 1
    };
    st.waiting = true;
    for (i, op) in c.script.iter().enumerate().take(upto).skip(st.next) {
        let frame = frame(i as i32 + 1, op);
        o.send(
            Id::from(c.servers[st.server]),
            Msg::Client(ClientMsg::Request(frame)),
        );
    }
    st.sent = upto;
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
                data: Some(vec![*d]),
                acl: Acl::open(),
                flags: mode as i32,
            };
            (op::CREATE, body)
        }
        ZkOp::Set(p, d, v) => (
            op::SET_DATA,
            Request::SetData {
                path: p.to_string(),
                data: Some(vec![*d]),
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

impl crate::model::env::ServerNode<ZooKeeper> for Node {
    fn server(state: &NodeState) -> Option<&ServerState<ZooKeeper>> {
        match state {
            NodeState::Server(st) => Some(st),
            NodeState::Client(_) => None,
        }
    }
}
