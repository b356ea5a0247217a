//! The step log for trace validation (`ZABKEEPER_TRACE=DIR`): each server appends to
//! `DIR/server-<index>.trace` one JSON line per event of its actor loop and of its peer
//! connections, and `zabkeeper validate-trace DIR` checks that the logs of all servers are
//! together a run of the model (docs/trace-validation.md).
//!
//! What a line records: a process [`Record::Start`] with the durable state it recovered; each
//! actor [`Record::Step`] with its input (a peer message with its connection, the runtime's own
//! notice that a connection broke, a timer, the clock, a client's message) and its outputs
//! (the messages and whether it saved); [`Record::Durable`] once the staged saves are fsynced;
//! [`Record::Send`] when the loop hands a message to a connection; [`Record::Wrote`] just before
//! a connection writes it to its socket; [`Record::Closed`] when a connection from a peer ends.
//! Messages that come from another server are named by a digest of their bytes (the validator
//! re-runs their sender and compares); everything that comes from outside the ensemble is
//! logged whole. A connection is named by the sending end's socket address, which both ends
//! know, so the wire carries nothing extra.
//!
//! Lines are written with one `write` each to a file opened for appending, so a `kill -9`
//! loses none that was written; the loop writes a step's line before it stages its save.
//!
//! `ZABKEEPER_BREAK` switches on one deliberate runtime fault, to show the validator (or the
//! fault harness, `faults/`) rejects it: `duplicate` (a peer connection hands one frame to the
//! actor twice), `reorder` (a peer connection writes two messages in swapped order),
//! `ack-before-fsync` (the loop sends a batch's messages before it fsyncs) or `late-commit`
//! (a peer connection delays COMMITs and lets what follows them pass). Never set it outside
//! tests.

use crate::zab::msg::Channel;
use crate::zab::Msg;
use crate::zk::ZooKeeper;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// One line of a server's trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum Record {
    /// A process started (after a crash, or for the first time) from `recovered`.
    Start {
        /// When (microseconds since the Unix epoch; only orders the merge of the servers'
        /// logs, which causality constrains anyway).
        at: u64,
        /// The process id.
        pid: u32,
        /// What the actor is built from.
        params: super::ActorParams,
        /// The durable state recovery found (postcard, hex), or none for an empty directory.
        recovered: Option<String>,
    },
    /// One actor step.
    Step {
        /// When, as for `Start`.
        at: u64,
        /// The step's number in this process (the start is step 0).
        n: u64,
        /// What was delivered.
        input: Input,
        /// The messages it sent, in order.
        sends: Vec<Sent>,
        /// The digest of the durable state it saved, if it saved ([`durable_digest`]).
        save: Option<u64>,
    },
    /// Every save of steps up to `n` is on disk (fsynced).
    Durable {
        /// The last step whose save is covered.
        n: u64,
    },
    /// The loop handed a message of step `n` to the network.
    Send {
        /// The step that sent it.
        n: u64,
        /// Its destination.
        dst: usize,
        /// Its digest.
        d: u64,
        /// Its kind ([`Msg::kind`]).
        kind: String,
        /// Whether it vouches for saved state ([`Msg::vouches_for_saved_state`]).
        vouches: bool,
    },
    /// A connection to peer `dst` wrote a message to its socket.
    Wrote {
        /// The peer.
        dst: usize,
        /// `election` or `quorum`.
        ch: String,
        /// The connection (this end's socket address).
        conn: String,
        /// The message's digest.
        d: u64,
        /// Its kind.
        kind: String,
    },
    /// A connection to peer `dst` broke and dropped a message still queued for it.
    Dropped {
        /// The peer.
        dst: usize,
        /// `election` or `quorum`.
        ch: String,
        /// The message's digest.
        d: u64,
        /// Its kind.
        kind: String,
    },
    /// A connection from peer `src` ended (this server reads no more from it).
    Closed {
        /// The peer.
        src: usize,
        /// `election` or `quorum`.
        ch: String,
        /// The connection (the peer's socket address).
        conn: String,
    },
}

