//! Quotas (`src/zk/quota.rs`) as ZooKeeper 3.7+ keeps them ("DT" is `DataTree`, "ZKS"
//! `ZooKeeperServer.checkQuota`): the StatsTrack texts ZooKeeper's clients write and read, the
//! stats node kept current by every create, delete and setData under the quota (and recounted
//! when it is created), the deepest quota applying, hard limits refused with `enforceQuota`
//! (also against proposals not yet committed), soft limits never refused. zkCli's
//! setquota/listquota/delquota side by side with ZooKeeper is in `compat.rs`.

use crate::zk_tree::{create_op, Zk};
use zabkeeper::zk::quota::{self, StatsTrack};
use zabkeeper::zk::tree::Store;
use zabkeeper::zk::{Acl, Code, CreateMode, OpResult, WriteOp};

#[test]
fn stats_track_reads_and_writes_zookeeper_s_texts() {
    // What zkCli 3.8's `setquota -n 3` writes, then with hard limits (seen against ZooKeeper).
    for text in [
        "count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1",
        "count=3,bytes=-1=;byteHardLimit=20;countHardLimit=4",
        "count=2,bytes=6",
    ] {
        let t = StatsTrack::parse(&Some(text.as_bytes().to_vec()));
        assert_eq!(t.render(), text);
    }
    let t = StatsTrack::parse(&Some(b"count=3,bytes=-1=;byteHardLimit=20".to_vec()));
    assert_eq!((t.get("count"), t.get("bytes")), (3, -1));
    assert_eq!((t.get("byteHardLimit"), t.get("countHardLimit")), (20, -1));
    // Null, empty and malformed pairs read as absent (-1).
    for data in [None, Some(Vec::new()), Some(b"count=x,=,bytes".to_vec())] {
        let t = StatsTrack::parse(&data);
        assert_eq!((t.get("count"), t.get("bytes")), (-1, -1), "{data:?}");
    }
}

fn put(zk: &mut Zk, s: i64, path: &str, data: &[u8]) -> OpResult {
    zk.write(
        s,
        &[],
        create_op(path, data, Acl::open(), CreateMode::Persistent),
    )
}

fn set(zk: &mut Zk, s: i64, path: &str, data: &[u8]) -> OpResult {
    let op = WriteOp::SetData {
        path: path.into(),
        data: Some(data.to_vec()),
        version: -1,
    };
    zk.write(s, &[], op)
}

fn stats(zk: &Zk, quota: &str) -> String {
    let n = zk.tree.node(&quota::stat_path(quota)).expect("stats node");
    String::from_utf8(n.data.clone().unwrap()).unwrap()
}

/// A quota on `path` made as zkCli's `setquota` makes one: the limits node, then a stats
/// node holding `count=0,bytes=0`.
fn set_quota(zk: &mut Zk, s: i64, path: &str, limits: &str) {
    let mut at = "/zookeeper/quota".to_string();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at = format!("{at}/{part}");
        if zk.tree.node(&at).is_none() {
            put(zk, s, &at, b"");
        }
    }
    put(zk, s, &quota::limit_path(path), limits.as_bytes());
    put(zk, s, &quota::stat_path(path), b"count=0,bytes=0");
}

#[test]
fn dt_the_stats_node_follows_the_subtree_under_its_quota() {
    let mut zk = Zk::new();
    let s = zk.session();
    put(&mut zk, s, "/q", b"a");
    put(&mut zk, s, "/q/c1", b"hello");
    put(&mut zk, s, "/other", b"not counted");
    // Creating the stats node recounts the subtree: /q and /q/c1.
    set_quota(&mut zk, s, "/q", "count=3,bytes=-1");
    assert_eq!(stats(&zk, "/q"), "count=2,bytes=6");
    let version = zk.tree.node(&quota::stat_path("/q")).unwrap().stat.version;
    put(&mut zk, s, "/q/c1/deep", b"xy");
    set(&mut zk, s, "/q/c1", b"hi");
    assert_eq!(stats(&zk, "/q"), "count=3,bytes=5");
    zk.write(
        s,
        &[],
        WriteOp::Delete {
            path: "/q/c1/deep".into(),
            version: -1,
        },
    );
    assert_eq!(stats(&zk, "/q"), "count=2,bytes=3");
    // In place: the stats node keeps its version (ZooKeeper changes its data only).
    let node = zk.tree.node(&quota::stat_path("/q")).unwrap();
    assert_eq!((node.stat.version, node.stat.data_length), (version, 15));
    // A failed multi changes nothing; a committed one counts each operation.
    let multi = WriteOp::Multi(vec![
        create_op("/q/m1", b"1", Acl::open(), CreateMode::Persistent),
        create_op("/q/m2", b"22", Acl::open(), CreateMode::Persistent),
    ]);
    zk.write(s, &[], multi.clone());
    assert_eq!(stats(&zk, "/q"), "count=4,bytes=6");
    zk.write(s, &[], multi);
    assert_eq!(stats(&zk, "/q"), "count=4,bytes=6");
    // Writes outside every quota, and to the quota nodes themselves, count nowhere.
    set(&mut zk, s, "/other", b"x");
    assert_eq!(stats(&zk, "/q"), "count=4,bytes=6");
}

