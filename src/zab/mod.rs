//! ZAB, the ZooKeeper Atomic Broadcast protocol, as one `stateright` actor.
//!
//! # The algorithm
//!
//! A ZAB ensemble replicates a log of state changes (transactions). One server, the *leader*
//! (the paper's *primary*), decides the order of every transaction; the others *follow*. Each
//! leadership is an *epoch*, and each transaction is named by a *zxid*, `epoch << 32 |
//! counter`, so that every transaction of a later epoch orders after every one of an earlier
//! epoch. A server goes through four phases:
//!
//! 0. **Election** ([`election`]). A server that has no leader is LOOKING. It leaves election
//!    knowing whom to follow; the elected leader holds the most recent history among a quorum:
//!    the greatest (currentEpoch, last zxid, server id). Fast Leader Election ([`fle`]) decides
//!    message by message; the multi-grained models may use an oracle instead. Observers take
//!    part as learners that never vote.
//! 1. **Discovery** ([`discovery`]). Followers tell the prospective leader the last epoch they
//!    promised to (FOLLOWERINFO). On a quorum it picks a new epoch e' above all of them and
//!    announces it (LEADERINFO); each follower promises e' by making it its acceptedEpoch
//!    durably and answers with its currentEpoch and last zxid (ACKEPOCH). A promise to e' makes
//!    the follower ignore every older leader, which is what lets a new epoch start safely.
//! 2. **Synchronization** ([`sync`]). The leader makes each follower's history equal to its own:
//!    it sends the missing proposals (DIFF), tells the follower to drop entries the leader does
//!    not have (TRUNC), or sends a whole snapshot (SNAP), and then NEWLEADER. The follower makes
//!    the synced history durable, sets currentEpoch to e' and acknowledges. On a quorum of those
//!    acknowledgements the leader commits its whole history and sends UPTODATE: the epoch is
//!    *established*.
//! 3. **Broadcast** ([`broadcast`]). The established leader gives each client write the next
//!    zxid, logs it and sends PROPOSAL to every synced follower; each follower logs it durably and
//!    sends ACK; on a quorum of ACKs (the leader's own included) the leader commits it and sends
//!    COMMIT. Transactions are committed in zxid order. Followers forward the writes their
//!    clients send them to the leader (REQUEST).
//!
//! A follower that loses its leader, or a leader that loses its quorum, goes back to election.
//!
//! # What survives a crash
//!
//! [`Durable`] is the actor's `Storage`: acceptedEpoch, currentEpoch, a snapshot and the log.
//! Every step that changes it emits `save` in the same step as the messages that depend on it
//! (ACKEPOCH, the ACK of NEWLEADER, the ACK of a PROPOSAL, the leader's own vote), and the
//! runtime makes the save durable before it sends them. On the pipelined write path
//! ([`Config::pipelined`], what the runtime runs) a proposal is logged in memory first and
//! saved by a step of its own, the log writer's ([`Timer::Flush`]), which sends the ACKs held
//! for it (the leader's own vote is an ACK to itself): the leader's PROPOSAL leaves before its
//! write is durable, and the model crashes servers in between. `on_start` rebuilds everything
//! else from it.
//!
//! The module names the handlers after the actions of ZooKeeper's TLA+ protocol spec
//! (`leader_process_ackepoch` is `LeaderProcessACKEPOCH`); `spec/` maps each one.

pub mod broadcast;
pub mod bugs;
pub mod discovery;
pub mod election;
pub mod fle;
pub mod heartbeat;
pub mod machine;
pub mod msg;
pub mod service;
pub mod state;
pub mod sync;
pub mod types;

pub use bugs::Bug;
pub use fle::{Election, PeerState, Vote};
pub use machine::StateMachine;
pub use msg::{Msg, SyncMode};
pub use service::{Host, Op, Output, Service};
pub use state::{FollowerPhase, Following, LeaderPhase, Leading, Phase, Role, ServerState};
pub use types::{Durable, Epoch, Snapshot, Txn, Zxid};

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id};
use std::borrow::Cow;
use std::sync::Arc;

/// The `Out` buffer of a server step.
pub type Out<S> = stateright::actor::Out<Server<S>>;

/// How a LOOKING server learns who leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElectionMode {
    /// The environment decides ([`Msg::ElectionOutcome`]), as ZooKeeper's protocol spec does:
    /// the multi-grained models use it to reach the later phases quickly.
    Oracle,
    /// Fast Leader Election ([`fle`]), as ZooKeeper runs it.
    Fast,
}

