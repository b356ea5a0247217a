//! The `service` model: ZooKeeper servers running the whole pipeline (sessions, the request
//! queue, the znode tree, watches, leader-decided expiry) over ZAB, with client actors, and
//! servers that crash.
//!
//! Two voters start from empty disks and the election oracle elects one of them (the one with
//! the greatest vote, as in the ZAB models). Two clients run short scripts: A creates and updates `/a` with a
//! versioned set and reads it; B creates its ephemeral `/e1`, syncs and reads `/a`. The
//! leader's session tick may fire at any moment (up to `max_ticks` times), so B's session may
//! expire at any point of its script; a client whose connection closes reconnects to the next
//! server with its session, once.
//!
//! Up to `crashes` server crashes happen in all, each at any moment: the crashed server's
//! connections reset (its peers are told, as in the ZAB models; its clients see the
//! connection close), it recovers from its `Storage` and the oracle elects again among the
//! LOOKING voters. Clients never crash: stateright's own crash action picks any actor and
//! bounds crashes at a time, so this model filters it and keeps its own budget, using the
//! environment shared with the ZAB models ([`super::env`]).
//!
//! Properties: every history of the clients is linearizable and sequentially consistent
//! (stateright's testers against [`ZkSpec`]); no server keeps an ephemeral whose session is
//! gone; two servers that committed up to the same zxid have identical trees.

pub mod history;
pub mod node;
pub mod spec;

pub use history::History;
pub use node::{ClientState, Node, NodeState, ZkClient};
pub use spec::{ZkOp, ZkRet, ZkSpec};

use super::env::{self, ServerNode};
use crate::zab::{Config, Msg, Server, ServerState};
use crate::zk::server::ZkTimer;
use crate::zk::ZooKeeper;

type Timer = crate::zab::Timer<ZkTimer>;
use crate::zk::server::{ClientMsg, Local, ZkOptions};
use crate::zk::session::SessionLimits;
use crate::zk::stat::NodeKind;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Network};
use stateright::semantics::ConsistencyTester;
use stateright::{Model, Property};
use std::sync::Arc;

/// Bounds of the `service` model.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Its name in `check --list`.
    pub name: &'static str,
    /// What `check --list` says about it.
    pub about: &'static str,
    /// Voting servers.
    pub servers: usize,
    /// The leader's session tracker may tick at most this often.
    pub max_ticks: u64,
    /// Server crashes in all.
    pub crashes: u8,
    /// The two clients' scripts (paths starting with `/e` are created ephemeral).
    pub scripts: [Vec<ZkOp>; 2],
    /// Read-only mode: servers have `readonlymode.enabled`, client B accepts read-only sessions.
    pub read_only: bool,
    /// Client A pipelines: it sends its whole script at once, as soon as its session exists
    /// (as ZooKeeper's clients do, each request without waiting for the reply before it).
    pub pipelined: bool,
}

impl ServiceConfig {
    /// The names of the service configurations.
    pub const NAMES: [&'static str; 5] = [
        "service",
        "service-stable",
        "service-full",
        "service-read-only",
        "service-pipelined",
    ];

    /// The configuration called `name`.
    pub fn named(name: &str) -> Option<ServiceConfig> {
        match name {
            "service" => Some(ServiceConfig::crash()),
            "service-stable" => Some(ServiceConfig::stable()),
            "service-full" => Some(ServiceConfig::full()),
            "service-read-only" => Some(ServiceConfig::read_only()),
            "service-pipelined" => Some(ServiceConfig::pipelined()),
            _ => None,
        }
    }

    /// `service`: a server crash at any moment, with scripts short enough to check in CI.
    pub fn crash() -> ServiceConfig {
        let a = "/a".to_string();
        ServiceConfig {
            name: "service",
            about: "ZooKeeper service with a crash: 2 servers, 2 clients (A: create, versioned \
                    set; B: ephemeral create), session expiry by the leader, 1 server crash and \
                    recovery",
            servers: 2,
            max_ticks: 2,
            crashes: 1,
            scripts: [
                vec![ZkOp::Create(a.clone(), 1), ZkOp::Set(a.clone(), 2, 0)],
                vec![ZkOp::Create("/e1".into(), 3)],
            ],
            read_only: false,
            pipelined: false,
        }
    }

