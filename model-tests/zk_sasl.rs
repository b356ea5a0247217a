//! SASL DIGEST-MD5 (`src/zk/sasl.rs`) and the JAAS file it takes its users from
//! (`src/runtime/jaas.rs`): the digests against RFC 2831's worked example, the exchange through
//! the server actor (challenge, response, rspauth, the `sasl:` identity and ACLs), each way it
//! fails (AuthFailed, then the connection closes), and the JAAS file's errors with their lines.
//! kazoo's DIGEST-MD5 login against real servers is in `compat.rs`.

use crate::zk_cluster::{Cluster, CLIENT};
use std::path::Path;
use zabkeeper::jute::proto::{op, ReplyFrame, Request, RequestFrame, Response};
use zabkeeper::runtime::jaas;
use zabkeeper::zk::acl::perms;
use zabkeeper::zk::sasl::{self, SaslUsers, DIGEST_URI, REALM};
use zabkeeper::zk::server::{ClientMsg, Origin, ZkOptions};
use zabkeeper::zk::{Acl, Code, DataTree, Id};

#[test]
fn digests_match_rfc_2831_s_example() {
    // RFC 2831 section 4: chris, password "secret", realm elwood.innosoft.com, IMAP.
    let secret = sasl::secret_in("elwood.innosoft.com", "chris", "secret");
    let (response, rspauth) = sasl::digests(
        &secret,
        "OA6MG9tEQGm2hh",
        "OA6MHXh6VqTrRk",
        "00000001",
        None,
        "imap/elwood.innosoft.com",
    )
    .unwrap();
    assert_eq!(response, "d388dad90d4bbd760a152321f2143af7");
    assert_eq!(rspauth, "ea40f60335c427b5527b84dbabcdfffd");
}

const NONCE: &str = "c2VydmVyIG5vbmNl";

fn users() -> SaslUsers {
    [("bob", "bobsecret"), ("admin", "adminsecret")]
        .into_iter()
        .map(|(u, p)| (u.to_string(), sasl::secret(u, p)))
        .collect()
}

/// One server whose JAAS users are [`users`] (`admin` is the super user), and a connected
/// client whose connection got [`NONCE`].
fn server(users: SaslUsers) -> Cluster {
    let opts = ZkOptions {
        sasl_users: users,
        sasl_super_user: Some("admin".into()),
        ..ZkOptions::default()
    };
    let mut c = Cluster::with_options(1, DataTree::default(), opts);
    let origin = Origin {
        nonce: NONCE.into(),
        ..Origin::default()
    };
    c.connect_from(CLIENT, 0, 0, vec![0; 16], origin);
    assert!(matches!(c.take(CLIENT).as_slice(), [ClientMsg::Connected(r)] if r.session_id != 0));
    c
}

fn token(c: &mut Cluster, x: i32, t: &[u8]) -> Vec<ClientMsg> {
    let f = RequestFrame {
        xid: x,
        op: op::SASL,
        body: Request::Sasl(t.to_vec()),
    };
    c.request(CLIENT, 0, f);
    c.take(CLIENT)
}

/// The digest-response a client (pure-sasl, the Java client) sends.
fn response(user: &str, password: &str, nonce: &str) -> String {
    let (r, _) = sasl::digests(
        &sasl::secret(user, password),
        nonce,
        "Y25vbmNl",
        "00000001",
        None,
        DIGEST_URI,
    )
    .unwrap();
    format!(
        "qop=auth,realm=\"{REALM}\",username=\"{user}\",nonce=\"{nonce}\",cnonce=\"Y25vbmNl\",\
         nc=00000001,digest-uri=\"{DIGEST_URI}\",response={r}"
    )
}

fn reply(msgs: &[ClientMsg]) -> &ReplyFrame {
    match msgs.first() {
        Some(ClientMsg::Reply(r)) => r,
        other => panic!("no reply: {other:?}"),
    }
}

fn who(c: &mut Cluster) -> Vec<(String, String)> {
    let f = RequestFrame {
        xid: 50,
        op: op::WHO_AM_I,
        body: Request::Empty,
    };
    c.request(CLIENT, 0, f);
    match &reply(&c.take(CLIENT)).body {
        Response::WhoAmI(infos) => infos.clone(),
        other => panic!("{other:?}"),
    }
}

/// Fails the exchange: AuthFailed with a null token and zxid 0, then the connection closes.
fn assert_failed(msgs: &[ClientMsg], x: i32) {
    let r = reply(msgs);
    assert_eq!((r.xid, r.zxid, r.err), (x, 0, Code::AuthFailed.value()));
    assert_eq!(r.body, Response::Sasl(None));
    assert_eq!(msgs.last(), Some(&ClientMsg::Close), "{msgs:?}");
}

