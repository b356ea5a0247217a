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
use super::trace::{self, Break, Input, Record, Sent, Tracer};
use super::{ActorParams, Event, RuntimeError};
use crate::zab::{Msg, Role, Server, ServerState};
use crate::zk::server::Input as ZkInput;
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

/// The step log and the deliberate fault, if any ([`super::trace`]).
pub struct Trace {
    /// What the actor was built from (the trace's start lines carry it).
    pub params: ActorParams,
    /// Where steps are logged (`ZABKEEPER_TRACE`).
    pub tracer: Option<Arc<Tracer>>,
    /// A deliberate fault (`ZABKEEPER_BREAK`), tests only.
    pub faults: Option<Break>,
}

/// What every step needs besides the state.
struct Ctx<'a> {
    actor: &'a Server<ZooKeeper>,
    me: usize,
    timers: &'a Timers,
    trace: &'a Trace,
    /// The number of the last step run.
    n: u64,
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
    trace: Trace,
) -> Result<(), RuntimeError> {
    let Disk {
        dir: disk,
        recovered,
        purge,
    } = disk;
    let mut ctx = Ctx {
        actor: &actor,
        me,
        timers: &timers,
        trace: &trace,
        n: 0,
    };
    let mut batch = Batch {
        disk,
        sends: Vec::new(),
    };
    ctx.log(|| Record::Start {
        at: trace::now_us(),
        pid: std::process::id(),
        params: trace.params.clone(),
        recovered: recovered
            .as_ref()
            .map(|d| trace::hex(&postcard::to_stdvec(d).expect("durable state serializes"))),
    });
    let mut o = Out::new();
    let mut state = Cow::Owned(actor.on_start(Id::from(me), &recovered, &mut o));
    ctx.absorb(Input::Start, o, &mut batch);
    let voter = actor.cfg.is_voter(me);
    let mut last_role = role_name(&state, voter);
    tracing::info!(server = me, role = last_role, "started");
    batch.flush(&ctx, outlet.as_ref())?;
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
            let msg = Msg::Input(ZkInput::Clock(now));
            ctx.step_msg(&mut state, (me, msg), local(me), &mut batch);
        }
        let first = match inbox.recv_timeout(actor.cfg.tick) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        for event in more(&inbox, first) {
            if !ctx.handle(&mut state, event, &mut batch) {
                return batch.flush(&ctx, outlet.as_ref());
            }
        }
        batch.flush(&ctx, outlet.as_ref())?;
        last_role = log_role_change(me, last_role, &state, voter);
    }
}

