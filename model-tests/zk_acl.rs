//! ACLs against ZooKeeper's rules ("PG" is the Programmer's Guide, "PRP" the
//! `PrepRequestProcessor`).

use crate::zk_tree::{create_op, created, Zk};
use zabkeeper::zk::acl::{self, perms};
use zabkeeper::zk::tree::Store;
use zabkeeper::zk::{Acl, Code, CreateMode, Id, OpResult, WriteOp};

fn err(r: &OpResult) -> Code {
    match r {
        OpResult::Error(c) => *c,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn acl_schemes_and_permissions() {
    // PG "ACL Permissions" and "Builtin ACL Schemes": world, auth, digest, ip; each
    // operation needs its permission (create/delete on the parent, write/admin/read on the
    // node); super passes everything.
    let alice = acl::authenticate("digest", b"alice:pw", None).unwrap();
    assert_eq!(alice[0].id, acl::generate_digest("alice:pw"));
    let mut zk = Zk::new();
    let s = zk.session();
    let mine = create_op("/a", b"", Acl::creator_all(), CreateMode::Persistent);
    assert_eq!(
        err(&zk.write(s, &[], mine.clone())),
        Code::InvalidAcl,
        "auth with no identity"
    );
    assert_eq!(
        err(&zk.write(s, &[], create_op("/a", b"", vec![], CreateMode::Persistent))),
        Code::InvalidAcl
    );
    zk.write(s, &alice, mine);
    assert_eq!(
        zk.tree.node("/a").unwrap().acl,
        vec![Acl {
            perms: perms::ALL,
            id: alice[0].clone()
        }]
    );
    let child = create_op("/a/c", b"", Acl::open(), CreateMode::Persistent);
    assert_eq!(err(&zk.write(s, &[], child.clone())), Code::NoAuth);
    let bob = acl::authenticate("digest", b"bob:pw", None).unwrap();
    assert_eq!(err(&zk.write(s, &bob, child.clone())), Code::NoAuth);
    assert_eq!(created(&zk.write(s, &alice, child)), "/a/c");
    let root = acl::authenticate(
        "digest",
        b"super:test",
        Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="),
    )
    .unwrap();
    assert!(root.iter().any(|i| i.scheme == "super"));
    let set = WriteOp::SetData {
        path: "/a".into(),
        data: Some(vec![]),
        version: -1,
    };
    assert!(matches!(zk.write(s, &root, set), OpResult::Stat(_)));
}

#[test]
fn acl_ip_scheme_and_bad_credentials() {
    // PG "Builtin ACL Schemes": ip matches an address or a prefix, per permission; addAuth
    // with a malformed digest or an unknown scheme fails with AuthFailed.
    let lan = vec![Acl {
        perms: perms::READ,
        id: Id::new("ip", "10.0.0.0/8"),
    }];
    assert_eq!(
        acl::check(&lan, perms::READ, &[Id::new("ip", "10.1.2.3")]),
        Ok(())
    );
    assert_eq!(
        acl::check(&lan, perms::READ, &[Id::new("ip", "11.1.2.3")]),
        Err(Code::NoAuth)
    );
    assert_eq!(
        acl::check(&lan, perms::WRITE, &[Id::new("ip", "10.1.2.3")]),
        Err(Code::NoAuth)
    );
    assert_eq!(
        acl::authenticate("digest", b"nocolon", None),
        Err(Code::AuthFailed)
    );
    assert_eq!(
        acl::authenticate("kerberos", b"a:b", None),
        Err(Code::AuthFailed)
    );
}

#[test]
fn setacl_checks_admin_and_aversion() {
    // PRP setACL: ADMIN on the node, the expected aversion, the new ACL fixed up.
    let mut zk = Zk::new();
    let s = zk.session();
    let ro = vec![Acl {
        perms: perms::READ,
        id: Id::anyone(),
    }];
    zk.write(s, &[], create_op("/r", b"", ro, CreateMode::Persistent));
    let set = |v| WriteOp::SetAcl {
        path: "/r".into(),
        acl: Acl::open(),
        version: v,
    };
    assert_eq!(err(&zk.write(s, &[], set(-1))), Code::NoAuth);
    let mut zk = Zk::new();
    let s = zk.session();
    zk.create(s, "/r", CreateMode::Persistent);
    assert_eq!(err(&zk.write(s, &[], set(1))), Code::BadVersion);
    assert!(matches!(zk.write(s, &[], set(0)), OpResult::Stat(st) if st.aversion == 1));
}
