//! Differential test: the requests kazoo sent to ZooKeeper 3.8 (fixture connection 22) are
//! replayed against zabkeeper's servers, and every reply and watch event must match what
//! ZooKeeper answered: same xids, same error codes, same bodies, in the same order. Only what
//! differs by construction is normalised: zxids, timestamps and session ids.

use crate::zk_cluster::{Cluster, CLIENT};
use zabkeeper::jute::codec::{decode_reply, decode_request};
use zabkeeper::jute::proto::{op, xid, MultiResult, ReplyFrame, Response};
use zabkeeper::zk::server::ClientMsg;
use zabkeeper::zk::Stat;

fn connection(text: &str, n: usize) -> Vec<(char, Vec<u8>)> {
    let mut conn = 0;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("# connection") {
            conn += 1;
        } else if let (Some((side, hex)), true) = (line.split_once(' '), conn == n) {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            out.push((side.chars().next().unwrap(), bytes));
        }
    }
    out
}

fn norm_stat(s: &Stat) -> Stat {
    Stat {
        czxid: 0,
        mzxid: 0,
        pzxid: 0,
        ctime: 0,
        mtime: 0,
        ephemeral_owner: 0,
        ..*s
    }
}

fn norm(mut r: ReplyFrame) -> ReplyFrame {
    r.zxid = 0;
    r.body = match r.body {
        Response::Create2(p, s) => Response::Create2(p, norm_stat(&s)),
        Response::Stat(s) => Response::Stat(norm_stat(&s)),
        Response::GetData(d, s) => Response::GetData(d, norm_stat(&s)),
        Response::GetAcl(a, s) => Response::GetAcl(a, norm_stat(&s)),
        Response::Children2(c, s) => {
            let mut c = c;
            c.sort();
            Response::Children2(c, norm_stat(&s))
        }
        Response::Children(mut c) => {
            c.sort();
            Response::Children(c)
        }
        Response::Multi(m) => Response::Multi(
            m.into_iter()
                .map(|x| match x {
                    MultiResult::Create2 { op, path, stat } => MultiResult::Create2 {
                        op,
                        path,
                        stat: norm_stat(&stat),
                    },
                    MultiResult::SetData(s) => MultiResult::SetData(norm_stat(&s)),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    };
    r
}

#[test]
fn kazoo_session_gets_the_answers_zookeeper_gave() {
    let frames = connection(include_str!("fixtures/zk38-zkcli-kazoo.txt"), 22);
    let mut c = Cluster::new(3);
    c.connect(CLIENT, 1, 0, vec![0; 16]);
    assert!(matches!(
        c.take(CLIENT).as_slice(),
        [ClientMsg::Connected(_)]
    ));
    let mut ops = std::collections::HashMap::new();
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    for (side, bytes) in frames.iter().skip(2) {
        if *side == 'C' {
            let f = decode_request(bytes).unwrap();
            ops.insert(f.xid, f.op);
            c.request(CLIENT, 1, f);
            ours.extend(c.take(CLIENT).into_iter().filter_map(|m| match m {
                ClientMsg::Reply(r) => Some(norm(r)),
                _ => None,
            }));
        } else {
            let x = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let code = match x {
                xid::NOTIFICATION => op::NOTIFICATION,
                xid::PING => op::PING,
                xid::AUTH => op::AUTH,
                x => ops[&x],
            };
            theirs.push(norm(decode_reply(bytes, code).unwrap()));
        }
    }
    assert_eq!(ours.len(), theirs.len());
    assert!(
        ours.len() >= 25,
        "the whole session is compared: {}",
        ours.len()
    );

    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t, "zabkeeper answered differently from ZooKeeper 3.8");
    }
}

#[test]
fn requests_sent_right_behind_the_connect_request_are_answered_after_the_session_exists() {
    // ZooKeeper's Netty client sends its first requests without waiting for the
    // ConnectResponse. On a follower the createSession is still at the leader when they
    // arrive: they wait for the session and are answered in order, after the response.
    use zabkeeper::jute::proto::{ConnectRequest, Request, RequestFrame};
    use zabkeeper::zk::server::Origin;
    use zabkeeper::zk::Code;
    let mut c = Cluster::new(3);
    let connect = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 10000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    let frame = |xid, op, body| ClientMsg::Request(RequestFrame { xid, op, body });
    let read = |path: &str| Request::Read {
        path: path.into(),
        watch: false,
    };
    c.send_all(
        CLIENT,
        1,
        vec![
            ClientMsg::Connect(connect, Origin::default()),
            frame(1, op::WHO_AM_I, Request::Empty),
            frame(2, op::EXISTS, read("/nothing")),
            frame(3, op::GET_DATA, read("/zookeeper")),
        ],
    );
    let got = c.take(CLIENT);
    assert!(
        matches!(got.first(), Some(ClientMsg::Connected(r)) if r.session_id != 0),
        "{got:?}"
    );
    let replies: Vec<(i32, i32)> = got[1..]
        .iter()
        .map(|m| match m {
            ClientMsg::Reply(r) => (r.xid, r.err),
            other => panic!("not a reply: {other:?}"),
        })
        .collect();
    assert_eq!(replies, [(1, 0), (2, Code::NoNode as i32), (3, 0)]);
}
