//! Property tests over random write sequences: the tree stays well formed, its running digest
//! is the digest of its contents, and pipelining (preparing against pending proposals, PRP's
//! outstandingChanges) decides exactly what preparing after each commit would.

use crate::zk_tree::Zk;
use proptest::prelude::*;
use zabkeeper::zk::stat::NodeKind;
use zabkeeper::zk::tree::Store;
use zabkeeper::zk::{Acl, CreateMode, DataTree, WriteOp};

const PATHS: [&str; 5] = ["/a", "/a/b", "/b", "/a/b/c", "/b/d"];

fn op() -> impl Strategy<Value = (usize, WriteOp)> {
    let path = (0..PATHS.len()).prop_map(|i| PATHS[i].to_string());
    let version = -1..3i32;
    let mode = prop_oneof![
        Just(CreateMode::Persistent),
        Just(CreateMode::Ephemeral),
        Just(CreateMode::PersistentSequential),
        Just(CreateMode::EphemeralSequential),
        Just(CreateMode::Container),
    ];
    let write = prop_oneof![
        (path.clone(), mode, any::<u8>()).prop_map(|(path, mode, d)| WriteOp::Create {
            path,
            data: Some(vec![d]),
            acl: Acl::open(),
            mode,
            ttl: -1,
        }),
        (path.clone(), version.clone())
            .prop_map(|(path, version)| WriteOp::Delete { path, version }),
        (path.clone(), version.clone(), any::<u8>()).prop_map(|(path, version, d)| {
            WriteOp::SetData {
                path,
                data: Some(vec![d; 3]),
                version,
            }
        }),
        (path.clone(), version).prop_map(|(path, version)| WriteOp::Check { path, version }),
        path.prop_map(|path| WriteOp::DeleteContainer { path }),
        Just(WriteOp::CloseSession),
    ];
    (0..2usize, write)
}

fn multi() -> impl Strategy<Value = (usize, WriteOp)> {
    prop_oneof![
        4 => op(),
        1 => proptest::collection::vec(op(), 1..4)
            .prop_map(|ops| (ops[0].0, WriteOp::Multi(ops.into_iter().map(|o| o.1).collect()))),
    ]
}

/// Every node's parent lists it, counts match, ephemerals have live owners and no children.
fn well_formed(t: &DataTree) -> Result<(), String> {
    for (p, n) in t.nodes() {
        let p: &str = p;
        if n.stat.num_children as usize != n.children.len()
            || n.stat.data_length as usize != zabkeeper::zk::data::bytes(&n.data).len()
        {
            return Err(format!("{p}: counts out of date"));
        }
        for c in &n.children {
            let child = if p == "/" {
                format!("/{c}")
            } else {
                format!("{p}/{c}")
            };
            if t.node(&child).is_none() {
                return Err(format!("{p} lists missing child {c}"));
            }
        }
        if p != "/" {
            let parent = zabkeeper::zk::path::parent(p).unwrap();
            let listed = t
                .node(parent)
                .is_some_and(|q| q.children.contains(zabkeeper::zk::path::name(p)));
            if !listed {
                return Err(format!("{p} is not listed by its parent"));
            }
        }
        if let NodeKind::Ephemeral(s) = NodeKind::of(n.stat.ephemeral_owner, false) {
            if !t.sessions().contains_key(&s) || !n.children.is_empty() {
                return Err(format!("{p}: ephemeral of dead session or with children"));
            }
        }
    }
    Ok(())
}

