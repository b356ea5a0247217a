//! The servers' steps merged into one run and run again through the same actor.
//!
//! The merge takes, among the servers' next steps, those that can happen now (a step that
//! reads a message waits for the step that sent it) and runs the one logged first. What runs
//! is the actor [`crate::runtime::ActorParams::actor`] builds from the trace's start line, on
//! the inputs the trace names: the message its sender's replayed step sent, the timer, the
//! clock reading or the client's message logged whole.

use super::network::{channel_named, Eid, Fate, Net};
use super::props::Props;
use super::read::{Logs, Process};
use super::{Rejection, Report};
use crate::runtime::storage::ZkDurable;
use crate::runtime::trace::{self, Input, Record};
use crate::zab::{Msg, Server, ServerState, Timer};
use crate::zk::server::ZkTimer;
use crate::zk::ZooKeeper;
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, VecDeque};

type M = Msg<ZooKeeper>;
type T = Timer<ZkTimer>;

/// One server during the replay.
#[derive(Default)]
struct Srv {
    /// Its current process (index into its processes).
    proc: usize,
    /// The next line to look at in it.
    line: usize,
    /// The process whose steps run (the last one started: down once its steps are done).
    live: usize,
    state: Option<ServerState<ZooKeeper>>,
    timers: BTreeSet<T>,
    /// The saves of the current process: (step, state).
    saves: Vec<(u64, ZkDurable)>,
    /// The last save (the model's storage).
    disk: Option<ZkDurable>,
}

/// What the network knew of a message in flight when it was sent.
struct Flight {
    eid: Eid,
    /// The receiver's process then.
    receiver_proc: usize,
    /// The connection breaks between the pair so far.
    breaks: usize,
}

struct Replay<'a> {
    logs: &'a Logs,
    net: &'a Net,
    actor: Server<ZooKeeper>,
    srv: Vec<Srv>,
    /// The replayed messages not yet read.
    msgs: HashMap<Eid, M>,
    /// What each server has in flight to each other, per channel: the model's FIFOs.
    fifo: HashMap<(usize, usize, &'static str), VecDeque<Flight>>,
    /// Quorum connection breaks seen between each pair (smaller index first).
    breaks: HashMap<(usize, usize), usize>,
    props: Props,
    report: Report,
}

/// Replays the run; the report counts what was checked.
pub fn run(logs: &Logs, net: &Net) -> Result<Report, Rejection> {
    let first = logs.servers.iter().flatten().next().expect("a process");
    let actor = first.params.actor();
    let n = logs.servers.len();
    let props = Props::new(&actor.cfg, n);
    let mut r = Replay {
        logs,
        net,
        actor,
        srv: (0..n).map(|_| Srv::default()).collect(),
        msgs: HashMap::new(),
        fifo: HashMap::new(),
        breaks: HashMap::new(),
        props,
        report: Report {
            servers: logs.servers.iter().filter(|p| !p.is_empty()).count(),
            processes: logs.servers.iter().map(Vec::len).sum(),
            ..Report::default()
        },
    };
    r.report.properties = r.props.names();
    while let Some(i) = r.pick()? {
        r.step(i)?;
    }
    Ok(r.report)
}