#[test]
fn a_user_of_the_jaas_file_logs_in_and_gets_its_sasl_identity() {
    let mut c = server(users());
    // The challenge, answered with zxid 0 as ZooKeeper does.
    let msgs = token(&mut c, 1, b"");
    let r = reply(&msgs);
    assert_eq!((r.xid, r.zxid, r.err), (1, 0, 0));
    let want = format!(
        "realm=\"zk-sasl-md5\",nonce=\"{NONCE}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess"
    );
    assert_eq!(r.body, Response::Sasl(Some(want.into_bytes())));
    // The response; the server proves it knows the password too.
    let msgs = token(&mut c, 2, response("bob", "bobsecret", NONCE).as_bytes());
    let r = reply(&msgs);
    assert_eq!((r.xid, r.err), (2, 0));
    let (_, rspauth) = sasl::digests(
        &sasl::secret("bob", "bobsecret"),
        NONCE,
        "Y25vbmNl",
        "00000001",
        None,
        DIGEST_URI,
    )
    .unwrap();
    assert_eq!(
        r.body,
        Response::Sasl(Some(format!("rspauth={rspauth}").into_bytes()))
    );
    assert_eq!(who(&mut c), [("sasl".to_string(), "bob".to_string())]);
    // A sasl ACL grants bob; the `auth` scheme expands to bob's sasl identity.
    for (x, path, id) in [
        (3, "/s", Id::new("sasl", "bob")),
        (4, "/a", Id::new("auth", "")),
    ] {
        let f = RequestFrame {
            xid: x,
            op: op::CREATE,
            body: Request::Create {
                path: path.into(),
                data: Some(b"d".to_vec()),
                acl: vec![Acl {
                    perms: perms::ALL,
                    id,
                }],
                flags: 0,
            },
        };
        c.request(CLIENT, 0, f);
        assert_eq!(reply(&c.take(CLIENT)).err, 0);
    }
    let node = c.states[0].sm.nodes().get("/a").unwrap().clone();
    assert_eq!(node.acl[0].id, Id::new("sasl", "bob"));
}

#[test]
fn the_super_user_named_by_super_user_is_also_super() {
    let mut c = server(users());
    token(&mut c, 1, b"");
    let msgs = token(
        &mut c,
        2,
        response("admin", "adminsecret", NONCE).as_bytes(),
    );
    assert_eq!(reply(&msgs).err, 0);
    let mut ids = who(&mut c);
    ids.sort();
    assert_eq!(
        ids,
        [
            ("sasl".to_string(), "admin".to_string()),
            ("super".to_string(), String::new())
        ]
    );
}

#[test]
fn a_wrong_password_an_unknown_user_or_a_bad_response_fail_and_close() {
    let bad = [
        response("bob", "wrong", NONCE),
        response("carol", "bobsecret", NONCE),
        response("bob", "bobsecret", "another-nonce"),
        response("bob", "bobsecret", NONCE).replace("nc=00000001", "nc=00000002"),
        response("bob", "bobsecret", NONCE).replace(DIGEST_URI, "zookeeper/elsewhere"),
        response("bob", "bobsecret", NONCE).replace("qop=auth", "qop=auth-conf"),
        "username=\"bob\",realm=\"zk-sasl-md5".to_string(),
    ];
    for t in bad {
        let mut c = server(users());
        token(&mut c, 1, b"");
        assert_failed(&token(&mut c, 2, t.as_bytes()), 2);
    }
}

#[test]
fn sasl_fails_without_a_jaas_file_with_an_initial_response_or_once_complete() {
    let mut c = server(SaslUsers::new());
    assert_failed(&token(&mut c, 1, b""), 1);
    let mut c = server(users());
    assert_failed(&token(&mut c, 1, b"username=\"bob\""), 1);
    let mut c = server(users());
    token(&mut c, 1, b"");
    token(&mut c, 2, response("bob", "bobsecret", NONCE).as_bytes());
    assert_failed(&token(&mut c, 3, b""), 3);
}

const JAAS: &str = r#"
// ZooKeeper's example, with comments of each kind
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret" /* the administrator */
    user_bob="bob\"secret";
};
# a client section, which the server does not read
Client {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="bob" password="bobsecret";
};
"#;

#[test]
fn a_jaas_file_gives_the_users_of_its_server_section() {
    let users = jaas::users(Path::new("jaas.conf"), JAAS, "Server").unwrap();
    let names: Vec<&str> = users.keys().map(String::as_str).collect();
    assert_eq!(names, ["bob", "super"]);
    assert_eq!(users["bob"], sasl::secret("bob", "bob\"secret"));
}

#[test]
fn a_bad_jaas_file_is_refused_with_its_line() {
    let cases = [
        (JAAS.replace("required", "demanded"), 4, "control flag"),
        (JAAS.replace("user_bob=", "user_bob"), 6, "expected '='"),
        (
            JAAS.replace("};\n#", "}\n#"),
            9,
            "expected ';', found Client",
        ),
        (JAAS.replace("/* the", "/ * the"), 5, "expected '='"),
        (
            JAAS.replacen(
                "org.apache.zookeeper.server.auth.DigestLoginModule",
                "com.sun.security.auth.module.Krb5LoginModule",
                1,
            ),
            4,
            "not supported",
        ),
        (JAAS.replace("Server", "Other"), 0, "no section \"Server\""),
    ];
    for (text, line, reason) in cases {
        let err = jaas::users(Path::new("jaas.conf"), &text, "Server").unwrap_err();
        assert_eq!(err.line, line, "{err}");
        assert!(err.reason.contains(reason), "{err}");
        assert!(err.to_string().starts_with("jaas.conf"), "{err}");
    }
}