/// How a message from outside the ensemble (a client, the clock) appears in the trace.
fn local(src: usize) -> impl FnOnce(&Msg<ZooKeeper>) -> Input {
    move |msg| Input::Local {
        src,
        msg: trace::hex(&postcard::to_stdvec(msg).expect("messages serialize")),
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

type State<'s> = Cow<'s, ServerState<ZooKeeper>>;

impl Ctx<'_> {
    fn log(&self, record: impl FnOnce() -> Record) {
        if let Some(t) = &self.trace.tracer {
            t.log(&record());
        }
    }

    /// Runs one event as one actor step (or answers an inspection); false on [`Event::Stop`].
    fn handle(&mut self, state: &mut State<'_>, event: Event, batch: &mut Batch) -> bool {
        let me = self.me;
        match event {
            Event::Msg { src, msg } => {
                tracing::trace!(server = me, src, ?msg, "deliver");
                if src == me {
                    let input = |m: &Msg<ZooKeeper>| Input::Own {
                        d: trace::msg_digest(m),
                    };
                    self.step_msg(state, (src, msg), input, batch);
                } else {
                    self.step_msg(state, (src, msg), local(src), batch);
                }
            }
            Event::Peer {
                src,
                msg,
                conn,
                digest,
            } => {
                tracing::trace!(server = me, src, ?msg, "deliver");
                let input = |m: &Msg<ZooKeeper>| Input::Peer {
                    src,
                    ch: trace::channel_name(m.channel()).into(),
                    conn: conn.to_string(),
                    d: digest,
                    kind: m.kind().into(),
                };
                self.step_msg(state, (src, msg), input, batch);
            }
            Event::Broken { src, conn } => {
                tracing::trace!(server = me, src, %conn, "connection broke");
                let input = |_: &Msg<ZooKeeper>| Input::Broken {
                    src,
                    conn: conn.to_string(),
                };
                self.step_msg(state, (src, Msg::Disconnected), input, batch);
            }
            Event::Timer(t, generation) => {
                if self.timers.fire(&t, generation) {
                    tracing::trace!(server = me, timer = ?t, "timeout");
                    let mut o = Out::new();
                    self.actor.on_timeout(Id::from(me), state, &t, &mut o);
                    let timer = trace::hex(&postcard::to_stdvec(&t).expect("timers serialize"));
                    self.step(Input::Timer { timer }, o, batch);
                }
            }
            Event::Inspect(f) => f(state),
            Event::Stop => return false,
        }
        true
    }

    fn step_msg(
        &mut self,
        state: &mut State<'_>,
        (src, msg): (usize, Msg<ZooKeeper>),
        input: impl FnOnce(&Msg<ZooKeeper>) -> Input,
        batch: &mut Batch,
    ) {
        let input = self.trace.tracer.as_ref().map(|_| input(&msg));
        let mut o = Out::new();
        self.actor
            .on_msg(Id::from(self.me), state, Id::from(src), msg, &mut o);
        self.step(input.unwrap_or(Input::Start), o, batch);
    }

    /// Ends a step: logs it, then hands its commands to the batch.
    fn step(&mut self, input: Input, o: Out<Server<ZooKeeper>>, batch: &mut Batch) {
        self.n += 1;
        self.absorb(input, o, batch);
    }

    fn absorb(&self, input: Input, o: Out<Server<ZooKeeper>>, batch: &mut Batch) {
        let n = self.n;
        self.log(|| {
            let mut sends = Vec::new();
            let mut save = None;
            for cmd in o.iter() {
                match cmd {
                    Command::Send(dst, msg) => sends.push(Sent {
                        dst: usize::from(*dst),
                        d: trace::msg_digest(msg),
                        kind: msg.kind().into(),
                    }),
                    Command::Save(d) => save = Some(trace::durable_digest(d)),
                    _ => {}
                }
            }
            Record::Step {
                at: trace::now_us(),
                n,
                input,
                sends,
                save,
            }
        });
        batch.absorb(n, o, self.timers);
    }
}

/// The commands of the steps since the last flush (their saves are staged in the data
/// directory as they come, so the actor's state is not shared with a save in flight).
struct Batch {
    disk: DataDir,
    /// The messages to send, with the step that sent each.
    sends: Vec<(u64, usize, Msg<ZooKeeper>)>,
}

impl Batch {
    fn absorb(&mut self, n: u64, o: Out<Server<ZooKeeper>>, timers: &Timers) {
        for cmd in o {
            match cmd {
                Command::Save(d) => self.disk.stage(&d),
                Command::Send(dst, msg) => self.sends.push((n, usize::from(dst), msg)),
                Command::SetTimer(t, range) => timers.set(t, range),
                Command::CancelTimer(t) => timers.cancel(&t),
                Command::ChooseRandom(..) => {}
            }
        }
    }

    /// Makes the last save durable, then sends (with the `ack-before-fsync` fault, the other
    /// way round).
    fn flush(&mut self, ctx: &Ctx<'_>, outlet: &dyn Outlet) -> Result<(), RuntimeError> {
        if ctx.trace.faults == Some(Break::AckBeforeFsync) {
            self.send(ctx, outlet);
            return self.fsync(ctx);
        }
        self.fsync(ctx)?;
        self.send(ctx, outlet);
        Ok(())
    }

    fn fsync(&mut self, ctx: &Ctx<'_>) -> Result<(), RuntimeError> {
        if self.disk.dirty() {
            let start = Instant::now();
            self.disk.commit()?;
            let took = start.elapsed();
            if took > Duration::from_millis(50) {
                tracing::warn!(ms = took.as_millis() as u64, "slow fsync");
            } else {
                tracing::trace!(us = took.as_micros() as u64, "fsync");
            }
            ctx.log(|| Record::Durable { n: ctx.n });
        }
        Ok(())
    }

    fn send(&mut self, ctx: &Ctx<'_>, outlet: &dyn Outlet) {
        for (n, dst, msg) in self.sends.drain(..) {
            if let Msg::Sync { entries, .. } = &msg {
                let mode = msg.kind();
                tracing::info!(learner = dst, mode, proposals = entries.len(), "sync");
            }
            ctx.log(|| Record::Send {
                n,
                dst,
                d: trace::msg_digest(&msg),
                kind: msg.kind().into(),
                vouches: msg.vouches_for_saved_state(),
            });
            outlet.send(dst, msg);
        }
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
