//! The znode tree (ZooKeeper's `DataTree`): the state machine the ensemble replicates.
//!
//! [`apply`] carries out one transaction on any [`Store`]: the committed [`DataTree`], or the
//! leader's view of it with its pending proposals ([`super::prep::Overlay`]). Both therefore
//! change in exactly the same way; there is one copy of the rules.

use super::acl::Acl;
use super::code::Code;
use super::data::{self, Data};
use super::path;
use super::quota;
use super::stat::Stat;
use super::txn::{TxnOp, ZkTxn};
use super::watch::EventType;
use crate::zab::{StateMachine, Txn};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One znode.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Node {
    /// Its data (None: null).
    #[serde(with = "super::data::format")]
    pub data: Data,
    /// Its ACL.
    pub acl: Vec<Acl>,
    /// Its metadata (`dataLength` and `numChildren` kept current).
    pub stat: Stat,
    /// The names of its children, in a persistent set (`imbl`): copying a node (for a
    /// snapshot that still shares it, or into the leader's view of its pending proposals) is
    /// O(1) however many children it has, and a change copies only the part it touches.
    /// Encoded as the sorted sequence of names a `BTreeSet` was.
    #[serde(deserialize_with = "super::persistent::set")]
    pub children: imbl::OrdSet<String>,
}

/// Where the transaction rules read and write nodes and sessions.
pub trait Store {
    /// The node at `path`.
    fn node(&self, path: &str) -> Option<&Node>;
    /// Changes the node at `path` (false if there is none).
    fn update(&mut self, path: &str, f: impl FnOnce(&mut Node)) -> bool;
    /// Adds a node.
    fn insert(&mut self, path: &str, node: Node);
    /// Removes a node.
    fn remove(&mut self, path: &str) -> Option<Node>;
    /// The timeout of a live session.
    fn session(&self, id: i64) -> Option<i32>;
    /// Opens (Some) or closes (None) a session.
    fn set_session(&mut self, id: i64, timeout: Option<i32>);
}

/// What applying one operation produced, for the reply.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OpResult {
    /// A node was created at this path.
    Created {
        /// The final path.
        path: String,
        /// Its stat.
        stat: Stat,
    },
    /// A node was deleted.
    Deleted,
    /// Data or ACL set; the node's new stat.
    Stat(Stat),
    /// A check passed.
    Checked,
    /// A session was opened or closed.
    Session,
    /// The operation failed.
    Error(Code),
    /// The results of a `multi`.
    Multi(Vec<OpResult>),
}

/// What a committed transaction did, for the server the asking session is connected to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Applied {
    /// Its zxid.
    pub zxid: i64,
    /// The session that asked.
    pub session: i64,
    /// The session's request number.
    pub cxid: i32,
    /// The transaction.
    pub op: TxnOp,
    /// The result for the reply.
    pub result: OpResult,
    /// The watch triggers.
    pub triggers: Vec<Trigger>,
}

/// A watch trigger: something happened at a path.
pub type Trigger = (EventType, String);

/// The nodes of a tree by full path, in a persistent map (`imbl`'s B-tree): a copy of the
/// tree, which is what a snapshot is, shares every node and every part of the map that did not
/// change since. Taking a snapshot is O(1), not a copy of a million nodes on the actor's thread,
/// and it costs memory only for what changes after it. Encoded as the map of paths to nodes it
/// was before (the snapshot format is unchanged).
pub type Nodes = imbl::OrdMap<Arc<str>, Arc<Node>>;

/// The replicated tree: nodes by full path, live sessions, and a running digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "Fields")]
pub struct DataTree {
    nodes: Nodes,
    sessions: BTreeMap<i64, i32>,
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
    digest: u64,
    /// Whether TTL nodes are enabled (`zookeeper.extendedTypesEnabled`).
    pub extended_types: bool,
    /// The nodes that may be containers or TTL nodes (by their owner's encoding), which the
    /// leader's session tick checks, so that it need not scan every node. Derived from `nodes`:
    /// not encoded, rebuilt when a tree is read.
    #[serde(skip)]
    expiring: BTreeSet<Arc<str>>,
}

/// A tree as encoded (the fields of [`DataTree`] but its index).
#[derive(Deserialize)]
struct Fields {
    #[serde(deserialize_with = "super::persistent::map")]
    nodes: Nodes,
    sessions: BTreeMap<i64, i32>,
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
    digest: u64,
    extended_types: bool,
}

