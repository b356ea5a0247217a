//! The model's states as the TLA+ spec's states (`tla/Zab.tla`): the abstraction function
//! between the two descriptions of one machine.
//!
//! [`state`] renders a state of [`ZabModel`] as the values of the spec's variables `srv`,
//! `crashed`, `msgs`, `emsgs` and `ghost`, in JSON that `tla/Trace.tla` reads with TLC's
//! `Json` module (finite maps become arrays of `[key, value]` pairs and sets become arrays,
//! which Trace.tla turns back into functions and sets). For the configurations the spec covers
//! (the oracle or Fast Leader Election, an atomic follower, no heartbeats; the model keeps each
//! pair's flow in its canonical order, [`super::env::canonical_flows`]) the rendering is one to
//! one: two different
//! states of the model render differently (model-tests/tla_spec.rs counts them), which is why
//! TLC and `zabkeeper check` report the same number of distinct states.
//!
//! [`TraceWriter`] writes each random walk of `check --strategy simulation --trace-out DIR`
//! as a trace file: the configuration's constants, then one line per state.

use super::{ModelConfig, State, ZabModel};
use crate::zab::msg::Channel;
use crate::zab::{ElectionMode, Msg, PeerState, Phase, Role, SyncMode, Timer, Txn, Vote, Zxid};
use serde_json::{json, Value};
use stateright::actor::Network;
use stateright::{CheckerVisitor, Model, Path};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Why a configuration is outside what the spec describes, if it is.
pub fn uncovered(cfg: &ModelConfig) -> Option<&'static str> {
    let s = &cfg.server;
    if s.fine_grained {
        Some("the fine-grained follower is not in the TLA+ spec yet")
    } else if s.pipelined {
        Some("the pipelined log writer is not in the TLA+ spec yet")
    } else if s.heartbeats {
        Some("heartbeats are not in the TLA+ spec yet")
    } else {
        None
    }
}

fn zxid(z: Zxid) -> Value {
    json!([z.epoch(), z.counter()])
}

fn txn(t: &Txn<u8>) -> Value {
    json!({"zxid": zxid(t.zxid), "value": t.op})
}

fn txns<'a>(ts: impl IntoIterator<Item = &'a Txn<u8>>) -> Value {
    Value::Array(ts.into_iter().map(txn).collect())
}

fn snapshot(s: &crate::zab::Snapshot<super::DeliveredLog>) -> Value {
    json!({"zxid": zxid(s.zxid), "state": txns(&s.state.0)})
}

/// The spec's durable record.
pub fn durable(d: &crate::zab::Durable<super::DeliveredLog>) -> Value {
    json!({"acceptedEpoch": d.accepted_epoch, "currentEpoch": d.current_epoch,
           "snapshot": snapshot(&d.snapshot), "history": txns(d.log.iter())})
}

fn vote(v: &Vote) -> Value {
    json!({"epoch": v.epoch, "zxid": zxid(v.zxid), "leader": v.leader})
}

fn peer_state(p: PeerState) -> &'static str {
    match p {
        PeerState::Looking => "LOOKING",
        PeerState::Following => "FOLLOWING",
        PeerState::Leading => "LEADING",
        PeerState::Observing => "OBSERVING",
    }
}

fn option(v: Option<Value>) -> Value {
    Value::Array(v.into_iter().collect())
}

fn mode(m: &SyncMode<super::DeliveredLog>) -> Value {
    match m {
        SyncMode::Diff => json!({"kind": "DIFF"}),
        SyncMode::Trunc(z) => json!({"kind": "TRUNC", "zxid": zxid(*z)}),
        SyncMode::Snap(s) => json!({"kind": "SNAP", "snapshot": snapshot(s)}),
    }
}

