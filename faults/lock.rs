//! The lock workload: ZooKeeper's lock recipe (an ephemeral sequential child of `/lock`; the
//! lowest holds the lock) with a fencing token, the czxid of the holder's lock node. The holder
//! writes `/protected` only through a versioned setData after reading it, and only if no
//! greater token is there, so the protected writes, in the order of the versions they produce,
//! must carry non-decreasing tokens; a lost acknowledged write or a stale leader shows up as a
//! version produced twice or a token going back.

use crate::history::{Outcome, Ret, F};
use crate::workload::{int, outcome, timed, Client};
use std::time::{Duration, Instant};
use zookeeper_client as zk;

/// One acquire, one to three protected writes, one release. Any error drops the session, so
/// that a lock node of unknown fate goes with it instead of blocking the others.
pub async fn cycle(cl: &mut Client, c: &zk::Client, deadline: Instant) -> Option<zk::Error> {
    let r = attempt(cl, c, deadline).await;
    if r.is_some() {
        cl.session.reset();
    }
    r
}

async fn attempt(cl: &mut Client, c: &zk::Client, deadline: Instant) -> Option<zk::Error> {
    let mode = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let i = cl.rec.invoke(cl.id, "/lock", F::Acquire);
    let (stat, seq) = match timed(c.create("/lock/l-", b"", &mode)).await {
        Ok(x) => x,
        Err(e) => {
            cl.rec.complete(i, outcome(&e));
            return Some(e);
        }
    };
    let me = format!("l-{seq}");
    let token = stat.czxid;
    loop {
        let mut children = match timed(c.list_children("/lock")).await {
            Ok(ch) => ch,
            Err(e) => {
                cl.rec.complete(i, Outcome::Info(e.to_string()));
                return Some(e);
            }
        };
        children.sort();
        if children.first() == Some(&me) {
            break;
        }
        if !children.contains(&me) {
            // Our session expired and took the node.
            cl.rec.complete(i, Outcome::Fail("lock node gone".into()));
            return Some(zk::Error::SessionExpired);
        }
        if Instant::now() > deadline {
            cl.rec
                .complete(i, Outcome::Fail("gave up at the end of the run".into()));
            return release(cl, c, &me).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cl.rec.complete(i, Outcome::Ok(Ret::Int(token)));
    for _ in 0..1 + cl.rng.below(3) {
        let (d, s) = match timed(c.get_data("/protected")).await {
            Ok(x) => x,
            Err(e) => return Some(e),
        };
        let j = cl.rec.invoke(cl.id, "/protected", F::Protected { token });
        if int(&d) > token {
            cl.rec.complete(
                j,
                Outcome::Fail(format!("fenced: token {} is there", int(&d))),
            );
            break;
        }
        let data = token.to_string();
        match timed(c.set_data("/protected", data.as_bytes(), Some(s.version))).await {
            Ok(st) => cl.rec.complete(j, Outcome::Ok(Ret::Int(st.version as i64))),
            Err(e) => {
                cl.rec.complete(j, outcome(&e));
                return Some(e);
            }
        }
        tokio::time::sleep(Duration::from_millis(5 + cl.rng.below(20))).await;
    }
    release(cl, c, &me).await
}

async fn release(cl: &mut Client, c: &zk::Client, me: &str) -> Option<zk::Error> {
    let path = format!("/lock/{me}");
    cl.record("/lock", F::Release, c.delete(&path, None), |_| Ret::None)
        .await
}
