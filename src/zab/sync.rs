//! Phase 2, Synchronization: making each follower's history equal to the leader's.
//!
//! The leader chooses, per learner, from the learner's last zxid (ZooKeeper's
//! `LearnerHandler.syncFollower`):
//! - DIFF when the learner's last zxid is in the leader's history: send what follows it;
//! - TRUNC when the learner holds entries the leader does not (past the leader's last zxid, or an
//!   orphan from an old epoch): drop everything after the last zxid both hold, then DIFF;
//! - SNAP when the learner is behind the leader's snapshot: send the snapshot, then the log.
//!
//! Then NEWLEADER(e'). The learner keeps the synced history in memory until NEWLEADER, then makes
//! it durable, sets currentEpoch := e' and acknowledges, in that order. On a quorum of those
//! acknowledgements (observers' do not count) the leader commits its whole history and sends
//! UPTODATE (COMMIT-LD).
//!
//! A fine-grained follower (see [`super::Config::fine_grained`]) runs the three parts of
//! NEWLEADER as separately scheduled [`Step`]s, so that a crash can fall between them, and keeps
//! ZooKeeper's queue of synced proposals awaiting COMMIT.

use super::broadcast::leader_try_commit;
use super::election::go_looking;
use super::msg::SyncMode;
use super::state::{
    FollowerPhase, Following, LeaderPhase, PendingSync, Phase, Role, ServerState, Step,
};
use super::types::{Durable, Epoch, Txn, Zxid};
use super::{send, Bug, Config, Msg, Op, Out, Service, StateMachine, Timer};
use std::borrow::Cow;
use std::time::Duration;

/// Chooses DIFF, TRUNC or SNAP for a learner whose last zxid is `peer_last`, and the entries
/// that follow.
pub fn choose_sync<M: StateMachine>(
    leader: &Durable<M>,
    peer_last: Zxid,
) -> (SyncMode<M>, Vec<Txn<M::Op>>) {
    let snap_zxid = leader.snapshot.zxid;
    if peer_last < snap_zxid {
        let snapshot = super::Snapshot::clone(&leader.snapshot);
        return (SyncMode::Snap(snapshot), leader.log.to_vec());
    }
    if peer_last == snap_zxid || leader.position(peer_last).is_some() {
        return (SyncMode::Diff, leader.entries_after(peer_last));
    }
    // The learner holds entries the leader does not: keep only the longest common prefix.
    let common = leader
        .log
        .iter()
        .map(|t| t.zxid)
        .take_while(|&z| z < peer_last)
        .last()
        .unwrap_or(snap_zxid);
    (SyncMode::Trunc(common), leader.entries_after(common))
}

/// Only with the ZOOKEEPER-1154 bug: DIFF whenever the learner's last zxid lies between the
/// leader's snapshot and its last zxid, whether or not the leader holds that zxid.
fn choose_sync_by_range<M: StateMachine>(
    leader: &Durable<M>,
    peer_last: Zxid,
) -> (SyncMode<M>, Vec<Txn<M::Op>>) {
    if peer_last >= leader.snapshot.zxid && peer_last <= leader.last_zxid() {
        return (SyncMode::Diff, leader.entries_after(peer_last));
    }
    choose_sync(leader, peer_last)
}

/// Sends a learner its sync packet and NEWLEADER; from now on it receives every PROPOSAL and
/// COMMIT, or INFORM for an observer (ZooKeeper's `startForwarding`).
pub fn leader_sync_learner<S: Service>(
    cfg: &Config,
    st: &mut ServerState<S>,
    learner: usize,
    o: &mut Out<S>,
) {
    let committed = st.committed;
    let epoch = st.durable.current_epoch;
    let Role::Leading(leading) = &mut st.role else {
        return;
    };
    let Some(&(peer_last, _)) = leading.ackepoch.get(&learner) else {
        return;
    };
    let (mode, entries) = if cfg.has(Bug::Zk1154) {
        choose_sync_by_range(&st.durable, peer_last)
    } else {
        choose_sync(&st.durable, peer_last)
    };
    leading.synced.insert(learner);
    if cfg.heartbeats {
        // Its ACKEPOCH is word from it: the next tick must not count it as silent before it
        // has had a PING to answer.
        leading.pinged.remove(&learner);
    }
    send(
        o,
        learner,
        Msg::Sync {
            mode,
            entries,
            committed,
        },
    );
    send(o, learner, Msg::NewLeader { epoch });
}

