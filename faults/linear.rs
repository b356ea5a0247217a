//! A linearizability checker for one object's history, after Wing & Gong as Lowe and
//! Porcupine refined it, written as a frontier over the history's events: the set of
//! configurations (model state, which of the running operations already took effect) that
//! explain every event so far. At an invocation the operation joins the running ones; at its
//! return every configuration is extended by linearizing running operations, in any order, until
//! this one is among them; configurations are deduplicated, so orders that reach the same state
//! with the same operations done are explored once. An operation of unknown outcome never
//! returns: it may be linearized at any later moment, or never.
//!
//! Limit: the frontier can grow with 2^k for k operations of unknown outcome on one object;
//! past `budget` configurations the verdict is `Unknown` (the report says so; keys are kept
//! short, a few hundred operations, so that this stays rare).

use crate::history::{Op, Outcome};
use std::collections::HashSet;
use std::hash::Hash;

/// A sequential specification.
pub trait Model {
    type State: Clone + Eq + Hash;
    fn init(&self) -> Self::State;
    /// The state after `op` takes effect in `s`, if `op`'s outcome is possible there (for an
    /// operation of unknown outcome: whatever it would do).
    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State>;
}

/// The checker's verdict on one history.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No order explains the return of operation `at` (an index into the history); `running`
    /// were the operations in flight then.
    Violation {
        at: usize,
        running: Vec<usize>,
    },
    /// Gave up after the budget of configurations.
    Unknown {
        explored: usize,
    },
}

/// Checks `ops` (one object's operations, indices into the whole history in `index`).
pub fn check<M: Model>(model: &M, history: &[Op], index: &[usize], budget: usize) -> Verdict {
    // Events: (time, is_return, op). At equal times invocations come first (the two
    // operations are then concurrent, the weaker claim).
    let mut events: Vec<(u64, bool, usize)> = Vec::new();
    for &i in index {
        let op = &history[i];
        if matches!(
            op.outcome,
            Outcome::Fail(_) | Outcome::Ok(_) | Outcome::Info(_)
        ) {
            events.push((op.invoke, false, i));
            if let Some(t) = op.complete {
                events.push((t, true, i));
            }
        }
    }
    events.sort();
    let mut running: Vec<usize> = Vec::new();
    let mut frontier: HashSet<(M::State, Vec<usize>)> = HashSet::new();
    frontier.insert((model.init(), Vec::new()));
    let mut explored = 0usize;
    for (_, is_return, i) in events {
        if !is_return {
            running.push(i);
            continue;
        }
        let mut next = HashSet::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<(M::State, Vec<usize>)> = frontier.drain().collect();
        while let Some((state, done)) = stack.pop() {
            if !seen.insert((state.clone(), done.clone())) {
                continue;
            }
            explored += 1;
            if explored > budget {
                return Verdict::Unknown { explored };
            }
            for &j in &running {
                if done.contains(&j) {
                    continue;
                }
                if let Some(s2) = model.step(&state, &history[j]) {
                    if j == i {
                        next.insert((s2, done.clone()));
                    } else {
                        let mut d2 = done.clone();
                        let at = d2.partition_point(|&x| x < j);
                        d2.insert(at, j);
                        stack.push((s2, d2));
                    }
                }
            }
            if done.contains(&i) {
                let mut d2 = done.clone();
                d2.retain(|&x| x != i);
                next.insert((state, d2));
            }
        }
        if next.is_empty() {
            return Verdict::Violation {
                at: i,
                running: running.clone(),
            };
        }
        running.retain(|&x| x != i);
        frontier = next;
    }
    Verdict::Linearizable
}
