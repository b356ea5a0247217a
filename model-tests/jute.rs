//! The jute codec: byte-exact against frames captured from ZooKeeper 3.8 and its clients
//! (`fixtures/`), round trips of every message, and a decoder that fails cleanly on any input.

use proptest::prelude::*;
use std::collections::HashMap;
use zabkeeper::jute::codec::*;
use zabkeeper::jute::proto::{op, xid, MultiResult, ReplyFrame, Request, RequestFrame, Response};
use zabkeeper::jute::{frame_length, JuteError, MAX_FRAME};
use zabkeeper::zk::read::WatchList;
use zabkeeper::zk::{acl, Acl, Code, Id, Stat};

/// (connection number, side, frame bytes) for each line of a transcript.
fn transcript(text: &str) -> Vec<(usize, char, Vec<u8>)> {
    let mut conn = 0;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("# connection") {
            conn += 1;
        } else if let Some((side, hex)) = line.split_once(' ') {
            if side == "C" || side == "S" {
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                out.push((conn, side.chars().next().unwrap(), bytes));
            }
        }
    }
    out
}

/// Decodes every frame of a transcript and checks that encoding it again gives the same bytes.
/// Returns the decoded requests and replies for further checks.
fn replay(text: &str) -> (Vec<RequestFrame>, Vec<ReplyFrame>) {
    let (mut reqs, mut reps) = (Vec::new(), Vec::new());
    let mut ops: HashMap<(usize, i32), i32> = HashMap::new();
    let mut handshaken: HashMap<(usize, char), bool> = HashMap::new();
    for (conn, side, bytes) in transcript(text) {
        let first = !handshaken.insert((conn, side), true).unwrap_or(false);
        let again = match (side, first) {
            ('C', true) => encode_connect_request(&decode_connect_request(&bytes).unwrap()),
            ('S', true) => encode_connect_response(&decode_connect_response(&bytes).unwrap()),
            ('C', false) => {
                let f = decode_request(&bytes).unwrap_or_else(|e| panic!("{e}: {bytes:02x?}"));
                ops.insert((conn, f.xid), f.op);
                reqs.push(f.clone());
                encode_request(&f)
            }
            _ => {
                let x = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                let code = ops.get(&(conn, x)).copied().unwrap_or(op::NOTIFICATION);
                let f = decode_reply(&bytes, code).unwrap_or_else(|e| panic!("{e}: {bytes:02x?}"));
                reps.push(f.clone());
                encode_reply(&f)
            }
        };
        assert_eq!(
            again, bytes,
            "connection {conn}: {side} frame re-encodes differently"
        );
    }
    (reqs, reps)
}

#[test]
fn zkcli_and_kazoo_frames_round_trip_byte_for_byte() {
    let (reqs, reps) = replay(include_str!("fixtures/zk38-zkcli-kazoo.txt"));
    let seen: std::collections::BTreeSet<i32> = reqs.iter().map(|r| r.op).collect();
    for code in [
        op::CREATE,
        op::CREATE2,
        op::CREATE_CONTAINER,
        op::CREATE_TTL,
        op::DELETE,
        op::EXISTS,
        op::GET_DATA,
        op::SET_DATA,
        op::GET_ACL,
        op::SET_ACL,
        op::GET_CHILDREN,
        op::GET_CHILDREN2,
        op::SYNC,
        op::PING,
        op::MULTI,
        op::AUTH,
        op::GET_EPHEMERALS,
        op::GET_ALL_CHILDREN_NUMBER,
        op::CLOSE_SESSION,
    ] {
        assert!(seen.contains(&code), "fixture lacks opcode {code}");
    }
    // The digest identity kazoo's server stored is ours (DigestAuthenticationProvider).
    let stored = reps.iter().find_map(|r| match &r.body {
        Response::GetAcl(acls, _) if acls[0].id.scheme == "digest" => Some(acls[0].id.clone()),
        _ => None,
    });
    assert_eq!(
        stored,
        Some(Id::new("digest", &acl::generate_digest("alice:pw")))
    );
    // The failed multi reports Ok, the failure, RuntimeInconsistency; the header says 0.
    let failed = reps
        .iter()
        .find(|r| matches!(&r.body, Response::Multi(m) if matches!(m[0], MultiResult::Error(_))));
    let failed = failed.expect("a failed multi");
    assert_eq!(failed.err, 0);
    let expect = [Code::Ok, Code::NoNode, Code::RuntimeInconsistency].map(MultiResult::Error);
    assert_eq!(failed.body, Response::Multi(expect.to_vec()));
    // Watch events precede the reply to the write that fired them, with zxid -1.
    let events: Vec<&ReplyFrame> = reps.iter().filter(|r| r.xid == xid::NOTIFICATION).collect();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.zxid == -1));
}