/// The input of a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "lowercase")]
pub enum Input {
    /// The start: `on_start`.
    Start,
    /// A message from peer `src` read from connection `conn`.
    Peer {
        /// The sender.
        src: usize,
        /// `election` or `quorum`.
        ch: String,
        /// The connection (the sender's socket address).
        conn: String,
        /// The digest of the message's bytes.
        d: u64,
        /// Its kind.
        kind: String,
    },
    /// The runtime noticed that quorum connection `conn` with `src` broke and told the actor
    /// (`Disconnected` from `src`).
    Broken {
        /// The peer.
        src: usize,
        /// The connection.
        conn: String,
    },
    /// A message this server sent itself.
    Own {
        /// Its digest.
        d: u64,
    },
    /// A message from outside the ensemble (a client, the clock): logged whole.
    Local {
        /// The sender (a client connection, or this server for the clock).
        src: usize,
        /// The message (postcard, hex).
        msg: String,
    },
    /// A timer fired.
    Timer {
        /// The timer (postcard, hex).
        timer: String,
    },
}

/// A message a step sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The destination.
    pub dst: usize,
    /// The digest.
    pub d: u64,
    /// The kind.
    pub kind: String,
}

/// A deliberate runtime fault (`ZABKEEPER_BREAK`), for showing that validation rejects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Break {
    /// A connection from a peer hands one quorum frame to the actor twice.
    Duplicate,
    /// A connection to a peer writes two quorum messages in swapped order.
    Reorder,
    /// The loop sends every message at once, without waiting for the saves the durability rule
    /// makes it wait for.
    AckBeforeFsync,
    /// A connection from a peer hands COMMITs to the actor late, letting the messages behind
    /// them pass: a follower answers a `sync` before it applied what the leader committed
    /// first (for the fault harness: its reads after `sync` go stale).
    LateCommit,
}

impl Break {
    /// The fault `ZABKEEPER_BREAK` names, if any.
    pub fn from_env() -> Option<Break> {
        match std::env::var("ZABKEEPER_BREAK").ok()?.as_str() {
            "duplicate" => Some(Break::Duplicate),
            "reorder" => Some(Break::Reorder),
            "ack-before-fsync" => Some(Break::AckBeforeFsync),
            "late-commit" => Some(Break::LateCommit),
            _ => None,
        }
    }
}

/// A server's trace file.
pub struct Tracer {
    file: Mutex<File>,
}

impl Tracer {
    /// The tracer of server `me` when `ZABKEEPER_TRACE` names a directory.
    pub fn from_env(me: usize) -> std::io::Result<Option<Tracer>> {
        let Some(dir) = std::env::var_os("ZABKEEPER_TRACE") else {
            return Ok(None);
        };
        Tracer::open(Path::new(&dir), me).map(Some)
    }

    /// Appends to `dir/server-<me>.trace`.
    pub fn open(dir: &Path, me: usize) -> std::io::Result<Tracer> {
        std::fs::create_dir_all(dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(file_name(me)))?;
        Ok(Tracer {
            file: Mutex::new(file),
        })
    }

    /// Writes one line.
    pub fn log(&self, record: &Record) {
        let mut line = serde_json::to_vec(record).expect("records serialize");
        line.push(b'\n');
        let mut file = self.file.lock().expect("trace lock");
        if let Err(e) = file.write_all(&line) {
            tracing::error!(%e, "cannot write the trace");
        }
    }
}

/// The trace file of server `me`.
pub fn file_name(me: usize) -> String {
    format!("server-{me}.trace")
}

/// FNV-1a, 64 bits: the same bytes give the same digest in every process.
pub fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The digest of a message: of its peer encoding (what a connection writes).
pub fn msg_digest(msg: &Msg<ZooKeeper>) -> u64 {
    digest(&postcard::to_stdvec(msg).expect("messages serialize"))
}

/// The digest of a saved durable state: its epochs, snapshot point and log (not the tree: a
/// restart's line carries the whole recovered state, which the validator compares in full).
pub fn durable_digest(d: &super::storage::ZkDurable) -> u64 {
    let key = (d.accepted_epoch, d.current_epoch, d.snapshot.zxid, &d.log);
    digest(&postcard::to_stdvec(&key).expect("durable state serializes"))
}

/// Hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of `hex`, if it is hex.
pub fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Now, for [`Record::Step`]'s `at`.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A channel's name in a trace.
pub fn channel_name(ch: Channel) -> &'static str {
    match ch {
        Channel::Election => "election",
        Channel::Quorum => "quorum",
    }
}
