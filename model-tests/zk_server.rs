//! Interaction tests of the ZooKeeper client layer inside the real server actors ("PG" is the
//! Programmer's Guide; each test names the guarantee it checks).

use crate::zk_cluster::{Cluster, CLIENT};
use zabkeeper::jute::proto::{op, xid, ReplyFrame, Request, RequestFrame, Response};
use zabkeeper::zab::{Msg, Timer};
use zabkeeper::zk::server::{ClientMsg, ZkOptions};
use zabkeeper::zk::server::{Input, ZkTimer};
use zabkeeper::zk::session::SessionLimits;
use zabkeeper::zk::tree::Store;
use zabkeeper::zk::watch::EventType;
use zabkeeper::zk::{acl, Acl, Code, CreateMode, DataTree, Id};

fn create(x: i32, path: &str, mode: CreateMode) -> RequestFrame {
    RequestFrame {
        xid: x,
        op: op::CREATE,
        body: Request::Create {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: Acl::open(),
            flags: mode as i32,
        },
    }
}

fn get(x: i32, path: &str, watch: bool) -> RequestFrame {
    RequestFrame {
        xid: x,
        op: op::GET_DATA,
        body: Request::Read {
            path: path.into(),
            watch,
        },
    }
}

fn set(x: i32, path: &str, data: &[u8]) -> RequestFrame {
    RequestFrame {
        xid: x,
        op: op::SET_DATA,
        body: Request::SetData {
            path: path.into(),
            data: Some(data.to_vec()),
            version: -1,
        },
    }
}