#[test]
fn watch_and_reconnect_frames_round_trip_byte_for_byte() {
    let (reqs, reps) = replay(include_str!("fixtures/zk38-watches-reconnect.txt"));
    assert!(reqs.iter().any(|r| r.op == op::ADD_WATCH
        && r.body
            == Request::AddWatch {
                path: "/fx".into(),
                mode: 1
            }));
    let nowatch = reps.iter().find(|r| r.err == Code::NoWatcher.value());
    assert!(
        nowatch.is_some(),
        "removewatches without a watch answers NoWatcher"
    );
}

#[test]
fn frame_length_refuses_negative_and_oversized_frames() {
    assert_eq!(frame_length(16i32.to_be_bytes()), Ok(16));
    assert!(matches!(
        frame_length((-5i32).to_be_bytes()),
        Err(JuteError::BadLength { .. })
    ));
    let big = (MAX_FRAME as i32 + 1).to_be_bytes();
    assert_eq!(frame_length(big), Err(JuteError::Oversized(MAX_FRAME + 1)));
}

#[test]
fn truncated_and_lying_frames_are_errors_not_panics() {
    let f = RequestFrame {
        xid: 7,
        op: op::SET_DATA,
        body: Request::SetData {
            path: "/a".into(),
            data: Some(vec![1; 40]),
            version: -1,
        },
    };
    let bytes = encode_request(&f);
    for cut in 0..bytes.len() {
        assert!(
            decode_request(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
    // A vector claiming two billion ACL entries in a tiny frame fails without allocating them.
    let mut lying = encode_request(&RequestFrame {
        xid: 1,
        op: op::CREATE,
        body: Request::Create {
            path: "/a".into(),
            data: Some(vec![]),
            acl: vec![],
            flags: 0,
        },
    });
    let at = lying.len() - 8;
    lying[at..at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        decode_request(&lying),
        Err(JuteError::BadLength { field: "acl", .. })
    ));
    // An opcode the codec does not read is handed on for the server to answer (it replies
    // with an error code, ZooKeeper's); inside a multi it is an error of the frame.
    assert_eq!(
        decode_request(&[0, 0, 0, 1, 0, 0, 0, 99]),
        Ok(RequestFrame {
            xid: 1,
            op: 99,
            body: Request::Unsupported
        })
    );
}

fn text() -> impl Strategy<Value = String> {
    "[/a-z0-9é]{0,12}"
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(text(), 0..3)
}

fn acls() -> impl Strategy<Value = Vec<Acl>> {
    proptest::collection::vec(
        (any::<i32>(), text(), text()).prop_map(|(perms, s, i)| Acl {
            perms,
            id: Id { scheme: s, id: i },
        }),
        0..3,
    )
}

fn stat() -> impl Strategy<Value = Stat> {
    (any::<[i64; 6]>(), any::<[i32; 5]>()).prop_map(|(l, i)| Stat {
        czxid: l[0],
        mzxid: l[1],
        ctime: l[2],
        mtime: l[3],
        ephemeral_owner: l[4],
        pzxid: l[5],
        version: i[0],
        cversion: i[1],
        aversion: i[2],
        data_length: i[3],
        num_children: i[4],
    })
}

fn simple_request() -> impl Strategy<Value = (i32, Request)> {
    let data = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20));
    prop_oneof![
        (
            text(),
            data.clone(),
            acls(),
            any::<i32>(),
            prop_oneof![
                Just(op::CREATE),
                Just(op::CREATE2),
                Just(op::CREATE_CONTAINER)
            ]
        )
            .prop_map(|(path, data, acl, flags, o)| (
                o,
                Request::Create {
                    path,
                    data,
                    acl,
                    flags
                }
            )),
        (text(), data.clone(), acls(), any::<i32>(), any::<i64>()).prop_map(
            |(path, data, acl, flags, ttl)| (
                op::CREATE_TTL,
                Request::CreateTtl {
                    path,
                    data,
                    acl,
                    flags,
                    ttl
                }
            )
        ),
        (text(), any::<i32>())
            .prop_map(|(path, version)| (op::DELETE, Request::Delete { path, version })),
        (
            text(),
            any::<bool>(),
            prop_oneof![
                Just(op::EXISTS),
                Just(op::GET_DATA),
                Just(op::GET_CHILDREN),
                Just(op::GET_CHILDREN2)
            ]
        )
            .prop_map(|(path, watch, o)| (o, Request::Read { path, watch })),
        (text(), data, any::<i32>()).prop_map(|(path, data, version)| (
            op::SET_DATA,
            Request::SetData {
                path,
                data,
                version
            }
        )),
        (text(), any::<i32>())
            .prop_map(|(path, version)| (op::CHECK, Request::Check { path, version })),
    ]
}

