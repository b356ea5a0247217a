//! The actor loop: one thread owns the server's state and runs one actor step per event.
//!
//! Events (peer messages, client messages, timer firings, the clock) arrive in one inbox. The
//! loop takes what is waiting (a batch), runs each event as exactly one step of the unmodified
//! [`Server`] actor, then carries out the batch's commands in the order the durability rule
//! needs: each step's `Save` is staged in the data directory as the step ends (new log entries
//! encoded, the save dropped, so the actor's log is never shared when it next appends), the
//! staged writes are made durable with one fsync at the end of the batch, and only then are
//! the batch's messages sent (group commit). The disk never holds less than what a sent
//! message vouches for. Timers are set and cancelled as the steps ask.
//!
//! The loop decides nothing about the protocol: it only delivers inputs and runs outputs.

use super::storage::{DataDir, ZkDurable};
use super::timers::Timers;
use super::{Event, RuntimeError};
use crate::zab::{Msg, Role, Server, ServerState};
use crate::zk::server::Input;
use crate::zk::ZooKeeper;
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `autopurge.*`: every `every`, keep only the newest `retain` snapshots.
#[derive(Clone, Copy, Debug)]
pub struct Purge {
    /// `autopurge.purgeInterval` (hours in zoo.cfg).
    pub every: Duration,
    /// `autopurge.snapRetainCount`.
    pub retain: usize,
}

/// The server's storage as the loop gets it.
pub struct Disk {
    /// The data directory.
    pub dir: DataDir,
    /// What recovery found in it.
    pub recovered: Option<ZkDurable>,
    /// Scheduled purging, if configured.
    pub purge: Option<Purge>,
}

/// Where the loop sends what the actor emits.
pub trait Outlet: Send + Sync {
    /// Sends `msg` from this server to `dst` (a peer or a client connection).
    fn send(&self, dst: usize, msg: Msg<ZooKeeper>);
}

/// Runs the actor loop until [`Event::Stop`] or a storage failure (the error is returned:
/// a server that cannot make its state durable must stop rather than go on).
pub fn run(
    actor: Server<ZooKeeper>,
    me: usize,
    disk: Disk,
    inbox: Receiver<Event>,
    timers: Timers,
    outlet: Arc<dyn Outlet>,
) -> Result<(), RuntimeError> {
    let Disk {
        dir: disk,
        recovered,
        purge,
    } = disk;
    let mut o = Out::new();
    let mut state = Cow::Owned(actor.on_start(Id::from(me), &recovered, &mut o));
    let voter = actor.cfg.is_voter(me);
    let mut last_role = role_name(&state, voter);
    tracing::info!(server = me, role = last_role, "started");
    let mut batch = Batch {
        disk,
        sends: Vec::new(),
    };
    batch.absorb(o, &timers);
    batch.flush(outlet.as_ref())?;
    let mut clock = 0;
    let mut purged = Instant::now();
    loop {
        if let Some(p) = purge.filter(|p| purged.elapsed() >= p.every) {
            purged = Instant::now();
            autopurge(&batch.disk, p.retain);
        }
        // Time is an input: the clock reading goes in as a step before the events it stamps.
        let now = now_ms();
        if now != clock {
            clock = now;
            let msg = Msg::Input(Input::Clock(now));
            step_msg(&actor, me, &mut state, me, msg, &mut batch, &timers);
        }
        let first = match inbox.recv_timeout(actor.cfg.tick) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        for event in more(&inbox, first) {
            if !handle(&actor, me, &mut state, event, &mut batch, &timers) {
                return batch.flush(outlet.as_ref());
            }
        }
        batch.flush(outlet.as_ref())?;
        last_role = log_role_change(me, last_role, &state, voter);
    }
}

/// `autopurge`: keeps the newest `retain` snapshots; a failure is logged, not fatal.
fn autopurge(disk: &DataDir, retain: usize) {
    match disk.purge(retain) {
        Ok(n) => tracing::info!(removed = n, retain, "autopurge"),
        Err(e) => tracing::warn!(%e, "autopurge failed"),
    }
}