    /// `service-pipelined`: client A sends create, versioned set and read of `/a` at once;
    /// B reads `/a`; a server crash at any moment.
    pub fn pipelined() -> ServiceConfig {
        let a = "/a".to_string();
        ServiceConfig {
            name: "service-pipelined",
            about: "ZooKeeper service with a pipelining client: 2 servers, 2 clients (A sends \
                    create, versioned set and read of /a without waiting for replies; B reads \
                    /a), session expiry by the leader, 1 server crash and recovery",
            servers: 2,
            max_ticks: 2,
            crashes: 1,
            scripts: [
                vec![
                    ZkOp::Create(a.clone(), 1),
                    ZkOp::Set(a.clone(), 2, 0),
                    ZkOp::Get(a.clone()),
                ],
                vec![ZkOp::Get(a)],
            ],
            read_only: false,
            pipelined: true,
        }
    }

    /// `service-read-only`: read-only mode, with a server crash at any moment.
    pub fn read_only() -> ServiceConfig {
        ServiceConfig {
            name: "service-read-only",
            about:
                "ZooKeeper read-only mode: 2 servers with readonlymode.enabled (a server out of \
                    the quorum may serve read-only sessions at any moment), client A only opens \
                    a session, client B (read-only allowed, pausing between operations) creates \
                    /b and reads it, 1 server crash and recovery",
            servers: 2,
            max_ticks: 2,
            crashes: 1,
            scripts: [
                vec![],
                vec![ZkOp::Create("/b".into(), 2), ZkOp::Get("/b".into())],
            ],
            read_only: true,
            pipelined: false,
        }
    }

    /// `service-full`: the full scripts with a crash (minutes; not run in CI).
    pub fn full() -> ServiceConfig {
        ServiceConfig {
            name: "service-full",
            about: "ZooKeeper service, full scripts with a crash (minutes): 2 servers, 2 \
                    clients (A: create, versioned set, read; B: ephemeral create, sync, read), \
                    session expiry by the leader, 1 server crash and recovery",
            crashes: 1,
            ..ServiceConfig::stable()
        }
    }

    /// `service-stable`: the full scripts on servers that never crash.
    pub fn stable() -> ServiceConfig {
        ServiceConfig {
            name: "service-stable",
            about: "ZooKeeper service without crashes: 2 servers, 2 clients (A: create, \
                    versioned set, read; B: ephemeral create, sync, read), session expiry by \
                    the leader",
            servers: 2,
            max_ticks: 2,
            crashes: 0,
            scripts: history::full_scripts(),
            read_only: false,
            pipelined: false,
        }
    }

    /// The model.
    pub fn into_model(self) -> ServiceModel {
        let n = self.servers;
        let zab = Arc::new(Config::new(n));
        let [a, b] = self.scripts.clone();
        let a = ZkClient {
            servers: vec![0, 1],
            script: a,
            read_only: false,
            pause: false,
            pipelined: self.pipelined,
        };
        let b = ZkClient {
            servers: vec![1, 0],
            script: b,
            read_only: self.read_only,
            pause: self.read_only,
            pipelined: false,
        };
        // Sessions may be one tick long, so that expiry needs few ticks of the leader.
        let opts = ZkOptions {
            limits: SessionLimits {
                tick_ms: 2000,
                min_ms: 2000,
                max_ms: 40000,
            },
            read_only_mode: self.read_only,
            ..ZkOptions::default()
        };
        let server = Server::new(zab.clone()).with_local(Local::with_options(opts));
        let inner = ActorModel::new(self, History::default())
            .actors((0..n).map(|_| Node::Server(Box::new(server.clone()))))
            .actor(Node::Client(a))
            .actor(Node::Client(b))
            .init_network(Network::new_ordered([]))
            .max_crashes(1)
            .record_msg_out(history::record_invoke)
            .record_msg_in(history::record_return)
            .within_boundary(within_boundary);
        ServiceModel { inner, zab }
    }
}

