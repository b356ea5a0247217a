//! A run's history: every operation a client invoked, when, and what came back. An operation
//! whose outcome the client cannot know (the connection dropped, the reply timed out, the
//! session expired while it was in flight) is `Info`: it may have taken effect at any moment
//! after its invocation, or never. The history is saved as JSON and drawn as an SVG timeline.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum F {
    /// Register: `sync` then `getData`.
    Read,
    /// Register: unconditional `setData`.
    Write(i64),
    /// Register: `setData` expecting `version`.
    Cas { version: i32, value: i64 },
    /// Set: create the element's node.
    Add(i64),
    /// Set: `sync` then `getChildren`.
    ReadSet,
    /// Unique ids: create a sequential node.
    NewId,
    /// Counter: `multi` of check(version) and setData(value + 1).
    Incr { version: i32, from: i64 },
    /// Counter: `sync` then `getData`.
    ReadCounter,
    /// Queue: create a sequential child holding the element.
    Enqueue(i64),
    /// Queue: the lowest child (holding this element) read, then `multi` of check(version)
    /// and delete.
    Dequeue(i64),
    /// Lock: an ephemeral sequential node became the lowest; token = its czxid.
    Acquire,
    /// Lock: the protected node read, and written with `token` if no greater token is there.
    Protected { token: i64 },
    /// Lock: the lock node deleted.
    Release,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Done, with the value it returned (meaning per operation, see `F`).
    Ok(Ret),
    /// Definitely not done (BadVersion, NoNode...), with why.
    Fail(String),
    /// Unknown (connection loss, timeout, expiry), with why.
    Info(String),
    /// Still running when the history was taken.
    Pending,
}

/// A returned value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ret {
    None,
    Int(i64),
    /// A register's (value, version).
    Versioned(i64, i32),
    List(Vec<i64>),
}

/// One operation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Op {
    /// The client (each its own session; a client whose session expired opens a new one).
    pub process: usize,
    /// The object it works on (a register's key, the set, the queue...).
    pub key: String,
    pub f: F,
    /// Microseconds since the run began.
    pub invoke: u64,
    /// When the outcome came back; `None` for `Info` and `Pending`.
    pub complete: Option<u64>,
    pub outcome: Outcome,
}

/// The history being recorded, shared by the clients.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Recorder {
    pub fn new(start: Instant) -> Recorder {
        Recorder {
            start,
            ops: Arc::default(),
        }
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Records an invocation; returns its index for `complete`.
    pub fn invoke(&self, process: usize, key: &str, f: F) -> usize {
        let op = Op {
            process,
            key: key.to_string(),
            f,
            invoke: self.now(),
            complete: None,
            outcome: Outcome::Pending,
        };
        let mut ops = self.ops.lock().unwrap();
        ops.push(op);
        ops.len() - 1
    }

    /// Records the outcome of operation `i`.
    pub fn complete(&self, i: usize, outcome: Outcome) {
        let now = self.now();
        let mut ops = self.ops.lock().unwrap();
        ops[i].complete = match outcome {
            Outcome::Info(_) | Outcome::Pending => None,
            _ => Some(now),
        };
        ops[i].outcome = outcome;
    }

    /// The history so far; operations still running become `Pending`.
    pub fn take(&self) -> Vec<Op> {
        self.ops.lock().unwrap().clone()
    }

    /// Microseconds since the run began (for nemesis events).
    pub fn elapsed(&self) -> u64 {
        self.now()
    }
}

/// A nemesis event on the timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub at: u64,
    pub what: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG timeline, one lane per client, Porcupine-style: each operation a bar from invocation
/// to outcome (green done, amber failed, grey unknown to the end, red the ones a checker
/// blames), nemesis events as vertical lines with their names.
pub fn svg(title: &str, ops: &[Op], events: &[Event], blamed: &[usize]) -> String {
    let end = ops
        .iter()
        .map(|o| o.complete.unwrap_or(o.invoke))
        .chain(events.iter().map(|e| e.at))
        .max()
        .unwrap_or(1)
        .max(1);
    let lanes = ops
        .iter()
        .map(|o| o.process)
        .max()
        .map(|p| p + 1)
        .unwrap_or(1);
    let (w, lane_h, top) = (1600.0, 22.0, 40.0);
    let x = |t: u64| 60.0 + (t as f64 / end as f64) * (w - 80.0);
    let h = top + lanes as f64 * lane_h + 60.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"monospace\" font-size=\"10\">\n\
         <text x=\"10\" y=\"16\" font-size=\"13\">{}</text>\n",
        esc(title)
    );
    for p in 0..lanes {
        let y = top + p as f64 * lane_h;
        out += &format!("<text x=\"4\" y=\"{}\">c{p}</text>\n", y + 14.0);
    }
    for (k, o) in ops.iter().enumerate() {
        let y = top + o.process as f64 * lane_h + 2.0;
        let x0 = x(o.invoke);
        let x1 = x(o.complete.unwrap_or(end)).max(x0 + 1.5);
        let color = if blamed.contains(&k) {
            "#d62728"
        } else {
            match o.outcome {
                Outcome::Ok(_) => "#2ca02c",
                Outcome::Fail(_) => "#ffbf3f",
                _ => "#bbbbbb",
            }
        };
        out += &format!(
            "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\" opacity=\"0.8\"><title>#{k} {} {:?} -> {:?}</title></rect>\n",
            x1 - x0,
            lane_h - 4.0,
            esc(&o.key),
            o.f,
            o.outcome
        );
    }
    for (k, e) in events.iter().enumerate() {
        let xe = x(e.at);
        let ty = h - 8.0 - (k % 3) as f64 * 11.0;
        out += &format!(
            "<line x1=\"{xe:.1}\" y1=\"{}\" x2=\"{xe:.1}\" y2=\"{}\" stroke=\"#1f77b4\" stroke-dasharray=\"3,2\"/>\n\
             <text x=\"{:.1}\" y=\"{}\" fill=\"#1f77b4\">{}</text>\n",
            top - 6.0,
            h - 40.0,
            xe + 2.0,
            ty,
            esc(&e.what)
        );
    }
    out + "</svg>\n"
}