/// A message between servers, as the spec's record.
fn message(m: &super::ModelMsg) -> Result<Value, String> {
    Ok(match m {
        Msg::Notification(n) => json!({"mtype": "NOTIFICATION", "vote": vote(&n.vote),
                                       "round": n.round, "state": peer_state(n.state)}),
        Msg::FollowerInfo { accepted_epoch } => {
            json!({"mtype": "FOLLOWERINFO", "acceptedEpoch": accepted_epoch})
        }
        Msg::LeaderInfo { epoch } => json!({"mtype": "LEADERINFO", "epoch": epoch}),
        Msg::AckEpoch {
            current_epoch,
            last_zxid,
            fresh,
        } => json!({"mtype": "ACKEPOCH", "currentEpoch": current_epoch,
                    "lastZxid": zxid(*last_zxid), "fresh": fresh}),
        Msg::Sync {
            mode: m,
            entries,
            committed,
        } => json!({"mtype": "SYNC", "mode": mode(m), "entries": txns(entries),
                    "committed": zxid(*committed)}),
        Msg::NewLeader { epoch } => json!({"mtype": "NEWLEADER", "epoch": epoch}),
        Msg::AckNewLeader { last_zxid } => json!({"mtype": "ACKLD", "lastZxid": zxid(*last_zxid)}),
        Msg::UpToDate { committed } => json!({"mtype": "UPTODATE", "committed": zxid(*committed)}),
        Msg::Proposal(t) => json!({"mtype": "PROPOSAL", "txn": txn(t)}),
        Msg::Ack(z) => json!({"mtype": "ACK", "zxid": zxid(*z)}),
        Msg::Commit(z) => json!({"mtype": "COMMIT", "zxid": zxid(*z)}),
        Msg::Inform(t) => json!({"mtype": "INFORM", "txn": txn(t)}),
        Msg::Request(v) => json!({"mtype": "REQUEST", "value": v}),
        Msg::Disconnected => json!({"mtype": "DISCONNECTED"}),
        other => return Err(format!("{} is not in the TLA+ spec", other.kind())),
    })
}

fn timer(t: &super::ModelTimer) -> Result<Value, String> {
    match t {
        Timer::Flush => Ok(json!("Flush")),
        Timer::Finalize => Ok(json!("Finalize")),
        other => Err(format!("timer {other:?} is not in the TLA+ spec")),
    }
}

fn pairs<K, V>(m: impl IntoIterator<Item = (K, V)>, f: impl Fn(K, V) -> (Value, Value)) -> Value {
    Value::Array(
        m.into_iter()
            .map(|(k, v)| {
                let (k, v) = f(k, v);
                json!([k, v])
            })
            .collect(),
    )
}

fn server(state: &State, i: usize) -> Result<Value, String> {
    let st = &*state.actor_states[i];
    if st.fault.is_some() || !st.writer.is_empty() || st.unsaved || !st.held_acks.is_empty() {
        return Err(format!("server {i} has fine-grained state the spec lacks"));
    }
    let (kind, leader) = match &st.role {
        Role::Looking => ("LOOKING", -1),
        Role::Following(f) => ("FOLLOWING", f.leader as i64),
        Role::Leading(_) => ("LEADING", -1),
    };
    let phase = match st.phase() {
        Phase::Election => "ELECTION",
        Phase::Discovery => "DISCOVERY",
        Phase::Synchronization => "SYNCHRONIZATION",
        Phase::Broadcast => "BROADCAST",
    };
    let syncing = match &st.role {
        Role::Following(f) => f.syncing(),
        _ => None,
    };
    let pending = syncing.and_then(|s| s.pending.as_ref()).map(|p| {
        json!({"mode": mode(&p.mode), "entries": txns(&p.entries), "committed": zxid(p.committed)})
    });
    let none = crate::zab::Leading::default();
    let leading = match &st.role {
        Role::Leading(l) => l,
        _ => &none,
    };
    let disk = state.actor_storages.get(i).cloned().flatten();
    let timers: Result<Vec<Value>, String> = state
        .timers_set
        .get(i)
        .map(|t| t.iter().map(timer).collect())
        .unwrap_or_else(|| Ok(Vec::new()));
    let mut out = durable(&st.durable);
    let fields = json!({
        "disk": option(disk.as_ref().map(durable)),
        "committed": zxid(st.committed),
        "delivered": txns(&st.sm.0),
        "state": kind,
        "zabState": phase,
        "leader": leader,
        "pending": option(pending),
        "ackedNewLeader": syncing.is_some_and(|s| s.acked_new_leader),
        "newEpoch": leading.new_epoch().unwrap_or(0),
        "cepoch": pairs(&leading.cepoch, |k, v| (json!(k), json!(v))),
        "ackepoch": pairs(&leading.ackepoch, |k, (z, f)| {
            (json!(k), json!({"zxid": zxid(*z), "fresh": f}))
        }),
        "synced": json!(leading.synced),
        "ackld": json!(leading.ackld),
        "acks": pairs(&leading.acks, |z, ids| (zxid(*z), json!(ids))),
        "voteZxid": option(st.vote_zxid.map(zxid)),
        "timers": Value::Array(timers?),
        "round": st.election.round,
        "vote": vote(&st.election.vote),
        "recv": pairs(&st.election.recv, |k, v| (json!(k), vote(v))),
        "outOfElection": pairs(&st.election.out_of_election, |k, (r, v, p)| {
            (json!(k), json!({"round": r, "vote": vote(v), "state": peer_state(*p)}))
        }),
    });
    let obj = out.as_object_mut().expect("an object");
    obj.extend(fields.as_object().expect("an object").clone());
    Ok(out)
}