fn replies(msgs: &[ClientMsg]) -> Vec<ReplyFrame> {
    msgs.iter()
        .filter_map(|m| match m {
            ClientMsg::Reply(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// Connects `client` to `server` with a new session; returns (session, password).
fn session(c: &mut Cluster, client: usize, server: usize) -> (i64, Vec<u8>) {
    c.connect(client, server, 0, vec![0; 16]);
    match c.take(client).as_slice() {
        [ClientMsg::Connected(r)] if r.session_id != 0 => {
            assert_eq!(r.timeout, 10000);
            (r.session_id, r.passwd.clone())
        }
        other => panic!("no session: {other:?}"),
    }
}

fn identical_trees(c: &Cluster) {
    let d = c.states[0].sm.digest();
    for s in &c.states {
        assert_eq!(s.committed, c.states[0].committed);
        assert_eq!(s.sm, c.states[0].sm);
        assert_eq!(s.sm.digest(), d);
    }
}

#[test]
fn pg_sessions_are_created_through_the_log_on_every_server() {
    // PG "ZooKeeper Sessions": a client connecting to any server gets a session id and
    // password; the session exists on every server (createSession is a transaction).
    let mut c = Cluster::new(3);
    let (s, pw) = session(&mut c, CLIENT, 1);
    assert_eq!(pw.len(), 16);
    for st in &c.states {
        assert_eq!(st.sm.sessions().get(&s), Some(&10000));
    }
}

#[test]
fn pg_fifo_client_order_and_read_your_writes() {
    // PG "ZooKeeper guarantees": a client's updates apply in the order sent, and a read after
    // a write in the same session sees it, even on a follower that must wait for the commit.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 2);
    for f in [
        create(1, "/a", CreateMode::Persistent),
        set(2, "/a", b"v2"),
        get(3, "/a", false),
    ] {
        c.queue
            .push_back((CLIENT, 2, Msg::Client(ClientMsg::Request(f))));
    }
    c.run();
    let r = replies(&c.take(CLIENT));
    assert_eq!(r.iter().map(|r| r.xid).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(r[0].body, Response::Path("/a".into()));
    assert!(
        matches!(&r[2].body, Response::GetData(d, st) if d.as_deref() == Some(&b"v2"[..]) && st.version == 1)
    );
    assert!(r[0].zxid < r[1].zxid && r[1].zxid <= r[2].zxid);
    identical_trees(&c);
}

#[test]
fn a_session_s_writes_are_pipelined_and_its_reads_wait_for_them() {
    // As ZooKeeper's FollowerRequestProcessor, a follower forwards each write of a session as
    // it arrives, without waiting for the commit of the one before; a read waits until the
    // session's earlier writes have committed, and a write after the read waits until the read
    // is answered, so the read sees exactly the writes sent before it.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 2);
    let frames = [
        create(1, "/a", CreateMode::Persistent),
        set(2, "/a", b"v2"),
        set(3, "/a", b"v3"),
        get(4, "/a", false),
        set(5, "/a", b"v5"),
    ];
    for f in frames {
        c.queue
            .push_back((CLIENT, 2, Msg::Client(ClientMsg::Request(f))));
    }
    for _ in 0..5 {
        c.deliver_one();
    }
    let forwarded = |c: &Cluster| {
        c.queue
            .iter()
            .filter(|(src, dst, m)| (*src, *dst) == (2, 0) && matches!(m, Msg::Request(_)))
            .count()
    };
    assert_eq!(
        forwarded(&c),
        3,
        "the three writes before the read go to the leader at once"
    );
    assert!(
        c.take(CLIENT).is_empty(),
        "nothing is answered before a commit"
    );
    c.run();
    let r = replies(&c.take(CLIENT));
    assert_eq!(
        r.iter().map(|r| r.xid).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(r.iter().all(|r| r.err == 0), "{r:?}");
    assert!(
        matches!(&r[3].body, Response::GetData(d, st) if d.as_deref() == Some(&b"v3"[..]) && st.version == 2),
        "{:?}",
        r[3]
    );
    assert_eq!(
        r[3].zxid, r[2].zxid,
        "the read is answered before the next write is sent"
    );
    assert!(r[0].zxid < r[1].zxid && r[1].zxid < r[2].zxid && r[2].zxid < r[4].zxid);
    identical_trees(&c);
}

#[test]
fn a_sync_and_a_close_session_are_not_pipelined_past() {
    // A sync is answered after everything the leader proposed before it: the writes after it
    // wait for its answer. Nothing is sent on after a closeSession.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 1);
    let sync = RequestFrame {
        xid: 2,
        op: op::SYNC,
        body: Request::Path("/".into()),
    };
    let close = RequestFrame {
        xid: 4,
        op: op::CLOSE_SESSION,
        body: Request::Empty,
    };
    for f in [
        create(1, "/s", CreateMode::Persistent),
        sync,
        set(3, "/s", b"v3"),
        close,
        set(5, "/s", b"v5"),
    ] {
        c.queue
            .push_back((CLIENT, 1, Msg::Client(ClientMsg::Request(f))));
    }
    for _ in 0..5 {
        c.deliver_one();
    }
    let to_leader: Vec<&str> = c
        .queue
        .iter()
        .filter(|(src, dst, m)| (*src, *dst) == (1, 0) && m.kind().starts_with("REQUEST"))
        .map(|(_, _, m)| m.kind())
        .collect();
    assert_eq!(
        to_leader,
        ["REQUEST"],
        "only the create goes out before the sync is answered"
    );
    c.run();
    let xids: Vec<i32> = replies(&c.take(CLIENT)).iter().map(|r| r.xid).collect();
    assert_eq!(
        xids,
        [1, 2, 3, 4],
        "the write after closeSession is never answered"
    );
    assert!(c.states[1]
        .sm
        .node("/s")
        .is_some_and(|n| n.data.as_deref() == Some(&b"v3"[..])));
}

#[test]
fn pg_watch_event_arrives_before_the_reply_that_reflects_the_change() {
    // PG "Semantics of Watches": a client sees the watch event before it sees the new data;
    // watches are one-shot; a watcher on another server is notified too.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 1);
    session(&mut c, CLIENT + 1, 2);
    c.request(CLIENT, 1, create(1, "/w", CreateMode::Persistent));
    c.request(CLIENT, 1, get(2, "/w", true));
    c.request(CLIENT + 1, 2, get(1, "/w", true));
    c.take(CLIENT);
    c.take(CLIENT + 1);
    c.request(CLIENT, 1, set(3, "/w", b"x"));
    let mine = replies(&c.take(CLIENT));
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].xid, xid::NOTIFICATION);
    assert!(
        matches!(&mine[0].body, Response::Event { kind, path, .. } if *kind == EventType::NodeDataChanged as i32 && path == "/w")
    );
    assert_eq!(mine[1].xid, 3);
    let theirs = replies(&c.take(CLIENT + 1));
    assert_eq!(theirs.len(), 1);
    c.request(CLIENT, 1, set(4, "/w", b"y"));
    assert_eq!(
        replies(&c.take(CLIENT)).len(),
        1,
        "one-shot: no second event"
    );
}

#[test]
fn pg_errors_come_back_as_zookeeper_codes() {
    // Failed writes are answered with KeeperException codes, in order with the rest.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 0);
    c.request(CLIENT, 0, create(1, "/x/y", CreateMode::Persistent));
    c.request(CLIENT, 0, get(2, "/nope", false));
    let r = replies(&c.take(CLIENT));
    assert_eq!(
        (r[0].err, r[1].err),
        (Code::NoNode.value(), Code::NoNode.value())
    );
}

#[test]
fn pg_ephemerals_die_when_the_leader_expires_the_session() {
    // PG "Ephemeral Nodes" and rule 4 of the design: only the leader expires a session, by
    // proposing closeSession, which deletes its ephemerals on every server; the client is
    // disconnected and a reconnect is told the session expired (timeout 0).
    let mut c = Cluster::new(3);
    let (s, pw) = session(&mut c, CLIENT, 1);
    c.request(CLIENT, 1, create(1, "/e", CreateMode::Ephemeral));
    c.take(CLIENT);
    for _ in 0..4 {
        c.fire(0, Timer::Service(ZkTimer::Session));
    }
    assert!(
        c.states[0].sm.node("/e").is_some(),
        "not before its timeout (5 ticks)"
    );
    c.request(CLIENT, 1, get(2, "/e", false));
    c.take(CLIENT);
    for _ in 0..5 {
        c.fire(0, Timer::Service(ZkTimer::Session));
    }
    assert!(
        c.states[0].sm.node("/e").is_some(),
        "a touch through the follower pushed the deadline"
    );
    for _ in 0..2 {
        c.fire(0, Timer::Service(ZkTimer::Session));
    }
    for st in &c.states {
        assert!(st.sm.node("/e").is_none() && !st.sm.sessions().contains_key(&s));
    }
    assert!(c.take(CLIENT).contains(&ClientMsg::Close));
    c.connect(CLIENT, 2, s, pw);
    assert!(matches!(c.take(CLIENT).first(), Some(ClientMsg::Connected(r)) if r.timeout == 0));
    identical_trees(&c);
}

#[test]
fn pg_a_session_moves_to_another_server() {
    // PG "ZooKeeper Sessions": the client may reconnect to another server with its session id
    // and password and keep its session and ephemerals; a wrong password is refused.
    let mut c = Cluster::new(3);
    let (s, pw) = session(&mut c, CLIENT, 1);
    c.request(CLIENT, 1, create(1, "/e", CreateMode::Ephemeral));
    c.send(CLIENT, 1, ClientMsg::Close);
    c.take(CLIENT);
    c.connect(CLIENT, 2, s, vec![9; 16]);
    assert!(matches!(c.take(CLIENT).first(), Some(ClientMsg::Connected(r)) if r.timeout == 0));
    c.connect(CLIENT, 2, s, pw);
    assert!(
        matches!(c.take(CLIENT).first(), Some(ClientMsg::Connected(r)) if r.session_id == s && r.timeout == 10000)
    );
    c.request(CLIENT, 2, get(2, "/e", false));
    assert!(matches!(
        replies(&c.take(CLIENT))[0].body,
        Response::GetData(..)
    ));
}

#[test]
fn pg_sync_then_read_sees_the_leader_s_commits() {
    // PG "sync": after sync, a read on this server reflects every write the leader committed
    // before the sync.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 0);
    session(&mut c, CLIENT + 1, 2);
    c.request(CLIENT, 0, create(1, "/s", CreateMode::Persistent));
    let sync = RequestFrame {
        xid: 1,
        op: op::SYNC,
        body: Request::Path("/s".into()),
    };
    c.request(CLIENT + 1, 2, sync);
    c.request(CLIENT + 1, 2, get(2, "/s", false));
    let r = replies(&c.take(CLIENT + 1));
    assert_eq!(r[0].body, Response::Path("/s".into()));
    assert!(matches!(r[1].body, Response::GetData(..)));
}

#[test]
fn a_sync_is_answered_only_by_the_leader_s_sync_packet() {
    // A learner takes SYNC from its leader only (ZooKeeper's learner reads its leader's
    // socket alone): the same packet from another server does not answer the pending sync.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT + 1, 2);
    let sync = RequestFrame {
        xid: 1,
        op: op::SYNC,
        body: Request::Path("/".into()),
    };
    c.queue
        .push_back((CLIENT + 1, 2, Msg::Client(ClientMsg::Request(sync))));
    assert!(
        c.deliver_one(),
        "the sync reaches server 2, which forwards it to its leader"
    );
    c.queue.push_front((1, 2, Msg::Synced(CLIENT + 1)));
    assert!(c.deliver_one());
    assert!(
        replies(&c.take(CLIENT + 1)).is_empty(),
        "answered by a non-leader's SYNC"
    );
    c.run();
    let r = replies(&c.take(CLIENT + 1));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].body, Response::Path("/".into()));
}

#[test]
fn pg_close_session_deletes_ephemerals_and_closes() {
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 1);
    c.request(CLIENT, 1, create(1, "/e", CreateMode::EphemeralSequential));
    c.request(
        CLIENT,
        1,
        RequestFrame {
            xid: 2,
            op: op::CLOSE_SESSION,
            body: Request::Empty,
        },
    );
    let got = c.take(CLIENT);
    assert!(matches!(replies(&got).last(), Some(r) if r.xid == 2 && r.err == 0));
    assert_eq!(got.last(), Some(&ClientMsg::Close));
    assert!(c.states[2].sm.node("/e0000000000").is_none());
    identical_trees(&c);
}

#[test]
fn a_server_that_stops_serving_closes_its_clients() {
    // ZooKeeper shuts its client connections down when a follower loses its leader.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 1);
    c.queue.push_back((0, 1, Msg::Disconnected));
    c.deliver_one();
    assert!(c.take(CLIENT).contains(&ClientMsg::Close));
}

#[test]
fn pg_the_leader_removes_empty_containers() {
    // PG "Container Nodes": once its last child is deleted, the leader deletes the container
    // (ContainerManager), through the log like any write.
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 1);
    let container = RequestFrame {
        xid: 1,
        op: op::CREATE_CONTAINER,
        body: Request::Create {
            path: "/c".into(),
            data: Some(vec![]),
            acl: Acl::open(),
            flags: CreateMode::Container as i32,
        },
    };
    c.request(CLIENT, 1, container);
    c.fire(0, Timer::Service(ZkTimer::Session));
    assert!(
        c.states[1].sm.node("/c").is_some(),
        "a container that never had children stays"
    );
    c.request(CLIENT, 1, create(2, "/c/k", CreateMode::Persistent));
    c.request(
        CLIENT,
        1,
        RequestFrame {
            xid: 3,
            op: op::DELETE,
            body: Request::Delete {
                path: "/c/k".into(),
                version: -1,
            },
        },
    );
    c.fire(0, Timer::Service(ZkTimer::Session));
    for st in &c.states {
        assert!(st.sm.node("/c").is_none());
    }
    let r = replies(&c.take(CLIENT));
    assert!(matches!(&r[0].body, Response::Create2(p, _) if p == "/c"));
}