/// The learner receives its DIFF, TRUNC or SNAP with the proposals that follow, and holds them
/// until NEWLEADER.
pub fn follower_process_sync<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    mode: SyncMode<S::Machine>,
    entries: Vec<Txn<Op<S>>>,
    committed: Zxid,
) {
    match &state.role {
        Role::Following(f)
            if f.leader == src && f.syncing().is_some_and(|s| s.pending.is_none()) => {}
        _ => return,
    }
    let Some(sync) = state
        .to_mut()
        .following_mut()
        .and_then(Following::syncing_mut)
    else {
        return;
    };
    if cfg.fine_grained {
        let uncommitted = entries.iter().map(|t| t.zxid).filter(|&z| z > committed);
        sync.uncommitted = uncommitted.collect();
    }
    sync.pending = Some(PendingSync {
        mode,
        entries,
        committed,
    });
}

/// `FollowerProcessNEWLEADER`: log the synced history, set currentEpoch := e', acknowledge
/// (ACK-LD). One step, or separately scheduled steps on a fine-grained follower.
pub fn follower_process_newleader<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    epoch: Epoch,
    o: &mut Out<S>,
) {
    let synced = match &state.role {
        Role::Following(Following {
            leader,
            phase: FollowerPhase::Synchronization(s),
        }) if *leader == src && !s.acked_new_leader && s.steps.is_empty() => s.pending.is_some(),
        _ => return,
    };
    let st = state.to_mut();
    if !synced || epoch != st.durable.accepted_epoch {
        go_looking(cfg, st, None, o);
        return;
    }
    if !cfg.fine_grained {
        // One step and one save: apply in memory, set the epoch and save both, acknowledge.
        for step in [Step::Apply, Step::Epoch, Step::Ack] {
            if !run_step(cfg, st, step, o) {
                return;
            }
        }
        return;
    }
    let Some(sync) = st.following_mut().and_then(Following::syncing_mut) else {
        return;
    };
    if cfg.has(Bug::Zk4394) {
        // The bug: NEWLEADER drains the proposals that still await their COMMIT.
        sync.uncommitted.clear();
    }
    sync.steps = newleader_steps(cfg);
    o.set_timer(Timer::Step, Duration::ZERO..Duration::ZERO);
}

/// The order of a fine-grained follower's NEWLEADER steps.
fn newleader_steps(cfg: &Config) -> Vec<Step> {
    match cfg.bug {
        // Written to disk only with the next write (ZooKeeper logged them after UPTODATE).
        Some(Bug::Zk3911) => vec![Step::Epoch, Step::Apply, Step::Ack],
        Some(Bug::Zk4643) => vec![Step::Epoch, Step::Log, Step::Ack],
        Some(Bug::Zk4646) => vec![Step::Epoch, Step::Enqueue, Step::Ack],
        _ => vec![Step::Log, Step::Epoch, Step::Ack],
    }
}

/// The next NEWLEADER step of a fine-grained follower (the [`Timer::Step`] timer).
pub fn follower_newleader_step<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    o: &mut Out<S>,
) {
    let steps_left = |st: &ServerState<S>| match &st.role {
        Role::Following(f) => f.syncing().is_some_and(|s| !s.steps.is_empty()),
        _ => false,
    };
    if !steps_left(state) {
        return;
    }
    let st = state.to_mut();
    let Some(sync) = st.following_mut().and_then(Following::syncing_mut) else {
        return;
    };
    let step = sync.steps.remove(0);
    if run_step(cfg, st, step, o) && steps_left(st) {
        o.set_timer(Timer::Step, Duration::ZERO..Duration::ZERO);
    }
}

/// Runs one NEWLEADER step; false if the follower had to go back to election.
fn run_step<S: Service>(cfg: &Config, st: &mut ServerState<S>, step: Step, o: &mut Out<S>) -> bool {
    let Some(Following {
        leader,
        phase: FollowerPhase::Synchronization(sync),
    }) = st.following_mut()
    else {
        return false;
    };
    let leader = *leader;
    match step {
        Step::Log | Step::Apply | Step::Enqueue => {
            let Some(pending) = sync.pending.take() else {
                st.fault = Some("NEWLEADER applied without a synced history");
                go_looking(cfg, st, None, o);
                return false;
            };
            if !apply_sync(st, pending, step == Step::Enqueue) {
                go_looking(cfg, st, None, o);
                return false;
            }
            match step {
                Step::Log => st.save(o),
                Step::Enqueue => o.set_timer(Timer::Flush, Duration::ZERO..Duration::ZERO),
                _ => {}
            }
        }
        Step::Epoch => {
            st.durable.current_epoch = st.durable.accepted_epoch;
            st.save(o);
        }
        Step::Ack => {
            sync.acked_new_leader = true;
            let last_zxid = st.durable.last_zxid();
            send(o, leader, Msg::AckNewLeader { last_zxid });
        }
    }
    true
}

