//! The actor loop: one thread owns the server's state and runs one actor step per event; a
//! second thread, the log writer (ZooKeeper's `SyncRequestProcessor`), makes saves durable.
//!
//! Events (peer messages, client messages, timer firings, the clock, the log writer's reports)
//! arrive in one inbox. The loop takes what is waiting (a batch) and runs each event as exactly
//! one step of the unmodified [`Server`] actor. Each step's `Save` is staged as the step ends
//! (new log entries encoded, the save dropped, so the actor's log is never shared when it next
//! appends); at the end of the batch the staged writes go to the log writer as one job, and
//! the loop goes on stepping while the writer writes and fsyncs (it takes every job waiting
//! when it starts: group commit) and then reports the last step its fsync covered.
//!
//! Messages leave as soon as their step ends, except those the durability rule holds
//! ([`crate::zab::Config::is_log_write`]): the messages of a log writer's step (the ACKs,
//! the leader's own vote) wait until that step's save is durable; a step with any other save
//! is a barrier, whose messages and every later step's wait until it is durable. A held
//! message also holds every later message to the same destination (connections are FIFO).
//! Timers are set and cancelled as the steps ask; one set to fire at once is run as a step of
//! the same batch.
//!
//! The loop decides nothing about the protocol: it only delivers inputs and runs outputs.

use super::stats::WriterStats;
use super::storage::{DataDir, Files, Job, Stage, StorageError, ZkDurable};
use super::timers::Timers;
use super::trace::{self, Break, Input, Record, Sent, Tracer};
use super::{ActorParams, Event, RuntimeError};
use crate::zab::{Msg, Role, Server, ServerState, Timer};
use crate::zk::server::Input as ZkInput;
use crate::zk::ZooKeeper;
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
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
    /// Where the log writer counts its group commits (`mntr`).
    pub stats: Arc<WriterStats>,
}

/// Where the loop sends what the actor emits.
pub trait Outlet: Send + Sync {
    /// Sends `msg` from this server to `dst` (a peer or a client connection).
    fn send(&self, dst: usize, msg: Msg<ZooKeeper>);

    /// The actor loop's inbox (the log writer reports there).
    fn inbox(&self) -> Sender<Event>;
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
        stats,
    } = disk;
    let mut ctx = Ctx {
        actor: &actor,
        me,
        timers: &timers,
        trace: &trace,
        n: 0,
    };
    let DataDir { stage, files } = disk;
    let writer = LogWriter::spawn(me, files, (purge, stats), inbox_sender(&outlet))?;
    let mut batch = Batch {
        stage,
        writer: Some(writer),
        outbox: Outbox::default(),
        due: VecDeque::new(),
        outlet,
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
    ctx.absorb(Input::Start, o, false, &mut batch);
    let voter = actor.cfg.is_voter(me);
    let mut last_role = role_name(&state, voter);
    tracing::info!(server = me, role = last_role, "started");
    ctx.run_due(&mut state, &mut batch)?;
    batch.end(&ctx);
    let mut clock = 0;
    loop {
        // Time is an input: the clock reading goes in as a step before the events it stamps.
        let now = now_ms();
        if now != clock {
            clock = now;
            let msg = Msg::Input(ZkInput::Clock(now));
            ctx.step_msg(&mut state, (me, msg), local(me), &mut batch);
            // What the clock's step asked for (a log write, a save) must not wait for the
            // next event.
            ctx.run_due(&mut state, &mut batch)?;
            batch.end(&ctx);
        }
        let first = match inbox.recv_timeout(actor.cfg.tick) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        for event in more(&inbox, first) {
            if !ctx.handle(&mut state, event, &mut batch)? {
                return batch.stop(&ctx);
            }
        }
        ctx.run_due(&mut state, &mut batch)?;
        batch.end(&ctx);
        last_role = log_role_change(me, last_role, &state, voter);
    }
}

/// The loop's own inbox, for the log writer's reports.
fn inbox_sender(outlet: &Arc<dyn Outlet>) -> Sender<Event> {
    outlet.inbox()
}

/// How a message from outside the ensemble (a client, the clock) appears in the trace.
fn local(src: usize) -> impl FnOnce(&Msg<ZooKeeper>) -> Input {
    move |msg| Input::Local {
        src,
        msg: trace::hex(&postcard::to_stdvec(msg).expect("messages serialize")),
    }
}