fn request() -> impl Strategy<Value = RequestFrame> {
    let body = prop_oneof![
        4 => simple_request(),
        1 => proptest::collection::vec(simple_request(), 0..4).prop_map(|ops| (op::MULTI, Request::Multi(ops))),
        1 => (text(), prop_oneof![Just(op::GET_ACL), Just(op::SYNC), Just(op::GET_EPHEMERALS), Just(op::GET_ALL_CHILDREN_NUMBER)])
            .prop_map(|(p, o)| (o, Request::Path(p))),
        1 => (text(), acls(), any::<i32>()).prop_map(|(path, acl, version)| (op::SET_ACL, Request::SetAcl { path, acl, version })),
        1 => prop_oneof![Just(op::PING), Just(op::CLOSE_SESSION)].prop_map(|o| (o, Request::Empty)),
        1 => (text(), 1..6i32, prop_oneof![Just(op::CHECK_WATCHES), Just(op::REMOVE_WATCHES)])
            .prop_map(|(path, kind, o)| (o, Request::Watches { path, kind })),
        1 => (text(), proptest::collection::vec(any::<u8>(), 0..9))
            .prop_map(|(scheme, auth)| (op::AUTH, Request::Auth { kind: 0, scheme, auth })),
        1 => (any::<i64>(), strings(), strings(), strings(), strings(), strings())
            .prop_map(|(z, d, e, c, p, r)| (op::SET_WATCHES2, Request::SetWatches(WatchList { relative_zxid: z, data: d, exist: e, child: c, persistent: p, recursive: r }))),
        1 => (text(), 0..2i32).prop_map(|(path, mode)| (op::ADD_WATCH, Request::AddWatch { path, mode })),
    ];
    (any::<i32>(), body).prop_map(|(xid, (op, body))| RequestFrame { xid, op, body })
}

fn reply() -> impl Strategy<Value = (i32, ReplyFrame)> {
    let data = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20));
    let result = prop_oneof![
        text().prop_map(MultiResult::Create),
        (text(), stat()).prop_map(|(path, stat)| MultiResult::Create2 {
            op: op::CREATE2,
            path,
            stat
        }),
        Just(MultiResult::Delete),
        Just(MultiResult::Check),
        stat().prop_map(MultiResult::SetData),
        proptest::sample::select(Code::ALL.to_vec()).prop_map(MultiResult::Error),
    ];
    let body = prop_oneof![
        text().prop_map(|p| (op::CREATE, Response::Path(p))),
        (text(), stat()).prop_map(|(p, s)| (op::CREATE2, Response::Create2(p, s))),
        stat().prop_map(|s| (op::SET_DATA, Response::Stat(s))),
        (data, stat()).prop_map(|(d, s)| (op::GET_DATA, Response::GetData(d, s))),
        (acls(), stat()).prop_map(|(a, s)| (op::GET_ACL, Response::GetAcl(a, s))),
        strings().prop_map(|c| (op::GET_CHILDREN, Response::Children(c))),
        (strings(), stat()).prop_map(|(c, s)| (op::GET_CHILDREN2, Response::Children2(c, s))),
        any::<i32>().prop_map(|n| (op::GET_ALL_CHILDREN_NUMBER, Response::Count(n))),
        proptest::collection::vec(result, 0..4).prop_map(|m| (op::MULTI, Response::Multi(m))),
        Just((op::DELETE, Response::Empty)),
        Just((op::ADD_WATCH, Response::ErrorBody(0))),
    ];
    (0..i32::MAX, any::<i64>(), body).prop_map(|(x, zxid, (o, body))| {
        (
            o,
            ReplyFrame {
                xid: x,
                zxid,
                err: 0,
                body,
            },
        )
    })
}

proptest! {
    #[test]
    fn every_request_round_trips(f in request()) {
        prop_assert_eq!(decode_request(&encode_request(&f)), Ok(f));
    }

    #[test]
    fn every_reply_round_trips((code, f) in reply()) {
        prop_assert_eq!(decode_reply(&encode_reply(&f), code), Ok(f));
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_request(&bytes);
        let _ = decode_connect_request(&bytes);
        let _ = decode_connect_response(&bytes);
        for code in [op::MULTI, op::GET_DATA, op::GET_ACL, op::CREATE2, op::GET_CHILDREN2] {
            let _ = decode_reply(&bytes, code);
        }
    }

    #[test]
    fn mutated_valid_frames_decode_or_fail_cleanly(f in request(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encode_request(&f);
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = decode_request(&bytes);
    }
}