impl Replay<'_> {
    /// The process and line of server `i`'s next step, moving past other lines.
    fn next(&mut self, i: usize) -> Option<(usize, usize)> {
        let procs = &self.logs.servers[i];
        let s = &mut self.srv[i];
        while s.proc < procs.len() {
            let lines = &procs[s.proc].lines;
            while s.line < lines.len() {
                if matches!(lines[s.line].rec, Record::Step { .. }) {
                    return Some((s.proc, s.line));
                }
                s.line += 1;
            }
            s.proc += 1;
            s.line = 0;
        }
        None
    }

    /// The server whose next step runs now: of those that can, the one logged first.
    fn pick(&mut self) -> Result<Option<usize>, Rejection> {
        let mut best: Option<(u64, usize)> = None;
        let mut waiting: Option<(u64, usize, usize)> = None;
        for i in 0..self.srv.len() {
            let Some((p, l)) = self.next(i) else { continue };
            let proc = &self.logs.servers[i][p];
            let Record::Step { at, n, .. } = &proc.lines[l].rec else {
                unreachable!("next stops at steps")
            };
            let ready = match self.net.read.get(&(i, p, *n)) {
                Some(eid) => self.msgs.contains_key(eid),
                None => true,
            };
            if ready {
                if best.is_none_or(|(a, _)| *at < a) {
                    best = Some((*at, i));
                }
            } else if waiting.is_none_or(|(a, ..)| *at < a) {
                waiting = Some((*at, i, proc.lines[l].no));
            }
        }
        match (best, waiting) {
            (Some((_, i)), _) => Ok(Some(i)),
            (None, None) => Ok(None),
            (None, Some((_, i, no))) => Err(self.logs.reject(
                i,
                no,
                "this step reads a message whose sending step can never run before it".into(),
            )),
        }
    }

    fn step(&mut self, i: usize) -> Result<(), Rejection> {
        let (p, l) = self.next(i).expect("picked");
        self.srv[i].line += 1;
        let proc = &self.logs.servers[i][p];
        let line = &proc.lines[l];
        let Record::Step {
            n,
            input,
            sends,
            save,
            ..
        } = &line.rec
        else {
            unreachable!("next stops at steps")
        };
        let reject = |reason: String| self.logs.reject(i, line.no, reason);
        let held_before: Vec<_> = self.srv[i]
            .state
            .as_ref()
            .map(|st| st.durable.log.to_vec())
            .unwrap_or_default();
        let mut o = Out::new();
        let mut finalize = false;
        let state = match input {
            Input::Start => {
                let logs = self.logs;
                let at_start = |reason| logs.reject(i, proc.line, reason);
                self.start(i, proc).map_err(at_start)?(&self.actor, &mut o)
            }
            Input::Timer { timer } => {
                let t: T = decode(timer).map_err(reject)?;
                if !self.srv[i].timers.remove(&t) {
                    return Err(reject(format!(
                        "timer {t:?} fired, which the actor had not set"
                    )));
                }
                finalize = t == Timer::Finalize;
                let mut st = Cow::Owned(self.srv[i].state.take().expect("started"));
                self.actor.on_timeout(Id::from(i), &mut st, &t, &mut o);
                st.into_owned()
            }
            _ => {
                let (src, msg) = self.input(i, (p, *n), input).map_err(reject)?;
                let mut st = Cow::Owned(self.srv[i].state.take().expect("started"));
                self.actor
                    .on_msg(Id::from(i), &mut st, Id::from(src), msg, &mut o);
                st.into_owned()
            }
        };
        let replayed = outputs(o);
        compare(sends, *save, &replayed).map_err(reject)?;
        // What the server held during the step (a snapshot may fold in what it delivered).
        let mut held = held_before;
        held.extend(replayed.saves.iter().flat_map(|d| d.log.iter().cloned()));
        self.apply(i, (p, *n), replayed);
        let s = &mut self.srv[i];
        s.state = Some(state);
        let (st, disk) = (s.state.as_ref().expect("set"), s.disk.as_ref());
        self.props
            .step(i, st, disk, finalize, &held)
            .map_err(reject)?;
        self.report.steps += 1;
        if self.next(i).is_some_and(|(q, _)| q != p) {
            self.props.crash(i);
        }
        Ok(())
    }

    /// A process starts: after a crash, it must recover what its predecessor last saved.
    #[allow(clippy::type_complexity)]
    fn start(
        &mut self,
        i: usize,
        proc: &Process,
    ) -> Result<
        impl FnOnce(&Server<ZooKeeper>, &mut Out<Server<ZooKeeper>>) -> ServerState<ZooKeeper>,
        String,
    > {
        let s = &mut self.srv[i];
        if proc.ordinal > 0 {
            let before = &self.logs.servers[i][proc.ordinal - 1];
            let candidates = recoverable(before, &s.saves);
            match &proc.recovered {
                None if !candidates.is_empty() => self.report.notices.push(format!(
                    "server {i} restarted with an empty data directory (line {}): what it had \
                     saved was lost, which the model never does",
                    proc.line
                )),
                None => {}
                Some(d) if candidates.iter().any(|c| c == d) => {}
                Some(d) => {
                    return Err(format!(
                        "restarted from a durable state ({:?}, {} log entries, snapshot at \
                         {:?}) that is none of those its previous process could have left on \
                         disk: {}",
                        (d.accepted_epoch, d.current_epoch),
                        d.log.len(),
                        d.snapshot.zxid,
                        describe(&candidates)
                    ))
                }
            }
            self.report.restarts += 1;
        } else if let Some(d) = &proc.recovered {
            self.report.notices.push(format!(
                "server {i} first started from a data directory holding {} log entries after \
                 a snapshot at {:?}",
                d.log.len(),
                d.snapshot.zxid
            ));
        }
        s.live = proc.ordinal;
        s.saves.clear();
        s.timers.clear();
        s.disk = proc.recovered.clone();
        let recovered = proc.recovered.clone();
        Ok(
            move |actor: &Server<ZooKeeper>, o: &mut Out<Server<ZooKeeper>>| {
                actor.on_start(Id::from(i), &recovered, o)
            },
        )
    }

    /// The message a step reads, with its sender.
    fn input(
        &mut self,
        i: usize,
        (p, n): (usize, u64),
        input: &Input,
    ) -> Result<(usize, M), String> {
        match input {
            Input::Peer { src, ch, .. } => {
                let eid = self.net.read[&(i, p, n)];
                self.in_order(i, *src, ch, eid)?;
                self.report.deliveries += 1;
                Ok((*src, self.msgs.remove(&eid).expect("ready")))
            }
            Input::Own { .. } => {
                let eid = self.net.read[&(i, p, n)];
                Ok((i, self.msgs.remove(&eid).expect("ready")))
            }
            Input::Broken { src, .. } => {
                *self.breaks.entry((i.min(*src), i.max(*src))).or_default() += 1;
                Ok((*src, Msg::Disconnected))
            }
            Input::Local { src, msg } => Ok((*src, decode(msg)?)),
            Input::Start | Input::Timer { .. } => unreachable!("handled by the caller"),
        }
    }

    /// `eid` must be the oldest message `src` has in flight to `i` on `ch`; the older ones it
    /// skips must be lost, to a crash or (on the quorum port) a connection break since they
    /// were sent.
    fn in_order(&mut self, i: usize, src: usize, ch: &str, eid: Eid) -> Result<(), String> {
        let ch = channel_named(ch);
        let pair = (i.min(src), i.max(src));
        let breaks = self.breaks.get(&pair).copied().unwrap_or(0);
        let (sender_proc, receiver_proc) = (self.srv[src].live, self.srv[i].live);
        let queue = self.fifo.entry((src, i, ch)).or_default();
        while let Some(f) = queue.pop_front() {
            if f.eid == eid {
                return Ok(());
            }
            let skipped = &self.net.sent[&f.eid];
            if self.net.delivered.contains(&f.eid) {
                return Err(format!(
                    "reads a message from server {src} before an older one on the same \
                     connection ({}, sent at its line {}), which it reads later: reordered",
                    skipped.kind, skipped.line
                ));
            }
            let crashed = f.eid.proc != sender_proc || f.receiver_proc != receiver_proc;
            let reset = ch == "quorum" && breaks > f.breaks;
            if !crashed && !reset {
                let how = match &skipped.fate {
                    Fate::Written(c) => format!("written on connection {c}"),
                    Fate::Dropped => "dropped by its connection".into(),
                    Fate::Queued => "still queued".into(),
                };
                return Err(format!(
                    "reads a message from server {src} although an older one ({}, sent at its \
                     line {}, {how}) was lost with no crash or connection reset since: the \
                     model loses messages only then",
                    skipped.kind, skipped.line
                ));
            }
            self.report.lost += 1;
        }
        Err(format!(
            "reads a message from server {src} that is not in flight"
        ))
    }

    /// Takes a replayed step's outputs: messages in flight, the save, timers.
    fn apply(&mut self, i: usize, (p, n): (usize, u64), out: Outputs) {
        let servers = self.srv.len();
        for (k, (dst, _, msg)) in out.sends.into_iter().enumerate() {
            if dst >= servers {
                continue;
            }
            let eid = Eid {
                server: i,
                proc: p,
                n,
                k,
            };
            if dst != i {
                let ch = trace::channel_name(msg.channel());
                let flight = Flight {
                    eid,
                    receiver_proc: self.srv[dst].live,
                    breaks: self
                        .breaks
                        .get(&(i.min(dst), i.max(dst)))
                        .copied()
                        .unwrap_or(0),
                };
                self.fifo.entry((i, dst, ch)).or_default().push_back(flight);
            }
            self.msgs.insert(eid, msg);
        }
        let s = &mut self.srv[i];
        if let Some(d) = out.saves.into_iter().last() {
            s.saves.push((n, d.clone()));
            s.disk = Some(d);
        }
        for t in out.cancelled {
            s.timers.remove(&t);
        }
        s.timers.extend(out.set);
    }
}

