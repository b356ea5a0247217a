//! Single steps of the server actor, each checking one rule of the Zab paper (Junqueira, Reed,
//! Serafini, DSN 2011, section IV) or of ZooKeeper's implementation of it (ZAB 1.0).

use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::sync::Arc;
use zabkeeper::model::{DeliveredLog, ModelService};
use zabkeeper::zab::sync::choose_sync;
use zabkeeper::zab::{
    Config, Durable, Msg, Phase, Role, Server, ServerState, Snapshot, SyncMode, Txn, Zxid,
};

type S = ModelService;
type D = DeliveredLog;
type Cmd = Command<Msg<S>, zabkeeper::model::ModelTimer, (), Durable<D>>;

fn server() -> Server<S> {
    Server::new(Arc::new(Config::new(3)))
}

fn start(id: usize, disk: Durable<D>) -> ServerState<S> {
    server().on_start(Id::from(id), &Some(disk), &mut Out::new())
}

/// Delivers `msg` from `src`; returns the new state and the step's commands.
fn step(st: &ServerState<S>, src: usize, msg: Msg<S>) -> (ServerState<S>, Vec<Cmd>) {
    let mut cow = Cow::Borrowed(st);
    let mut out = Out::new();
    server().on_msg(Id::from(st.id), &mut cow, Id::from(src), msg, &mut out);
    (cow.into_owned(), out.into_iter().collect())
}

fn txn(epoch: u32, counter: u32, op: u8) -> Txn<u8> {
    Txn {
        zxid: Zxid::new(epoch, counter),
        op,
    }
}

