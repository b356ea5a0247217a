//! Sessions: the timeout a client gets, and the leader's expiry tracker.
//!
//! A session's timeout is negotiated at connect time into `[min, max]` (by default 2 and 20
//! ticks, `minSessionTimeout`/`maxSessionTimeout`). Only the leader decides expiry: every
//! server reports the sessions its clients showed signs of life on, the leader pushes their
//! deadlines, and on each tick proposes `closeSession` for every session past its deadline
//! (ZooKeeper's `SessionTrackerImpl`; the deletion is a transaction like any other).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Session timeout limits, in ticks of `tick_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionLimits {
    /// Milliseconds per tick (`tickTime`).
    pub tick_ms: i32,
    /// Smallest timeout, in ms (`minSessionTimeout`, default 2 ticks).
    pub min_ms: i32,
    /// Largest timeout, in ms (`maxSessionTimeout`, default 20 ticks).
    pub max_ms: i32,
}

impl SessionLimits {
    /// ZooKeeper's defaults for a tick length.
    pub fn for_tick(tick_ms: i32) -> SessionLimits {
        SessionLimits {
            tick_ms,
            min_ms: 2 * tick_ms,
            max_ms: 20 * tick_ms,
        }
    }

    /// The timeout a client asking for `requested` ms gets.
    pub fn negotiate(&self, requested: i32) -> i32 {
        requested.clamp(self.min_ms, self.max_ms)
    }

    /// A timeout in whole ticks (at least one).
    pub fn ticks(&self, timeout_ms: i32) -> u64 {
        (timeout_ms / self.tick_ms.max(1)).max(1) as u64
    }
}

/// The leader's expiry deadlines, in ticks of its own clock.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionTracker {
    /// The leader's tick count.
    pub now: u64,
    deadlines: BTreeMap<i64, u64>,
}

impl SessionTracker {
    /// The session showed a sign of life: its deadline moves to now + its timeout.
    pub fn touch(&mut self, session: i64, timeout_ticks: u64) {
        self.deadlines.insert(session, self.now + timeout_ticks);
    }

    /// The session is gone (closed or expired): stop tracking it.
    pub fn remove(&mut self, session: i64) {
        self.deadlines.remove(&session);
    }

    /// Advances one tick; the sessions now past their deadline (each reported once: they stop
    /// being tracked, and the leader proposes their `closeSession`).
    pub fn tick(&mut self) -> Vec<i64> {
        self.now += 1;
        let now = self.now;
        let expired: Vec<i64> = self
            .deadlines
            .iter()
            .filter(|(_, &d)| d < now)
            .map(|(&s, _)| s)
            .collect();
        for s in &expired {
            self.deadlines.remove(s);
        }
        expired
    }

    /// Whether a session is tracked.
    pub fn tracks(&self, session: i64) -> bool {
        self.deadlines.contains_key(&session)
    }
}

/// The session password: derived from the session id and a server secret (ZooKeeper seeds a
/// random generator with `sessionId ^ superSecret`), so any server can check it.
pub fn password(session: i64, secret: u64) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(session.to_be_bytes());
    h.update(secret.to_be_bytes());
    h.finalize()[..16].to_vec()
}