/// `autopurge`: keeps the newest `retain` snapshots; a failure is logged, not fatal.
fn autopurge(disk: &Files, retain: usize) {
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

    /// Runs the timers set to fire at once (and those their steps set), as steps of this batch.
    fn run_due(&mut self, state: &mut State<'_>, batch: &mut Batch) -> Result<(), RuntimeError> {
        while let Some((t, generation)) = batch.due.pop_front() {
            self.handle(state, Event::Timer(t, generation), batch)?;
        }
        Ok(())
    }

    /// Runs one event as one actor step (or answers an inspection); false on [`Event::Stop`].
    fn handle(
        &mut self,
        state: &mut State<'_>,
        event: Event,
        batch: &mut Batch,
    ) -> Result<bool, RuntimeError> {
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
                    let log_write = self.actor.cfg.is_log_write(&t);
                    self.n += 1;
                    self.absorb(Input::Timer { timer }, o, log_write, batch);
                }
            }
            Event::Durable { upto, jobs, us } => {
                tracing::trace!(server = me, upto, jobs, us, "durable");
                self.log(|| Record::Durable { n: upto });
                batch.outbox.durable = upto;
                batch.release(self);
            }
            Event::DiskFailed => {
                let writer = batch.writer.take();
                writer.map_or(Ok(()), LogWriter::finish)?;
                return Err(RuntimeError::Storage(StorageError::Stopped));
            }
            Event::Inspect(f) => f(state),
            Event::Stop => return Ok(false),
        }
        Ok(true)
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
        self.n += 1;
        self.absorb(input.unwrap_or(Input::Start), o, false, batch);
    }

    /// Ends a step: logs it, then hands its commands to the batch (`log_write`: the step is
    /// the log writer's, see [`crate::zab::Config::is_log_write`]).
    fn absorb(&self, input: Input, o: Out<Server<ZooKeeper>>, log_write: bool, batch: &mut Batch) {
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
        batch.absorb(self, n, o, log_write);
    }
}

/// What the loop keeps between steps: the staged saves, the log writer, the held messages.
struct Batch {
    stage: Stage,
    /// None once stopped.
    writer: Option<LogWriter>,
    outbox: Outbox,
    /// Timers set to fire at once, with their generations: run before the batch ends.
    due: VecDeque<(Timer<crate::zk::server::ZkTimer>, u64)>,
    outlet: Arc<dyn Outlet>,
}

/// Messages held by the durability rule, per destination, in the order they were sent.
#[derive(Default)]
struct Outbox {
    /// Every save of the steps up to this one is durable.
    durable: u64,
    /// The last step whose save staged a write.
    last_dirty: u64,
    /// The last step with a barrier save (see the module's docs).
    barrier: u64,
    /// (the step that must be durable, the step that sent it, the message), per destination.
    held: BTreeMap<usize, VecDeque<(u64, u64, Msg<ZooKeeper>)>>,
}

impl Batch {
    fn absorb(&mut self, ctx: &Ctx<'_>, n: u64, o: Out<Server<ZooKeeper>>, log_write: bool) {
        let mut sends = Vec::new();
        let mut saved = false;
        for cmd in o {
            match cmd {
                Command::Save(d) => {
                    self.stage.stage(&d);
                    saved = true;
                    if self.stage.dirty() {
                        self.outbox.last_dirty = n;
                    }
                }
                Command::Send(dst, msg) => sends.push((usize::from(dst), msg)),
                Command::SetTimer(t, range) if range.end.is_zero() => {
                    let generation = ctx.timers.set_now(t.clone());
                    self.due.push_back((t, generation));
                }
                Command::SetTimer(t, range) => ctx.timers.set(t, range),
                Command::CancelTimer(t) => ctx.timers.cancel(&t),
                Command::ChooseRandom(..) => {}
            }
        }
        let outbox = &mut self.outbox;
        let mut need = 0;
        if saved {
            if log_write {
                need = outbox.last_dirty;
            } else {
                outbox.barrier = outbox.last_dirty;
            }
        }
        need = need.max(outbox.barrier);
        if ctx.trace.faults == Some(Break::AckBeforeFsync) {
            need = 0;
        }
        for (dst, msg) in sends {
            let queue = self.outbox.held.get(&dst);
            if need <= self.outbox.durable && queue.is_none() {
                send(ctx, self.outlet.as_ref(), n, dst, msg);
            } else {
                self.outbox
                    .held
                    .entry(dst)
                    .or_default()
                    .push_back((need, n, msg));
            }
        }
    }

    /// Sends every held message whose save is now durable (in order, per destination).
    fn release(&mut self, ctx: &Ctx<'_>) {
        let durable = self.outbox.durable;
        let outlet = self.outlet.as_ref();
        self.outbox.held.retain(|&dst, queue| {
            while queue.front().is_some_and(|(need, _, _)| *need <= durable) {
                let (_, n, msg) = queue.pop_front().expect("a front");
                send(ctx, outlet, n, dst, msg);
            }
            !queue.is_empty()
        });
    }

