//! The leader's request preparation (ZooKeeper's `PrepRequestProcessor`): a client's write
//! becomes a transaction, checked against the committed tree *plus* the proposals not yet
//! committed ([`Overlay`]), with sequential names, new versions and errors fixed once.

use super::acl::{self, perms, Id};
use super::code::{Code, ZkResult};
use super::data::Data;
use super::outstanding::Outstanding;
use super::path;
use super::quota;
use super::stat::{NodeKind, MAX_TTL};
use super::tree::{apply, DataTree, Node, Store};
use super::txn::{CreateMode, TxnOp, WriteOp, ZkTxn};
use crate::zab::Txn;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The largest znode data (`jute.maxbuffer`, 1 MiB).
pub const MAX_DATA: usize = 1024 * 1024;

/// A write as it reaches the leader: the operation and who asks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WriteRequest {
    /// The asking session (0 for `createSession`, whose id the leader assigns).
    pub session: i64,
    /// The session's request number.
    pub cxid: i32,
    /// The identities the session authenticated as (`authInfo`).
    pub auth: Vec<Id>,
    /// The operation.
    pub op: WriteOp,
}

/// A write on its way to the leader: the request and the time the server that received it
/// read on its clock (the sans-IO core has no clock; ZooKeeper's leader stamps its own).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ZkRequest {
    /// The request.
    pub write: WriteRequest,
    /// Milliseconds since the Unix epoch (0 in models).
    pub time: i64,
}

/// The committed tree seen through the pending proposals (ZooKeeper's `outstandingChanges`):
/// only the nodes they touch are copied.
pub struct Overlay<'a> {
    base: &'a DataTree,
    /// The leader's record of its pending proposals, when it keeps one: then `nodes` and
    /// `sessions` only hold what preparing this request changes (a multi's earlier parts).
    memo: Option<&'a Outstanding>,
    nodes: BTreeMap<String, Option<Node>>,
    sessions: BTreeMap<i64, Option<i32>>,
    /// `enforceQuota`: hard quota limits refuse creates and setData (QuotaExceeded).
    enforce_quota: bool,
}

impl<'a> Overlay<'a> {
    /// `base` with `pending` (proposed, not yet committed, in zxid order) applied.
    pub fn new(base: &'a DataTree, pending: &[Txn<ZkTxn>]) -> Overlay<'a> {
        Overlay::for_request(base, pending, None)
    }

    /// `base` with those of `pending` applied that can change what preparing a request on
    /// `path` reads (all of them when `path` is None): the nodes at `path` and its ancestors,
    /// and the sessions. A create or delete touches its node and its parent, a setData or
    /// setACL its node; session changes and multis are always applied. Since the set read is
    /// closed under parents, every change to a node in it is applied, and so is every change
    /// to the existence of a node whose parent is in it (all a sequential name or a delete's
    /// children depend on): what `prepare` reads equals the full overlay, at O(pending) string
    /// comparisons instead of O(pending) applications.
    pub fn for_request(
        base: &'a DataTree,
        pending: &[Txn<ZkTxn>],
        path: Option<&str>,
    ) -> Overlay<'a> {
        let mut v = Overlay::over(base, None);
        for t in pending
            .iter()
            .filter(|t| path.is_none_or(|p| touches(&t.op.op, p)))
        {
            apply(&mut v, t.zxid.0 as i64, &t.op, &t.op.op, &mut Vec::new());
        }
        v
    }

    /// The committed tree seen through the leader's record of its pending proposals.
    pub fn with_outstanding(base: &'a DataTree, memo: &'a Outstanding) -> Overlay<'a> {
        Overlay::over(base, Some(memo))
    }

    fn over(base: &'a DataTree, memo: Option<&'a Outstanding>) -> Overlay<'a> {
        Overlay {
            base,
            memo,
            nodes: BTreeMap::new(),
            sessions: BTreeMap::new(),
            enforce_quota: false,
        }
    }

    /// The node at `path` below this view's own changes: the record's, else the tree's.
    fn below(&self, path: &str) -> Option<&Node> {
        match self.memo.and_then(|m| m.node(path)) {
            Some(n) => n,
            None => self.base.node(path),
        }
    }

    /// The ephemerals `session` owns in this view, sorted.
    pub fn ephemerals(&self, session: i64) -> Vec<String> {
        let changed =
            |p: &str| self.nodes.contains_key(p) || self.memo.is_some_and(|m| m.node(p).is_some());
        let mut out: BTreeSet<String> = self
            .base
            .ephemerals(session)
            .filter(|p| !changed(p))
            .cloned()
            .collect();
        let memo = self.memo.into_iter().flat_map(|m| m.nodes());
        for (p, n) in memo.filter(|(p, _)| !self.nodes.contains_key(*p)) {
            if n.is_some_and(|n| n.stat.ephemeral_owner == session) {
                out.insert(p.clone());
            }
        }
        for (p, n) in &self.nodes {
            if n.as_ref()
                .is_some_and(|n| n.stat.ephemeral_owner == session)
            {
                out.insert(p.clone());
            }
        }
        out.into_iter().collect()
    }
}