/// What the previous process could have left on disk: what its last fsync covered, or any
/// save staged after it (a commit that was under way when it was killed).
fn recoverable(before: &Process, saves: &[(u64, ZkDurable)]) -> Vec<ZkDurable> {
    let fsynced = before
        .lines
        .iter()
        .filter_map(|l| match l.rec {
            Record::Durable { n } => Some(n),
            _ => None,
        })
        .max();
    let covered = saves
        .iter()
        .rev()
        .find(|(n, _)| fsynced.is_some_and(|f| *n <= f))
        .map(|(_, d)| d.clone())
        .or_else(|| before.recovered.clone());
    let later = saves
        .iter()
        .filter(|(n, _)| fsynced.is_none_or(|f| *n > f))
        .map(|(_, d)| d.clone());
    covered.into_iter().chain(later).collect()
}

fn describe(candidates: &[ZkDurable]) -> String {
    if candidates.is_empty() {
        return "it had saved nothing".into();
    }
    let each: Vec<String> = candidates
        .iter()
        .map(|d| {
            format!(
                "({:?}, {} log entries, snapshot at {:?})",
                (d.accepted_epoch, d.current_epoch),
                d.log.len(),
                d.snapshot.zxid
            )
        })
        .collect();
    each.join(" or ")
}

/// A replayed step's outputs.
struct Outputs {
    sends: Vec<(usize, u64, M)>,
    /// Every save, in order (the runtime stages each; the last is what is on disk after).
    saves: Vec<ZkDurable>,
    set: Vec<T>,
    cancelled: Vec<T>,
}