/// What every server of an ensemble knows about it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// The voting servers are ids `0..voters`.
    pub voters: usize,
    /// The observers (non-voting learners) are ids `voters..voters + observers`.
    pub observers: usize,
    /// Fast Leader Election or the oracle.
    pub election: ElectionMode,
    /// Stop after election: the decided servers start no Discovery (the `election` model).
    pub election_only: bool,
    /// Model the follower as ZooKeeper's threads do: NEWLEADER handled in separately scheduled
    /// steps and proposals logged by an asynchronous writer that ACKs after the write. Off, both
    /// are single atomic steps.
    pub fine_grained: bool,
    /// Pipelined Broadcast, as ZooKeeper's `SyncRequestProcessor` runs it (the runtime turns it
    /// on): a proposal's log write is a step of its own ([`Timer::Flush`], the log writer), so
    /// the leader sends PROPOSAL before its own write is durable and a follower's ACK, like the
    /// leader's own vote, leaves only in the writer's step, with the save it vouches for. Off,
    /// the leader logs, saves and counts itself in the step that proposes, and a follower logs,
    /// saves and ACKs in the step that receives the PROPOSAL.
    pub pipelined: bool,
    /// A deliberate bug (None in production).
    pub bug: Option<Bug>,
    /// Whether leader and followers exchange PING on a timer and give up on silence. The
    /// runtime turns it on; most models leave it off and reset connections instead.
    pub heartbeats: bool,
    /// ZooKeeper's `tickTime`: the leader's PING and session-tracker period. Timers carry
    /// durations only for the runtime; the model fires any set timer at any moment.
    pub tick: std::time::Duration,
    /// ZooKeeper's `syncLimit`: ticks a follower waits for its leader's PING before it gives
    /// up, and ticks the leader waits for a learner's answer to one before it drops it.
    pub sync_limit: u32,
    /// ZooKeeper's `snapCount`: committed transactions in the log before the server folds them
    /// into a snapshot (None: never, as in the models).
    pub snap_count: Option<usize>,
}

impl Config {
    /// `voters` voting servers, no observers, the oracle, no bug.
    pub fn new(voters: usize) -> Config {
        Config {
            voters,
            observers: 0,
            election: ElectionMode::Oracle,
            election_only: false,
            fine_grained: false,
            pipelined: false,
            bug: None,
            heartbeats: false,
            tick: std::time::Duration::from_secs(2),
            sync_limit: 5,
            snap_count: None,
        }
    }

    /// Whether `count` voters form a quorum: a strict majority of the voters.
    pub fn is_quorum(&self, count: usize) -> bool {
        2 * count > self.voters
    }

    /// Whether the voters among `ids` form a quorum (observers never count).
    pub fn is_quorum_of<'a>(&self, ids: impl IntoIterator<Item = &'a usize>) -> bool {
        self.is_quorum(ids.into_iter().filter(|&&id| self.is_voter(id)).count())
    }

    /// Whether server `id` votes (is not an observer).
    pub fn is_voter(&self, id: usize) -> bool {
        id < self.voters
    }

    /// Every server, voters then observers.
    pub fn servers(&self) -> usize {
        self.voters + self.observers
    }

    /// Whether a step that fired `timer` is a pipelined log write: its save vouches only for
    /// the messages of that step, which therefore wait for it, and no other step's messages do.
    /// Every other save is a barrier: the messages of its step and of every later step wait
    /// until it is durable (the runtime's rule, docs/runtime.md).
    pub fn is_log_write<T>(&self, timer: &Timer<T>) -> bool {
        self.pipelined && !self.fine_grained && matches!(timer, Timer::Flush)
    }

    /// Whether `bug` is switched on.
    pub fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }
}

/// Timers a server sets; `T` is the service's own ([`Service::Timer`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer<T> {
    /// The asynchronous log writer's write reaches the disk (ZooKeeper's `SyncRequestProcessor`
    /// flushing): fine-grained followers, pipelined servers, and the `ack-before-save` bug.
    /// A pipelined server's Flush step saves and sends only the ACKs held for that save
    /// ([`ServerState::held_acks`]); it changes nothing else, so the runtime may run it as soon
    /// as it likes and hold those ACKs until the save is durable (the durability ticket),
    /// while every other step goes on ([`Config::is_log_write`]).
    Flush,
    /// FLE's `finalizeWait`: a quorum agrees with this server's vote and no better one came.
    Finalize,
    /// The next step of a fine-grained follower's NEWLEADER handling.
    Step,
    /// The heartbeat tick (ZooKeeper's tickTime): PING, and give up on a silent peer.
    Tick,
    /// One of the service's timers (ZooKeeper: the leader's session tracker).
    Service(T),
}

/// One ZAB server: the protocol state machine that the model checker, the explorer and the
/// runtime all run.
#[derive(Clone, Debug)]
pub struct Server<S: Service> {
    /// The ensemble this server belongs to.
    pub cfg: Arc<Config>,
    /// What the server finds on disk the first time it starts (None: an empty data directory).
    pub seed: Option<Durable<S::Machine>>,
    /// The service's state at every start (it carries the service's options).
    pub local: S::Local,
}