impl From<Fields> for DataTree {
    fn from(f: Fields) -> DataTree {
        let expiring = f
            .nodes
            .iter()
            .filter(|(_, n)| may_expire(n.stat.ephemeral_owner))
            .map(|(p, _)| p.clone())
            .collect();
        DataTree {
            nodes: f.nodes,
            sessions: f.sessions,
            ephemerals: f.ephemerals,
            digest: f.digest,
            extended_types: f.extended_types,
            expiring,
        }
    }
}

/// Whether a node owned by `owner` may be a container or a TTL node (whether TTL nodes are
/// enabled or not: the session tick decides with [`super::stat::NodeKind::of`]).
fn may_expire(owner: i64) -> bool {
    use super::stat::{CONTAINER_OWNER, EXTENDED_MASK};
    owner == CONTAINER_OWNER || owner & EXTENDED_MASK == EXTENDED_MASK
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new(false)
    }
}

impl DataTree {
    /// A tree with the root and the reserved `/zookeeper`, `/zookeeper/quota` and
    /// `/zookeeper/config` (read-only) nodes.
    pub fn new(extended_types: bool) -> DataTree {
        let mut t = DataTree {
            nodes: Nodes::new(),
            sessions: BTreeMap::new(),
            ephemerals: BTreeMap::new(),
            digest: 0,
            extended_types,
            expiring: BTreeSet::new(),
        };
        // ZooKeeper creates the root and its reserved nodes with empty (not null) data.
        let open = Node {
            data: Some(Vec::new()),
            acl: Acl::open(),
            ..Node::default()
        };
        t.insert("/", open.clone());
        for p in [path::PROC_ZOOKEEPER, path::QUOTA_ZOOKEEPER] {
            t.insert(p, open.clone());
            link_child(&mut t, p);
        }
        let mut config = Node {
            data: Some(Vec::new()),
            acl: Acl::read_only(),
            ..Node::default()
        };
        // ZooKeeper creates it with no ACL version.
        config.stat.aversion = -1;
        t.insert(path::CONFIG_ZOOKEEPER, config);
        link_child(&mut t, path::CONFIG_ZOOKEEPER);
        t
    }

    /// The tree digest: a sum of a CRC of every node's path, data and stat (as ZooKeeper's
    /// `DigestCalculator`), equal on two servers exactly when their trees are.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest computed afresh from every node (what [`DataTree::digest`] keeps up to date).
    pub fn recompute_digest(&self) -> u64 {
        self.nodes
            .iter()
            .fold(0u64, |d, (p, n)| d.wrapping_add(node_hash(p, n)))
    }

    /// Every live session with its timeout.
    pub fn sessions(&self) -> &BTreeMap<i64, i32> {
        &self.sessions
    }

    /// The ephemerals a session owns.
    pub fn ephemerals(&self, session: i64) -> impl Iterator<Item = &String> {
        self.ephemerals.get(&session).into_iter().flatten()
    }

    /// Every node, by path.
    pub fn nodes(&self) -> &Nodes {
        &self.nodes
    }

    /// The nodes that may be containers or TTL nodes, by path (a superset: their owner's
    /// encoding says so, whether TTL nodes are enabled or not).
    pub fn maybe_expiring(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.expiring
            .iter()
            .filter_map(|p| Some((&**p, self.nodes.get(&**p)?.as_ref())))
    }

    /// Applies a transaction at `zxid`, returning the reply's result and the watch triggers.
    pub fn apply_txn(&mut self, zxid: i64, txn: &ZkTxn) -> (OpResult, Vec<Trigger>) {
        let mut triggers = Vec::new();
        let result = apply(self, zxid, txn, &txn.op, &mut triggers);
        (result, triggers)
    }
}

fn link_child(t: &mut DataTree, p: &str) {
    let parent = path::parent(p)
        .expect("reserved paths have parents")
        .to_string();
    let name = path::name(p).to_string();
    t.update(&parent, |n| {
        n.children.insert(name);
    });
}

