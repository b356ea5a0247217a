//! An existing Rust client, unmodified: the `zookeeper-client` crate against an in-process
//! three-server zabkeeper ensemble and a standalone server on loopback ("PG" is ZooKeeper's
//! Programmer's Guide).

use crate::runtime::{cluster, ensemble, standalone_cfg, Node};
use std::time::Duration;
use zookeeper_client as zk;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(addr: &str) -> zk::Client {
    let mut last = None;
    for _ in 0..100 {
        match zk::Client::connector()
            .with_session_timeout(Duration::from_secs(4))
            .connect(addr)
            .await
        {
            Ok(c) => return c,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to {addr}: {last:?}");
}

fn open() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

#[test]
fn rust_client_create_modes_and_versions() {
    let nodes = ensemble("rust-client", 3, "extendedTypesEnabled=true\n");
    rt().block_on(create_modes_and_versions(&cluster(&nodes)));
    for n in nodes {
        n.stop();
    }
}

#[test]
fn rust_client_against_a_standalone_server() {
    // The same checks against one server without server.N lines (standalone).
    let (cfg, dir) = standalone_cfg("rust-standalone", "extendedTypesEnabled=true\n");
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr.to_string();
    rt().block_on(async {
        create_modes_and_versions(&addr).await;
        watches_multi_and_sync(&addr, &addr, "/standalone").await;
    });
    node.stop();
}

async fn create_modes_and_versions(all: &str) {
    let c = connect(all).await;
    let acls = zk::Acls::anyone_all();
    // PG "ZooKeeper Nodes": every create mode.
    c.create("/app", b"", &open()).await.unwrap();
    let (_, seq) = c
        .create(
            "/app/q-",
            b"1",
            &zk::CreateMode::PersistentSequential.with_acls(acls),
        )
        .await
        .unwrap();
    assert_eq!(
        seq.to_string(),
        "0000000000",
        "suffix from the parent's cversion"
    );
    let eph = zk::CreateMode::Ephemeral.with_acls(acls);
    let (stat, _) = c.create("/app/e", b"", &eph).await.unwrap();
    assert_eq!(stat.ephemeral_owner, c.session_id().0);
    let eseq = zk::CreateMode::EphemeralSequential.with_acls(acls);
    let (_, seq) = c.create("/app/es-", b"", &eseq).await.unwrap();
    assert_eq!(seq.to_string(), "0000000002");
    let container = zk::CreateMode::Container.with_acls(acls);
    c.create("/box", b"", &container).await.unwrap();
    let ttl = open().with_ttl(Duration::from_secs(60));
    c.create("/ttl", b"", &ttl).await.unwrap();
    assert_eq!(
        c.create("/app/e/child", b"", &open()).await.unwrap_err(),
        zk::Error::NoChildrenForEphemerals
    );
    // Versions: setData takes the expected version.
    let stat = c.set_data("/app", b"v1", Some(0)).await.unwrap();
    assert_eq!(stat.version, 1);
    assert_eq!(
        c.set_data("/app", b"v2", Some(0)).await.unwrap_err(),
        zk::Error::BadVersion
    );
}

#[test]
fn rust_client_watches_multi_and_sync() {
    let nodes = ensemble("rust-watch", 3, "");
    let other = nodes[2].running.client_addr.to_string();
    rt().block_on(watches_multi_and_sync(&cluster(&nodes), &other, "/app"));
    for n in nodes {
        n.stop();
    }
}

/// Watches, multi and sync under `app`, writing through `all` and reading through `other`.
async fn watches_multi_and_sync(all: &str, other: &str, app: &str) {
    let m1 = format!("{app}/m1");
    let c = connect(all).await;
    c.create(app, b"", &open()).await.unwrap();
    // A one-shot data watch set through one server fires for a write through another.
    let other = connect(other).await;
    let (_, _, watcher) = other.get_and_watch_data(app).await.unwrap();
    c.set_data(app, b"v3", None).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.changed())
        .await
        .expect("the watch fired");
    assert_eq!(event.event_type, zk::EventType::NodeDataChanged);
    // multi is all-or-nothing; its set is versioned (the watch's write made version 1).
    let mut w = c.new_multi_writer();
    w.add_create(&m1, b"", &open()).unwrap();
    w.add_check_version(app, 99).unwrap();
    assert!(w.commit().await.is_err());
    assert_eq!(c.check_stat(&m1).await.unwrap(), None);
    let mut w = c.new_multi_writer();
    w.add_create(&m1, b"", &open()).unwrap();
    w.add_set_data(app, b"v4", Some(1)).unwrap();
    assert_eq!(w.commit().await.unwrap().len(), 2);
    // sync, then the other server reads the latest value.
    other.sync(app).await.unwrap();
    assert_eq!(other.get_data(app).await.unwrap().0, b"v4");
}

#[test]
fn rust_client_session_moves_and_expires() {
    let nodes = ensemble("rust-session", 3, "");
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| n.running.client_addr.to_string())
        .collect();
    rt().block_on(async {
        // PG "ZooKeeper Sessions": a session moves to another server with its id and password,
        // and keeps its ephemerals.
        let c = zk::Client::connector()
            .with_detached()
            .connect(&addrs[0])
            .await
            .unwrap();
        let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
        c.create("/mine", b"", &eph).await.unwrap();
        let id = c.session_id();
        let session = c.into_session();
        let moved = zk::Client::connector()
            .with_session(session)
            .connect(&addrs[1])
            .await
            .unwrap();
        assert_eq!(moved.session_id(), id);
        // The crate does not carry the session's last zxid into the new connection (its docs:
        // sync after re-establishing a session, as ZooKeeper's clients do), so the new server
        // may not have applied the create yet: sync first.
        moved.sync("/mine").await.unwrap();
        assert!(moved.check_stat("/mine").await.unwrap().is_some());
        // A session that goes silent expires at the leader, and its ephemerals go with it.
        let watcher = connect(&addrs[2]).await;
        let lost = zk::Client::connector()
            .with_session_timeout(Duration::from_millis(800))
            .with_detached()
            .connect(&addrs[2])
            .await
            .unwrap();
        lost.create("/short", b"", &eph).await.unwrap();
        let session = lost.into_session();
        drop(session); // no more pings: the session can only expire
        let start = std::time::Instant::now();
        while watcher.check_stat("/short").await.unwrap().is_some() {
            assert!(start.elapsed() < Duration::from_secs(15), "never expired");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(moved.check_stat("/mine").await.unwrap().is_some());
    });
    for n in nodes {
        n.stop();
    }
}

#[test]
fn rust_client_authenticates_and_asks_who_it_is() {
    // The crate sends its auth packet with an ordinary xid (ZooKeeper knows it by opcode 100),
    // and asks whoAmI (opcode 107): the digest it added and its connection's ip identity.
    let (cfg, dir) = standalone_cfg("rust-auth", "");
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr.to_string();
    rt().block_on(async {
        let bob = connect(&addr).await;
        bob.auth("digest", b"bob:pw").await.expect("auth");
        let only_bob = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
        bob.create("/bob", b"b", &only_bob).await.expect("create");
        assert_eq!(bob.get_data("/bob").await.expect("get").0, b"b");
        let other = connect(&addr).await;
        assert_eq!(other.get_data("/bob").await.unwrap_err(), zk::Error::NoAuth);
        let mut users = bob.list_auth_users().await.expect("whoami");
        users.sort_by_key(|u| format!("{u:?}"));
        let want = [
            zk::AuthUser::new("digest", "bob"),
            zk::AuthUser::new("ip", "127.0.0.1"),
        ];
        assert_eq!(users, want);
    });
    node.stop();
}

#[test]
fn rust_client_watch_events_carry_the_zxid_that_fired_them() {
    // ZooKeeper 3.9 (ZOOKEEPER-4655): a node event's reply header carries the zxid of the
    // transaction that fired it; the crate hands it on as `WatchedEvent::zxid`.
    let (cfg, dir) = standalone_cfg("rust-event-zxid", "");
    let node = Node::start(&cfg, &dir);
    let addr = node.running.client_addr.to_string();
    rt().block_on(async {
        let c = connect(&addr).await;
        c.create("/w", b"a", &open()).await.expect("create");
        let (_, _, watcher) = c.get_and_watch_data("/w").await.expect("watch");
        let stat = c.set_data("/w", b"b", None).await.expect("set");
        let event = watcher.changed().await;
        assert_eq!(event.event_type, zk::EventType::NodeDataChanged);
        assert_eq!(event.zxid, stat.mzxid);
        let (_, _, watcher) = c.get_and_watch_data("/w").await.expect("watch");
        c.delete("/w", None).await.expect("delete");
        let event = watcher.changed().await;
        assert_eq!(event.event_type, zk::EventType::NodeDeleted);
        assert!(event.zxid > stat.mzxid, "{event:?}");
    });
    node.stop();
}
