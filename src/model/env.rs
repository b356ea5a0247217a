//! What the environment does to servers, shared by every model: TCP-like connections, crashes
//! that reset them, and the election oracle.
//!
//! The functions work on any `ActorModel` whose actors are ZAB servers, alone ([`ZabModel`])
//! or beside client actors ([`super::service::ServiceModel`]); [`ServerNode`] tells them which
//! actors are servers. Each environment event reaches a server as an ordinary message
//! delivered by `ActorModel`, so every reaction is the actor's own code.
//!
//! [`ZabModel`]: super::ZabModel

use crate::zab::msg::Channel;
use crate::zab::{Config, Msg, Role, Server, ServerState, Service, Timer};
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id, Network};
use stateright::Model;

/// An actor of a model that may be a ZAB server.
pub trait ServerNode<S: Service>: Actor<Msg = Msg<S>, Timer = Timer<S::Timer>> {
    /// The server's state, if this actor state is a server's.
    fn server(state: &Self::State) -> Option<&ServerState<S>>;
}

impl<S: Service> ServerNode<S> for Server<S> {
    fn server(state: &ServerState<S>) -> Option<&ServerState<S>> {
        Some(state)
    }
}

type St<A, H> = ActorModelState<A, H>;

/// How many timers each actor has set, for the ghost state.
///
/// stateright 0.31 hashes each actor's timer set as its elements' sorted hashes with no length,
/// and the checker tells states apart by that hash (their fingerprint). So two states that
/// differ only in which actor holds a timer (server 0 has `Tick` and server 1 none, or the
/// other way round) hash alike, and the checker takes the second for the first and never
/// explores it: the reachable set it reports then depends on the traversal order (it did, for
/// `heartbeat`). With the counts in the ghost, which is hashed too, those states hash apart,
/// and the counts add no states of their own (they follow from the timer sets).
pub fn timer_counts<A: Actor, H>(state: &St<A, H>) -> Vec<u8> {
    state
        .timers_set
        .iter()
        .map(|t| t.iter().count() as u8)
        .collect()
}

/// A step of `ActorModel` over servers of service `S`.
pub type ServerAction<S> = ActorModelAction<Msg<S>, Timer<<S as Service>::Timer>, ()>;

/// Hands `msg` from `src` to live actor `dst` as a delivery of `ActorModel` (nothing happens
/// when `dst` is down).
pub fn inject<S, A, C, H>(
    model: &ActorModel<A, C, H>,
    mut state: St<A, H>,
    src: usize,
    dst: usize,
    msg: Msg<S>,
) -> St<A, H>
where
    S: Service,
    A: ServerNode<S>,
    H: Clone + std::fmt::Debug + std::hash::Hash,
{
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
    model
        .next_state(&state, deliver)
        .expect("a live actor accepts every delivery")
}

