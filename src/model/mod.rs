//! The model the checker explores: the unmodified [`Server`] actors inside stateright's
//! `ActorModel`, plus what the environment does to them.
//!
//! stateright's `ActorModel` delivers messages and runs crashes, but a crash there leaves the
//! crashed server's messages in flight, which TCP would not. [`ZabModel`] wraps it so that:
//! - a **crash** drops every message to and from the server (the connections reset) and tells
//!   each live peer that the connection is gone;
//! - a **connection reset** between a leader and a learner drops the messages of their quorum
//!   connection and tells both ends;
//! - each pair of servers has two FIFO connections, the election port and the quorum port, and a
//!   message of one never waits behind a message of the other;
//! - a fine-grained follower in the middle of its NEWLEADER steps reads no further packet from
//!   its leader (ZooKeeper's learner thread handles one packet at a time);
//! - under the oracle (the multi-grained models), an **election** step elects, among a quorum of
//!   LOOKING voters, the one with the greatest (currentEpoch, last zxid, id), and hands each
//!   member of the quorum the outcome in one step, as ZooKeeper's protocol spec does; with Fast
//!   Leader Election the servers elect by themselves;
//! - a **client write** hands a new value to a serving server.
//!
//! Each environment event reaches a server as an ordinary message delivered by `ActorModel`, so
//! every reaction is the actor's own code. After each step the [`Ghost`] records what the
//! properties need to remember.

pub mod configs;
pub mod diagram;
pub mod env;
pub mod ghost;
pub mod service;
pub mod tla;

pub use configs::{Bounds, ModelConfig};
pub use ghost::Ghost;

use crate::zab::msg::Channel;
use crate::zab::{ElectionMode, Msg, Server, Service, StateMachine, Timer, Txn, Zxid};
use serde::Serialize;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Id};
use stateright::{Model, Property};

/// The tiny state machine of the model: it records every delivered transaction, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DeliveredLog(pub Vec<Txn<u8>>);

impl StateMachine for DeliveredLog {
    type Op = u8;
    type Output = ();
    fn apply(&mut self, txn: &Txn<u8>) {
        self.0.push(txn.clone());
    }
}

/// The service of the ZAB models: a client write is a byte that the leader proposes as it is;
/// there are no clients, peer messages, inputs or timers of its own (the environment hands
/// writes in as [`Msg::ClientWrite`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelService;

impl Service for ModelService {
    type Machine = DeliveredLog;
    type Request = u8;
    type Local = ();
    type ClientMsg = ();
    type PeerMsg = ();
    type Input = ();
    type Timer = ();
    fn prepare(
        _committed: &DeliveredLog,
        _local: &mut (),
        _pending: &[Txn<u8>],
        _zxid: Zxid,
        request: &u8,
    ) -> u8 {
        *request
    }
}

/// A server of the model.
pub type ModelServer = Server<ModelService>;
/// A message of the model.
pub type ModelMsg = Msg<ModelService>;
/// A timer of the model.
pub type ModelTimer = Timer<()>;
/// The state of the whole model.
pub type State = ActorModelState<ModelServer, Ghost>;

/// A step of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// A step of stateright's `ActorModel`: a delivery, a timer, a crash or a recovery.
    Actor(ActorModelAction<ModelMsg, ModelTimer, ()>),
    /// The election oracle elects `leader` among `quorum`.
    Elect {
        /// The elected server.
        leader: usize,
        /// The LOOKING servers that take part.
        quorum: Vec<usize>,
    },
    /// The connection between two servers resets.
    Reset(usize, usize),
    /// A client sends a write to a server.
    Write(usize),
}

/// The model checked by `zabkeeper check`.
pub struct ZabModel {
    /// The actor model with the unmodified servers.
    pub inner: ActorModel<ModelServer, (), Ghost>,
    /// Bounds and switches of this configuration.
    pub cfg: ModelConfig,
    /// The properties checked.
    pub properties: Vec<Property<ZabModel>>,
}

impl ZabModel {
    /// The id the environment (clients, the election oracle) sends from.
    fn env(&self) -> usize {
        self.cfg.bounds.servers
    }

    fn crash(&self, state: &State, i: Id) -> Option<State> {
        let mut next = env::crash(&self.inner, state, usize::from(i), self.cfg.bounds.servers)?;
        next.history.crashes += 1;
        Some(next)
    }

    fn reset(&self, state: &State, a: usize, b: usize) -> State {
        let mut next = state.clone();
        next.history.resets += 1;
        env::reset_flows(&mut next, a, b, Some(Channel::Quorum));
        next = env::inject(&self.inner, next, b, a, Msg::Disconnected);
        env::inject(&self.inner, next, a, b, Msg::Disconnected)
    }

    fn write(&self, state: &State, server: usize) -> State {
        let mut next = state.clone();
        next.history.writes += 1;
        let value = self.cfg.bounds.first_value + next.history.writes - 1;
        env::inject(
            &self.inner,
            next,
            self.env(),
            server,
            Msg::ClientWrite(value),
        )
    }

    fn observe(&self, state: &mut State) {
        env::canonical_flows(state);
        state.history.timer_counts = env::timer_counts(state);
        let fle = self.cfg.server.election == ElectionMode::Fast;
        for (i, st) in state.actor_states.iter().enumerate() {
            if !state.crashed[i] {
                state.history.observe(st);
                if fle {
                    state.history.observe_election(&self.cfg.server, st);
                }
            }
        }
    }

