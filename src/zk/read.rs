//! Reads, served by whichever server the session is connected to, from its committed tree
//! (ZooKeeper's `FinalRequestProcessor` for exists, getData, getChildren, getACL...).
//! Also `setWatches`: re-registering watches after a reconnect, firing what was missed.

use super::acl::{self, perms, Acl, Id};
use super::code::{Code, ZkResult};
use super::path;
use super::stat::Stat;
use super::tree::{DataTree, Store, Trigger};
use super::watch::{EventType, WatchKind};
use serde::{Deserialize, Serialize};
use std::ops::Bound;

/// A read request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReadOp {
    /// `exists`: no ACL check; a watch is left even when the node is missing.
    Exists,
    /// `getData`: READ.
    GetData,
    /// `getChildren`/`getChildren2`: READ.
    GetChildren,
    /// `getACL`: READ or ADMIN; digest passwords are hidden without ADMIN.
    GetAcl,
    /// `getAllChildrenNumber`: READ; every node below the path.
    GetAllChildrenNumber,
    /// `getEphemerals`: the session's own ephemerals under a prefix.
    GetEphemerals,
}

/// A read's answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReadResult {
    /// The node's stat.
    Stat(Stat),
    /// Data and stat.
    Data(super::data::Data, Stat),
    /// Children (sorted) and the parent's stat.
    Children(Vec<String>, Stat),
    /// The ACL and stat.
    Acl(Vec<Acl>, Stat),
    /// A count.
    Count(i32),
    /// Paths.
    Paths(Vec<String>),
}

/// Serves `op` on `path` for `session` with identities `auth`. With `watch`, also returns the
/// watch to register (only where ZooKeeper registers one).
pub fn read(
    tree: &DataTree,
    session: i64,
    auth: &[Id],
    op: ReadOp,
    at: &str,
    watch: bool,
) -> (ZkResult<ReadResult>, Option<WatchKind>) {
    if op != ReadOp::GetEphemerals {
        if let Err(e) = path::validate(at) {
            return (Err(e), None);
        }
    }
    let node = tree.node(at);
    if op == ReadOp::Exists {
        let w = watch.then_some(WatchKind::Data);
        return (
            node.map(|n| ReadResult::Stat(n.stat)).ok_or(Code::NoNode),
            w,
        );
    }
    if op == ReadOp::GetEphemerals {
        let mine = tree
            .ephemerals(session)
            .filter(|p| p.starts_with(at))
            .cloned();
        return (Ok(ReadResult::Paths(mine.collect())), None);
    }
    let Some(node) = node else {
        return (Err(Code::NoNode), None);
    };
    let need = if op == ReadOp::GetAcl {
        perms::READ | perms::ADMIN
    } else {
        perms::READ
    };
    if let Err(e) = acl::check(&node.acl, need, auth) {
        return (Err(e), None);
    }
    match op {
        ReadOp::GetData => (
            Ok(ReadResult::Data(node.data.clone(), node.stat)),
            watch.then_some(WatchKind::Data),
        ),
        ReadOp::GetChildren => (
            Ok(ReadResult::Children(
                node.children.iter().cloned().collect(),
                node.stat,
            )),
            watch.then_some(WatchKind::Child),
        ),
        ReadOp::GetAcl => {
            let admin = acl::check(&node.acl, perms::ADMIN, auth).is_ok();
            let shown = node.acl.iter().map(|a| redact(a, admin)).collect();
            (Ok(ReadResult::Acl(shown, node.stat)), None)
        }
        _ => (Ok(ReadResult::Count(count_below(tree, at))), None),
    }
}

/// Without ADMIN, a digest identity shows as `user:x`.
fn redact(a: &Acl, admin: bool) -> Acl {
    if admin || a.id.scheme != "digest" {
        return a.clone();
    }
    let user = a.id.id.split(':').next().unwrap_or("");
    Acl {
        perms: a.perms,
        id: Id::new("digest", &format!("{user}:x")),
    }
}

fn count_below(tree: &DataTree, at: &str) -> i32 {
    let prefix = if at == "/" {
        "/".to_string()
    } else {
        format!("{at}/")
    };
    tree.nodes()
        .range::<_, str>((Bound::Included(prefix.as_str()), Bound::Unbounded))
        .take_while(|(p, _)| p.starts_with(&prefix))
        .count() as i32
}

pub use crate::jute::records::WatchList;

/// A watch to register: its path and kind.
pub type Registration = (String, WatchKind);

/// `DataTree.setWatches`: each watch whose event already happened after `relative_zxid`
/// fires now (the event is returned); the others are registered (returned as watches).
pub fn set_watches(tree: &DataTree, list: &WatchList) -> (Vec<Trigger>, Vec<Registration>) {
    let (mut fire, mut keep) = (Vec::new(), Vec::new());
    let z = list.relative_zxid;
    for p in &list.data {
        match tree.node(p) {
            None => fire.push((EventType::NodeDeleted, p.clone())),
            Some(n) if n.stat.mzxid > z => fire.push((EventType::NodeDataChanged, p.clone())),
            Some(_) => keep.push((p.clone(), WatchKind::Data)),
        }
    }
    for p in &list.exist {
        match tree.node(p) {
            Some(_) => fire.push((EventType::NodeCreated, p.clone())),
            None => keep.push((p.clone(), WatchKind::Data)),
        }
    }
    for p in &list.child {
        match tree.node(p) {
            None => fire.push((EventType::NodeDeleted, p.clone())),
            Some(n) if n.stat.pzxid > z => fire.push((EventType::NodeChildrenChanged, p.clone())),
            Some(_) => keep.push((p.clone(), WatchKind::Child)),
        }
    }
    keep.extend(
        list.persistent
            .iter()
            .map(|p| (p.clone(), WatchKind::Persistent)),
    );
    keep.extend(
        list.recursive
            .iter()
            .map(|p| (p.clone(), WatchKind::PersistentRecursive)),
    );
    (fire, keep)
}

/// A read of `/zookeeper/config` on an ensemble: its data is the configuration, at version -1
/// (ZooKeeper's `ZKDatabase` sets it outside the log, with no version).
pub(crate) fn with_config(r: &mut ReadResult, config: &str) {
    let stat = match r {
        ReadResult::Data(data, stat) => {
            *data = Some(config.as_bytes().to_vec());
            stat
        }
        ReadResult::Stat(stat) => stat,
        _ => return,
    };
    stat.data_length = config.len() as i32;
    stat.version = -1;
}
