//! The watch table against the Programmer's Guide ("ZooKeeper Watches", "Persistent,
//! Recursive Watches", "Semantics of Watches", "Remove Watches").

use std::collections::BTreeSet;
use zabkeeper::zk::watch::{EventType::*, WatchKind, WatchManager, WatcherType};

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

#[test]
fn pg_one_shot_watches_fire_once() {
    // "Watches are one time triggers": a data watch fires on the first change and is gone.
    let mut w = WatchManager::default();
    w.add("/a", 1, WatchKind::Data);
    w.add("/a", 2, WatchKind::Data);
    assert_eq!(w.trigger(NodeDataChanged, "/a"), set(&[1, 2]));
    assert_eq!(w.trigger(NodeDataChanged, "/a"), set(&[]));
    assert!(w.list().is_empty());
}

#[test]
fn pg_semantics_of_watches() {
    // "Semantics of Watches": created/deleted/changed fire data (and exist) watches; child
    // watches fire on NodeChildrenChanged and when the node itself is deleted; a data watch
    // ignores children, a child watch ignores data.
    let mut w = WatchManager::default();
    w.add("/p", 1, WatchKind::Child);
    w.add("/p", 2, WatchKind::Data);
    assert_eq!(w.trigger(NodeDataChanged, "/p"), set(&[2]));
    assert_eq!(w.trigger(NodeChildrenChanged, "/p"), set(&[1]));
    w.add("/p", 1, WatchKind::Child);
    w.add("/p", 2, WatchKind::Data);
    assert_eq!(
        w.trigger(NodeDeleted, "/p"),
        set(&[1, 2]),
        "one event per session"
    );
    w.add("/new", 3, WatchKind::Data);
    assert_eq!(w.trigger(NodeCreated, "/new"), set(&[3]));
    w.add("/p", 4, WatchKind::Data);
    assert_eq!(
        w.trigger(NodeCreated, "/p/child"),
        set(&[]),
        "no watch fires for other paths"
    );
}

#[test]
fn pg_persistent_and_recursive_watches() {
    // "Persistent, Recursive Watches": a persistent watch stays and gets every event of its
    // node; a recursive one gets created/deleted/data events of the node and all below it, but
    // no NodeChildrenChanged.
    let mut w = WatchManager::default();
    w.add("/p", 1, WatchKind::Persistent);
    w.add("/p", 2, WatchKind::PersistentRecursive);
    assert_eq!(w.trigger(NodeDataChanged, "/p"), set(&[1, 2]));
    assert_eq!(
        w.trigger(NodeDataChanged, "/p"),
        set(&[1, 2]),
        "persistent watches stay"
    );
    assert_eq!(w.trigger(NodeChildrenChanged, "/p"), set(&[1]));
    assert_eq!(w.trigger(NodeCreated, "/p/a/b"), set(&[2]));
    assert_eq!(w.trigger(NodeDeleted, "/p/a"), set(&[2]));
    w.add("/", 3, WatchKind::PersistentRecursive);
    assert_eq!(
        w.trigger(NodeDataChanged, "/x"),
        set(&[3]),
        "the root's recursive watch sees all"
    );
}

#[test]
fn pg_remove_and_check_watches() {
    // "Remove Watches": removeWatches by type; checkWatches only tells; NoWatcher (false)
    // when none matches; a closed session leaves no watches.
    let mut w = WatchManager::default();
    w.add("/a", 1, WatchKind::Data);
    w.add("/a", 1, WatchKind::Child);
    assert!(!w.remove(1, "/a", WatcherType::Persistent, true));
    assert!(w.remove(1, "/a", WatcherType::Data, true));
    assert!(w.remove(1, "/a", WatcherType::Data, false));
    assert!(!w.remove(1, "/a", WatcherType::Data, true));
    assert!(w.remove(1, "/a", WatcherType::Any, false));
    assert!(w.list().is_empty());
    w.add("/b", 2, WatchKind::Persistent);
    w.remove_session(2);
    assert!(w.list().is_empty());
}