#[test]
fn multi_read_answers_each_read_on_its_own() {
    // ZooKeeper 3.6+ multiRead: every read is answered, a failing one with its own error
    // result; nothing is all-or-nothing (FinalRequestProcessor).
    use zabkeeper::jute::proto::MultiResult;
    let mut c = Cluster::new(3);
    session(&mut c, CLIENT, 2);
    c.request(CLIENT, 2, create(1, "/r", CreateMode::Persistent));
    let ops = vec![
        (
            op::GET_DATA,
            Request::Read {
                path: "/r".into(),
                watch: false,
            },
        ),
        (
            op::GET_CHILDREN,
            Request::Read {
                path: "/none".into(),
                watch: false,
            },
        ),
        (
            op::GET_CHILDREN,
            Request::Read {
                path: "/".into(),
                watch: false,
            },
        ),
    ];
    c.request(
        CLIENT,
        2,
        RequestFrame {
            xid: 2,
            op: op::MULTI_READ,
            body: Request::Multi(ops),
        },
    );
    let r = replies(&c.take(CLIENT));
    let Response::Multi(results) = &r[1].body else {
        panic!("{:?}", r[1])
    };
    assert!(matches!(&results[0], MultiResult::GetData(d, _) if d.as_deref() == Some(&b"d"[..])));
    assert_eq!(results[1], MultiResult::Error(Code::NoNode));
    assert!(matches!(&results[2], MultiResult::GetChildren(c) if c.contains(&"r".to_string())));
}

