//! Timers with generations: a cancelled or re-armed timer never fires late.
//!
//! Setting a timer draws a duration from the range the actor gave, bumps the timer's
//! generation and schedules an [`Event::Timer`] with it; a firing whose generation is no longer
//! the timer's current one is ignored, and a fired timer is no longer set (as in the model).

use super::Event;
use crate::zk::server::ZkTimer;

type Timer = crate::zab::Timer<ZkTimer>;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The timers of one server.
#[derive(Clone)]
pub struct Timers {
    set: Arc<Mutex<(u64, HashMap<Timer, u64>)>>,
    inbox: Sender<Event>,
    rt: tokio::runtime::Handle,
}

impl Timers {
    /// Timers that fire into `inbox`, scheduled on `rt`.
    pub fn new(inbox: Sender<Event>, rt: tokio::runtime::Handle) -> Timers {
        Timers {
            set: Arc::new(Mutex::new((0, HashMap::new()))),
            inbox,
            rt,
        }
    }

    /// Sets (or re-arms) `timer` to fire after a duration within `range`.
    pub fn set(&self, timer: Timer, range: Range<Duration>) {
        let generation = {
            let mut guard = self.set.lock().expect("timers lock");
            guard.0 += 1;
            let g = guard.0;
            guard.1.insert(timer.clone(), g);
            g
        };
        let delay = pick(&range, generation);
        let inbox = self.inbox.clone();
        self.rt.spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = inbox.send(Event::Timer(timer, generation));
        });
    }

    /// Sets `timer` to fire at once, as the actor loop's next step: returns the generation the
    /// loop hands back with [`Timers::fire`] (no task, no trip through the inbox).
    pub fn set_now(&self, timer: Timer) -> u64 {
        let mut guard = self.set.lock().expect("timers lock");
        guard.0 += 1;
        let g = guard.0;
        guard.1.insert(timer, g);
        g
    }

    /// Cancels `timer` if set.
    pub fn cancel(&self, timer: &Timer) {
        self.set.lock().expect("timers lock").1.remove(timer);
    }

    /// Whether a firing of `timer` with `generation` is current; if so the timer is unset.
    pub fn fire(&self, timer: &Timer, generation: u64) -> bool {
        let mut guard = self.set.lock().expect("timers lock");
        if guard.1.get(timer) == Some(&generation) {
            guard.1.remove(timer);
            true
        } else {
            false
        }
    }
}

/// A duration within `range`, spread by a cheap hash of the generation (no randomness needed
/// for correctness: the model fires timers at any moment).
fn pick(range: &Range<Duration>, generation: u64) -> Duration {
    let span = range.end.saturating_sub(range.start);
    if span.is_zero() {
        return range.start;
    }
    let h = generation
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(17);
    range.start + span.mul_f64((h % 1000) as f64 / 1000.0)
}