/// Whether applying `op` can change the node at `path`, one of its ancestors, or whether a
/// child of one of them exists (see [`Overlay::for_request`]).
fn touches(op: &TxnOp, path: &str) -> bool {
    let read = |node: &str| {
        node == path
            || node == "/"
            || (path.starts_with(node) && path.as_bytes().get(node.len()) == Some(&b'/'))
    };
    match op {
        TxnOp::Create { path: p, .. } | TxnOp::Delete { path: p } => {
            read(p) || crate::zk::path::parent(p).is_ok_and(read)
        }
        TxnOp::SetData { path: p, .. } | TxnOp::SetAcl { path: p, .. } => read(p),
        TxnOp::Check { .. } | TxnOp::Error(_) => false,
        TxnOp::CreateSession { .. } | TxnOp::CloseSession { .. } | TxnOp::Multi(_) => true,
    }
}

impl Store for Overlay<'_> {
    fn node(&self, path: &str) -> Option<&Node> {
        match self.nodes.get(path) {
            Some(n) => n.as_ref(),
            None => self.below(path),
        }
    }

    fn update(&mut self, path: &str, f: impl FnOnce(&mut Node)) -> bool {
        // A node the view already changed is changed in place; the first change copies it.
        if !self.nodes.contains_key(path) {
            let Some(n) = self.below(path).cloned() else {
                return false;
            };
            self.nodes.insert(path.to_string(), Some(n));
        }
        let Some(Some(n)) = self.nodes.get_mut(path) else {
            return false;
        };
        f(n);
        n.stat.data_length = super::data::bytes(&n.data).len() as i32;
        n.stat.num_children = n.children.len() as i32;
        true
    }

    fn insert(&mut self, path: &str, node: Node) {
        self.nodes.insert(path.to_string(), Some(node));
    }

    fn remove(&mut self, path: &str) -> Option<Node> {
        let old = self.node(path).cloned();
        self.nodes.insert(path.to_string(), None);
        old
    }

    fn session(&self, id: i64) -> Option<i32> {
        match self.sessions.get(&id) {
            Some(t) => *t,
            None => match self.memo.and_then(|m| m.session(id)) {
                Some(t) => t,
                None => self.base.session(id),
            },
        }
    }

    fn set_session(&mut self, id: i64, timeout: Option<i32>) {
        self.sessions.insert(id, timeout);
    }
}

/// Turns `req` into the transaction the leader proposes at `zxid` (its clock reads `time`;
/// `enforce_quota` is its `enforceQuota`). A request that fails becomes an error transaction,
/// logged and committed like any other. The view of the pending proposals is built here;
/// [`prepare_outstanding`] takes the leader's kept record instead.
pub fn prepare(
    tree: &DataTree,
    pending: &[Txn<ZkTxn>],
    zxid: i64,
    time: i64,
    req: &WriteRequest,
    enforce_quota: bool,
) -> ZkTxn {
    let path = match &req.op {
        WriteOp::Create { path, .. }
        | WriteOp::Delete { path, .. }
        | WriteOp::SetData { path, .. }
        | WriteOp::SetAcl { path, .. }
        | WriteOp::Check { path, .. }
        | WriteOp::DeleteContainer { path } => Some(path.as_str()),
        _ => None,
    };
    // A quota check reads its quota's stats node, which any pending write under the quota
    // changes: with enforceQuota the view has every pending proposal.
    let v = Overlay::for_request(tree, pending, path.filter(|_| !enforce_quota));
    prepare_in(v, zxid, time, req, enforce_quota)
}

/// [`prepare`], seeing the pending proposals through the leader's record of them (which has
/// every one applied, so quota checks see them all too).
pub fn prepare_outstanding(
    tree: &DataTree,
    memo: &Outstanding,
    zxid: i64,
    time: i64,
    req: &WriteRequest,
    enforce_quota: bool,
) -> ZkTxn {
    prepare_in(
        Overlay::with_outstanding(tree, memo),
        zxid,
        time,
        req,
        enforce_quota,
    )
}