#[test]
fn pg_ttl_nodes_expire_by_the_clock_the_runtime_delivers() {
    // PG "TTL Nodes": a TTL node with no children that has not changed for longer than its TTL
    // is deleted by the leader, through the log. The clock is an input (Input::Clock): the
    // transactions a server submits carry its reading as ctime/mtime.
    let mut c = Cluster::with_tree(3, DataTree::new(true));
    for s in 0..3 {
        c.queue.push_back((s, s, Msg::Input(Input::Clock(1_000))));
    }
    c.run();
    session(&mut c, CLIENT, 1);
    let ttl = RequestFrame {
        xid: 1,
        op: op::CREATE_TTL,
        body: Request::CreateTtl {
            path: "/t".into(),
            data: Some(vec![]),
            acl: Acl::open(),
            flags: CreateMode::PersistentWithTtl as i32,
            ttl: 500,
        },
    };
    c.request(CLIENT, 1, ttl);
    assert_eq!(c.states[0].sm.node("/t").map(|n| n.stat.mtime), Some(1_000));
    c.queue.push_back((0, 0, Msg::Input(Input::Clock(1_400))));
    c.run();
    c.fire(0, Timer::Service(ZkTimer::Session));
    assert!(c.states[2].sm.node("/t").is_some(), "not expired at 400 ms");
    c.queue.push_back((0, 0, Msg::Input(Input::Clock(1_600))));
    c.run();
    c.fire(0, Timer::Service(ZkTimer::Session));
    for st in &c.states {
        assert!(
            st.sm.node("/t").is_none(),
            "expired after 600 ms > 500 ms TTL"
        );
    }
}