/// The spec's variables in `state`: `srv`, `crashed`, `msgs` and `emsgs` (the quorum and the
/// election connections' FIFOs, `msgs[j][i]` from j to i) and `ghost`.
pub fn state(model: &ZabModel, state: &State) -> Result<Value, String> {
    let n = model.cfg.bounds.servers;
    let srv: Result<Vec<Value>, String> = (0..n).map(|i| server(state, i)).collect();
    let mut msgs = vec![vec![Vec::new(); n]; n];
    let mut emsgs = vec![vec![Vec::new(); n]; n];
    if let Network::Ordered(flows) = &state.network {
        for ((src, dst), flow) in flows {
            let (s, d) = (usize::from(*src), usize::from(*dst));
            if s >= n || d >= n {
                return Err(format!("a message from {s} to {d} is left in the network"));
            }
            for m in flow {
                let fifo = match m.channel() {
                    Channel::Quorum => &mut msgs[s][d],
                    Channel::Election => &mut emsgs[s][d],
                };
                fifo.push(message(m)?);
            }
        }
    }
    let g = &state.history;
    let ghost = json!({
        "writes": g.writes, "crashes": g.crashes, "resets": g.resets,
        "committed": txns(&g.committed),
        "divergent": Value::Array(g.divergent.iter().map(txns).collect()),
        "broadcast": pairs(&g.broadcast, |z, v| (zxid(*z), json!(v))),
        "established": pairs(&g.established, |e, ids| (json!(e), json!(ids))),
        "initial": pairs(&g.initial, |e, zs| {
            (json!(e), Value::Array(zs.iter().map(|z| zxid(*z)).collect()))
        }),
        "restarted": json!(g.restarted),
        "votes": json!(g.votes),
        "staleVote": option(g.stale_vote.map(|(i, own, followed)| {
            let key = |(epoch, z, leader): (u32, Zxid, usize)| {
                json!({"epoch": epoch, "zxid": zxid(z), "leader": leader})
            };
            json!([i, key(own), key(followed)])
        })),
    });
    Ok(
        json!({"srv": srv?, "crashed": state.crashed, "msgs": msgs, "emsgs": emsgs,
              "ghost": ghost}),
    )
}

/// The spec's constants for `cfg` (tla/MCZab.tla and the .cfg files set the same ones).
pub fn constants(cfg: &ModelConfig) -> Value {
    let b = &cfg.bounds;
    let seeds: Vec<Value> = (0..b.servers)
        .map(|i| option(cfg.seeds.get(i).cloned().flatten().as_ref().map(durable)))
        .collect();
    json!({
        "Voters": cfg.server.voters, "Observers": cfg.server.observers,
        "Election": match cfg.server.election {
            ElectionMode::Oracle => "oracle",
            ElectionMode::Fast => "fast",
        },
        "ElectionOnly": cfg.server.election_only,
        // 0 stands for no bound (TLC's configuration files have no negative numbers).
        "MaxRound": if b.max_round == u32::MAX { 0 } else { b.max_round },
        "Bug": cfg.server.bug.map_or("none", |bug| bug.name()),
        "SnapCount": cfg.server.snap_count.unwrap_or(0),
        "Writes": b.writes, "FirstValue": b.first_value, "MaxCrashes": b.crashes,
        "MaxResets": b.resets, "MaxEpoch": b.max_epoch,
        "Seeds": seeds, "SeedCommitted": txns(&cfg.seed_committed),
        "AnyLeader": cfg.any_leader,
    })
}