fn node_hash(path: &str, n: &Node) -> u64 {
    let mut h = crc32fast::Hasher::new();
    h.update(path.as_bytes());
    h.update(data::bytes(&n.data));
    let s = &n.stat;
    for v in [
        s.czxid,
        s.mzxid,
        s.pzxid,
        s.ctime,
        s.mtime,
        s.ephemeral_owner,
    ] {
        h.update(&v.to_be_bytes());
    }
    for v in [s.version, s.cversion, s.aversion] {
        h.update(&v.to_be_bytes());
    }
    u64::from(h.finalize())
}

impl Store for DataTree {
    fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path).map(|n| &**n)
    }

    fn update(&mut self, path: &str, f: impl FnOnce(&mut Node)) -> bool {
        let Some(n) = self.nodes.get_mut(path) else {
            return false;
        };
        // Copies the node only if a snapshot still shares it.
        let n = Arc::make_mut(n);
        self.digest = self.digest.wrapping_sub(node_hash(path, n));
        f(n);
        n.stat.data_length = super::data::bytes(&n.data).len() as i32;
        n.stat.num_children = n.children.len() as i32;
        self.digest = self.digest.wrapping_add(node_hash(path, n));
        true
    }

    fn insert(&mut self, path: &str, mut node: Node) {
        node.stat.data_length = data::bytes(&node.data).len() as i32;
        node.stat.num_children = node.children.len() as i32;
        let owner = node.stat.ephemeral_owner;
        if self.sessions.contains_key(&owner) {
            self.ephemerals
                .entry(owner)
                .or_default()
                .insert(path.to_string());
        }
        self.digest = self.digest.wrapping_add(node_hash(path, &node));
        let key: Arc<str> = Arc::from(path);
        if may_expire(owner) {
            self.expiring.insert(key.clone());
        } else {
            self.expiring.remove(path);
        }
        if let Some(old) = self.nodes.insert(key, Arc::new(node)) {
            self.digest = self.digest.wrapping_sub(node_hash(path, &old));
        }
    }

    fn remove(&mut self, path: &str) -> Option<Node> {
        let node = Arc::unwrap_or_clone(self.nodes.remove(path)?);
        self.digest = self.digest.wrapping_sub(node_hash(path, &node));
        self.expiring.remove(path);
        let owner = node.stat.ephemeral_owner;
        if let Some(set) = self.ephemerals.get_mut(&owner) {
            set.remove(path);
            if set.is_empty() {
                self.ephemerals.remove(&owner);
            }
        }
        Some(node)
    }

    fn session(&self, id: i64) -> Option<i32> {
        self.sessions.get(&id).copied()
    }

    fn set_session(&mut self, id: i64, timeout: Option<i32>) {
        match timeout {
            Some(t) => {
                self.sessions.insert(id, t);
            }
            None => {
                self.sessions.remove(&id);
                self.ephemerals.remove(&id);
            }
        }
    }
}

impl StateMachine for DataTree {
    type Op = ZkTxn;
    type Output = Applied;
    fn apply(&mut self, txn: &Txn<ZkTxn>) -> Applied {
        let (result, triggers) = self.apply_txn(txn.zxid.0 as i64, &txn.op);
        Applied {
            zxid: txn.zxid.0 as i64,
            session: txn.op.session,
            cxid: txn.op.cxid,
            op: txn.op.op.clone(),
            result,
            triggers,
        }
    }
}

/// Carries out `op` (part of `txn`, committed at `zxid`) on `s`.
pub fn apply<S: Store>(
    s: &mut S,
    zxid: i64,
    txn: &ZkTxn,
    op: &TxnOp,
    triggers: &mut Vec<Trigger>,
) -> OpResult {
    match op {
        TxnOp::Create {
            path,
            data,
            acl,
            parent_cversion,
            owner,
        } => create(
            s,
            zxid,
            txn.time,
            path,
            data,
            acl,
            *parent_cversion,
            *owner,
            triggers,
        ),
        TxnOp::Delete { path } => delete(s, zxid, path, triggers),
        TxnOp::SetData {
            path,
            data,
            version,
        } => {
            let before = s.node(path).map(|n| quota::len(&n.data));
            let result = set(s, path, triggers, |n| {
                n.data = data.clone();
                n.stat.version = *version;
                n.stat.mzxid = zxid;
                n.stat.mtime = txn.time;
            });
            if let Some(before) = before {
                quota::account(s, path, quota::len(data) - before, 0);
            }
            result
        }
        TxnOp::SetAcl { path, acl, version } => set(s, path, &mut Vec::new(), |n| {
            n.acl = acl.clone();
            n.stat.aversion = *version;
        }),
        TxnOp::Check { .. } => OpResult::Checked,
        TxnOp::CreateSession { timeout, .. } => {
            s.set_session(txn.session, Some(*timeout));
            OpResult::Session
        }
        TxnOp::CloseSession { paths } => {
            for p in paths {
                delete(s, zxid, p, triggers);
            }
            s.set_session(txn.session, None);
            OpResult::Session
        }
        TxnOp::Error(code) => OpResult::Error(*code),
        TxnOp::Multi(ops) => apply_multi(s, zxid, txn, ops, triggers),
    }
}