/// The `service` model: stateright's `ActorModel` of servers and clients, with crashes and
/// elections from the shared environment.
pub struct ServiceModel {
    /// The actor model with the unmodified servers and the scripted clients.
    pub inner: ActorModel<Node, ServiceConfig, History>,
    /// The ensemble's configuration.
    pub zab: Arc<Config>,
}

/// A step of the `service` model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// A step of stateright's `ActorModel`: a delivery, a timer, a crash or a recovery.
    Actor(ActorModelAction<Msg<ZooKeeper>, Timer, ()>),
    /// The election oracle elects `leader` among `quorum`.
    Elect {
        /// The elected server.
        leader: usize,
        /// The LOOKING servers that take part.
        quorum: Vec<usize>,
    },
}

/// The state of the `service` model.
pub type State = ActorModelState<Node, History>;

/// `state` with the ghost's timer counts brought up to date ([`env::timer_counts`]).
fn counted(mut state: State) -> State {
    state.history.timer_counts = env::timer_counts(&state);
    state
}

impl ServiceModel {
    fn servers(&self) -> usize {
        self.inner.cfg.servers
    }

    /// One step of the model, before the ghost's timer counts are brought up to date.
    fn step(&self, state: &State, action: Action) -> Option<State> {
        match action {
            Action::Actor(ActorModelAction::Crash(i)) => self.crash(state, usize::from(i)),
            // An ignored action is a step to the same state, not `None` (see `ZabModel`).
            Action::Actor(a) => self
                .inner
                .next_state(state, a)
                .or_else(|| Some(state.clone())),
            Action::Elect { leader, quorum } => {
                let oracle = self.servers() + 2;
                Some(env::elect(&self.inner, state, oracle, leader, &quorum))
            }
        }
    }

    /// Server `i` crashes; each client connected to it sees its connection close.
    fn crash(&self, state: &State, i: usize) -> Option<State> {
        let mut next = env::crash(&self.inner, state, i, self.servers())?;
        next.history.crashes += 1;
        for c in self.servers()..next.actor_states.len() {
            let connected = match (&self.inner.actors[c], next.actor_states[c].as_ref()) {
                (Node::Client(cfg), NodeState::Client(st)) => {
                    !st.done && cfg.servers[st.server] == i
                }
                _ => false,
            };
            if connected {
                next = env::inject(&self.inner, next, i, c, Msg::Client(ClientMsg::Close));
            }
        }
        Some(next)
    }
}

