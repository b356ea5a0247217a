//! The connections: each written sequence is the actor's, each read sequence a prefix of a
//! written one.

use super::read::Logs;
use super::Rejection;
use crate::runtime::trace::{Input, Record};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A message a step sent: its server, process, step and place among the step's sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Eid {
    /// The sender.
    pub server: usize,
    /// The sender's process.
    pub proc: usize,
    /// The step.
    pub n: u64,
    /// Which of the step's sends.
    pub k: usize,
}

/// A step: server, process, number.
pub type Sid = (usize, usize, u64);

/// What became of a message to another server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Written to the socket of connection `conn`.
    Written(String),
    /// Dropped from the queue of a connection that broke.
    Dropped,
    /// Still queued when the sender's trace ends.
    Queued,
}

/// A message to another server, as its sender logged it.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its receiver.
    pub dst: usize,
    /// `election` or `quorum`.
    pub ch: &'static str,
    /// Its digest.
    pub d: u64,
    /// Its kind.
    pub kind: String,
    /// The line of the step that sent it.
    pub line: usize,
    /// What became of it.
    pub fate: Fate,
}

/// What the connections carried.
#[derive(Debug, Default)]
pub struct Net {
    /// Every message to another server (or to itself).
    pub sent: BTreeMap<Eid, Sent>,
    /// The message each reading step read.
    pub read: HashMap<Sid, Eid>,
    /// The messages some step read.
    pub delivered: HashSet<Eid>,
}

/// The channel a message of `kind` travels on (as [`crate::zab::Msg::channel`]).
pub fn channel_of(kind: &str) -> &'static str {
    if kind == "Notification" {
        "election"
    } else {
        "quorum"
    }
}

/// A channel's name as a trace line spells it, kept for the run (`election` or `quorum`).
pub fn channel_named(ch: &str) -> &'static str {
    if ch == "election" {
        "election"
    } else {
        "quorum"
    }
}

/// Checks every connection of the run.
pub fn check(logs: &Logs) -> Result<Net, Rejection> {
    let mut net = Net::default();
    let mut conns: HashMap<String, Conn> = HashMap::new();
    for procs in &logs.servers {
        for p in procs {
            writes(logs, p, &mut net, &mut conns)?;
        }
    }
    for procs in &logs.servers {
        for p in procs {
            reads(logs, p, &mut net, &conns)?;
        }
    }
    Ok(net)
}

/// One connection: who wrote what on it.
struct Conn {
    src: usize,
    dst: usize,
    ch: String,
    written: Vec<Eid>,
}