fn setup() -> (Zk, [i64; 2]) {
    let mut zk = Zk::new();
    let sessions = [zk.session(), zk.session()];
    (zk, sessions)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn tree_stays_well_formed_and_digest_tracks_contents(ops in proptest::collection::vec(multi(), 0..25)) {
        let (mut zk, sessions) = setup();
        for (s, op) in ops {
            zk.write(sessions[s], &[], op);
            prop_assert_eq!(well_formed(&zk.tree), Ok(()));
            prop_assert_eq!(zk.tree.digest(), zk.tree.recompute_digest());
        }
    }

    #[test]
    fn pipelined_preparation_decides_as_sequential(ops in proptest::collection::vec(multi(), 0..25)) {
        let (mut piped, sessions) = setup();
        let (mut stepped, _) = setup();
        let mut piped_txns = Vec::new();
        let mut stepped_txns = Vec::new();
        for (s, op) in ops {
            piped_txns.push(piped.propose(sessions[s], &[], op.clone()));
            stepped_txns.push(stepped.propose(sessions[s], &[], op));
            stepped.commit();
        }
        piped.commit();
        prop_assert_eq!(piped_txns, stepped_txns);
        prop_assert_eq!(&piped.tree, &stepped.tree);
        prop_assert_eq!(piped.tree.digest(), stepped.tree.digest());
    }
}

/// One step of a leader's life for [`kept_record_prepares_as_the_rebuilt_view`].
#[derive(Clone, Debug)]
enum Step {
    /// A write from session 0 or 1 is prepared and left pending.
    Propose(usize, WriteOp),
    /// The oldest `n` pending proposals commit.
    Commit(usize),
    /// A new epoch: this server leads again, its pending proposals after the first `n`
    /// truncated away (the new epoch's leader never had them; the first `n` it keeps, still
    /// pending).
    NewEpoch(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => multi().prop_map(|(s, op)| Step::Propose(s, op)),
        3 => (0..4usize).prop_map(Step::Commit),
        1 => (0..3usize).prop_map(Step::NewEpoch),
    ]
}

/// A quota on `/a` (a count of 3, hard with enforceQuota) as zkCli's `setquota` makes it.
fn with_quota(zk: &mut crate::zk_tree::Zk, s: i64) {
    use crate::zk_tree::create_op;
    for (p, d) in [
        ("/zookeeper/quota/a", &b""[..]),
        ("/zookeeper/quota/a/zookeeper_limits", b"count=3,bytes=-1"),
        ("/zookeeper/quota/a/zookeeper_stats", b"count=0,bytes=0"),
    ] {
        zk.write(s, &[], create_op(p, d, Acl::open(), CreateMode::Persistent));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The leader's kept record of its pending proposals (`zk::outstanding`, carried from one
    /// proposal to the next, trimmed as they commit, started afresh in a new epoch) prepares
    /// every request exactly as the view rebuilt from the pending log does.
    #[test]
    fn kept_record_prepares_as_the_rebuilt_view(
        steps in proptest::collection::vec(step(), 0..40),
        enforce in any::<bool>(),
        quota in any::<bool>(),
    ) {
        use zabkeeper::zab::{Txn, Zxid};
        use zabkeeper::zk::outstanding::Outstanding;
        use zabkeeper::zk::{prepare, prepare_outstanding, WriteRequest};
        let (mut zk, sessions) = setup();
        if quota {
            with_quota(&mut zk, sessions[0]);
        }
        let mut memo = Outstanding::default();
        let (mut epoch, mut counter) = (1u64, 0u64);
        for step in steps {
            match step {
                Step::Propose(s, op) => {
                    counter += 1;
                    let zxid = Zxid(epoch << 32 | counter);
                    let req = WriteRequest { session: sessions[s], cxid: 0, auth: vec![], op };
                    let time = 1000 + counter as i64;
                    let z = zxid.0 as i64;
                    let rebuilt = prepare(&zk.tree, &zk.pending, z, time, &req, enforce);
                    memo.catch_up(&zk.tree, &zk.pending, zxid);
                    let kept = prepare_outstanding(&zk.tree, &memo, z, time, &req, enforce);
                    prop_assert_eq!(&kept, &rebuilt);
                    zk.pending.push(Txn { zxid, op: kept });
                }
                Step::Commit(n) => {
                    let n = n.min(zk.pending.len());
                    for t in zk.pending.drain(..n) {
                        zk.tree.apply_txn(t.zxid.0 as i64, &t.op);
                    }
                }
                Step::NewEpoch(n) => {
                    zk.pending.truncate(n);
                    epoch += 1;
                    counter = 0;
                }
            }
        }
    }
}