/// Drops every message in flight from `a` to `b` and from `b` to `a` (only those of one
/// connection when `channel` names it).
pub fn reset_flows<S, A, H>(state: &mut St<A, H>, a: usize, b: usize, channel: Option<Channel>)
where
    S: Service,
    A: ServerNode<S>,
{
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

/// Puts the election-port messages of each flow before its quorum-port ones, keeping the order
/// within each port.
///
/// stateright keeps one flow per ordered pair of actors, but a pair of servers has two
/// independent connections, and a delivery takes the first message of either
/// ([`deliveries`]); a reset drops one connection's messages and keeps the other's in order.
/// So how the two ports' messages interleave in a flow never matters to what can happen next,
/// and two states that differ only in that are one state of the system. Without this the
/// checker counted them apart (the FLE models had states that differ only in whether a
/// notification was sent before or after a FOLLOWERINFO), and the TLA+ spec, with one FIFO per
/// connection, counted fewer. With it both count the same states. Nothing changes for the
/// models whose servers use one port only (the oracle models).
pub fn canonical_flows<A: Actor<Msg = Msg<S>>, S: Service, H>(state: &mut St<A, H>) {
    let Network::Ordered(flows) = &mut state.network else {
        return;
    };
    for flow in flows.values_mut() {
        let quorum_first = flow
            .iter()
            .zip(flow.iter().skip(1))
            .any(|(a, b)| a.channel() == Channel::Quorum && b.channel() == Channel::Election);
        if quorum_first {
            let (election, quorum): (Vec<_>, Vec<_>) = flow
                .drain(..)
                .partition(|m| m.channel() == Channel::Election);
            flow.extend(election);
            flow.extend(quorum);
        }
    }
}

/// The deliveries possible now: on each flow to a live actor, the first message of each
/// connection. A fine-grained follower in the middle of its NEWLEADER steps reads no further
/// quorum packet from its leader (ZooKeeper's learner thread handles one packet at a time).
pub fn deliveries<S, A, H>(state: &St<A, H>, out: &mut Vec<ServerAction<S>>)
where
    S: Service,
    A: ServerNode<S, Random = ()>,
{
    let Network::Ordered(flows) = &state.network else {
        return;
    };
    for (&(src, dst), flow) in flows {
        let d = usize::from(dst);
        if d >= state.actor_states.len() || state.crashed[d] {
            continue;
        }
        let busy = A::server(&state.actor_states[d]).is_some_and(|st| {
            matches!(&st.role,
                Role::Following(f) if f.leader == usize::from(src)
                    && f.syncing().is_some_and(|s| !s.steps.is_empty()))
        });
        for channel in [Channel::Election, Channel::Quorum] {
            if busy && channel == Channel::Quorum {
                continue;
            }
            if let Some(msg) = flow.iter().find(|m| m.channel() == channel) {
                let msg = msg.clone();
                out.push(ActorModelAction::Deliver { src, dst, msg });
            }
        }
    }
}

/// Server `i` crashes: its timers stop (stateright), every connection to and from it resets,
/// and each live server among `0..servers` is told its connection to `i` is gone.
pub fn crash<S, A, C, H>(
    model: &ActorModel<A, C, H>,
    state: &St<A, H>,
    i: usize,
    servers: usize,
) -> Option<St<A, H>>
where
    S: Service,
    A: ServerNode<S>,
    H: Clone + std::fmt::Debug + std::hash::Hash,
{
    let mut next = model.next_state(state, ActorModelAction::Crash(Id::from(i)))?;
    for peer in 0..next.actor_states.len() {
        reset_flows(&mut next, i, peer, None);
    }
    for peer in (0..servers).filter(|&p| p != i) {
        next = inject(model, next, i, peer, Msg::Disconnected);
    }
    Some(next)
}

/// The oracle's possible elections: for each quorum of live LOOKING voters, the member with
/// the greatest (currentEpoch, last zxid, id) leads it; with `any_leader`, any member may
/// (an election that did not order votes: Discovery alone must then keep the run safe).
pub fn elections<S, A, H>(
    cfg: &Config,
    any_leader: bool,
    state: &St<A, H>,
    out: &mut Vec<(usize, Vec<usize>)>,
) where
    S: Service,
    A: ServerNode<S>,
{
    let server = |i: usize| A::server(&state.actor_states[i]).expect("voters are servers");
    let looking: Vec<usize> = (0..cfg.voters)
        .filter(|&i| !state.crashed[i] && server(i).role == Role::Looking)
        .collect();
    for mask in 1u32..(1 << looking.len()) {
        let quorum: Vec<usize> = looking
            .iter()
            .enumerate()
            .filter(|(bit, _)| mask & (1 << bit) != 0)
            .map(|(_, &i)| i)
            .collect();
        if !cfg.is_quorum(quorum.len()) {
            continue;
        }
        if any_leader {
            out.extend(quorum.iter().map(|&leader| (leader, quorum.clone())));
            continue;
        }
        let leader = *quorum
            .iter()
            .max_by_key(|&&i| server(i).vote_key())
            .expect("non-empty quorum");
        out.push((leader, quorum));
    }
}

/// The oracle hands the outcome to the leader, then to the rest of the quorum, in one step
/// (as ZooKeeper's protocol spec does). `env` is the id the oracle sends from.
pub fn elect<S, A, C, H>(
    model: &ActorModel<A, C, H>,
    state: &St<A, H>,
    env: usize,
    leader: usize,
    quorum: &[usize],
) -> St<A, H>
where
    S: Service,
    A: ServerNode<S>,
    H: Clone + std::fmt::Debug + std::hash::Hash,
{
    let mut next = state.clone();
    for &member in std::iter::once(&leader).chain(quorum.iter().filter(|&&m| m != leader)) {
        next = inject(model, next, env, member, Msg::ElectionOutcome { leader });
    }
    next
}