/// Applies a sync to the log (or, with `enqueue`, hands its proposals to the log writer) and to
/// the delivered state; false if it cannot be applied (a TRUNC below this server's snapshot).
fn apply_sync<S: Service>(st: &mut ServerState<S>, pending: PendingSync<S>, enqueue: bool) -> bool {
    st.vote_zxid = None;
    let keep_state = match pending.mode {
        SyncMode::Diff => true,
        SyncMode::Trunc(zxid) => {
            if zxid < st.durable.snapshot.zxid {
                return false;
            }
            st.durable.truncate_after(zxid);
            false
        }
        SyncMode::Snap(snapshot) => {
            st.durable.snapshot = snapshot.into();
            st.durable.log.clear();
            false
        }
    };
    if enqueue {
        st.writer.extend(pending.entries);
        return true;
    }
    st.durable.append_newer(&pending.entries);
    let committed = st
        .committed
        .max(pending.committed)
        .max(st.durable.snapshot.zxid)
        .min(st.durable.last_zxid());
    if keep_state {
        st.commit_up_to(committed);
    } else {
        st.sm = st.durable.state_at(committed);
        st.committed = committed;
    }
    true
}

/// `LeaderProcessACKLD`: a learner's history is durable up to `last_zxid`. On a quorum the
/// epoch is established; a late learner is told UPTODATE at once.
pub fn leader_process_ackld<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    last_zxid: Zxid,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Leading(l) if l.synced.contains(&src) && !l.ackld.contains(&src) => {}
        _ => return,
    }
    let st = state.to_mut();
    let leading = st.leading_mut().expect("leading");
    leading.ackld.insert(src);
    if cfg.is_voter(src) {
        for (_, ackers) in leading.acks.range_mut(..=last_zxid) {
            ackers.insert(src);
        }
    }
    if leading.phase() == Phase::Broadcast {
        // Paper ambiguity 3: COMMIT-LD must carry what the leader committed, not what the
        // learner acknowledged.
        let committed = if cfg.has(Bug::Paper3) {
            last_zxid
        } else {
            st.committed
        };
        send(o, src, Msg::UpToDate { committed });
        leader_try_commit(cfg, st, o);
    } else {
        leader_try_establish(cfg, st, o);
    }
}

/// On a quorum of ACK-LD: commit the initial history, send UPTODATE, enter Broadcast.
pub fn leader_try_establish<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    let id = st.id;
    let Role::Leading(leading) = &st.role else {
        return;
    };
    let LeaderPhase::Synchronization { epoch } = leading.phase else {
        return;
    };
    if !cfg.is_quorum_of(&leading.ackld) {
        return;
    }
    let acked: Vec<usize> = leading.ackld.iter().copied().filter(|&p| p != id).collect();
    if let Some(leading) = st.leading_mut() {
        let syncs = Vec::new();
        leading.phase = LeaderPhase::Broadcast { epoch, syncs };
    }
    let last = st.durable.last_zxid();
    st.commit_up_to(last);
    for learner in acked {
        send(o, learner, Msg::UpToDate { committed: last });
    }
    if cfg.heartbeats {
        super::heartbeat::leader_ping(cfg, st, o);
    }
}

/// `FollowerProcessCOMMITLD`: commit up to the leader's committed zxid and start serving.
pub fn follower_process_uptodate<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    committed: Zxid,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Following(f)
            if f.leader == src && f.phase() == Phase::Synchronization && f.acked_new_leader() => {}
        _ => return,
    }
    let st = state.to_mut();
    if cfg.has(Bug::Zk3911) {
        // The bug logs the synced proposals only now.
        st.save(o);
    }
    st.commit_up_to(committed);
    if let Some(following) = st.following_mut() {
        // UPTODATE is word from the leader: the first heartbeat tick must not count it as
        // silent.
        let heard = cfg.heartbeats;
        following.phase = FollowerPhase::Broadcast { heard };
    }
}