fn saves(cmds: &[Cmd]) -> Vec<&Durable<D>> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Save(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn sent(cmds: &[Cmd]) -> Vec<(usize, &Msg<S>)> {
    cmds.iter()
        .filter_map(|c| match c {
            &Command::Send(to, ref m) => Some((usize::from(to), m)),
            _ => None,
        })
        .collect()
}

/// A follower of server 0 in Discovery.
fn follower(disk: Durable<D>) -> ServerState<S> {
    let st = start(1, disk);
    step(&st, 9, Msg::ElectionOutcome { leader: 0 }).0
}

#[test]
fn phase1_follower_promises_a_newer_epoch_durably_in_the_ackepoch_step() {
    let st = follower(Durable {
        accepted_epoch: 2,
        current_epoch: 1,
        log: vec![txn(1, 1, 7)].into(),
        ..Durable::default()
    });
    let (next, cmds) = step(&st, 0, Msg::LeaderInfo { epoch: 3 });
    assert_eq!(saves(&cmds).len(), 1);
    assert_eq!(saves(&cmds)[0].accepted_epoch, 3);
    let expected = Msg::AckEpoch {
        current_epoch: 1,
        last_zxid: Zxid::new(1, 1),
        fresh: true,
    };
    assert_eq!(sent(&cmds), vec![(0, &expected)]);
    assert_eq!(next.phase(), Phase::Synchronization);
}

#[test]
fn phase1_follower_rejects_an_epoch_older_than_its_promise() {
    let st = follower(Durable {
        accepted_epoch: 4,
        ..Durable::default()
    });
    let (next, cmds) = step(&st, 0, Msg::LeaderInfo { epoch: 3 });
    assert_eq!(next.role, Role::Looking);
    assert!(saves(&cmds).is_empty());
    assert_eq!(sent(&cmds), vec![(0, &Msg::Disconnected)]);
}

#[test]
fn phase1_leader_picks_an_epoch_above_every_promise_of_a_quorum() {
    let st = start(
        0,
        Durable {
            accepted_epoch: 2,
            ..Durable::default()
        },
    );
    let (st, cmds) = step(&st, 9, Msg::ElectionOutcome { leader: 0 });
    assert!(cmds.is_empty(), "one server is not a quorum of three");
    let (st, cmds) = step(&st, 1, Msg::FollowerInfo { accepted_epoch: 5 });
    assert_eq!(st.durable.accepted_epoch, 6);
    assert_eq!(saves(&cmds)[0].accepted_epoch, 6);
    assert_eq!(sent(&cmds), vec![(1, &Msg::LeaderInfo { epoch: 6 })]);
}

#[test]
fn phase2_sync_is_diff_when_the_learner_has_a_prefix() {
    let leader = Durable::<D> {
        log: vec![txn(1, 1, 1), txn(1, 2, 2)].into(),
        ..Durable::default()
    };
    let (mode, entries) = choose_sync(&leader, Zxid::new(1, 1));
    assert_eq!(mode, SyncMode::Diff);
    assert_eq!(entries, vec![txn(1, 2, 2)]);
}

#[test]
fn phase2_sync_is_trunc_when_the_learner_is_ahead_or_holds_an_orphan() {
    let leader = Durable::<D> {
        log: vec![txn(1, 1, 1), txn(2, 1, 3)].into(),
        ..Durable::default()
    };
    // Ahead: <2,2> was never committed; drop it.
    let (mode, entries) = choose_sync(&leader, Zxid::new(2, 2));
    assert_eq!(mode, SyncMode::Trunc(Zxid::new(2, 1)));
    assert!(entries.is_empty());
    // Orphan <1,2> from epoch 1 (ZOOKEEPER-1154): truncate to <1,1>, then send <2,1>.
    let (mode, entries) = choose_sync(&leader, Zxid::new(1, 2));
    assert_eq!(mode, SyncMode::Trunc(Zxid::new(1, 1)));
    assert_eq!(entries, vec![txn(2, 1, 3)]);
}

#[test]
fn phase2_sync_is_snap_when_the_learner_is_behind_the_snapshot() {
    let leader = Durable::<D> {
        snapshot: Snapshot {
            zxid: Zxid::new(1, 1),
            state: DeliveredLog(vec![txn(1, 1, 1)]),
        }
        .into(),
        log: vec![txn(1, 2, 2)].into(),
        ..Durable::default()
    };
    let (mode, entries) = choose_sync(&leader, Zxid::ZERO);
    assert!(matches!(mode, SyncMode::Snap(ref s) if s.zxid == Zxid::new(1, 1)));
    assert_eq!(entries, vec![txn(1, 2, 2)]);
}

/// A follower of server 0 that promised epoch 2 and holds <1,1>.
fn syncing() -> ServerState<S> {
    let st = follower(Durable {
        accepted_epoch: 1,
        current_epoch: 1,
        log: vec![txn(1, 1, 1)].into(),
        ..Durable::default()
    });
    step(&st, 0, Msg::LeaderInfo { epoch: 2 }).0
}

#[test]
fn phase2_follower_logs_the_synced_history_and_the_epoch_before_ack_ld() {
    let sync = Msg::Sync {
        mode: SyncMode::Diff,
        entries: vec![txn(1, 2, 2)],
        committed: Zxid::new(1, 1),
    };
    let (st, cmds) = step(&syncing(), 0, sync);
    assert!(
        cmds.is_empty(),
        "nothing is logged or acknowledged before NEWLEADER"
    );
    assert_eq!(st.durable.log.len(), 1);
    let (st, cmds) = step(&st, 0, Msg::NewLeader { epoch: 2 });
    let saved = saves(&cmds);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].current_epoch, 2);
    assert_eq!(saved[0].log.to_vec(), vec![txn(1, 1, 1), txn(1, 2, 2)]);
    let ack = Msg::AckNewLeader {
        last_zxid: Zxid::new(1, 2),
    };
    assert_eq!(sent(&cmds), vec![(0, &ack)]);
    assert_eq!(
        st.committed,
        Zxid::new(1, 1),
        "only what the leader committed is delivered"
    );
    let (st, _) = step(
        &st,
        0,
        Msg::UpToDate {
            committed: Zxid::new(1, 2),
        },
    );
    assert_eq!(st.phase(), Phase::Broadcast);
    assert_eq!(st.sm.0, vec![txn(1, 1, 1), txn(1, 2, 2)]);
}

#[test]
fn phase2_follower_gives_up_on_a_newleader_for_another_epoch() {
    let sync = Msg::Sync {
        mode: SyncMode::Diff,
        entries: vec![],
        committed: Zxid::ZERO,
    };
    let (st, _) = step(&syncing(), 0, sync);
    let (st, cmds) = step(&st, 0, Msg::NewLeader { epoch: 3 });
    assert_eq!(st.role, Role::Looking);
    assert!(saves(&cmds).is_empty());
}