fn apply_multi<S: Store>(
    s: &mut S,
    zxid: i64,
    txn: &ZkTxn,
    ops: &[TxnOp],
    triggers: &mut Vec<Trigger>,
) -> OpResult {
    if ops.iter().any(|o| matches!(o, TxnOp::Error(_))) {
        // A failed multi changes nothing; the leader already made every entry an error.
        let results = ops.iter().map(|o| match o {
            TxnOp::Error(code) => OpResult::Error(*code),
            _ => OpResult::Error(Code::Ok),
        });
        return OpResult::Multi(results.collect());
    }
    OpResult::Multi(
        ops.iter()
            .map(|o| apply(s, zxid, txn, o, triggers))
            .collect(),
    )
}

#[allow(clippy::too_many_arguments)]
fn create<S: Store>(
    s: &mut S,
    zxid: i64,
    time: i64,
    path: &str,
    data: &Data,
    acl: &[Acl],
    parent_cversion: i32,
    owner: i64,
    triggers: &mut Vec<Trigger>,
) -> OpResult {
    let Ok(parent) = path::parent(path) else {
        return OpResult::Error(Code::BadArguments);
    };
    if s.node(path).is_some() {
        return OpResult::Error(Code::NodeExists);
    }
    let name = path::name(path).to_string();
    let linked = s.update(parent, |p| {
        p.children.insert(name);
        if parent_cversion > p.stat.cversion {
            p.stat.cversion = parent_cversion;
            p.stat.pzxid = zxid;
        }
    });
    if !linked {
        return OpResult::Error(Code::NoNode);
    }
    let stat = Stat {
        czxid: zxid,
        mzxid: zxid,
        pzxid: zxid,
        ctime: time,
        mtime: time,
        ephemeral_owner: owner,
        data_length: data::bytes(data).len() as i32,
        ..Stat::default()
    };
    let node = Node {
        data: data.clone(),
        acl: acl.to_vec(),
        stat,
        children: imbl::OrdSet::new(),
    };
    s.insert(path, node);
    quota::created(s, path, data);
    triggers.push((EventType::NodeCreated, path.to_string()));
    triggers.push((EventType::NodeChildrenChanged, parent.to_string()));
    OpResult::Created {
        path: path.to_string(),
        stat,
    }
}

fn delete<S: Store>(s: &mut S, zxid: i64, path: &str, triggers: &mut Vec<Trigger>) -> OpResult {
    let Ok(parent) = path::parent(path) else {
        return OpResult::Error(Code::BadArguments);
    };
    let Some(gone) = s.remove(path) else {
        return OpResult::Error(Code::NoNode);
    };
    let name = path::name(path).to_string();
    s.update(parent, |p| {
        p.children.remove(&name);
        if zxid > p.stat.pzxid {
            p.stat.pzxid = zxid;
        }
    });
    quota::account(s, path, -quota::len(&gone.data), -1);
    triggers.push((EventType::NodeDeleted, path.to_string()));
    triggers.push((EventType::NodeChildrenChanged, parent.to_string()));
    OpResult::Deleted
}

fn set<S: Store>(
    s: &mut S,
    path: &str,
    triggers: &mut Vec<Trigger>,
    f: impl FnOnce(&mut Node),
) -> OpResult {
    if !s.update(path, f) {
        return OpResult::Error(Code::NoNode);
    }
    triggers.push((EventType::NodeDataChanged, path.to_string()));
    OpResult::Stat(s.node(path).map(|n| n.stat).unwrap_or_default())
}
