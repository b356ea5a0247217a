//! Reads, watch re-registration and sessions against ZooKeeper's rules ("PG" is the
//! Programmer's Guide; "FRP" `FinalRequestProcessor`; "DT" `DataTree`).

use crate::zk_tree::{create_op, Zk};
use zabkeeper::zk::acl::{self, perms};
use zabkeeper::zk::read::{read, set_watches, ReadOp, ReadResult, WatchList};
use zabkeeper::zk::session::{password, SessionLimits, SessionTracker};
use zabkeeper::zk::watch::{EventType, WatchKind};
use zabkeeper::zk::{Acl, Code, CreateMode, Id, WriteOp};

#[test]
fn frp_reads_check_read_permission_and_leave_watches() {
    // PG "ACL Permissions": getData and getChildren need READ; exists needs nothing and leaves
    // a watch even on a missing node (PG "Semantics of Watches"); getData of a missing node
    // fails with NoNode and leaves none.
    let mut zk = Zk::new();
    let s = zk.session();
    let secret = vec![Acl {
        perms: perms::WRITE,
        id: Id::anyone(),
    }];
    zk.write(
        s,
        &[],
        create_op("/s", b"d", secret, CreateMode::Persistent),
    );
    let t = &zk.tree;
    assert_eq!(
        read(t, s, &[], ReadOp::GetData, "/s", true),
        (Err(Code::NoAuth), None)
    );
    assert!(matches!(
        read(t, s, &[], ReadOp::Exists, "/s", true),
        (Ok(ReadResult::Stat(_)), Some(WatchKind::Data))
    ));
    assert_eq!(
        read(t, s, &[], ReadOp::Exists, "/none", true),
        (Err(Code::NoNode), Some(WatchKind::Data))
    );
    assert_eq!(
        read(t, s, &[], ReadOp::GetData, "/none", true),
        (Err(Code::NoNode), None)
    );
    assert_eq!(
        read(t, s, &[], ReadOp::GetChildren, "bad", false).0,
        Err(Code::BadArguments)
    );
    let (r, w) = read(t, s, &[], ReadOp::GetChildren, "/", true);
    assert_eq!(w, Some(WatchKind::Child));
    assert!(
        matches!(r, Ok(ReadResult::Children(c, _)) if c == vec!["s".to_string(), "zookeeper".to_string()])
    );
}

#[test]
fn frp_getacl_hides_digests_without_admin() {
    // FRP getACL: READ or ADMIN is enough to read the ACL, but without ADMIN a digest
    // identity is shown as user:x.
    let mut zk = Zk::new();
    let s = zk.session();
    let alice = acl::authenticate("digest", b"alice:pw", None).unwrap();
    let mixed = vec![
        Acl {
            perms: perms::ALL,
            id: alice[0].clone(),
        },
        Acl {
            perms: perms::READ,
            id: Id::anyone(),
        },
    ];
    zk.write(s, &[], create_op("/a", b"", mixed, CreateMode::Persistent));
    let Ok(ReadResult::Acl(shown, _)) = read(&zk.tree, s, &[], ReadOp::GetAcl, "/a", false).0
    else {
        panic!()
    };
    assert_eq!(shown[0].id, Id::new("digest", "alice:x"));
    let Ok(ReadResult::Acl(full, _)) = read(&zk.tree, s, &alice, ReadOp::GetAcl, "/a", false).0
    else {
        panic!()
    };
    assert_eq!(full[0].id, alice[0]);
}

#[test]
fn ephemerals_and_children_counts() {
    // getEphemerals lists the caller's own ephemerals under a prefix; getAllChildrenNumber
    // counts every node below a path.
    let mut zk = Zk::new();
    let s = zk.session();
    let other = zk.session();
    zk.create(s, "/a", CreateMode::Persistent);
    zk.create(s, "/a/e1", CreateMode::Ephemeral);
    zk.create(other, "/a/e2", CreateMode::Ephemeral);
    zk.create(s, "/ab", CreateMode::Ephemeral);
    let eph = read(&zk.tree, s, &[], ReadOp::GetEphemerals, "/a", false).0;
    assert_eq!(
        eph,
        Ok(ReadResult::Paths(vec!["/a/e1".into(), "/ab".into()]))
    );
    let n = read(&zk.tree, s, &[], ReadOp::GetAllChildrenNumber, "/a", false).0;
    assert_eq!(n, Ok(ReadResult::Count(2)));
}

#[test]
fn dt_set_watches_fires_what_was_missed() {
    // DT.setWatches: after a reconnect, a data watch fires NodeDataChanged if the node changed
    // after the client's last zxid (NodeDeleted if gone), an exist watch NodeCreated if the node
    // now exists, a child watch NodeChildrenChanged if children changed; the rest are kept.
    let mut zk = Zk::new();
    let s = zk.session();
    zk.create(s, "/same", CreateMode::Persistent);
    zk.create(s, "/changed", CreateMode::Persistent);
    zk.create(s, "/parent", CreateMode::Persistent);
    let seen = zk.zxid;
    zk.write(
        s,
        &[],
        WriteOp::SetData {
            path: "/changed".into(),
            data: Some(vec![]),
            version: -1,
        },
    );
    zk.create(s, "/parent/kid", CreateMode::Persistent);
    zk.create(s, "/born", CreateMode::Persistent);
    let list = WatchList {
        relative_zxid: seen,
        data: vec!["/same".into(), "/changed".into(), "/gone".into()],
        exist: vec!["/born".into(), "/unborn".into()],
        child: vec!["/parent".into(), "/same".into()],
        persistent: vec!["/p".into()],
        recursive: vec![],
    };
    let (fired, kept) = set_watches(&zk.tree, &list);
    assert_eq!(
        fired,
        vec![
            (EventType::NodeDataChanged, "/changed".into()),
            (EventType::NodeDeleted, "/gone".into()),
            (EventType::NodeCreated, "/born".into()),
            (EventType::NodeChildrenChanged, "/parent".into()),
        ]
    );
    assert_eq!(
        kept,
        vec![
            ("/same".into(), WatchKind::Data),
            ("/unborn".into(), WatchKind::Data),
            ("/same".into(), WatchKind::Child),
            ("/p".into(), WatchKind::Persistent),
        ]
    );
}

#[test]
fn session_timeouts_are_negotiated_within_limits() {
    // Admin guide: minSessionTimeout defaults to 2 ticks, maxSessionTimeout to 20 ticks; the
    // server clamps what the client asks for.
    let l = SessionLimits::for_tick(2000);
    assert_eq!(l.negotiate(1000), 4000);
    assert_eq!(l.negotiate(30000), 30000);
    assert_eq!(l.negotiate(100000), 40000);
    assert_eq!(l.ticks(30000), 15);
}

#[test]
fn leader_expires_silent_sessions_once() {
    // SessionTrackerImpl: a session expires once a full timeout passes without a sign of life;
    // every touch pushes the deadline; an expired session is reported once.
    let mut t = SessionTracker::default();
    t.touch(1, 2);
    t.touch(2, 2);
    assert!(t.tick().is_empty());
    t.touch(2, 2);
    assert!(t.tick().is_empty());
    assert_eq!(t.tick(), vec![1]);
    assert_eq!(t.tick(), vec![2]);
    assert!(t.tick().is_empty() && !t.tracks(1));
}

#[test]
fn passwords_depend_on_session_and_secret() {
    assert_eq!(password(7, 1), password(7, 1));
    assert_ne!(password(7, 1), password(8, 1));
    assert_ne!(password(7, 1), password(7, 2));
    assert_eq!(password(7, 1).len(), 16);
}