    /// The mark of `action` in a sequence diagram.
    fn mark(&self, action: &Action) -> diagram::Mark<ModelMsg> {
        let at = |actors: Vec<usize>, label: String| diagram::Mark::At { actors, label };
        match action {
            Action::Actor(a) => diagram::actor_mark(a),
            Action::Elect { leader, quorum } => at(quorum.clone(), format!("elect {leader}")),
            Action::Reset(a, b) => at(vec![*a, *b], "reset".into()),
            Action::Write(i) => at(vec![*i], "client write".into()),
        }
    }

    fn elections(&self, state: &State, actions: &mut Vec<Action>) {
        if self.cfg.server.election != ElectionMode::Oracle {
            return;
        }
        let mut found = Vec::new();
        env::elections(&self.cfg.server, self.cfg.any_leader, state, &mut found);
        actions.extend(
            found
                .into_iter()
                .map(|(leader, quorum)| Action::Elect { leader, quorum }),
        );
    }

    fn faults_and_writes(&self, state: &State, actions: &mut Vec<Action>) {
        let b = &self.cfg.bounds;
        let live = |i: usize| !state.crashed[i];
        if state.history.resets < b.resets {
            for a in (0..b.servers).filter(|&a| live(a)) {
                for c in (a + 1..b.servers).filter(|&c| live(c)) {
                    let (sa, sc) = (&state.actor_states[a], &state.actor_states[c]);
                    if sa.leader() == Some(c) || sc.leader() == Some(a) {
                        actions.push(Action::Reset(a, c));
                    }
                }
            }
        }
        if state.history.writes < b.writes {
            for i in (0..b.servers).filter(|&i| live(i)) {
                if state.actor_states[i].phase() == crate::zab::Phase::Broadcast {
                    actions.push(Action::Write(i));
                }
            }
        }
    }
}

impl Model for ZabModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let mut states = self.inner.init_states();
        for s in &mut states {
            self.observe(s);
        }
        states
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        let mut inner = Vec::new();
        self.inner.actions(state, &mut inner);
        let crash_budget = state.history.crashes < self.cfg.bounds.crashes;
        let tick_budget = state.history.ticks < self.cfg.bounds.max_ticks;
        for a in inner {
            match a {
                ActorModelAction::Crash(_) if !crash_budget => {}
                ActorModelAction::Timeout(_, Timer::Tick) if !tick_budget => {}
                ActorModelAction::Deliver { .. } => {}
                a => actions.push(Action::Actor(a)),
            }
        }
        let mut deliveries = Vec::new();
        env::deliveries(state, &mut deliveries);
        actions.extend(deliveries.into_iter().map(Action::Actor));
        self.elections(state, actions);
        self.faults_and_writes(state, actions);
    }

    fn next_state(&self, state: &State, action: Action) -> Option<State> {
        let mut next = match action {
            Action::Actor(ActorModelAction::Crash(i)) => self.crash(state, i)?,
            Action::Actor(ActorModelAction::Recover(i)) => {
                let mut next = self.inner.next_state(state, ActorModelAction::Recover(i))?;
                next.history.restarted.insert(usize::from(i));
                next
            }
            // An action the actor ignores leaves the state as it is. It is reported as a step to
            // the same state rather than as `None`: stateright 0.31's simulation checker records
            // an ignored action's index in the walk, and then cannot replay the path.
            Action::Actor(a) => {
                let tick = matches!(a, ActorModelAction::Timeout(_, Timer::Tick));
                let finalize = match &a {
                    ActorModelAction::Timeout(id, Timer::Finalize) => Some(usize::from(*id)),
                    _ => None,
                };
                let mut next = match self.inner.next_state(state, a) {
                    Some(next) => next,
                    None => return Some(state.clone()),
                };
                if tick && self.cfg.bounds.max_ticks != u8::MAX {
                    next.history.ticks += 1;
                }
                if let Some(i) = finalize {
                    let (before, after) = (&state.actor_states[i], &next.actor_states[i]);
                    next.history
                        .observe_decision(&self.cfg.server, before, after);
                }
                next
            }
            Action::Elect { leader, quorum } => {
                env::elect(&self.inner, state, self.env(), leader, &quorum)
            }
            Action::Reset(a, b) => self.reset(state, a, b),
            Action::Write(i) => self.write(state, i),
        };
        self.observe(&mut next);
        Some(next)
    }

    fn format_action(&self, action: &Action) -> String {
        match action {
            Action::Actor(a) => self.inner.format_action(a),
            Action::Elect { leader, quorum } => format!("Elect {leader} among {quorum:?}"),
            Action::Reset(a, b) => format!("Reset connection {a}<->{b}"),
            Action::Write(i) => format!("Client write to {i}"),
        }
    }

    fn format_step(&self, state: &State, action: Action) -> Option<String> {
        let next = self.next_state(state, action)?;
        Some(format!("{:#?}", next.actor_states))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties.clone()
    }

    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        let steps = path.into_vec();
        let states: Vec<&State> = steps.iter().map(|(s, _)| s).collect();
        let marks: Vec<(diagram::Mark<ModelMsg>, String)> = steps
            .iter()
            .filter_map(|(_, a)| a.as_ref())
            .map(|a| (self.mark(a), self.format_action(a)))
            .collect();
        let names: Vec<String> = (0..self.cfg.bounds.servers)
            .map(|i| format!("server {i}"))
            .collect();
        let label = diagram::message_label::<ModelService>;
        Some(diagram::sequence_diagram(&names, &states, &marks, label))
    }

    fn within_boundary(&self, state: &State) -> bool {
        state.actor_states.iter().all(|s| {
            s.durable.accepted_epoch <= self.cfg.bounds.max_epoch
                && s.election.round <= self.cfg.bounds.max_round
        })
    }
}
