//! A tiny deterministic network for interaction tests: real `Server<ZooKeeper>` actors, FIFO
//! delivery in send order, and clients that are just inboxes.

use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use zabkeeper::jute::proto::{ConnectRequest, RequestFrame};
use zabkeeper::zab::{Config, Durable, Msg, Server, ServerState, Snapshot, Zxid};
use zabkeeper::zk::server::ZkTimer;
use zabkeeper::zk::ZooKeeper;

/// A timer of a ZooKeeper server.
pub type Timer = zabkeeper::zab::Timer<ZkTimer>;
use zabkeeper::zk::server::{ClientMsg, Local, Origin, ZkOptions};
use zabkeeper::zk::DataTree;

pub type ZkMsg = Msg<ZooKeeper>;

/// Client ids start here.
pub const CLIENT: usize = 10;

pub struct Cluster {
    pub actors: Vec<Server<ZooKeeper>>,
    pub states: Vec<ServerState<ZooKeeper>>,
    pub queue: VecDeque<(usize, usize, ZkMsg)>,
    pub inbox: BTreeMap<usize, Vec<ClientMsg>>,
    pub timers: BTreeSet<(usize, Timer)>,
}

impl Cluster {
    /// `n` voters; server 0 is elected by the oracle and the epoch is established.
    pub fn new(n: usize) -> Cluster {
        Cluster::with_tree(n, DataTree::default())
    }

    /// As [`Cluster::new`], every server starting from `tree` (say, with TTL nodes enabled).
    pub fn with_tree(n: usize, tree: DataTree) -> Cluster {
        Cluster::with_options(n, tree, ZkOptions::default())
    }

    /// As [`Cluster::with_tree`], every server configured with `opts`.
    pub fn with_options(n: usize, tree: DataTree, opts: ZkOptions) -> Cluster {
        let cfg = Arc::new(Config::new(n));
        let seed = Durable {
            snapshot: Snapshot {
                zxid: Zxid::ZERO,
                state: tree,
            }
            .into(),
            ..Durable::default()
        };
        let mut c = Cluster {
            actors: (0..n)
                .map(|_| Server {
                    cfg: cfg.clone(),
                    seed: Some(seed.clone()),
                    local: Local::with_options(opts.clone()),
                })
                .collect(),
            states: Vec::new(),
            queue: VecDeque::new(),
            inbox: BTreeMap::new(),
            timers: BTreeSet::new(),
        };
        for i in 0..n {
            let mut o = Out::new();
            let st = c.actors[i].on_start(Id::from(i), &None, &mut o);
            c.states.push(st);
            c.absorb(i, o);
        }
        for i in 0..n {
            c.queue
                .push_back((CLIENT + 99, i, Msg::ElectionOutcome { leader: 0 }));
        }
        c.run();
        c
    }

    fn absorb(&mut self, from: usize, o: Out<Server<ZooKeeper>>) {
        for cmd in o {
            match cmd {
                Command::Send(to, msg) => {
                    let to = usize::from(to);
                    match msg {
                        Msg::Client(m) if to >= CLIENT => self.inbox.entry(to).or_default().push(m),
                        msg => self.queue.push_back((from, to, msg)),
                    }
                }
                Command::SetTimer(t, _) => {
                    self.timers.insert((from, t));
                }
                Command::CancelTimer(t) => {
                    self.timers.remove(&(from, t));
                }
                _ => {}
            }
        }
    }

    /// Delivers one message.
    pub fn deliver_one(&mut self) -> bool {
        let Some((src, dst, msg)) = self.queue.pop_front() else {
            return false;
        };
        let mut o = Out::new();
        let mut st = Cow::Borrowed(&self.states[dst]);
        self.actors[dst].on_msg(Id::from(dst), &mut st, Id::from(src), msg, &mut o);
        let st = st.into_owned();
        self.states[dst] = st;
        self.absorb(dst, o);
        true
    }

    /// Delivers everything in flight.
    pub fn run(&mut self) {
        while self.deliver_one() {}
    }

    /// Fires a timer of a server (if set) and runs to quiescence.
    pub fn fire(&mut self, server: usize, t: Timer) {
        if !self.timers.remove(&(server, t.clone())) {
            return;
        }
        let mut o = Out::new();
        let mut st = Cow::Borrowed(&self.states[server]);
        self.actors[server].on_timeout(Id::from(server), &mut st, &t, &mut o);
        self.states[server] = st.into_owned();
        self.absorb(server, o);
        self.run();
    }

    /// A client sends a message to a server; everything runs to quiescence.
    pub fn send(&mut self, client: usize, server: usize, m: ClientMsg) {
        self.queue.push_back((client, server, Msg::Client(m)));
        self.run();
    }

    pub fn connect(&mut self, client: usize, server: usize, session: i64, passwd: Vec<u8>) {
        self.connect_from(client, server, session, passwd, Origin::default());
    }

    /// [`Cluster::connect`] with what the runtime would add (address, SASL nonce).
    pub fn connect_from(
        &mut self,
        client: usize,
        server: usize,
        session: i64,
        passwd: Vec<u8>,
        origin: Origin,
    ) {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout: 10000,
            session_id: session,
            passwd,
            read_only: Some(false),
        };
        self.send(client, server, ClientMsg::Connect(req, origin));
    }

    /// A client sends several messages at once (say, requests right behind its
    /// ConnectRequest, before any answer); everything runs to quiescence.
    pub fn send_all(&mut self, client: usize, server: usize, ms: Vec<ClientMsg>) {
        for m in ms {
            self.queue.push_back((client, server, Msg::Client(m)));
        }
        self.run();
    }

    pub fn request(&mut self, client: usize, server: usize, f: RequestFrame) {
        self.send(client, server, ClientMsg::Request(f));
    }

    /// Takes what a client received.
    pub fn take(&mut self, client: usize) -> Vec<ClientMsg> {
        self.inbox.remove(&client).unwrap_or_default()
    }
}