fn auth_frame(user_password: &str) -> RequestFrame {
    RequestFrame {
        xid: xid::AUTH,
        op: op::AUTH,
        body: Request::Auth {
            kind: 0,
            scheme: "digest".into(),
            auth: user_password.as_bytes().to_vec(),
        },
    }
}

#[test]
fn admin_guide_super_digest_passes_every_acl_check() {
    // Administrator's Guide, "Authentication & Authorization Options":
    // `zookeeper.DigestAuthenticationProvider.superDigest` lets a client that authenticates as
    // `super` with its password access any znode whatever its ACL; other clients stay bound
    // by the ACL.
    let opts = ZkOptions {
        super_digest: Some(acl::generate_digest("super:adminpw")),
        ..ZkOptions::default()
    };
    let mut c = Cluster::with_options(3, DataTree::default(), opts);
    let (owner, admin) = (CLIENT, CLIENT + 1);
    session(&mut c, owner, 0);
    session(&mut c, admin, 1);
    let locked = RequestFrame {
        xid: 1,
        op: op::CREATE,
        body: Request::Create {
            path: "/locked".into(),
            data: Some(b"d".to_vec()),
            acl: vec![Acl {
                perms: acl::perms::ALL,
                id: Id::new("digest", &acl::generate_digest("alice:pw")),
            }],
            flags: CreateMode::Persistent as i32,
        },
    };
    c.request(owner, 0, locked);
    c.run();
    assert_eq!(replies(&c.take(owner))[0].err, Code::Ok as i32);
    c.request(admin, 1, get(2, "/locked", false));
    c.run();
    assert_eq!(replies(&c.take(admin))[0].err, Code::NoAuth as i32);
    c.request(admin, 1, auth_frame("super:adminpw"));
    c.request(admin, 1, get(3, "/locked", false));
    c.run();
    let r = replies(&c.take(admin));
    assert_eq!((r[0].xid, r[0].err), (xid::AUTH, Code::Ok as i32));
    assert_eq!((r[1].xid, r[1].err), (3, Code::Ok as i32));
}

#[test]
fn admin_guide_session_timeout_is_negotiated_within_the_configured_limits() {
    // Administrator's Guide, minSessionTimeout / maxSessionTimeout: the server grants the
    // requested timeout clamped to its configured limits (the harness asks for 10 s).
    let opts = ZkOptions {
        limits: SessionLimits {
            tick_ms: 1000,
            min_ms: 2000,
            max_ms: 6000,
        },
        ..ZkOptions::default()
    };
    let mut c = Cluster::with_options(3, DataTree::default(), opts);
    c.connect(CLIENT, 2, 0, vec![0; 16]);
    match c.take(CLIENT).as_slice() {
        [ClientMsg::Connected(r)] => assert_eq!((r.timeout, r.session_id != 0), (6000, true)),
        other => panic!("no session: {other:?}"),
    }
}
