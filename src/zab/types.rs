//! Identifiers, transactions and the durable state of a ZAB server.

use super::machine::StateMachine;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug};
use std::sync::Arc;

/// An epoch number: ZooKeeper's `peerEpoch`; the paper's `e`.
pub type Epoch = u32;

/// A transaction id: `epoch << 32 | counter`, ordered as ZooKeeper orders them.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Zxid(pub u64);

impl Zxid {
    /// The zxid before any transaction.
    pub const ZERO: Zxid = Zxid(0);

    /// Builds `epoch << 32 | counter`.
    pub fn new(epoch: Epoch, counter: u32) -> Zxid {
        Zxid((u64::from(epoch) << 32) | u64::from(counter))
    }

    /// The epoch in which the transaction was proposed.
    pub fn epoch(self) -> Epoch {
        (self.0 >> 32) as Epoch
    }

    /// The position of the transaction within its epoch (1 for the first).
    pub fn counter(self) -> u32 {
        self.0 as u32
    }
}

impl Debug for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{},{}>", self.epoch(), self.counter())
    }
}

/// A proposal in a history: a zxid and the operation it carries (the paper's `<v, z>`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Txn<O> {
    /// Where the transaction stands in the total order.
    pub zxid: Zxid,
    /// What it does to the state machine.
    pub op: O,
}

impl<O: Debug> Debug for Txn<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}:{:?}", self.zxid, self.op)
    }
}

/// A state machine image covering every transaction up to `zxid` (ZooKeeper's `snapshot.<zxid>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Snapshot<S> {
    /// The last transaction folded into `state`.
    pub zxid: Zxid,
    /// The state machine after applying every transaction up to `zxid`.
    pub state: S,
}

/// What a server must find again after a crash: the actor's `Storage`.
///
/// ZooKeeper keeps these in the `acceptedEpoch` and `currentEpoch` files, the snapshots and
/// the transaction log. A step that changes any of them emits `save` in the same step (on the
/// pipelined write path, a proposal's change is saved by the log writer's own step), and the
/// runtime makes that save durable before it sends the messages that wait for it
/// ([`super::Config::is_log_write`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S: Serialize, S::Op: Serialize",
    deserialize = "S: Deserialize<'de>, S::Op: Deserialize<'de>"
))]
pub struct Durable<S: StateMachine> {
    /// The paper's `f.p`: the last epoch this server promised to (NEWEPOCH / LEADERINFO).
    pub accepted_epoch: Epoch,
    /// The paper's `f.a`: the epoch of the last NEWLEADER this server acknowledged.
    pub current_epoch: Epoch,
    /// Everything up to the snapshot point, folded into a state machine image. Shared: a
    /// save clones a pointer, not the tree.
    pub snapshot: Arc<Snapshot<S>>,
    /// The transaction log after the snapshot point, in zxid order (the paper's history `h`).
    pub log: Log<Txn<S::Op>>,
}

/// A log that a save copies in O(1): the entries sit behind an `Arc`, and a change copies them
/// only while someone else still holds the previous version (the runtime drops a save once it
/// has staged it; the model checker's states keep theirs, as values must). Reads see a slice.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Log<T: Clone>(Arc<Vec<T>>);

impl<T: Clone> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::new(Vec::new()))
    }
}

impl<T: Clone> std::ops::Deref for Log<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T: Clone> IntoIterator for &'a Log<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: Clone> From<Vec<T>> for Log<T> {
    fn from(v: Vec<T>) -> Self {
        Log(Arc::new(v))
    }
}

impl<T: Clone> FromIterator<T> for Log<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Log(Arc::new(iter.into_iter().collect()))
    }
}

impl<T: Clone> Log<T> {
    /// The entries, for changing (copied first only if shared).
    pub fn make_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }

    /// Appends an entry.
    pub fn push(&mut self, entry: T) {
        self.make_mut().push(entry);
    }

    /// Keeps the first `len` entries.
    pub fn truncate(&mut self, len: usize) {
        if len < self.0.len() {
            self.make_mut().truncate(len);
        }
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        if !self.0.is_empty() {
            self.make_mut().clear();
        }
    }

    /// Drops the first `n` entries.
    pub fn drop_front(&mut self, n: usize) {
        if n > 0 {
            self.make_mut().drain(..n);
        }
    }
}

impl<T: Clone + Serialize> Serialize for Log<T> {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        self.0.as_slice().serialize(z)
    }
}

impl<'de, T: Clone + Deserialize<'de>> Deserialize<'de> for Log<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Log::from)
    }
}

impl<S: StateMachine> Default for Durable<S> {
    fn default() -> Self {
        Durable {
            accepted_epoch: 0,
            current_epoch: 0,
            snapshot: Arc::default(),
            log: Log::default(),
        }
    }
}

impl<S: StateMachine> Durable<S> {
    /// The zxid of the last transaction this server holds (snapshot or log).
    pub fn last_zxid(&self) -> Zxid {
        self.log.last().map_or(self.snapshot.zxid, |t| t.zxid)
    }

    /// Whether this server holds transaction `zxid`, either in its log or folded into its snapshot.
    pub fn holds(&self, zxid: Zxid) -> bool {
        zxid <= self.snapshot.zxid || self.position(zxid).is_some()
    }

    /// The index of `zxid` in the log.
    pub fn position(&self, zxid: Zxid) -> Option<usize> {
        self.log.binary_search_by_key(&zxid, |t| t.zxid).ok()
    }

    /// The log entries after `zxid`.
    pub fn entries_after(&self, zxid: Zxid) -> Vec<Txn<S::Op>> {
        let start = self.log.partition_point(|t| t.zxid <= zxid);
        self.log[start..].to_vec()
    }

    /// The log entries after `zxid`, borrowed.
    pub fn entries_after_ref(&self, zxid: Zxid) -> &[Txn<S::Op>] {
        let start = self.log.partition_point(|t| t.zxid <= zxid);
        &self.log[start..]
    }

    /// Drops every log entry after `zxid` (the follower's side of TRUNC).
    pub fn truncate_after(&mut self, zxid: Zxid) {
        let keep = self.log.partition_point(|t| t.zxid <= zxid);
        self.log.truncate(keep);
    }

    /// Appends the entries newer than the last one held, keeping the log in zxid order.
    pub fn append_newer(&mut self, entries: &[Txn<S::Op>]) {
        for txn in entries {
            if txn.zxid > self.last_zxid() {
                self.log.push(txn.clone());
            }
        }
    }

    /// The state machine after applying every held transaction up to `committed`.
    pub fn state_at(&self, committed: Zxid) -> S {
        let mut sm = self.snapshot.state.clone();
        for txn in self.log.iter().take_while(|t| t.zxid <= committed) {
            let _ = sm.apply(txn);
        }
        sm
    }

    /// The zxid of the next proposal a leader of `current_epoch` makes.
    pub fn next_zxid(&self) -> Zxid {
        let last = self.last_zxid();
        if last.epoch() == self.current_epoch {
            Zxid(last.0 + 1)
        } else {
            Zxid::new(self.current_epoch, 1)
        }
    }
}

/// A vote's order in ZooKeeper: (peer epoch, last zxid, server id).
pub type VoteKey = (Epoch, Zxid, usize);
