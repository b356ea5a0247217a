//! Watches (ZooKeeper's `WatchManager`): kept by the server a session is connected to, fired
//! by the transactions it applies. Not replicated: after reconnecting elsewhere, a client
//! re-registers them with `setWatches` and gets what it missed.
//!
//! Rules (Programmer's Guide, "ZooKeeper Watches"): `getData`/`exists` set a data watch,
//! `getChildren` a child watch; a one-shot watch fires once and is gone; a data watch fires on
//! NodeCreated, NodeDeleted, NodeDataChanged of its path; a child watch on NodeChildrenChanged
//! of its path and NodeDeleted of the node itself. A persistent watch (`addWatch`, mode 0)
//! stays and gets all four events of its path; a persistent recursive one (mode 1) gets
//! NodeCreated, NodeDeleted and NodeDataChanged of its path and every path below it.

use super::path;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// jute's `WatcherEvent.type` (`Watcher.Event.EventType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// A connection state change.
    None = -1,
    /// The node was created.
    NodeCreated = 1,
    /// The node was deleted.
    NodeDeleted = 2,
    /// The node's data changed.
    NodeDataChanged = 3,
    /// The node's children changed.
    NodeChildrenChanged = 4,
    /// A data watch was removed.
    DataWatchRemoved = 5,
    /// A child watch was removed.
    ChildWatchRemoved = 6,
    /// A persistent watch was removed.
    PersistentWatchRemoved = 7,
}

/// What kind of watch (the server keeps data, child and persistent tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WatchKind {
    /// One-shot, set by `getData` or `exists`.
    Data,
    /// One-shot, set by `getChildren`.
    Child,
    /// `addWatch` mode 0.
    Persistent,
    /// `addWatch` mode 1.
    PersistentRecursive,
}

/// `removeWatches`/`checkWatches` type: which watches a request names (`WatcherType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WatcherType {
    /// Child watches (1).
    Children = 1,
    /// Data watches (2).
    Data = 2,
    /// Every kind (3).
    Any = 3,
    /// Persistent watches (4).
    Persistent = 4,
    /// Persistent recursive watches (5).
    PersistentRecursive = 5,
}

impl WatcherType {
    /// The type with wire value `v`.
    pub fn from_value(v: i32) -> Option<WatcherType> {
        use WatcherType::*;
        [Children, Data, Any, Persistent, PersistentRecursive]
            .into_iter()
            .find(|t| *t as i32 == v)
    }

    fn covers(self, kind: WatchKind) -> bool {
        match self {
            WatcherType::Any => true,
            WatcherType::Children => kind == WatchKind::Child,
            WatcherType::Data => kind == WatchKind::Data,
            WatcherType::Persistent => kind == WatchKind::Persistent,
            WatcherType::PersistentRecursive => kind == WatchKind::PersistentRecursive,
        }
    }
}

/// The watches of one server: path → session → kinds.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WatchManager {
    watches: BTreeMap<String, BTreeMap<i64, BTreeSet<WatchKind>>>,
}

impl WatchManager {
    /// Registers a watch.
    pub fn add(&mut self, path: &str, session: i64, kind: WatchKind) {
        let kinds = self.watches.entry(path.to_string()).or_default();
        kinds.entry(session).or_default().insert(kind);
    }

    /// Fires `event` at `path`: the sessions to notify (each once), removing the one-shot
    /// watches that fired.
    pub fn trigger(&mut self, event: EventType, at: &str) -> BTreeSet<i64> {
        let mut notify = BTreeSet::new();
        let mut p = at.to_string();
        let mut exact = true;
        loop {
            if let Some(sessions) = self.watches.get_mut(&p) {
                for (session, kinds) in sessions.iter_mut() {
                    let fired: Vec<WatchKind> = kinds
                        .iter()
                        .copied()
                        .filter(|k| fires(*k, event, exact))
                        .collect();
                    if !fired.is_empty() {
                        notify.insert(*session);
                    }
                    for k in fired {
                        if matches!(k, WatchKind::Data | WatchKind::Child) {
                            kinds.remove(&k);
                        }
                    }
                }
                sessions.retain(|_, kinds| !kinds.is_empty());
                if sessions.is_empty() {
                    self.watches.remove(&p);
                }
            }
            match path::parent(&p) {
                Ok(parent) if p != "/" => p = parent.to_string(),
                _ => break,
            }
            exact = false;
        }
        notify
    }

    /// Removes the session's watches of `kinds` at `path`; whether any was there
    /// (`removeWatches`, or `checkWatches` with `dry_run`).
    pub fn remove(&mut self, session: i64, path: &str, which: WatcherType, dry_run: bool) -> bool {
        let Some(kinds) = self.watches.get_mut(path).and_then(|s| s.get_mut(&session)) else {
            return false;
        };
        let found = kinds.iter().any(|k| which.covers(*k));
        if !dry_run {
            kinds.retain(|k| !which.covers(*k));
            self.prune(path);
        }
        found
    }

    /// Drops every watch of a session (its connection closed).
    pub fn remove_session(&mut self, session: i64) {
        for sessions in self.watches.values_mut() {
            sessions.remove(&session);
        }
        self.watches.retain(|_, s| !s.is_empty());
    }

    /// The (path, session, kind) triples, for `wchs`/`wchp`/`wchc` and tests.
    pub fn list(&self) -> Vec<(String, i64, WatchKind)> {
        let mut out = Vec::new();
        for (p, sessions) in &self.watches {
            for (s, kinds) in sessions {
                out.extend(kinds.iter().map(|k| (p.clone(), *s, *k)));
            }
        }
        out
    }

    fn prune(&mut self, path: &str) {
        if let Some(sessions) = self.watches.get_mut(path) {
            sessions.retain(|_, kinds| !kinds.is_empty());
            if sessions.is_empty() {
                self.watches.remove(path);
            }
        }
    }
}

/// Whether a watch of `kind` fires for `event` at its own path (`exact`) or below it.
fn fires(kind: WatchKind, event: EventType, exact: bool) -> bool {
    use EventType::*;
    match kind {
        WatchKind::Data => exact && matches!(event, NodeCreated | NodeDeleted | NodeDataChanged),
        WatchKind::Child => exact && matches!(event, NodeChildrenChanged | NodeDeleted),
        WatchKind::Persistent => {
            exact
                && matches!(
                    event,
                    NodeCreated | NodeDeleted | NodeDataChanged | NodeChildrenChanged
                )
        }
        WatchKind::PersistentRecursive => {
            matches!(event, NodeCreated | NodeDeleted | NodeDataChanged)
        }
    }
}
