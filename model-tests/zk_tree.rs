//! The znode tree and the leader's request preparation against ZooKeeper's documented rules.
//! Each test names the rule it checks: "PG" is the Programmer's Guide
//! (`zookeeperProgrammers.md`), "PRP" is `PrepRequestProcessor`, "DT" is `DataTree`.

use zabkeeper::zab::{Txn, Zxid};
use zabkeeper::zk::path::path_error;
use zabkeeper::zk::tree::Store;
use zabkeeper::zk::{
    prepare, Acl, Code, CreateMode, DataTree, Id, OpResult, TxnOp, WriteOp, WriteRequest, ZkTxn,
};

/// A single leader's view: prepare each write against the committed tree, then commit it.
pub struct Zk {
    pub tree: DataTree,
    pub zxid: i64,
    pub pending: Vec<Txn<ZkTxn>>,
    /// The leader's `enforceQuota`.
    pub enforce_quota: bool,
}

impl Zk {
    pub fn new() -> Zk {
        Zk::with_extended(false)
    }

    pub fn with_extended(extended: bool) -> Zk {
        Zk {
            tree: DataTree::new(extended),
            zxid: 0,
            pending: Vec::new(),
            enforce_quota: false,
        }
    }

    /// Prepares a write (after any pending ones) and leaves it pending.
    pub fn propose(&mut self, session: i64, auth: &[Id], op: WriteOp) -> ZkTxn {
        self.zxid += 1;
        let req = WriteRequest {
            session,
            cxid: 0,
            auth: auth.to_vec(),
            op,
        };
        let txn = prepare(
            &self.tree,
            &self.pending,
            self.zxid,
            1000 + self.zxid,
            &req,
            self.enforce_quota,
        );
        self.pending.push(Txn {
            zxid: Zxid(self.zxid as u64),
            op: txn.clone(),
        });
        txn
    }

    /// Commits every pending write; the result of the last.
    pub fn commit(&mut self) -> OpResult {
        let mut last = OpResult::Checked;
        for t in std::mem::take(&mut self.pending) {
            last = self.tree.apply_txn(t.zxid.0 as i64, &t.op).0;
        }
        last
    }

    pub fn write(&mut self, session: i64, auth: &[Id], op: WriteOp) -> OpResult {
        self.propose(session, auth, op);
        self.commit()
    }

    pub fn session(&mut self) -> i64 {
        self.propose(0, &[], WriteOp::CreateSession { timeout: 4000 });
        let id = self.zxid;
        self.commit();
        id
    }

    pub fn create(&mut self, s: i64, path: &str, mode: CreateMode) -> OpResult {
        self.write(s, &[], create_op(path, b"x", Acl::open(), mode))
    }
}

pub fn create_op(path: &str, data: &[u8], acl: Vec<Acl>, mode: CreateMode) -> WriteOp {
    WriteOp::Create {
        path: path.into(),
        data: Some(data.to_vec()),
        acl,
        mode,
        ttl: -1,
    }
}

pub fn created(r: &OpResult) -> String {
    match r {
        OpResult::Created { path, .. } => path.clone(),
        other => panic!("expected a create, got {other:?}"),
    }
}