fn outputs(o: Out<Server<ZooKeeper>>) -> Outputs {
    let mut out = Outputs {
        sends: Vec::new(),
        saves: Vec::new(),
        set: Vec::new(),
        cancelled: Vec::new(),
    };
    for cmd in o {
        match cmd {
            Command::Send(dst, msg) => {
                out.sends
                    .push((usize::from(dst), trace::msg_digest(&msg), msg))
            }
            Command::Save(d) => out.saves.push(d),
            Command::SetTimer(t, _) => out.set.push(t),
            Command::CancelTimer(t) => out.cancelled.push(t),
            Command::ChooseRandom(..) => {}
        }
    }
    out
}

/// The logged outputs must be the replayed ones.
fn compare(sends: &[trace::Sent], save: Option<u64>, replayed: &Outputs) -> Result<(), String> {
    let logged: Vec<(usize, u64)> = sends.iter().map(|s| (s.dst, s.d)).collect();
    let again: Vec<(usize, u64)> = replayed.sends.iter().map(|(d, h, _)| (*d, *h)).collect();
    if logged != again {
        let kinds = |v: Vec<(usize, &str)>| {
            v.iter()
                .map(|(d, k)| format!("{k}->{d}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let logged = kinds(sends.iter().map(|s| (s.dst, s.kind.as_str())).collect());
        let again = kinds(
            replayed
                .sends
                .iter()
                .map(|(d, _, m)| (*d, m.kind()))
                .collect(),
        );
        return Err(format!(
            "the actor, run again on this step's input, sends [{again}], but the server sent \
             [{logged}]"
        ));
    }
    let again = replayed.saves.last().map(trace::durable_digest);
    if again != save {
        return Err(format!(
            "the actor, run again on this step's input, {} but the server {}",
            if again.is_some() {
                "saves"
            } else {
                "saves nothing"
            },
            if save.is_some() {
                "saved other state"
            } else {
                "saved nothing"
            }
        ));
    }
    Ok(())
}

fn decode<X: serde::de::DeserializeOwned>(hex: &str) -> Result<X, String> {
    let bytes = trace::unhex(hex).ok_or("not hex")?;
    postcard::from_bytes(&bytes).map_err(|e| format!("does not decode: {e}"))
}
