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
//! it durable, sets currentEpoch := e' in the same step and acknowledges. On a quorum of those
//! acknowledgements the leader commits its whole history and sends UPTODATE (COMMIT-LD).

use super::broadcast::leader_try_commit;
use super::election::go_looking;
use super::msg::SyncMode;
use super::state::{PendingSync, Phase, Role, ServerState};
use super::types::{Durable, Epoch, Txn, Zxid};
use super::{send, Config, Msg, Out, StateMachine};
use std::borrow::Cow;

/// Chooses DIFF, TRUNC or SNAP for a learner whose last zxid is `peer_last`, and the entries
/// that follow.
pub fn choose_sync<S: StateMachine>(
    leader: &Durable<S>,
    peer_last: Zxid,
) -> (SyncMode<S>, Vec<Txn<S::Op>>) {
    let snap_zxid = leader.snapshot.zxid;
    if peer_last < snap_zxid {
        return (SyncMode::Snap(leader.snapshot.clone()), leader.log.clone());
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

/// Sends a learner its sync packet and NEWLEADER; from now on it receives every PROPOSAL and
/// COMMIT (ZooKeeper's `startForwarding`).
pub fn leader_sync_learner<S: StateMachine>(
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
    let (mode, entries) = choose_sync(&st.durable, peer_last);
    leading.synced.insert(learner);
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
pub fn follower_process_sync<S: StateMachine>(
    state: &mut Cow<ServerState<S>>,
    src: usize,
    mode: SyncMode<S>,
    entries: Vec<Txn<S::Op>>,
    committed: Zxid,
) {
    match &state.role {
        Role::Following(f)
            if f.leader == src && f.phase == Phase::Synchronization && f.pending.is_none() => {}
        _ => return,
    }
    state.to_mut().following_mut().expect("following").pending = Some(PendingSync {
        mode,
        entries,
        committed,
    });
}

/// `FollowerProcessNEWLEADER`: apply the synced history, set currentEpoch := e', save both in
/// this step, and acknowledge (ACK-LD).
pub fn follower_process_newleader<S: StateMachine>(
    state: &mut Cow<ServerState<S>>,
    src: usize,
    epoch: Epoch,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Following(f)
            if f.leader == src && f.phase == Phase::Synchronization && !f.acked_new_leader => {}
        _ => return,
    }
    let st = state.to_mut();
    let pending = st.following_mut().expect("following").pending.take();
    let (Some(pending), true) = (pending, epoch == st.durable.accepted_epoch) else {
        go_looking(st, None, o);
        return;
    };
    if !apply_sync(st, pending) {
        go_looking(st, None, o);
        return;
    }
    st.durable.current_epoch = epoch;
    o.save(st.durable.clone());
    st.following_mut().expect("following").acked_new_leader = true;
    let last_zxid = st.durable.last_zxid();
    send(o, src, Msg::AckNewLeader { last_zxid });
}

/// Applies a sync to the log and to the delivered state; false if it cannot be applied (a
/// TRUNC below this server's snapshot).
fn apply_sync<S: StateMachine>(st: &mut ServerState<S>, pending: PendingSync<S>) -> bool {
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
            st.durable.snapshot = snapshot;
            st.durable.log.clear();
            false
        }
    };
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
pub fn leader_process_ackld<S: StateMachine>(
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
    for (_, ackers) in leading.acks.range_mut(..=last_zxid) {
        ackers.insert(src);
    }
    if leading.phase == Phase::Broadcast {
        let committed = st.committed;
        send(o, src, Msg::UpToDate { committed });
        leader_try_commit(cfg, st, o);
    } else {
        leader_try_establish(cfg, st, o);
    }
}

/// On a quorum of ACK-LD: commit the initial history, send UPTODATE, enter Broadcast.
pub fn leader_try_establish<S: StateMachine>(
    cfg: &Config,
    st: &mut ServerState<S>,
    o: &mut Out<S>,
) {
    let id = st.id;
    let Role::Leading(leading) = &st.role else {
        return;
    };
    if leading.phase != Phase::Synchronization || !cfg.is_quorum(leading.ackld.len()) {
        return;
    }
    let acked: Vec<usize> = leading.ackld.iter().copied().filter(|&p| p != id).collect();
    st.leading_mut().expect("leading").phase = Phase::Broadcast;
    let last = st.durable.last_zxid();
    st.commit_up_to(last);
    for learner in acked {
        send(o, learner, Msg::UpToDate { committed: last });
    }
    if cfg.heartbeats {
        super::heartbeat::leader_ping(st, o);
    }
}

/// `FollowerProcessCOMMITLD`: commit up to the leader's committed zxid and start serving.
pub fn follower_process_uptodate<S: StateMachine>(
    state: &mut Cow<ServerState<S>>,
    src: usize,
    committed: Zxid,
) {
    match &state.role {
        Role::Following(f)
            if f.leader == src && f.phase == Phase::Synchronization && f.acked_new_leader => {}
        _ => return,
    }
    let st = state.to_mut();
    st.commit_up_to(committed);
    st.following_mut().expect("following").phase = Phase::Broadcast;
}