    /// Ends a batch: its staged saves go to the log writer as one job.
    fn end(&mut self, ctx: &Ctx<'_>) {
        if let (Some(job), Some(writer)) = (self.stage.take(), &self.writer) {
            // A writer that failed reports it in the inbox.
            let _ = writer.jobs.send((ctx.n, job));
        }
    }

    /// Stops: waits until the log writer has made every save durable, then sends what it held.
    fn stop(&mut self, ctx: &Ctx<'_>) -> Result<(), RuntimeError> {
        self.end(ctx);
        if let Some(writer) = self.writer.take() {
            writer.finish()?;
        }
        self.outbox.durable = u64::MAX;
        self.release(ctx);
        Ok(())
    }
}

/// Sends one message and logs it.
fn send(ctx: &Ctx<'_>, outlet: &dyn Outlet, n: u64, dst: usize, msg: Msg<ZooKeeper>) {
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

/// The log writer's thread (ZooKeeper's `SyncRequestProcessor`): it takes every job waiting,
/// writes them, fsyncs once, and reports the last step covered to the actor loop; it also
/// runs `autopurge`.
struct LogWriter {
    jobs: Sender<(u64, Job)>,
    thread: std::thread::JoinHandle<Result<(), StorageError>>,
}

impl LogWriter {
    fn spawn(
        me: usize,
        mut files: Files,
        (purge, stats): (Option<Purge>, Arc<WriterStats>),
        inbox: Sender<Event>,
    ) -> Result<LogWriter, RuntimeError> {
        let (jobs, rx) = std::sync::mpsc::channel::<(u64, Job)>();
        let thread = std::thread::Builder::new()
            .name(format!("zab-log-{me}"))
            .spawn(move || {
                let mut purged = Instant::now();
                loop {
                    let mut wait = purge.map_or(Duration::from_secs(3600), |p| {
                        p.every.saturating_sub(purged.elapsed())
                    });
                    if files.snapshotting() {
                        wait = wait.min(SNAPSHOT_POLL);
                    }
                    let (mut upto, first) = match rx.recv_timeout(wait) {
                        Ok(j) => j,
                        Err(RecvTimeoutError::Timeout) => {
                            if let Some(p) = purge.filter(|p| purged.elapsed() >= p.every) {
                                purged = Instant::now();
                                autopurge(&files, p.retain);
                            }
                            if let Err(e) = files.finish_snapshot(false) {
                                tracing::error!(%e, "the log writer failed");
                                let _ = inbox.send(Event::DiskFailed);
                                return Err(e);
                            }
                            report_snapshots(&mut files, &stats);
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => {
                            return files.finish_snapshot(true);
                        }
                    };
                    let start = Instant::now();
                    let (mut count, mut txns) = (1, first.txns());
                    let mut done = files.write(first);
                    while done.is_ok() {
                        match rx.try_recv() {
                            Ok((n, job)) => {
                                upto = n;
                                count += 1;
                                txns += job.txns();
                                done = files.write(job);
                            }
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = done.and_then(|()| files.sync()) {
                        tracing::error!(%e, "the log writer failed");
                        let _ = inbox.send(Event::DiskFailed);
                        return Err(e);
                    }
                    let us = start.elapsed().as_micros() as u64;
                    stats.commit(txns as u64, us);
                    report_snapshots(&mut files, &stats);
                    if us > 50_000 {
                        tracing::warn!(ms = us / 1000, jobs = count, "slow fsync");
                    }
                    let _ = inbox.send(Event::Durable {
                        upto,
                        jobs: count,
                        us,
                    });
                }
            })
            .map_err(RuntimeError::Thread)?;
        Ok(LogWriter { jobs, thread })
    }

    /// Lets the writer finish what it was given, and waits for it.
    fn finish(self) -> Result<(), StorageError> {
        drop(self.jobs);
        self.thread.join().unwrap_or(Err(StorageError::Stopped))
    }
}

/// How often the log writer looks whether a snapshot's thread is done when no job comes.
const SNAPSHOT_POLL: Duration = Duration::from_millis(50);

/// Logs and counts the snapshots put in place since the last call.
fn report_snapshots(files: &mut Files, stats: &WriterStats) {
    for (zxid, bytes, us) in files.written_snapshots() {
        stats.snapshot(us);
        let zxid = format!("{:#x}", zxid.0);
        tracing::info!(%zxid, bytes, ms = us / 1000, "snapshot written");
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
