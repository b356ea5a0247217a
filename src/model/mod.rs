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
pub mod ghost;
pub mod service;
pub mod service_spec;

pub use configs::{Bounds, ModelConfig};
pub use ghost::Ghost;

use crate::zab::msg::Channel;
use crate::zab::{ElectionMode, Msg, Role, Server, StateMachine, Timer, Txn, Zxid};
use serde::Serialize;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Id, Network};
use stateright::{Model, Property};

/// The tiny state machine of the model: it records every delivered transaction, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DeliveredLog(pub Vec<Txn<u8>>);

impl StateMachine for DeliveredLog {
    type Op = u8;
    type Request = u8;
    type Output = ();
    type Local = ();
    type ClientMsg = ();
    fn prepare(&self, _pending: &[Txn<u8>], _zxid: Zxid, request: &u8) -> u8 {
        *request
    }
    fn apply(&mut self, txn: &Txn<u8>) {
        self.0.push(txn.clone());
    }
}

/// A server of the model.
pub type ModelServer = Server<DeliveredLog>;
/// A message of the model.
pub type ModelMsg = Msg<DeliveredLog>;
/// The state of the whole model.
pub type State = ActorModelState<ModelServer, Ghost>;

/// A step of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// A step of stateright's `ActorModel`: a delivery, a timer, a crash or a recovery.
    Actor(ActorModelAction<ModelMsg, Timer, ()>),
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

    /// Hands `msg` from `src` to live server `dst` as a delivery of `ActorModel`.
    fn inject(&self, mut state: State, src: usize, dst: usize, msg: ModelMsg) -> State {
        if state.crashed[dst] {
            return state;
        }
        if let Network::Ordered(flows) = &mut state.network {
            flows
                .entry((Id::from(src), Id::from(dst)))
                .or_default()
                .push_back(msg.clone());
        }
        let deliver = ActorModelAction::Deliver {
            src: Id::from(src),
            dst: Id::from(dst),
            msg,
        };
        self.inner
            .next_state(&state, deliver)
            .expect("a live server accepts every delivery")
    }

    /// Drops every message in flight from `a` to `b` and from `b` to `a` (only those of one
    /// connection when `channel` names it).
    fn reset_flows(state: &mut State, a: usize, b: usize, channel: Option<Channel>) {
        if let Network::Ordered(flows) = &mut state.network {
            let (a, b) = (Id::from(a), Id::from(b));
            for (&(src, dst), flow) in flows.iter_mut() {
                if (src, dst) == (a, b) || (src, dst) == (b, a) {
                    flow.retain(|m| channel.is_some_and(|c| m.channel() != c));
                }
            }
            flows.retain(|_, flow| !flow.is_empty());
        }
    }

    /// The deliveries possible now: on each flow, the first message of each connection.
    fn deliveries(&self, state: &State, actions: &mut Vec<Action>) {
        let Network::Ordered(flows) = &state.network else {
            return;
        };
        for (&(src, dst), flow) in flows {
            let d = usize::from(dst);
            if d >= self.cfg.bounds.servers || state.crashed[d] {
                continue;
            }
            let busy = matches!(&state.actor_states[d].role,
                Role::Following(f) if f.leader == usize::from(src) && !f.steps.is_empty());
            for channel in [Channel::Election, Channel::Quorum] {
                if busy && channel == Channel::Quorum {
                    continue;
                }
                if let Some(msg) = flow.iter().find(|m| m.channel() == channel) {
                    let msg = msg.clone();
                    actions.push(Action::Actor(ActorModelAction::Deliver { src, dst, msg }));
                }
            }
        }
    }

    fn crash(&self, state: &State, i: Id) -> Option<State> {
        let mut next = self.inner.next_state(state, ActorModelAction::Crash(i))?;
        next.history.crashes += 1;
        let i = usize::from(i);
        for peer in 0..self.cfg.bounds.servers {
            Self::reset_flows(&mut next, i, peer, None);
        }
        for peer in (0..self.cfg.bounds.servers).filter(|&p| p != i) {
            next = self.inject(next, i, peer, Msg::Disconnected);
        }
        Some(next)
    }

    fn elect(&self, state: &State, leader: usize, quorum: &[usize]) -> State {
        let mut next = state.clone();
        let env = self.env();
        for &member in std::iter::once(&leader).chain(quorum.iter().filter(|&&m| m != leader)) {
            next = self.inject(next, env, member, Msg::ElectionOutcome { leader });
        }
        next
    }

    fn reset(&self, state: &State, a: usize, b: usize) -> State {
        let mut next = state.clone();
        next.history.resets += 1;
        Self::reset_flows(&mut next, a, b, Some(Channel::Quorum));
        next = self.inject(next, b, a, Msg::Disconnected);
        self.inject(next, a, b, Msg::Disconnected)
    }

    fn write(&self, state: &State, server: usize) -> State {
        let mut next = state.clone();
        next.history.writes += 1;
        let value = self.cfg.bounds.first_value + next.history.writes - 1;
        self.inject(next, self.env(), server, Msg::ClientWrite(value))
    }

    fn observe(&self, state: &mut State) {
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

    fn elections(&self, state: &State, actions: &mut Vec<Action>) {
        if self.cfg.server.election != ElectionMode::Oracle {
            return;
        }
        let looking: Vec<usize> = (0..self.cfg.server.voters)
            .filter(|&i| !state.crashed[i] && state.actor_states[i].role == Role::Looking)
            .collect();
        for mask in 1u32..(1 << looking.len()) {
            let quorum: Vec<usize> = looking
                .iter()
                .enumerate()
                .filter(|(bit, _)| mask & (1 << bit) != 0)
                .map(|(_, &i)| i)
                .collect();
            if !self.cfg.server.is_quorum(quorum.len()) {
                continue;
            }
            let leader = *quorum
                .iter()
                .max_by_key(|&&i| state.actor_states[i].vote_key())
                .expect("non-empty quorum");
            actions.push(Action::Elect { leader, quorum });
        }
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
        for a in inner {
            match a {
                ActorModelAction::Crash(_) if !crash_budget => {}
                ActorModelAction::Deliver { .. } => {}
                a => actions.push(Action::Actor(a)),
            }
        }
        self.deliveries(state, actions);
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
            Action::Actor(a) => self.inner.next_state(state, a)?,
            Action::Elect { leader, quorum } => self.elect(state, leader, &quorum),
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

    fn within_boundary(&self, state: &State) -> bool {
        state.actor_states.iter().all(|s| {
            s.durable.accepted_epoch <= self.cfg.bounds.max_epoch
                && s.election.round <= self.cfg.bounds.max_round
        })
    }
}
