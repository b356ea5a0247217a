//! The seam between ZAB and the service it replicates (for ZooKeeper, the client layer of
//! `zk::server`): the [`Service`] trait, whose associated types are everything ZAB carries for
//! the service without looking inside, and the [`Host`] through which the service acts inside
//! a server's step.
//!
//! The service decides nothing about ZAB: it submits writes exactly as a client write enters
//! ([`broadcast::process_client_write`]), asks for syncs that ZAB answers
//! ([`broadcast::process_client_sync`]), reads the committed state, and talks to its clients
//! and to the service layers of the other servers.

use super::broadcast;
use super::machine::StateMachine;
use super::state::{Phase, Role, ServerState};
use super::types::{Txn, Zxid};
use super::{Config, Msg, Out, Snapshot, Timer};
use stateright::actor::Id;
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

/// The operation of the service's transactions.
pub type Op<S> = <<S as Service>::Machine as StateMachine>::Op;
/// What applying one of the service's transactions yields.
pub type Output<S> = <<S as Service>::Machine as StateMachine>::Output;

/// A service replicated by ZAB. The implementing type is a marker naming the service; its
/// associated types say what the service adds to a ZAB server.
///
/// ZAB routes each associated type to one hook: a [`Msg::Client`] to [`Service::on_client`], a
/// [`Msg::Service`] to [`Service::on_peer`], a [`Msg::Input`] to [`Service::on_input`], a
/// [`Timer::Service`] to [`Service::on_timer`], a sync that ZAB completed to
/// [`Service::on_synced`], and every step ends with [`Service::after_step`].
pub trait Service:
    Clone + Copy + Debug + Default + Hash + Eq + Ord + Send + Sync + 'static
{
    /// The replicated state machine.
    type Machine: StateMachine;
    /// A client's write as it travels to the leader, before the leader has decided what it
    /// does (ZooKeeper's `Request`; the leader's `PrepRequestProcessor` turns it into a txn).
    type Request: Clone + Debug + Hash + Eq + Ord + Send + Sync + 'static;
    /// The service's per-server state (connected clients and what they wait for). Volatile: a
    /// restarted server starts again from the one it was configured with.
    type Local: Clone + Debug + Default + Hash + Eq + Send + Sync + 'static;
    /// What clients and a server exchange (the client protocol).
    type ClientMsg: Clone + Debug + Hash + Eq + Ord + Send + Sync + 'static;
    /// What the service layers of two servers exchange over the quorum connection
    /// (ZooKeeper's session touches, piggybacked on PING).
    type PeerMsg: Clone + Debug + Hash + Eq + Ord + Send + Sync + 'static;
    /// What the runtime hands its own server (ZooKeeper: the wall clock). Never from a peer.
    type Input: Clone + Debug + Hash + Eq + Ord + Send + Sync + 'static;
    /// The service's timers (ZooKeeper: the leader's session tracker).
    type Timer: Clone + Debug + Hash + Eq + Ord + Send + Sync + 'static;

    /// The leader turns a request into the operation it proposes at `zxid`. `committed` is the
    /// committed state and `pending` the proposals after it, in zxid order; `local` is the
    /// leader's own service state (its configured options). The operation must depend on
    /// these alone: what the service keeps in `local` across calls can only be a memo of
    /// them (as ZooKeeper's `outstandingChanges` is a record of the pending proposals).
    fn prepare(
        committed: &Self::Machine,
        local: &mut Self::Local,
        pending: &[Txn<Op<Self>>],
        zxid: Zxid,
        request: &Self::Request,
    ) -> Op<Self>;

    /// A client's message reaches this server.
    fn on_client(_host: &mut Host<Self>, _client: usize, _msg: Self::ClientMsg) {}

    /// The service layer of server `_src` sent this one a message.
    fn on_peer(_host: &mut Host<Self>, _src: usize, _msg: Self::PeerMsg) {}

    /// The runtime handed this server an input.
    fn on_input(_host: &mut Host<Self>, _input: Self::Input) {}

    /// One of the service's timers fired.
    fn on_timer(_host: &mut Host<Self>, _timer: Self::Timer) {}

    /// The sync this server asked for with `handle` ([`Host::sync`]) is done: everything the
    /// leader had proposed when it arrived has committed here.
    fn on_synced(_host: &mut Host<Self>, _handle: usize) {}

    /// The end of every step: answer what was applied, drop clients when no longer serving.
    fn after_step(_host: &mut Host<Self>) {}
}

/// A server as the service sees it during one step.
pub struct Host<'a, 'b, S: Service> {
    cfg: &'a Config,
    state: &'a mut Cow<'b, ServerState<S>>,
    o: &'a mut Out<S>,
}

