//! The leader's heartbeat (`zab::heartbeat`) in single steps, with heartbeats on as the runtime
//! runs them: who the leader waits to hear from, and when it gives up.

use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::sync::Arc;
use zabkeeper::model::{DeliveredLog, ModelService, ModelTimer};
use zabkeeper::zab::{Config, Durable, Msg, Role, Server, ServerState, Timer, Zxid};

type S = ModelService;
type D = DeliveredLog;
type Cmd = Command<Msg<S>, ModelTimer, (), Durable<D>>;

fn server() -> Server<S> {
    let mut cfg = Config::new(3);
    cfg.heartbeats = true;
    cfg.sync_limit = 2;
    Server::new(Arc::new(cfg))
}

fn step(st: &ServerState<S>, src: usize, msg: Msg<S>) -> (ServerState<S>, Vec<Cmd>) {
    let mut cow = Cow::Borrowed(st);
    let mut out = Out::new();
    server().on_msg(Id::from(st.id), &mut cow, Id::from(src), msg, &mut out);
    (cow.into_owned(), out.into_iter().collect())
}

fn tick(st: &ServerState<S>) -> (ServerState<S>, Vec<Cmd>) {
    let mut cow = Cow::Borrowed(st);
    let mut out = Out::new();
    server().on_timeout(Id::from(st.id), &mut cow, &Timer::Tick, &mut out);
    (cow.into_owned(), out.into_iter().collect())
}

fn sent_to(cmds: &[Cmd], dst: usize) -> Vec<&Msg<S>> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Send(d, m) if usize::from(*d) == dst => Some(m),
            _ => None,
        })
        .collect()
}

/// Server 0 leading an established epoch 1, server 1 synced; `joining` sent FOLLOWERINFO.
fn leading_with(joining: usize) -> ServerState<S> {
    let st = server().on_start(Id::from(0), &Some(Durable::default()), &mut Out::new());
    let (st, _) = step(&st, 9, Msg::ElectionOutcome { leader: 0 });
    let (st, _) = step(&st, 1, Msg::FollowerInfo { accepted_epoch: 0 });
    let ack_epoch = Msg::AckEpoch {
        current_epoch: 0,
        last_zxid: Zxid::ZERO,
        fresh: true,
    };
    let (st, _) = step(&st, 1, ack_epoch);
    let (st, _) = step(
        &st,
        1,
        Msg::AckNewLeader {
            last_zxid: Zxid::ZERO,
        },
    );
    assert!(st.is_established_leader());
    let (st, cmds) = step(&st, joining, Msg::FollowerInfo { accepted_epoch: 0 });
    assert!(matches!(
        sent_to(&cmds, joining)[..],
        [Msg::LeaderInfo { .. }]
    ));
    st
}

#[test]
fn a_learner_that_never_finishes_joining_stops_counting_toward_the_quorum() {
    // Found by the fault harness (partition, counter workload): server 2 sent FOLLOWERINFO
    // to the established leader and went away behind a partition without a word (its
    // connection half open), while server 1, the synced follower, went silent too. The
    // leader kept server 2 in its quorum and led for ever, accepting writes it could not
    // commit. It must give up on both within syncLimit ticks and go back to election.
    let mut st = leading_with(2);
    for _ in 0..3 {
        let (next, _) = tick(&st);
        st = next;
    }
    assert!(matches!(st.role, Role::Looking), "still {:?}", st.role);
}

#[test]
fn an_answer_to_an_old_ping_does_not_stand_for_the_ackepoch() {
    // A late PING answer on a connection the learner has since left (it was synced before)
    // proves nothing about its join: only its ACKEPOCH does.
    let mut st = leading_with(2);
    for _ in 0..3 {
        let (next, _) = step(&st, 2, Msg::Ping);
        // The synced follower answers its PING in time.
        let (next, _) = step(&next, 1, Msg::Ping);
        st = tick(&next).0;
    }
    let Role::Leading(l) = &st.role else {
        panic!("not leading: {:?}", st.role)
    };
    assert!(
        !l.cepoch.contains_key(&2),
        "the silent joiner is still counted: {:?}",
        l.cepoch
    );
}

#[test]
fn a_joining_learner_that_sends_its_ackepoch_is_synced_and_kept() {
    let st = leading_with(2);
    let ack_epoch = Msg::AckEpoch {
        current_epoch: 0,
        last_zxid: Zxid::ZERO,
        fresh: true,
    };
    let (mut st, cmds) = step(&st, 2, ack_epoch);
    assert!(sent_to(&cmds, 2)
        .iter()
        .any(|m| matches!(m, Msg::Sync { .. })));
    for _ in 0..4 {
        let (next, _) = step(&st, 1, Msg::Ping);
        let (next, _) = step(&next, 2, Msg::Ping);
        st = tick(&next).0;
    }
    let Role::Leading(l) = &st.role else {
        panic!("not leading: {:?}", st.role)
    };
    assert!(l.synced.contains(&2) && l.synced.contains(&1));
}