/// Logs the server's role when it changed since `last`; returns it.
fn log_role_change(
    me: usize,
    last: &'static str,
    state: &ServerState<ZooKeeper>,
    voter: bool,
) -> &'static str {
    let role = role_name(state, voter);
    if role != last {
        let epoch = state.durable.current_epoch;
        tracing::info!(server = me, from = last, to = role, epoch, "role change");
    }
    role
}

/// `first` and what else is waiting (a batch: up to 512 events).
fn more(inbox: &Receiver<Event>, first: Event) -> Vec<Event> {
    let mut events = vec![first];
    while events.len() < 512 {
        match inbox.try_recv() {
            Ok(e) => events.push(e),
            Err(_) => break,
        }
    }
    events
}

/// Runs one event as one actor step (or answers an inspection); false on [`Event::Stop`].
fn handle(
    actor: &Server<ZooKeeper>,
    me: usize,
    state: &mut Cow<'_, ServerState<ZooKeeper>>,
    event: Event,
    batch: &mut Batch,
    timers: &Timers,
) -> bool {
    match event {
        Event::Msg { src, msg } => {
            tracing::trace!(server = me, src, ?msg, "deliver");
            step_msg(actor, me, state, src, msg, batch, timers)
        }
        Event::Timer(t, generation) => {
            if timers.fire(&t, generation) {
                tracing::trace!(server = me, timer = ?t, "timeout");
                let mut o = Out::new();
                actor.on_timeout(Id::from(me), state, &t, &mut o);
                batch.absorb(o, timers);
            }
        }
        Event::Inspect(f) => f(state),
        Event::Stop => return false,
    }
    true
}

fn step_msg(
    actor: &Server<ZooKeeper>,
    me: usize,
    state: &mut Cow<'_, ServerState<ZooKeeper>>,
    src: usize,
    msg: Msg<ZooKeeper>,
    batch: &mut Batch,
    timers: &Timers,
) {
    let mut o = Out::new();
    actor.on_msg(Id::from(me), state, Id::from(src), msg, &mut o);
    batch.absorb(o, timers);
}

/// The commands of the steps since the last flush (their saves are staged in the data
/// directory as they come, so the actor's state is not shared with a save in flight).
struct Batch {
    disk: DataDir,
    sends: Vec<(usize, Msg<ZooKeeper>)>,
}

impl Batch {
    fn absorb(&mut self, o: Out<Server<ZooKeeper>>, timers: &Timers) {
        for cmd in o {
            match cmd {
                Command::Save(d) => self.disk.stage(&d),
                Command::Send(dst, msg) => self.sends.push((usize::from(dst), msg)),
                Command::SetTimer(t, range) => timers.set(t, range),
                Command::CancelTimer(t) => timers.cancel(&t),
                Command::ChooseRandom(..) => {}
            }
        }
    }

    /// Makes the last save durable, then sends.
    fn flush(&mut self, outlet: &dyn Outlet) -> Result<(), RuntimeError> {
        if self.disk.dirty() {
            let start = Instant::now();
            self.disk.commit()?;
            let took = start.elapsed();
            if took > Duration::from_millis(50) {
                tracing::warn!(ms = took.as_millis() as u64, "slow fsync");
            } else {
                tracing::trace!(us = took.as_micros() as u64, "fsync");
            }
        }
        for (dst, msg) in self.sends.drain(..) {
            if let Msg::Sync { entries, .. } = &msg {
                let mode = msg.kind();
                tracing::info!(learner = dst, mode, proposals = entries.len(), "sync");
            }
            outlet.send(dst, msg);
        }
        Ok(())
    }
}

/// The role as ZooKeeper's `srvr` names it.
pub fn role_name(st: &ServerState<ZooKeeper>, voter: bool) -> &'static str {
    match &st.role {
        Role::Looking => "looking",
        Role::Following(_) if !voter => "observer",
        Role::Following(_) => "follower",
        Role::Leading(_) => "leader",
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
