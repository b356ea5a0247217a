//! The seam between ZAB and the client layer that the state machine brings (for ZooKeeper,
//! [`crate::zk::server`]): what the layer may do inside a server's step.
//!
//! The layer decides nothing about ZAB: it submits writes exactly as a client write enters
//! ([`broadcast::process_client_write`]), reads the committed state, and talks to its clients.

use super::broadcast;
use super::state::{Phase, Role, ServerState};
use super::{Config, Msg, Out, Snapshot, StateMachine, Timer};
use stateright::actor::Id;
use std::borrow::Cow;
use std::time::Duration;

/// A server as the client layer sees it during one step.
pub struct Host<'a, 'b, S: StateMachine> {
    cfg: &'a Config,
    state: &'a mut Cow<'b, ServerState<S>>,
    o: &'a mut Out<S>,
}

impl<'a, 'b, S: StateMachine> Host<'a, 'b, S> {
    /// Wraps a step's state and output buffer.
    pub fn new(cfg: &'a Config, state: &'a mut Cow<'b, ServerState<S>>, o: &'a mut Out<S>) -> Self {
        Host { cfg, state, o }
    }

    /// This server's id.
    pub fn id(&self) -> usize {
        self.state.id
    }

    /// The committed state and the client layer's state, read only.
    pub fn state(&self) -> &ServerState<S> {
        self.state
    }

    /// The client layer's state, for changing.
    pub fn local_mut(&mut self) -> &mut S::Local {
        &mut self.state.to_mut().local
    }

    /// The committed state and the client layer's state together.
    pub fn split_mut(&mut self) -> (&S, &mut S::Local) {
        let st = self.state.to_mut();
        (&st.sm, &mut st.local)
    }

    /// Whether the server serves clients: it leads or follows an established epoch.
    pub fn serving(&self) -> bool {
        match &self.state.role {
            Role::Leading(l) => l.phase == Phase::Broadcast,
            Role::Following(f) => f.phase == Phase::Broadcast,
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

    /// Sends a message to a client.
    pub fn send(&mut self, client: usize, msg: S::ClientMsg) {
        self.o.send(Id::from(client), Msg::Client(msg));
    }

    /// Takes what this step's commits produced.
    pub fn take_applied(&mut self) -> Vec<S::Output> {
        if self.state.applied.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut self.state.to_mut().applied)
    }

    /// Starts the session tick (the leader's tracker).
    pub fn set_session_timer(&mut self) {
        let tick = self.cfg.tick;
        self.o
            .set_timer(Timer::Session, tick..tick + Duration::from_millis(1));
    }
}

/// Runs the client layer's end-of-step hook, then forgets what was applied.
pub(crate) fn end_step<S: StateMachine>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    o: &mut Out<S>,
) {
    S::after_step(&mut Host::new(cfg, state, o));
    if !state.applied.is_empty() {
        state.to_mut().applied.clear();
    }
    take_snapshot(cfg, state, o);
}

/// ZooKeeper's `snapCount`: once that many committed transactions sit in the log, they are
/// folded into a new snapshot (the committed state) and the log keeps what follows; saved in
/// the same step. Committed transactions are never truncated, so a learner behind the new
/// snapshot gets SNAP. Off in the models (`snap_count` None).
fn take_snapshot<S: StateMachine>(cfg: &Config, state: &mut Cow<ServerState<S>>, o: &mut Out<S>) {
    let Some(n) = cfg.snap_count else {
        return;
    };
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
    o.save(st.durable.clone());
}