fn err(r: &OpResult) -> Code {
    match r {
        OpResult::Error(c) => *c,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn pg_sequence_nodes_append_parent_cversion_as_ten_digits() {
    // PG "Sequence Nodes -- Unique Naming": the counter is the parent's, formatted %010d; PRP
    // takes it from the parent's cversion, which only creates increase (DT.deleteNode).
    let mut zk = Zk::new();
    let s = zk.session();
    zk.create(s, "/q", CreateMode::Persistent);
    let a = zk.create(s, "/q/n-", CreateMode::PersistentSequential);
    assert_eq!(created(&a), "/q/n-0000000000");
    zk.write(
        s,
        &[],
        WriteOp::Delete {
            path: "/q/n-0000000000".into(),
            version: -1,
        },
    );
    let b = zk.create(s, "/q/n-", CreateMode::EphemeralSequential);
    assert_eq!(created(&b), "/q/n-0000000001");
    let c = zk.create(s, "/q/", CreateMode::PersistentSequential);
    assert_eq!(created(&c), "/q/0000000002");
}

#[test]
fn pg_stat_fields_follow_each_change() {
    // PG "ZooKeeper Stat Structure": czxid/mzxid/pzxid, ctime/mtime, version, cversion,
    // aversion, ephemeralOwner, dataLength, numChildren.
    let mut zk = Zk::new();
    let s = zk.session();
    let OpResult::Created { stat, .. } = zk.create(s, "/a", CreateMode::Persistent) else {
        panic!()
    };
    let z = zk.zxid;
    assert_eq!((stat.czxid, stat.mzxid, stat.pzxid), (z, z, z));
    assert_eq!(
        (stat.version, stat.cversion, stat.aversion, stat.data_length),
        (0, 0, 0, 1)
    );
    assert_eq!(stat.ctime, 1000 + z);
    zk.create(s, "/a/b", CreateMode::Ephemeral);
    let parent = zk.tree.node("/a").unwrap().stat;
    assert_eq!(
        (parent.cversion, parent.num_children, parent.pzxid),
        (1, 1, zk.zxid)
    );
    assert_eq!(parent.mzxid, z, "a child does not change the parent's data");
    let child = zk.tree.node("/a/b").unwrap().stat;
    assert_eq!(child.ephemeral_owner, s);
    let OpResult::Stat(st) = zk.write(
        s,
        &[],
        WriteOp::SetData {
            path: "/a".into(),
            data: Some(b"four".to_vec()),
            version: 0,
        },
    ) else {
        panic!()
    };
    assert_eq!(
        (st.version, st.mzxid, st.data_length, st.czxid),
        (1, zk.zxid, 4, z)
    );
    assert_eq!(st.mtime, 1000 + zk.zxid);
    zk.write(
        s,
        &[],
        WriteOp::Delete {
            path: "/a/b".into(),
            version: -1,
        },
    );
    let parent = zk.tree.node("/a").unwrap().stat;
    assert_eq!(
        (parent.cversion, parent.num_children, parent.pzxid),
        (1, 0, zk.zxid)
    );
}

#[test]
fn pg_conditional_updates_check_the_version() {
    // PG "Conditional updates": setData/delete/check take the expected version, -1 any.
    let mut zk = Zk::new();
    let s = zk.session();
    zk.create(s, "/v", CreateMode::Persistent);
    let set = |v| WriteOp::SetData {
        path: "/v".into(),
        data: Some(vec![]),
        version: v,
    };
    assert_eq!(err(&zk.write(s, &[], set(3))), Code::BadVersion);
    assert!(matches!(zk.write(s, &[], set(0)), OpResult::Stat(st) if st.version == 1));
    assert!(matches!(zk.write(s, &[], set(-1)), OpResult::Stat(st) if st.version == 2));
    let check = |v| WriteOp::Check {
        path: "/v".into(),
        version: v,
    };
    assert_eq!(err(&zk.write(s, &[], check(1))), Code::BadVersion);
    assert_eq!(zk.write(s, &[], check(2)), OpResult::Checked);
    let del = |v| WriteOp::Delete {
        path: "/v".into(),
        version: v,
    };
    assert_eq!(err(&zk.write(s, &[], del(0))), Code::BadVersion);
    assert_eq!(zk.write(s, &[], del(2)), OpResult::Deleted);
}

#[test]
fn prp_structural_errors() {
    // PRP: NoNode for a missing parent or node, NodeExists, NotEmpty, and PG "Ephemeral
    // Nodes": ephemerals may not have children.
    let mut zk = Zk::new();
    let s = zk.session();
    assert_eq!(
        err(&zk.create(s, "/x/y", CreateMode::Persistent)),
        Code::NoNode
    );
    zk.create(s, "/x", CreateMode::Persistent);
    assert_eq!(
        err(&zk.create(s, "/x", CreateMode::Persistent)),
        Code::NodeExists
    );
    zk.create(s, "/x/e", CreateMode::Ephemeral);
    assert_eq!(
        err(&zk.create(s, "/x/e/c", CreateMode::Persistent)),
        Code::NoChildrenForEphemerals
    );
    assert_eq!(
        err(&zk.write(
            s,
            &[],
            WriteOp::Delete {
                path: "/x".into(),
                version: -1
            }
        )),
        Code::NotEmpty
    );
    let set = WriteOp::SetData {
        path: "/none".into(),
        data: Some(vec![]),
        version: -1,
    };
    assert_eq!(err(&zk.write(s, &[], set)), Code::NoNode);
    assert_eq!(
        err(&zk.create(s, "/", CreateMode::Persistent)),
        Code::NodeExists
    );
}

#[test]
fn pg_path_rules() {
    // PG "ZNodes": absolute, slash-separated; no empty names, "." or ".." components, null
    // or control characters, and nothing outside the BMP (Java's surrogates).
    for bad in [
        "",
        "a",
        "/a/",
        "//a",
        "/a//b",
        "/a/./b",
        "/a/../b",
        "/.",
        "/a\0b",
        "/\u{1}",
        "/\u{7f}",
        "/\u{e000}",
        "/\u{1F600}",
    ] {
        assert!(path_error(bad).is_some(), "{bad:?} must be rejected");
    }
    for good in [
        "/",
        "/a",
        "/a/b.c",
        "/a/...",
        "/a/.b",
        "/zookeeper/x",
        "/ünïcödé",
    ] {
        assert_eq!(path_error(good), None, "{good:?} is valid");
    }
    let mut zk = Zk::new();
    let s = zk.session();
    // PRP looks the parent up before it validates the whole path.
    assert_eq!(
        err(&zk.create(s, "/a/../b", CreateMode::Persistent)),
        Code::NoNode
    );
    assert_eq!(
        err(&zk.create(s, "/zookeeper/", CreateMode::Persistent)),
        Code::BadArguments
    );
    assert_eq!(
        err(&zk.create(s, "noslash", CreateMode::Persistent)),
        Code::BadArguments
    );
}

#[test]
fn dt_reserved_zookeeper_subtree() {
    // DT: /zookeeper, /zookeeper/quota, /zookeeper/config exist from the start and cannot be
    // deleted (isSpecialPath -> BadArguments); /zookeeper/config is read-only for clients.
    let mut zk = Zk::new();
    let s = zk.session();
    for p in ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert!(zk.tree.node(p).is_some());
        let del = WriteOp::Delete {
            path: p.into(),
            version: -1,
        };
        assert_eq!(err(&zk.write(s, &[], del)), Code::BadArguments);
    }
    let set = WriteOp::SetData {
        path: "/zookeeper/config".into(),
        data: Some(vec![1]),
        version: -1,
    };
    assert_eq!(err(&zk.write(s, &[], set)), Code::NoAuth);
    assert!(zk.tree.node("/").unwrap().children.contains("zookeeper"));
}

#[test]
fn prp_data_limit_is_jute_maxbuffer() {
    // The programmer's guide: data is limited to 1 MiB (jute.maxbuffer).
    let mut zk = Zk::new();
    let s = zk.session();
    let big = vec![0u8; 1024 * 1024 + 1];
    let r = zk.write(
        s,
        &[],
        create_op("/big", &big, Acl::open(), CreateMode::Persistent),
    );
    assert_eq!(err(&r), Code::BadArguments);
    let ok = vec![0u8; 1024 * 1024];
    let r = zk.write(
        s,
        &[],
        create_op("/big", &ok, Acl::open(), CreateMode::Persistent),
    );
    assert_eq!(created(&r), "/big");
}

#[test]
fn pg_ephemerals_go_with_their_session() {
    // PG "Ephemeral Nodes": deleted when the session ends; PRP lists them in the closeSession
    // transaction, including ones still pending when it is prepared.
    let mut zk = Zk::new();
    let s = zk.session();
    let other = zk.session();
    zk.create(s, "/e1", CreateMode::Ephemeral);
    zk.create(other, "/keep", CreateMode::Ephemeral);
    zk.propose(
        s,
        &[],
        create_op("/e2", b"", Acl::open(), CreateMode::Ephemeral),
    );
    let close = zk.propose(s, &[], WriteOp::CloseSession);
    assert_eq!(
        close.op,
        TxnOp::CloseSession {
            paths: vec!["/e1".into(), "/e2".into()]
        }
    );
    zk.commit();
    assert!(zk.tree.node("/e1").is_none() && zk.tree.node("/e2").is_none());
    assert!(zk.tree.node("/keep").is_some());
    assert!(!zk.tree.sessions().contains_key(&s));
    let late = zk.create(s, "/late", CreateMode::Persistent);
    assert_eq!(err(&late), Code::SessionExpired);
}

#[test]
fn prp_pending_changes_are_seen_before_commit() {
    // PRP's outstandingChanges: a request is checked against proposals not yet committed.
    let mut zk = Zk::new();
    let s = zk.session();
    zk.propose(
        s,
        &[],
        create_op("/p", b"", Acl::open(), CreateMode::Persistent),
    );
    let again = zk.propose(
        s,
        &[],
        create_op("/p", b"", Acl::open(), CreateMode::Persistent),
    );
    assert_eq!(again.op, TxnOp::Error(Code::NodeExists));
    let seq = zk.propose(
        s,
        &[],
        create_op("/p/s", b"", Acl::open(), CreateMode::PersistentSequential),
    );
    let seq2 = zk.propose(
        s,
        &[],
        create_op("/p/s", b"", Acl::open(), CreateMode::PersistentSequential),
    );
    assert!(matches!(&seq.op, TxnOp::Create { path, .. } if path == "/p/s0000000000"));
    assert!(matches!(&seq2.op, TxnOp::Create { path, .. } if path == "/p/s0000000001"));
    let set = zk.propose(
        s,
        &[],
        WriteOp::SetData {
            path: "/p".into(),
            data: Some(vec![]),
            version: 0,
        },
    );
    let set2 = zk.propose(
        s,
        &[],
        WriteOp::SetData {
            path: "/p".into(),
            data: Some(vec![]),
            version: 0,
        },
    );
    assert!(matches!(set.op, TxnOp::SetData { version: 1, .. }));
    assert_eq!(set2.op, TxnOp::Error(Code::BadVersion));
    zk.commit();
    assert_eq!(zk.tree.node("/p").unwrap().stat.cversion, 2);
}

#[test]
fn pg_multi_is_all_or_nothing() {
    // PG "multi": all operations succeed or none; a failed multi reports Ok for the ones
    // before the failure, its code, and RuntimeInconsistency after it.
    let mut zk = Zk::new();
    let s = zk.session();
    let ops = vec![
        create_op("/m1", b"", Acl::open(), CreateMode::Persistent),
        WriteOp::Check {
            path: "/m1".into(),
            version: 0,
        },
        WriteOp::SetData {
            path: "/m1".into(),
            data: Some(b"d".to_vec()),
            version: 0,
        },
    ];
    let OpResult::Multi(rs) = zk.write(s, &[], WriteOp::Multi(ops)) else {
        panic!()
    };
    assert!(matches!(
        rs[..],
        [
            OpResult::Created { .. },
            OpResult::Checked,
            OpResult::Stat(_)
        ]
    ));
    let digest = zk.tree.digest();
    let ops = vec![
        create_op("/m2", b"", Acl::open(), CreateMode::Persistent),
        WriteOp::Delete {
            path: "/nope".into(),
            version: -1,
        },
        create_op("/m3", b"", Acl::open(), CreateMode::Persistent),
    ];
    let r = zk.write(s, &[], WriteOp::Multi(ops));
    let expect = [Code::Ok, Code::NoNode, Code::RuntimeInconsistency].map(OpResult::Error);
    assert_eq!(r, OpResult::Multi(expect.to_vec()));
    assert!(zk.tree.node("/m2").is_none());
    assert_eq!(zk.tree.digest(), digest, "a failed multi changes nothing");
}

#[test]
fn ttl_nodes_need_extended_types() {
    // PG "TTL Nodes": only with zookeeper.extendedTypesEnabled (else Unimplemented), ttl in
    // (0, 2^40); the owner field encodes the TTL.
    let ttl_op = |ttl| WriteOp::Create {
        path: "/t".into(),
        data: Some(vec![]),
        acl: Acl::open(),
        mode: CreateMode::PersistentWithTtl,
        ttl,
    };
    let mut zk = Zk::new();
    let s = zk.session();
    assert_eq!(err(&zk.write(s, &[], ttl_op(100))), Code::Unimplemented);
    let mut zk = Zk::with_extended(true);
    let s = zk.session();
    assert_eq!(err(&zk.write(s, &[], ttl_op(0))), Code::BadArguments);
    let OpResult::Created { stat, .. } = zk.write(s, &[], ttl_op(100)) else {
        panic!()
    };
    assert_eq!(stat.ephemeral_owner, (0xffu64 << 56) as i64 | 100);
    let dc = WriteOp::DeleteContainer { path: "/t".into() };
    assert_eq!(zk.write(s, &[], dc), OpResult::Deleted);
}

#[test]
fn containers_are_removed_only_when_empty() {
    // PG "Container Nodes": the leader deletes a container once it has no children
    // (deleteContainer fails with NotEmpty otherwise, and on non-containers).
    let mut zk = Zk::new();
    let s = zk.session();
    zk.create(s, "/c", CreateMode::Container);
    zk.create(s, "/c/k", CreateMode::Persistent);
    assert_eq!(zk.tree.node("/c").unwrap().stat.ephemeral_owner, i64::MIN);
    let dc = |p: &str| WriteOp::DeleteContainer { path: p.into() };
    assert_eq!(err(&zk.write(s, &[], dc("/c"))), Code::NotEmpty);
    assert_eq!(err(&zk.write(s, &[], dc("/c/k"))), Code::BadArguments);
    zk.write(
        s,
        &[],
        WriteOp::Delete {
            path: "/c/k".into(),
            version: -1,
        },
    );
    assert_eq!(zk.write(s, &[], dc("/c")), OpResult::Deleted);
}

#[test]
fn the_session_tick_s_index_of_containers_and_ttl_nodes_follows_the_tree_and_its_encoding() {
    // The leader's session tick looks only at the nodes that may expire (DT's containers and
    // TTL nodes), indexed as they are created and deleted, and rebuilt when a tree is read
    // back from its encoding (a snapshot), which does not carry the index.
    let mut zk = Zk::with_extended(true);
    let s = zk.session();
    zk.create(s, "/c", CreateMode::Container);
    zk.create(s, "/c/k", CreateMode::Persistent);
    zk.create(s, "/p", CreateMode::Persistent);
    zk.create(s, "/e", CreateMode::Ephemeral);
    let ttl = WriteOp::Create {
        path: "/t".into(),
        data: Some(vec![]),
        acl: Acl::open(),
        mode: CreateMode::PersistentWithTtl,
        ttl: 100,
    };
    zk.write(s, &[], ttl);
    let paths =
        |t: &DataTree| -> Vec<String> { t.maybe_expiring().map(|(p, _)| p.to_string()).collect() };
    assert_eq!(paths(&zk.tree), vec!["/c", "/t"]);
    let bytes = postcard::to_stdvec(&zk.tree).unwrap();
    let back: DataTree = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, zk.tree, "the index is rebuilt");
    assert_eq!(paths(&back), vec!["/c", "/t"]);
    let dc = WriteOp::DeleteContainer { path: "/t".into() };
    assert_eq!(zk.write(s, &[], dc), OpResult::Deleted);
    assert_eq!(paths(&zk.tree), vec!["/c"]);
}