/// Writes every random walk of a simulation as a trace file for `tla/Trace.tla`:
/// `DIR/walk-K.ndjson`, K = 1, 2, ..., whose first line is `{"constants": ...}` and each
/// further line one state, with the action that led to it. Walks are told apart by their
/// paths: a visit that does not extend the previous path starts a new walk. One checker thread.
/// Clones share the walks: keep one to call [`TraceWriter::finish`] after the run.
#[derive(Clone)]
pub struct TraceWriter {
    dir: PathBuf,
    constants: Value,
    inner: Arc<Mutex<Walks>>,
}

#[derive(Default)]
struct Walks {
    /// The actions of the walk being recorded.
    current: Vec<String>,
    /// Its lines so far.
    lines: Vec<String>,
    /// Walks written.
    written: usize,
    /// The first failure to render or write, which stops the recording.
    error: Option<String>,
    /// Set by `finish`: a checker still running past its time limit records nothing more.
    closed: bool,
}

impl TraceWriter {
    /// A writer into `dir` (created) for walks of `cfg`.
    pub fn new(dir: PathBuf, cfg: &ModelConfig) -> Result<Self, String> {
        if let Some(why) = uncovered(cfg) {
            return Err(format!("--trace-out: {}: {why}", cfg.name));
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(TraceWriter {
            dir,
            constants: json!({"constants": constants(cfg)}),
            inner: Arc::new(Mutex::new(Walks::default())),
        })
    }

    /// Writes the walk still being recorded and stops recording; returns how many walks were
    /// written.
    pub fn finish(&self) -> Result<usize, String> {
        let mut w = self.inner.lock().expect("not poisoned");
        self.flush(&mut w);
        w.closed = true;
        match w.error.take() {
            Some(e) => Err(e),
            None => Ok(w.written),
        }
    }

    fn flush(&self, w: &mut Walks) {
        if w.lines.is_empty() || w.error.is_some() {
            return;
        }
        w.written += 1;
        let file = self.dir.join(format!("walk-{}.ndjson", w.written));
        let mut text = format!("{}\n", self.constants);
        for line in w.lines.drain(..) {
            text.push_str(&line);
            text.push('\n');
        }
        let result = std::fs::File::create(&file).and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = result {
            w.error = Some(format!("{}: {e}", file.display()));
        }
    }
}

impl CheckerVisitor<ZabModel> for TraceWriter {
    fn visit(&self, model: &ZabModel, path: Path<State, super::Action>) {
        let steps = path.into_vec();
        let actions: Vec<String> = steps
            .iter()
            .filter_map(|(_, a)| a.as_ref().map(|a| model.format_action(a)))
            .collect();
        let mut w = self.inner.lock().expect("not poisoned");
        if w.error.is_some() || w.closed {
            return;
        }
        let extends = actions.len() == w.current.len() + 1 && actions.starts_with(&w.current);
        if !extends {
            self.flush(&mut w);
            w.current.clear();
            w.lines.clear();
            // A new walk is recorded from its initial state on.
            for k in 0..steps.len() {
                self.record(model, &steps[..=k], &mut w);
            }
        } else {
            self.record(model, &steps, &mut w);
        }
        w.current = actions;
    }
}

impl TraceWriter {
    fn record(&self, model: &ZabModel, steps: &[(State, Option<super::Action>)], w: &mut Walks) {
        let (last, _) = steps.last().expect("a path has a state");
        let action = steps
            .len()
            .checked_sub(2)
            .and_then(|k| steps[k].1.as_ref())
            .map_or("Init".to_string(), |a| model.format_action(a));
        match state(model, last) {
            Ok(mut v) => {
                v["action"] = json!(action);
                w.lines.push(v.to_string());
            }
            Err(e) => w.error = Some(e),
        }
    }
}

/// `v` written as a TLA+ value: objects as records, arrays as tuples (so `[]` is `<<>>`, the
/// spec's None), strings quoted, booleans TRUE and FALSE. tla/MCZab.tla writes the seeds so.
pub fn tla_value(v: &Value) -> String {
    match v {
        Value::Null => "<<>>".to_string(),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(tla_value).collect();
            format!("<<{}>>", items.join(", "))
        }
        Value::Object(o) => {
            let fields: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{k} |-> {}", tla_value(v)))
                .collect();
            format!("[{}]", fields.join(", "))
        }
    }
}