#[test]
fn dt_the_deepest_quota_applies_and_ephemerals_leave_it_when_their_session_ends() {
    let mut zk = Zk::new();
    let s = zk.session();
    put(&mut zk, s, "/a", b"");
    put(&mut zk, s, "/a/b", b"");
    set_quota(&mut zk, s, "/a", "count=10,bytes=-1");
    set_quota(&mut zk, s, "/a/b", "count=10,bytes=-1");
    assert_eq!(stats(&zk, "/a"), "count=2,bytes=0");
    assert_eq!(stats(&zk, "/a/b"), "count=1,bytes=0");
    let e = zk.session();
    zk.write(
        e,
        &[],
        create_op("/a/b/e", b"eph", Acl::open(), CreateMode::Ephemeral),
    );
    assert_eq!(stats(&zk, "/a/b"), "count=2,bytes=3");
    assert_eq!(
        stats(&zk, "/a"),
        "count=2,bytes=0",
        "only the deepest quota counts"
    );
    let close = WriteOp::CloseSession;
    zk.write(e, &[], close);
    assert_eq!(stats(&zk, "/a/b"), "count=1,bytes=0");
    // Without its limits node a quota no longer applies (delquota deletes it).
    let del = |p: String| WriteOp::Delete {
        path: p,
        version: -1,
    };
    zk.write(s, &[], del(quota::stat_path("/a/b")));
    zk.write(s, &[], del(quota::limit_path("/a/b")));
    put(&mut zk, s, "/a/b/f", b"f");
    assert_eq!(stats(&zk, "/a"), "count=3,bytes=1");
}

#[test]
fn zks_enforce_quota_refuses_what_passes_a_hard_limit_and_only_that() {
    let mut zk = Zk::new();
    zk.enforce_quota = true;
    let s = zk.session();
    put(&mut zk, s, "/q", b"a");
    set_quota(
        &mut zk,
        s,
        "/q",
        "count=1,bytes=2=;byteHardLimit=10;countHardLimit=3",
    );
    // Soft limits (count=1, bytes=2) are passed already: only logged by ZooKeeper.
    assert!(matches!(
        put(&mut zk, s, "/q/c1", b"bcd"),
        OpResult::Created { .. }
    ));
    assert_eq!(stats(&zk, "/q"), "count=2,bytes=4");
    // Past the hard byte limit: 4 - 3 + 10 = 11 > 10.
    assert_eq!(
        set(&mut zk, s, "/q/c1", b"0123456789"),
        OpResult::Error(Code::QuotaExceeded)
    );
    assert!(matches!(
        set(&mut zk, s, "/q/c1", b"012345678"),
        OpResult::Stat(_)
    ));
    // The third node is allowed, a fourth is not: not even while the third is pending.
    zk.propose(
        s,
        &[],
        create_op("/q/c2", b"", Acl::open(), CreateMode::Persistent),
    );
    let txn = zk.propose(
        s,
        &[],
        create_op("/q/c3", b"", Acl::open(), CreateMode::Persistent),
    );
    assert_eq!(txn.op, zabkeeper::zk::TxnOp::Error(Code::QuotaExceeded));
    zk.commit();
    assert_eq!(stats(&zk, "/q"), "count=3,bytes=10");
    // Elsewhere nothing is refused; without enforceQuota nothing is.
    assert!(matches!(
        put(&mut zk, s, "/free", b"0123456789abc"),
        OpResult::Created { .. }
    ));
    zk.enforce_quota = false;
    assert!(matches!(
        put(&mut zk, s, "/q/c3", b"x"),
        OpResult::Created { .. }
    ));
    assert_eq!(stats(&zk, "/q"), "count=4,bytes=11");
}
