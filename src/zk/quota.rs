//! Quotas, as ZooKeeper 3.7+ keeps them (`Quotas`, `StatsTrack`, and the quota parts of
//! `DataTree` and `PrepRequestProcessor`).
//!
//! A quota on path `P` is the node `/zookeeper/quota/P/zookeeper_limits`, whose data is a
//! `StatsTrack` text such as `count=3,bytes=-1=;byteHardLimit=20;countHardLimit=4` (clients
//! write it: zkCli's `setquota`, Curator, kazoo). Its sibling `zookeeper_stats` holds what the
//! subtree of `P` (P included) uses, `count=N,bytes=M`, and the tree keeps it current: every
//! create, delete and setData under `P` changes it in place, without a new version, as
//! ZooKeeper's `updateQuotaStat` does; creating `zookeeper_stats` recounts the subtree. The
//! quota that applies to a path is the one on its deepest ancestor (or itself) that has one,
//! the root excluded. Since all of it happens while a transaction applies, every server keeps
//! the same figures.
//!
//! With `enforceQuota=true` the leader refuses a create or setData that would take the count or
//! the bytes past a hard limit (`countHardLimit`, `byteHardLimit`) with QuotaExceeded; the soft
//! limits (`count`, `bytes`) only warn in ZooKeeper's log, and change nothing here.

use super::code::{Code, ZkResult};
use super::data::{self, Data};
use super::path;
use super::tree::Store;
use std::collections::BTreeMap;

/// Where quotas live.
pub const QUOTA_ROOT: &str = "/zookeeper/quota";
/// The node holding a quota's limits.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// The node holding what a quota's subtree uses.
pub const STAT_NODE: &str = "zookeeper_stats";

const COUNT: &str = "count";
const BYTES: &str = "bytes";
const COUNT_HARD: &str = "countHardLimit";
const BYTES_HARD: &str = "byteHardLimit";

/// ZooKeeper's `StatsTrack`: `key=value` pairs separated by `,` or `;`; an absent key is -1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsTrack(BTreeMap<String, i64>);

impl StatsTrack {
    /// Reads a node's data (null or empty: no pairs). Java stops at a malformed pair with an
    /// exception; here a malformed pair is skipped.
    pub fn parse(data: &Data) -> StatsTrack {
        let text = String::from_utf8_lossy(data::bytes(data));
        let mut out = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut kv = pair.split('=');
            let (Some(k), v) = (kv.next(), kv.next().unwrap_or("")) else {
                continue;
            };
            let v = if v.is_empty() { Ok(-1) } else { v.parse() };
            if let Ok(v) = v {
                out.insert(k.to_string(), v);
            }
        }
        StatsTrack(out)
    }

    /// The value of `key`, -1 if absent.
    pub fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(-1)
    }

    /// Sets `key`.
    pub fn set(&mut self, key: &str, value: i64) {
        self.0.insert(key.to_string(), value);
    }

    /// `StatsTrack.toString`: count and bytes first, then `=` and the other keys sorted, each
    /// after a `;` (the form ZooKeeper 3.7+ writes, kept for its readers).
    pub fn render(&self) -> String {
        let mut out = format!("{COUNT}={},{BYTES}={}", self.get(COUNT), self.get(BYTES));
        let rest: Vec<_> = self
            .0
            .iter()
            .filter(|(k, _)| *k != COUNT && *k != BYTES)
            .collect();
        if !rest.is_empty() {
            out.push('=');
            for (k, v) in rest {
                out.push_str(&format!(";{k}={v}"));
            }
        }
        out
    }
}

/// `Quotas.limitPath`.
pub fn limit_path(quota: &str) -> String {
    format!("{QUOTA_ROOT}{quota}/{LIMIT_NODE}")
}

/// `Quotas.statPath`.
pub fn stat_path(quota: &str) -> String {
    format!("{QUOTA_ROOT}{quota}/{STAT_NODE}")
}

/// `getMaxPrefixWithQuota`: the deepest of `path` and its ancestors with a quota; never `/`.
pub fn quota_of<S: Store>(s: &S, path: &str) -> Option<String> {
    let mut p = path;
    while p != "/" && !p.is_empty() {
        if s.node(&limit_path(p)).is_some() {
            return Some(p.to_string());
        }
        p = path::parent(p).ok()?;
    }
    None
}

/// After a create of `path` with `data`: a new stats node recounts its quota's subtree
/// (`updateQuotaForPath`), and the new node counts against its own quota.
pub fn created<S: Store>(s: &mut S, path: &str, data: &Data) {
    if let (Ok(parent), Some(quota)) = (path::parent(path), path.strip_prefix(QUOTA_ROOT)) {
        if path::name(path) == STAT_NODE && parent.len() > QUOTA_ROOT.len() {
            let quota = &quota[..quota.len() - STAT_NODE.len() - 1];
            recount(s, quota);
        }
    }
    account(s, path, len(data), 1);
}

/// `updateQuotaStat`: `bytes` and `count` more (or fewer) under the quota of `path`, if any.
/// The stats node's data changes in place: no new version, no watch event.
pub fn account<S: Store>(s: &mut S, path: &str, bytes: i64, count: i64) {
    let Some(quota) = quota_of(s, path) else {
        return;
    };
    s.update(&stat_path(&quota), |n| {
        let mut t = StatsTrack::parse(&n.data);
        t.set(COUNT, t.get(COUNT) + count);
        t.set(BYTES, t.get(BYTES) + bytes);
        n.data = Some(t.render().into_bytes());
    });
}

/// The length of `data` as quotas count it (null: 0).
pub fn len(data: &Data) -> i64 {
    data::bytes(data).len() as i64
}

/// Sets the stats node of `quota` to the nodes and bytes of its subtree.
fn recount<S: Store>(s: &mut S, quota: &str) {
    let (mut count, mut bytes) = (0, 0);
    let mut todo = vec![quota.to_string()];
    while let Some(p) = todo.pop() {
        let Some(n) = s.node(&p) else {
            continue;
        };
        count += 1;
        bytes += len(&n.data);
        todo.extend(n.children.iter().map(|c| path::join(&p, c)));
    }
    s.update(&stat_path(quota), |n| {
        let mut t = StatsTrack::parse(&n.data);
        t.set(COUNT, count);
        t.set(BYTES, bytes);
        n.data = Some(t.render().into_bytes());
    });
}

/// `ZooKeeperServer.checkQuota` (with `enforceQuota`): QuotaExceeded if `count` more nodes and
/// `bytes` more bytes under the quota of `path` would pass one of its hard limits.
pub fn check<S: Store>(s: &S, path: &str, bytes: i64, count: i64) -> ZkResult<()> {
    let Some(quota) = quota_of(s, path) else {
        return Ok(());
    };
    let Some(limits) = s.node(&limit_path(&quota)) else {
        return Ok(());
    };
    let limits = StatsTrack::parse(&limits.data);
    let Some(used) = s.node(&stat_path(&quota)) else {
        return Ok(());
    };
    let used = StatsTrack::parse(&used.data);
    let over = |diff: i64, key: &str, hard: &str| {
        diff != 0 && limits.get(hard) > -1 && used.get(key) + diff > limits.get(hard)
    };
    if over(count, COUNT, COUNT_HARD) || over(bytes, BYTES, BYTES_HARD) {
        return Err(Code::QuotaExceeded);
    }
    Ok(())
}