/// Matches a process's Wrote and Dropped lines, per peer and channel, with its actor's sends.
fn writes(
    logs: &Logs,
    p: &super::read::Process,
    net: &mut Net,
    conns: &mut HashMap<String, Conn>,
) -> Result<(), Rejection> {
    let i = p.server;
    let servers = logs.servers.len();
    let mut queues: HashMap<(usize, &'static str), std::collections::VecDeque<Eid>> =
        HashMap::new();
    for line in &p.lines {
        match &line.rec {
            Record::Step { n, sends, .. } => {
                for (k, s) in sends.iter().enumerate().filter(|(_, s)| s.dst < servers) {
                    let eid = Eid {
                        server: i,
                        proc: p.ordinal,
                        n: *n,
                        k,
                    };
                    let ch = channel_of(&s.kind);
                    let sent = Sent {
                        dst: s.dst,
                        ch,
                        d: s.d,
                        kind: s.kind.clone(),
                        line: line.no,
                        fate: Fate::Queued,
                    };
                    net.sent.insert(eid, sent);
                    if s.dst != i {
                        queues.entry((s.dst, ch)).or_default().push_back(eid);
                    }
                }
            }
            Record::Wrote {
                dst,
                ch,
                conn,
                d,
                kind,
            } => {
                let eid = next_sent(logs, p, net, &mut queues, (*dst, ch, *d, kind), line.no)?;
                net.sent.get_mut(&eid).expect("sent").fate = Fate::Written(conn.clone());
                let c = conns.entry(conn.clone()).or_insert_with(|| Conn {
                    src: i,
                    dst: *dst,
                    ch: ch.clone(),
                    written: Vec::new(),
                });
                if (c.src, c.dst, c.ch.as_str()) != (i, *dst, ch.as_str()) {
                    let reason = format!("connection {conn} is also {}'s to {}", c.src, c.dst);
                    return Err(logs.reject(i, line.no, reason));
                }
                c.written.push(eid);
            }
            Record::Dropped { dst, ch, d, kind } => {
                let eid = next_sent(logs, p, net, &mut queues, (*dst, ch, *d, kind), line.no)?;
                net.sent.get_mut(&eid).expect("sent").fate = Fate::Dropped;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The oldest message still queued for `dst` on `ch`, which must be the one written or dropped.
fn next_sent(
    logs: &Logs,
    p: &super::read::Process,
    net: &Net,
    queues: &mut HashMap<(usize, &'static str), std::collections::VecDeque<Eid>>,
    (dst, ch, d, kind): (usize, &str, u64, &str),
    no: usize,
) -> Result<Eid, Rejection> {
    let ch = channel_named(ch);
    let queue = queues.entry((dst, ch)).or_default();
    match queue.front() {
        Some(eid) if net.sent[eid].d == d => Ok(queue.pop_front().expect("front")),
        Some(eid) => {
            let next = &net.sent[eid];
            let reason = format!(
                "the connection to server {dst} ({ch}) wrote {kind}, but the oldest message the \
                 actor had sent there and not yet written is {} (line {}): the connection \
                 reordered or duplicated messages",
                next.kind, next.line
            );
            Err(logs.reject(p.server, no, reason))
        }
        None => {
            let reason = format!(
                "the connection to server {dst} ({ch}) wrote {kind}, but the actor had sent \
                 nothing more there: the connection duplicated or made up a message"
            );
            Err(logs.reject(p.server, no, reason))
        }
    }
}

/// Matches a process's reads with what was written on each connection (and its own messages).
fn reads(
    logs: &Logs,
    p: &super::read::Process,
    net: &mut Net,
    conns: &HashMap<String, Conn>,
) -> Result<(), Rejection> {
    let i = p.server;
    let mut count: HashMap<&str, usize> = HashMap::new();
    let own: Vec<Eid> = net
        .sent
        .iter()
        .filter(|(e, s)| e.server == i && e.proc == p.ordinal && s.dst == i)
        .map(|(e, _)| *e)
        .collect();
    let mut own = own.into_iter();
    let mut broken: HashSet<&str> = HashSet::new();
    for line in &p.lines {
        let Record::Step { n, input, .. } = &line.rec else {
            continue;
        };
        let sid = (i, p.ordinal, *n);
        let eid = match input {
            Input::Broken { conn, .. } => {
                broken.insert(conn.as_str());
                continue;
            }
            Input::Peer {
                src, conn, kind, ..
            } if broken.contains(conn.as_str()) => {
                let reason = format!(
                    "read {kind} from server {src} on connection {conn} after it broke (this \
                     server was told, and the model has reset it)"
                );
                return Err(logs.reject(i, line.no, reason));
            }
            Input::Peer {
                src,
                ch,
                conn,
                d,
                kind,
            } => {
                let idx = count.entry(conn.as_str()).or_default();
                *idx += 1;
                let read = (*src, ch.as_str(), conn.as_str(), *d, kind.as_str());
                read_peer(net, conns, (i, *idx), read).map_err(|r| logs.reject(i, line.no, r))?
            }
            Input::Own { d } => match own.next() {
                Some(eid) if net.sent[&eid].d == *d => eid,
                _ => {
                    let reason =
                        "read a message from itself that is not the next one it sent itself";
                    return Err(logs.reject(i, line.no, reason.into()));
                }
            },
            _ => continue,
        };
        net.read.insert(sid, eid);
        net.delivered.insert(eid);
    }
    Ok(())
}

/// The message that read `idx` (1-based) of server `i` from connection `conn` is: the `idx`-th
/// written on it, with the digest read.
fn read_peer(
    net: &Net,
    conns: &HashMap<String, Conn>,
    (i, idx): (usize, usize),
    (src, ch, conn, d, kind): (usize, &str, &str, u64, &str),
) -> Result<Eid, String> {
    let Some(c) = conns.get(conn) else {
        return Err(format!(
            "read {kind} from server {src} on connection {conn}, on which no server wrote"
        ));
    };
    if (c.src, c.dst, c.ch.as_str()) != (src, i, ch) {
        return Err(format!(
            "read from server {src} ({ch}) on connection {conn}, which is server {}'s to {} ({})",
            c.src, c.dst, c.ch
        ));
    }
    match c.written.get(idx - 1).copied() {
        Some(eid) if net.sent[&eid].d == d => Ok(eid),
        Some(eid) => {
            let w = &net.sent[&eid];
            Err(format!(
                "read {kind} from server {src} as message {idx} of connection {conn}, but \
                 message {idx} written on it was {} (sent at line {} of server {src}'s trace): \
                 the connection reordered or duplicated messages",
                w.kind, w.line
            ))
        }
        None => Err(format!(
            "read {kind} from server {src} as message {idx} of connection {conn}, but only {} \
             were written on it: the connection duplicated or made up a message",
            idx - 1
        )),
    }
}