impl<S: Service> Server<S> {
    /// A server with an empty data directory and the service's default options.
    pub fn new(cfg: Arc<Config>) -> Self {
        Server {
            cfg,
            seed: None,
            local: S::Local::default(),
        }
    }

    /// The same server starting its service from `local` (its options).
    pub fn with_local(self, local: S::Local) -> Self {
        Server { local, ..self }
    }
}

impl<S: Service> Actor for Server<S> {
    type Msg = Msg<S>;
    type Timer = Timer<S::Timer>;
    type State = ServerState<S>;
    type Storage = Durable<S::Machine>;
    type Random = ();

    fn on_start(
        &self,
        id: Id,
        storage: &Option<Durable<S::Machine>>,
        o: &mut Out<S>,
    ) -> ServerState<S> {
        let durable = storage
            .clone()
            .or_else(|| self.seed.clone())
            .unwrap_or_default();
        let committed = durable.snapshot.zxid;
        let mut st = ServerState {
            id: usize::from(id),
            sm: durable.snapshot.state.clone(),
            durable,
            committed,
            role: Role::Looking,
            election: Election::default(),
            writer: Vec::new(),
            unsaved: false,
            held_acks: Vec::new(),
            vote_zxid: None,
            fault: None,
            applied: Vec::new(),
            local: self.local.clone(),
        };
        if self.cfg.election == ElectionMode::Fast {
            fle::start_round(&self.cfg, &mut st, o);
        }
        st
    }

    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<ServerState<S>>,
        src: Id,
        msg: Msg<S>,
        o: &mut Out<S>,
    ) {
        let cfg = &self.cfg;
        let src = usize::from(src);
        match msg {
            Msg::Notification(n) => fle::process_notification(cfg, state, src, n, o),
            Msg::ElectionOutcome { leader } => {
                if state.role == Role::Looking {
                    election::leave_election(cfg, state.to_mut(), leader, o)
                }
            }
            Msg::Disconnected => election::process_disconnected(cfg, state, src, o),
            Msg::ClientWrite(op) => broadcast::process_client_write(cfg, state, op, o),
            Msg::FollowerInfo { accepted_epoch } => {
                discovery::leader_process_followerinfo(cfg, state, src, accepted_epoch, o)
            }
            Msg::LeaderInfo { epoch } => {
                discovery::follower_process_leaderinfo(cfg, state, src, epoch, o)
            }
            Msg::AckEpoch {
                current_epoch,
                last_zxid,
                fresh,
            } => discovery::leader_process_ackepoch(
                cfg,
                state,
                src,
                (current_epoch, last_zxid),
                fresh,
                o,
            ),
            Msg::Sync {
                mode,
                entries,
                committed,
            } => sync::follower_process_sync(cfg, state, src, mode, entries, committed),
            Msg::NewLeader { epoch } => sync::follower_process_newleader(cfg, state, src, epoch, o),
            Msg::AckNewLeader { last_zxid } => {
                sync::leader_process_ackld(cfg, state, src, last_zxid, o)
            }
            Msg::UpToDate { committed } => {
                sync::follower_process_uptodate(cfg, state, src, committed, o)
            }
            Msg::Proposal(txn) => broadcast::follower_process_proposal(cfg, state, src, txn, o),
            Msg::Ack(zxid) => broadcast::leader_process_ack(cfg, state, src, zxid, o),
            Msg::Commit(zxid) => broadcast::follower_process_commit(cfg, state, src, zxid, o),
            Msg::Inform(txn) => broadcast::observer_process_inform(cfg, state, src, txn, o),
            Msg::Request(op) => broadcast::leader_process_request(cfg, state, src, op, o),
            Msg::SyncRequest(handle) => broadcast::leader_process_sync(cfg, state, src, handle, o),
            Msg::Ping => heartbeat::process_ping(state, src, o),
            Msg::Synced(handle) => broadcast::learner_process_synced(cfg, state, src, handle, o),
            m @ (Msg::Service(_) | Msg::Client(_) | Msg::Input(_)) => {
                service::deliver(&mut Host::new(cfg, state, o), src, m)
            }
        }
        service::end_step(cfg, state, o);
    }

    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<ServerState<S>>,
        timer: &Timer<S::Timer>,
        o: &mut Out<S>,
    ) {
        match timer {
            Timer::Flush => broadcast::follower_flush(&self.cfg, state, o),
            Timer::Tick => heartbeat::process_tick(&self.cfg, state, o),
            Timer::Finalize => fle::process_finalize(&self.cfg, state, o),
            Timer::Step => sync::follower_newleader_step(&self.cfg, state, o),
            Timer::Service(t) => S::on_timer(&mut Host::new(&self.cfg, state, o), t.clone()),
        }
        service::end_step(&self.cfg, state, o);
    }
}

/// Sends `msg` to server `to`.
pub(crate) fn send<S: Service>(o: &mut Out<S>, to: usize, msg: Msg<S>) {
    o.send(Id::from(to), msg);
}
