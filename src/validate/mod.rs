//! Trace validation: are the step logs of real servers (`ZABKEEPER_TRACE`, written by
//! [`crate::runtime::trace`]) one run of the model?
//!
//! The model checker explores what the actor can do in an environment that delivers messages
//! in order on each connection, loses them only when a connection resets or a server crashes,
//! and restarts a crashed server from its last saved state. The runtime claims to be such an
//! environment. [`validate`] checks the claim on a recorded run, in three passes:
//!
//! 1. [`network`]: each connection between servers is a FIFO. What a server wrote to a peer (or
//!    dropped when a connection broke) is exactly the sequence of messages its actor sent to
//!    that peer; what the peer read from a connection is a prefix of what was written on it.
//!    A message is read at most once, in order, from the connection it was written to.
//! 2. [`durability`]: a message that vouches for saved state
//!    ([`crate::zab::Msg::vouches_for_saved_state`]) was handed to the network only after the
//!    save of the step that sent it was fsynced.
//! 3. [`replay`]: the servers' steps, merged in an order that respects causality (a message is
//!    read after the step that sent it), are run again through the same actor, built from the
//!    same parameters. Every step must give the outputs the server logged; every read message
//!    must be the oldest one its sender still has in flight to it, the ones skipped lost to a
//!    reset or crash; a timer fires only when set; a restarted server starts from exactly what
//!    it last saved; and every safety property of [`crate::properties`] holds on every global
//!    state ([`props`]).
//!
//! The first step that fails is reported with its file and line. docs/trace-validation.md
//! says what the mapping from runtime events to the model's environment is, and where it is
//! weaker than the model.

pub mod durability;
pub mod network;
pub mod props;
pub mod read;
pub mod replay;

use std::fmt;
use std::path::Path;

/// The first step of a trace that is not a step of the model, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The trace file.
    pub file: String,
    /// Its line (1-based).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// What a validated trace held.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Servers with a trace file.
    pub servers: usize,
    /// Processes (a server's first start and each restart).
    pub processes: usize,
    /// Steps replayed.
    pub steps: usize,
    /// Messages between servers read and matched.
    pub deliveries: usize,
    /// Messages lost to a reset or a crash.
    pub lost: usize,
    /// Vouching messages checked against their fsync.
    pub vouching: usize,
    /// Restarts checked against the last saved state.
    pub restarts: usize,
    /// The safety properties checked on every global state.
    pub properties: Vec<&'static str>,
    /// Things outside the model that the trace shows (a wiped data directory).
    pub notices: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "valid: {} servers, {} processes, {} steps replayed, {} messages delivered, {} lost \
             to a reset or crash, {} vouching messages sent after their fsync, {} restarts from \
             the last saved state",
            self.servers,
            self.processes,
            self.steps,
            self.deliveries,
            self.lost,
            self.vouching,
            self.restarts
        )?;
        writeln!(
            f,
            "held on every global state: {}",
            self.properties.join(", ")
        )?;
        for n in &self.notices {
            writeln!(f, "notice: {n}")?;
        }
        Ok(())
    }
}

/// Validates the traces in `dir`.
pub fn validate(dir: &Path) -> Result<Report, Rejection> {
    let logs = read::read(dir)?;
    let net = network::check(&logs)?;
    let vouching = durability::check(&logs)?;
    let mut report = replay::run(&logs, &net)?;
    report.vouching = vouching;
    Ok(report)
}