fn prepare_in(
    mut v: Overlay<'_>,
    zxid: i64,
    time: i64,
    req: &WriteRequest,
    enforce_quota: bool,
) -> ZkTxn {
    v.enforce_quota = enforce_quota;
    let (session, op) = match &req.op {
        WriteOp::CreateSession { timeout } => {
            let origin = req.session;
            (
                zxid,
                TxnOp::CreateSession {
                    timeout: *timeout,
                    origin,
                },
            )
        }
        WriteOp::Multi(ops) => (
            req.session,
            prep_multi(&mut v, req.session, &req.auth, zxid, time, ops),
        ),
        op => (
            req.session,
            prep_op(&mut v, req.session, &req.auth, op).unwrap_or_else(TxnOp::Error),
        ),
    };
    ZkTxn {
        session,
        cxid: req.cxid,
        time,
        op,
    }
}

/// `multi`: each operation sees the ones before it; the first failure turns the whole
/// transaction into errors (Ok before it, RuntimeInconsistency after it, as ZooKeeper reports).
fn prep_multi(
    v: &mut Overlay,
    session: i64,
    auth: &[Id],
    zxid: i64,
    time: i64,
    ops: &[WriteOp],
) -> TxnOp {
    let mut txns = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let prepared = match op {
            WriteOp::Create { .. }
            | WriteOp::Delete { .. }
            | WriteOp::SetData { .. }
            | WriteOp::Check { .. } => prep_op(v, session, auth, op),
            _ => Err(Code::BadArguments),
        };
        match prepared {
            Ok(t) => {
                let header = ZkTxn {
                    session,
                    cxid: 0,
                    time,
                    op: t.clone(),
                };
                apply(v, zxid, &header, &t, &mut Vec::new());
                txns.push(t);
            }
            Err(code) => {
                let mut errors = vec![TxnOp::Error(Code::Ok); i];
                errors.push(TxnOp::Error(code));
                errors.resize(ops.len(), TxnOp::Error(Code::RuntimeInconsistency));
                return TxnOp::Multi(errors);
            }
        }
    }
    TxnOp::Multi(txns)
}

fn prep_op(v: &mut Overlay, session: i64, auth: &[Id], op: &WriteOp) -> ZkResult<TxnOp> {
    let needs_session = !matches!(
        op,
        WriteOp::CloseSession | WriteOp::DeleteContainer { .. } | WriteOp::CreateSession { .. }
    );
    if needs_session && v.session(session).is_none() {
        return Err(Code::SessionExpired);
    }
    match op {
        WriteOp::Create {
            path,
            data,
            acl,
            mode,
            ttl,
        } => prep_create(v, session, auth, path, data, acl, *mode, *ttl),
        WriteOp::Delete { path, version } => prep_delete(v, auth, path, *version),
        WriteOp::SetData {
            path,
            data,
            version,
        } => {
            path::validate(path)?;
            let node = permitted(v, path, perms::WRITE, auth)?;
            check_size(data)?;
            if v.enforce_quota {
                quota::check(v, path, quota::len(data) - quota::len(&node.data), 0)?;
            }
            let version = next_version(node.stat.version, *version)?;
            let (path, data) = (path.clone(), data.clone());
            Ok(TxnOp::SetData {
                path,
                data,
                version,
            })
        }
        WriteOp::SetAcl { path, acl, version } => {
            path::validate(path)?;
            let acl = acl::fixup(acl, auth)?;
            let node = permitted(v, path, perms::ADMIN, auth)?;
            let version = next_version(node.stat.aversion, *version)?;
            Ok(TxnOp::SetAcl {
                path: path.clone(),
                acl,
                version,
            })
        }
        WriteOp::Check { path, version } => {
            path::validate(path)?;
            let node = permitted(v, path, perms::READ, auth)?;
            let version = next_version(node.stat.version, *version)?;
            Ok(TxnOp::Check {
                path: path.clone(),
                version,
            })
        }
        WriteOp::CloseSession => Ok(TxnOp::CloseSession {
            paths: v.ephemerals(session),
        }),
        WriteOp::DeleteContainer { path } => prep_delete_container(v, path),
        WriteOp::CreateSession { .. } | WriteOp::Multi(_) => Err(Code::BadArguments),
    }
}