impl Model for ServiceModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        self.inner.init_states().into_iter().map(counted).collect()
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        let mut inner = Vec::new();
        self.inner.actions(state, &mut inner);
        let budget = state.history.crashes < self.inner.cfg.crashes;
        for a in inner {
            match a {
                ActorModelAction::Crash(i) if !budget || usize::from(i) >= self.servers() => {}
                ActorModelAction::Deliver { .. } => {}
                a => actions.push(Action::Actor(a)),
            }
        }
        let mut deliveries = Vec::new();
        env::deliveries(state, &mut deliveries);
        actions.extend(deliveries.into_iter().map(Action::Actor));
        let mut found = Vec::new();
        env::elections(&self.zab, false, state, &mut found);
        actions.extend(
            found
                .into_iter()
                .map(|(leader, quorum)| Action::Elect { leader, quorum }),
        );
    }

    fn next_state(&self, state: &State, action: Action) -> Option<State> {
        self.step(state, action).map(counted)
    }

    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        let steps = path.into_vec();
        let states: Vec<&State> = steps.iter().map(|(s, _)| s).collect();
        let marks: Vec<_> = steps
            .iter()
            .filter_map(|(_, a)| a.as_ref())
            .map(|a| {
                let mark = match a {
                    Action::Actor(a) => crate::model::diagram::actor_mark(a),
                    Action::Elect { leader, quorum } => crate::model::diagram::Mark::At {
                        actors: quorum.clone(),
                        label: format!("elect {leader}"),
                    },
                };
                (mark, self.format_action(a))
            })
            .collect();
        let names: Vec<String> = (0..self.inner.actors.len())
            .map(|i| match i < self.servers() {
                true => format!("server {i}"),
                false => format!("client {i}"),
            })
            .collect();
        let label = crate::model::diagram::message_label::<ZooKeeper>;
        Some(crate::model::diagram::sequence_diagram(
            &names, &states, &marks, label,
        ))
    }

    fn format_action(&self, action: &Action) -> String {
        match action {
            Action::Actor(a) => self.inner.format_action(a),
            Action::Elect { leader, quorum } => format!("Elect {leader} among {quorum:?}"),
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("writes linearizable", |_, s: &State| {
                s.history.lin.is_consistent()
            }),
            Property::always("sequentially consistent", |_, s: &State| {
                s.history.seq.is_consistent()
            }),
            Property::always("replies in session order", |_, s: &State| {
                clients(s).all(|c| !c.misordered)
            }),
            Property::always(
                "a pipelining session gets its script's answers in order",
                |m: &Self, s: &State| {
                    let cfg = &m.inner.cfg;
                    !cfg.pipelined || clients(s).next().is_none_or(|a| own_answers(cfg, a))
                },
            ),
            Property::always("ephemerals die with their session", |_, s: &State| {
                servers(s).all(ephemerals_owned)
            }),
            Property::always("identical trees at identical zxids", |_, s: &State| {
                identical_trees(s)
            }),
            Property::sometimes("a reconnect finds its session expired", |_, s: &State| {
                clients(s).any(|c| c.expired)
            }),
            Property::sometimes("both scripts complete", |m: &Self, s: &State| {
                let scripts = &m.inner.cfg.scripts;
                clients(s)
                    .zip(scripts)
                    .all(|(c, script)| c.done && c.next == script.len())
            }),
            Property::sometimes("a read-only server answers", |m: &Self, s: &State| {
                !m.inner.cfg.read_only || clients(s).any(|c| c.read_only_answer)
            }),
            Property::sometimes("a crashed server recovers", |m: &Self, s: &State| {
                m.inner.cfg.crashes == 0 || (s.history.crashes > 0 && s.crashed.iter().all(|c| !c))
            }),
        ]
    }

    fn within_boundary(&self, state: &State) -> bool {
        within_boundary(&self.inner.cfg, state)
    }
}

fn servers(s: &State) -> impl Iterator<Item = &ServerState<ZooKeeper>> {
    s.actor_states.iter().filter_map(|a| Node::server(a))
}

fn clients(s: &State) -> impl Iterator<Item = &ClientState> {
    s.actor_states.iter().filter_map(|a| match a.as_ref() {
        NodeState::Client(c) => Some(c),
        _ => None,
    })
}

/// Client A's answers are those of its script run alone (B only reads), until its session
/// expires; from then on every answer is an error.
fn own_answers(cfg: &ServiceConfig, a: &ClientState) -> bool {
    use stateright::semantics::SequentialSpec;
    let mut spec = ZkSpec::default();
    let mut expired = false;
    cfg.scripts[0].iter().zip(&a.answers).all(|(op, got)| {
        let want = spec.invoke(op);
        expired |= *got == ZkRet::Err(crate::zk::Code::SessionExpired);
        if expired {
            matches!(got, ZkRet::Err(_))
        } else {
            *got == want
        }
    })
}

fn ephemerals_owned(st: &ServerState<ZooKeeper>) -> bool {
    st.sm
        .nodes()
        .values()
        .all(|n| match NodeKind::of(n.stat.ephemeral_owner, false) {
            NodeKind::Ephemeral(s) => st.sm.sessions().contains_key(&s),
            _ => true,
        })
}

fn identical_trees(s: &State) -> bool {
    let all: Vec<&ServerState<ZooKeeper>> = servers(s).collect();
    all.iter().all(|a| {
        all.iter()
            .all(|b| a.committed != b.committed || a.sm == b.sm)
    })
}

fn within_boundary(cfg: &ServiceConfig, s: &State) -> bool {
    servers(s).all(|st| st.local.tracker.now <= cfg.max_ticks)
}