impl<'a, 'b, S: Service> Host<'a, 'b, S> {
    /// Wraps a step's state and output buffer.
    pub fn new(cfg: &'a Config, state: &'a mut Cow<'b, ServerState<S>>, o: &'a mut Out<S>) -> Self {
        Host { cfg, state, o }
    }

    /// This server's id.
    pub fn id(&self) -> usize {
        self.state.id
    }

    /// The committed state and the service's state, read only.
    pub fn state(&self) -> &ServerState<S> {
        self.state
    }

    /// The service's state, for changing.
    pub fn local_mut(&mut self) -> &mut S::Local {
        &mut self.state.to_mut().local
    }

    /// Whether the server serves clients: it leads or follows an established epoch.
    pub fn serving(&self) -> bool {
        match &self.state.role {
            Role::Leading(l) => l.phase() == Phase::Broadcast,
            Role::Following(f) => f.phase() == Phase::Broadcast,
            Role::Looking => false,
        }
    }

    /// Whether this server is the established leader.
    pub fn leading(&self) -> bool {
        self.state.is_established_leader()
    }

    /// Hands a write to ZAB, as any client write enters: the leader proposes it, a follower
    /// forwards it.
    pub fn submit(&mut self, req: S::Request) {
        broadcast::process_client_write(self.cfg, self.state, req, self.o);
    }

    /// Asks ZAB for a sync (a client's `sync`): [`Service::on_synced`] gets `handle` back once
    /// everything the leader has proposed by the time the request reaches it has committed
    /// here.
    pub fn sync(&mut self, handle: usize) {
        broadcast::process_client_sync(self.cfg, self.state, handle, self.o);
    }

    /// Sends a message to a client.
    pub fn send(&mut self, client: usize, msg: S::ClientMsg) {
        self.o.send(Id::from(client), Msg::Client(msg));
    }

    /// Sends a message to the service layer of server `server`.
    pub fn send_peer(&mut self, server: usize, msg: S::PeerMsg) {
        self.o.send(Id::from(server), Msg::Service(msg));
    }

    /// Takes what this step's commits produced.
    pub fn take_applied(&mut self) -> Vec<Output<S>> {
        if self.state.applied.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut self.state.to_mut().applied)
    }

    /// The ensemble's tick (ZooKeeper's `tickTime`).
    pub fn tick(&self) -> Duration {
        self.cfg.tick
    }

    /// Sets one of the service's timers to fire after `after` (in the model: at any moment).
    pub fn set_timer(&mut self, timer: S::Timer, after: Duration) {
        self.o.set_timer(
            Timer::Service(timer),
            after..after + Duration::from_millis(1),
        );
    }
}

/// Hands the service what is its own: a completed sync, a peer's or a client's message, an
/// input from the runtime. ZAB's own messages are not the service's.
pub(crate) fn deliver<S: Service>(host: &mut Host<S>, src: usize, msg: Msg<S>) {
    match msg {
        Msg::Service(m) => S::on_peer(host, src, m),
        Msg::Client(m) => S::on_client(host, src, m),
        Msg::Input(m) => S::on_input(host, m),
        _ => {}
    }
}

/// Runs the service's end-of-step hook, answers the syncs it made ready, then forgets what was
/// applied and takes a snapshot when one is due.
pub(crate) fn end_step<S: Service>(cfg: &Config, state: &mut Cow<ServerState<S>>, o: &mut Out<S>) {
    S::after_step(&mut Host::new(cfg, state, o));
    broadcast::leader_release_syncs(cfg, state, o);
    if !state.applied.is_empty() {
        state.to_mut().applied.clear();
    }
    take_snapshot(cfg, state, o);
}

/// ZooKeeper's `snapCount`: once that many committed transactions sit in the log, they are
/// folded into a new snapshot (the committed state) and the log keeps what follows; saved in
/// the same step. Committed transactions are never truncated, so a learner behind the new
/// snapshot gets SNAP. Off in the models (`snap_count` None).
fn take_snapshot<S: Service>(cfg: &Config, state: &mut Cow<ServerState<S>>, o: &mut Out<S>) {
    let Some(n) = cfg.snap_count else {
        return;
    };
    if state.durable.log.len() < n.max(1) {
        return; // not even the whole log would be enough (and this skips a search per step)
    }
    let committed = state.committed;
    let folded = state.durable.log.partition_point(|t| t.zxid <= committed);
    if folded < n.max(1) {
        return;
    }
    let st = state.to_mut();
    st.durable.snapshot = Snapshot {
        zxid: committed,
        state: st.sm.clone(),
    }
    .into();
    st.durable.log.drop_front(folded);
    st.save(o);
}