/// The node at `path` (NoNode) if the session may do `perm` on it (NoAuth).
fn permitted(v: &Overlay, path: &str, perm: i32, auth: &[Id]) -> ZkResult<Node> {
    let node = record(v, path)?;
    acl::check(&node.acl, perm, auth)?;
    Ok(node)
}

#[allow(clippy::too_many_arguments)]
fn prep_create(
    v: &mut Overlay,
    session: i64,
    auth: &[Id],
    path: &str,
    data: &Data,
    acl: &[acl::Acl],
    mode: CreateMode,
    ttl: i64,
) -> ZkResult<TxnOp> {
    validate_ttl(v.base.extended_types, mode, ttl)?;
    if path.contains('\0') || !path.contains('/') {
        return Err(Code::BadArguments);
    }
    let parent_path = match path.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => return Err(Code::BadArguments),
    };
    let acl = acl::fixup(acl, auth)?;
    let parent = record(v, &parent_path)?;
    acl::check(&parent.acl, perms::CREATE, auth)?;
    let cversion = parent.stat.cversion;
    let path = if mode.is_sequential() {
        format!("{path}{cversion:010}")
    } else {
        path.to_string()
    };
    path::validate(&path)?;
    if path == "/" || v.node(&path).is_some() {
        return Err(Code::NodeExists);
    }
    let parent_kind = NodeKind::of(parent.stat.ephemeral_owner, v.base.extended_types);
    if matches!(parent_kind, NodeKind::Ephemeral(_)) {
        return Err(Code::NoChildrenForEphemerals);
    }
    check_size(data)?;
    if v.enforce_quota {
        quota::check(v, &path, quota::len(data), 1)?;
    }
    let owner = match mode {
        CreateMode::Container => NodeKind::Container.owner(),
        m if m.is_ttl() => NodeKind::Ttl(ttl).owner(),
        m if m.is_ephemeral() => session,
        _ => 0,
    };
    Ok(TxnOp::Create {
        path,
        data: data.clone(),
        acl,
        parent_cversion: cversion.wrapping_add(1),
        owner,
    })
}

fn prep_delete(v: &mut Overlay, auth: &[Id], path: &str, version: i32) -> ZkResult<TxnOp> {
    if path.contains('\0') || path::is_special(path) {
        return Err(Code::BadArguments);
    }
    let parent = record(v, path::parent(path)?)?;
    acl::check(&parent.acl, perms::DELETE, auth)?;
    let node = record(v, path)?;
    next_version(node.stat.version, version)?;
    if !node.children.is_empty() {
        return Err(Code::NotEmpty);
    }
    Ok(TxnOp::Delete {
        path: path.to_string(),
    })
}

fn prep_delete_container(v: &mut Overlay, path: &str) -> ZkResult<TxnOp> {
    if path::is_special(path) {
        return Err(Code::BadArguments);
    }
    let node = record(v, path)?;
    if !node.children.is_empty() {
        return Err(Code::NotEmpty);
    }
    match NodeKind::of(node.stat.ephemeral_owner, v.base.extended_types) {
        NodeKind::Container | NodeKind::Ttl(_) => Ok(TxnOp::Delete {
            path: path.to_string(),
        }),
        _ => Err(Code::BadArguments),
    }
}

/// `getRecordForPath`: the node as the pending proposals leave it, or NoNode.
fn record(v: &Overlay, path: &str) -> ZkResult<Node> {
    v.node(path).cloned().ok_or(Code::NoNode)
}

/// `checkAndIncVersion`: -1 matches any version; the next version skips -1 (ZOOKEEPER-4743).
fn next_version(current: i32, expected: i32) -> ZkResult<i32> {
    if expected != -1 && expected != current {
        return Err(Code::BadVersion);
    }
    Ok(match current.wrapping_add(1) {
        -1 => 0,
        n => n,
    })
}

fn check_size(data: &Data) -> ZkResult<()> {
    if super::data::bytes(data).len() > MAX_DATA {
        Err(Code::BadArguments)
    } else {
        Ok(())
    }
}

/// `validateCreateRequest`: TTL modes need extended types and 0 < ttl <= MAX_TTL; no other
/// mode takes a TTL.
fn validate_ttl(extended_types: bool, mode: CreateMode, ttl: i64) -> ZkResult<()> {
    if mode.is_ttl() {
        if !extended_types {
            return Err(Code::Unimplemented);
        }
        if ttl <= 0 || ttl > MAX_TTL {
            return Err(Code::BadArguments);
        }
    } else if ttl >= 0 {
        return Err(Code::BadArguments);
    }
    Ok(())
}