/// A follower of server 0 in Broadcast at epoch 2.
fn broadcasting() -> ServerState<S> {
    let sync = Msg::Sync {
        mode: SyncMode::Diff,
        entries: vec![],
        committed: Zxid::new(1, 1),
    };
    let (st, _) = step(&syncing(), 0, sync);
    let (st, _) = step(&st, 0, Msg::NewLeader { epoch: 2 });
    step(
        &st,
        0,
        Msg::UpToDate {
            committed: Zxid::new(1, 1),
        },
    )
    .0
}

#[test]
fn phase3_follower_saves_a_proposal_in_the_step_that_acknowledges_it() {
    let (st, cmds) = step(&broadcasting(), 0, Msg::Proposal(txn(2, 1, 9)));
    assert_eq!(saves(&cmds).len(), 1);
    assert!(saves(&cmds)[0].log.contains(&txn(2, 1, 9)));
    assert_eq!(sent(&cmds), vec![(0, &Msg::Ack(Zxid::new(2, 1)))]);
    assert_eq!(
        st.committed,
        Zxid::new(1, 1),
        "a proposal is not delivered before COMMIT"
    );
    let (st, _) = step(&st, 0, Msg::Commit(Zxid::new(2, 1)));
    assert_eq!(st.committed, Zxid::new(2, 1));
}

#[test]
fn phase3_follower_ignores_messages_from_a_server_it_does_not_follow() {
    let st = broadcasting();
    let (next, cmds) = step(&st, 2, Msg::Proposal(txn(2, 1, 9)));
    assert_eq!(next, st);
    assert!(cmds.is_empty());
}

#[test]
fn phase3_a_commit_for_an_unlogged_proposal_makes_the_follower_stop_following() {
    let (st, cmds) = step(&broadcasting(), 0, Msg::Commit(Zxid::new(2, 5)));
    assert_eq!(st.role, Role::Looking);
    assert_eq!(sent(&cmds), vec![(0, &Msg::Disconnected)]);
}

/// Server 0 leading an established epoch 1, with server 1 synced (a quorum of three).
fn leading() -> ServerState<S> {
    let st = start(0, Durable::default());
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
    st
}

#[test]
fn phase3_leader_answers_a_sync_at_once_when_nothing_is_outstanding() {
    // ZooKeeper's Leader.processSync with no outstanding proposal: SYNC goes back now.
    let (_, cmds) = step(&leading(), 1, Msg::SyncRequest(7));
    assert_eq!(sent(&cmds), vec![(1, &Msg::Synced(7))]);
}

#[test]
fn phase3_leader_answers_a_sync_after_the_commit_of_what_it_had_proposed() {
    let (st, cmds) = step(&leading(), 9, Msg::ClientWrite(5));
    assert_eq!(sent(&cmds), vec![(1, &Msg::Proposal(txn(1, 1, 5)))]);
    let (st, cmds) = step(&st, 1, Msg::SyncRequest(7));
    assert!(
        sent(&cmds).is_empty(),
        "the sync waits for the outstanding proposal"
    );
    // A proposal made after the sync arrived is not waited for.
    let (st, _) = step(&st, 9, Msg::ClientWrite(6));
    let (_, cmds) = step(&st, 1, Msg::Ack(Zxid::new(1, 1)));
    assert_eq!(
        sent(&cmds),
        vec![(1, &Msg::Commit(Zxid::new(1, 1))), (1, &Msg::Synced(7))],
        "SYNC follows the COMMIT on the same connection"
    );
}

#[test]
fn phase3_a_follower_forwards_a_client_sync_to_its_leader() {
    let cfg = Config::new(3);
    let mut cow = Cow::Owned(broadcasting());
    let mut out = Out::new();
    zabkeeper::zab::broadcast::process_client_sync(&cfg, &mut cow, 4, &mut out);
    let cmds: Vec<Cmd> = out.into_iter().collect();
    assert_eq!(sent(&cmds), vec![(0, &Msg::SyncRequest(4))]);
}

#[test]
fn phase3_a_server_that_does_not_lead_ignores_a_forwarded_sync() {
    let st = broadcasting();
    let (next, cmds) = step(&st, 2, Msg::SyncRequest(7));
    assert_eq!(next, st);
    assert!(cmds.is_empty());
}
