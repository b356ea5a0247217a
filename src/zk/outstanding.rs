//! ZooKeeper's `outstandingChanges`: the leader's record of what its pending proposals change,
//! kept from one proposal to the next, so that preparing a request costs what the request
//! reads, not what is pending.
//!
//! [`super::prep`] checks a request against the committed tree *as the pending proposals
//! leave it*. Built afresh for each request ([`super::prep::Overlay::for_request`]), that view
//! costs one application per pending proposal on the request's path: with a session's writes
//! pipelined, 32 writes in flight to one znode cost 32 applications for every new one.
//! Instead the leader keeps the view: each proposal is applied to it once, when the next
//! request is prepared, and an entry is dropped once the proposal that last changed it has
//! committed (the tree then holds the same node).
//!
//! It is a memo, not state: it is a function of the committed tree and the pending proposals.
//! Comparing and hashing ignore it (two states with the same tree and log behave alike), and
//! it checks itself against the log it is handed, starting afresh when it does not follow it
//! (a new epoch, a log it has not seen). `model-tests/zk_tree.rs` prepares random requests
//! both ways and compares the transactions.

use super::tree::{apply, DataTree, Node, Store};
use super::txn::ZkTxn;
use crate::zab::{Txn, Zxid};
use std::collections::{BTreeMap, VecDeque};

/// The nodes and sessions the pending proposals change, each with the zxid that last did.
#[derive(Clone, Debug, Default)]
pub struct Outstanding {
    /// The last proposal applied.
    upto: Zxid,
    /// Nodes by path (None: deleted).
    nodes: BTreeMap<String, (Zxid, Option<Node>)>,
    /// Session timeouts by id (None: closed).
    sessions: BTreeMap<i64, (Zxid, Option<i32>)>,
    /// What each applied proposal changed, in zxid order: the entries to drop once it commits.
    order: VecDeque<(Zxid, Key)>,
}

#[derive(Clone, Debug)]
enum Key {
    Node(String),
    Session(i64),
}

impl PartialEq for Outstanding {
    fn eq(&self, _: &Self) -> bool {
        true // a memo (see the module's docs)
    }
}

impl Eq for Outstanding {}

impl std::hash::Hash for Outstanding {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Outstanding {
    /// Brings the record up to `pending` (the proposals after the committed `tree`, in zxid
    /// order), for a proposal at `next`: drops what has committed, applies what is new.
    pub fn catch_up(&mut self, tree: &DataTree, pending: &[Txn<ZkTxn>], next: Zxid) {
        // Within an epoch one leader proposes, appending only: what the record applied is
        // either still pending or committed. A record from another epoch (another leadership
        // of this server) may hold proposals that were truncated away.
        if self.upto.epoch() != next.epoch() || self.upto >= next {
            *self = Outstanding::default();
        }
        // Everything before the first pending proposal has committed.
        let committed = |z: Zxid| pending.first().is_none_or(|t| z < t.zxid);
        while let Some((z, key)) = self.order.front() {
            if !committed(*z) {
                break;
            }
            match key {
                Key::Node(p) if self.nodes.get(p).is_some_and(|(last, _)| last == z) => {
                    self.nodes.remove(p);
                }
                Key::Session(s) if self.sessions.get(s).is_some_and(|(last, _)| last == z) => {
                    self.sessions.remove(s);
                }
                _ => {}
            }
            self.order.pop_front();
        }
        let start = pending.partition_point(|t| t.zxid <= self.upto);
        for t in &pending[start..] {
            let mut view = Recording {
                base: tree,
                memo: self,
                zxid: t.zxid,
            };
            apply(&mut view, t.zxid.0 as i64, &t.op, &t.op.op, &mut Vec::new());
            self.upto = t.zxid;
        }
    }

    /// The node at `path` as the pending proposals leave it: Some(None) if they delete it,
    /// None if they do not change it.
    pub fn node(&self, path: &str) -> Option<Option<&Node>> {
        self.nodes.get(path).map(|(_, n)| n.as_ref())
    }

    /// A session as the pending proposals leave it, if they change it.
    pub fn session(&self, id: i64) -> Option<Option<i32>> {
        self.sessions.get(&id).map(|(_, t)| *t)
    }

    /// The nodes the pending proposals change, by path.
    pub fn nodes(&self) -> impl Iterator<Item = (&String, Option<&Node>)> {
        self.nodes.iter().map(|(p, (_, n))| (p, n.as_ref()))
    }
}

/// The committed tree under the record, applying one proposal: every change is recorded
/// under that proposal's zxid.
struct Recording<'a> {
    base: &'a DataTree,
    memo: &'a mut Outstanding,
    zxid: Zxid,
}

impl Recording<'_> {
    fn put(&mut self, path: &str, node: Option<Node>) {
        self.memo.nodes.insert(path.to_string(), (self.zxid, node));
        self.memo
            .order
            .push_back((self.zxid, Key::Node(path.to_string())));
    }
}

impl Store for Recording<'_> {
    fn node(&self, path: &str) -> Option<&Node> {
        match self.memo.nodes.get(path) {
            Some((_, n)) => n.as_ref(),
            None => self.base.node(path),
        }
    }

    fn update(&mut self, path: &str, f: impl FnOnce(&mut Node)) -> bool {
        let Some(mut n) = self.node(path).cloned() else {
            return false;
        };
        f(&mut n);
        n.stat.data_length = super::data::bytes(&n.data).len() as i32;
        n.stat.num_children = n.children.len() as i32;
        self.put(path, Some(n));
        true
    }

    fn insert(&mut self, path: &str, node: Node) {
        self.put(path, Some(node));
    }

    fn remove(&mut self, path: &str) -> Option<Node> {
        let old = self.node(path).cloned();
        self.put(path, None);
        old
    }

    fn session(&self, id: i64) -> Option<i32> {
        match self.memo.sessions.get(&id) {
            Some((_, t)) => *t,
            None => self.base.session(id),
        }
    }

    fn set_session(&mut self, id: i64, timeout: Option<i32>) {
        self.memo.sessions.insert(id, (self.zxid, timeout));
        self.memo.order.push_back((self.zxid, Key::Session(id)));
    }
}
