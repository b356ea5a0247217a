//! Phase 1, Discovery: agreeing on a new epoch.
//!
//! FOLLOWERINFO(acceptedEpoch) from a quorum (the leader's own included) lets the leader pick
//! e' = max + 1 and send LEADERINFO(e'). A follower promises e' (acceptedEpoch := e', durably)
//! and answers ACKEPOCH(currentEpoch, last zxid). On a quorum of fresh promises the leader sets
//! its currentEpoch to e' and synchronizes each follower. A follower whose history is more
//! recent than the leader's makes the leader give up, as ZooKeeper's `waitForEpochAck` does.

use super::election::go_looking;
use super::state::{FollowerPhase, LeaderPhase, Leading, Phase, Role, ServerState};
use super::sync::leader_sync_learner;
use super::types::{Epoch, Zxid};
use super::{send, Bug, Config, Msg, Out, Service};
use std::borrow::Cow;

/// `LeaderProcessCEPOCH`: a learner connects with its acceptedEpoch.
pub fn leader_process_followerinfo<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    accepted_epoch: Epoch,
    o: &mut Out<S>,
) {
    if !matches!(state.role, Role::Leading(_)) || src == state.id {
        return;
    }
    let st = state.to_mut();
    let leading = st.leading_mut().expect("leading");
    // A new connection from this learner replaces any earlier one.
    leading.forget(src);
    leading.cepoch.insert(src, accepted_epoch);
    if cfg.heartbeats && leading.phase() == Phase::Broadcast {
        // An established leader waits `syncLimit` ticks for its ACKEPOCH, as for the answer to a
        // PING: a learner that left silently in the middle of joining (its connection half
        // open) must not count toward the leader's quorum for ever (found by faults/).
        leading.pinged.insert(src, 0);
    }
    match leading.new_epoch() {
        Some(epoch) => send(o, src, Msg::LeaderInfo { epoch }),
        None => leader_try_decide_epoch(cfg, st, o),
    }
}

/// On a quorum of FOLLOWERINFO: choose e', promise it durably, and announce it (LEADERINFO).
pub fn leader_try_decide_epoch<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    let id = st.id;
    let last_zxid = st.durable.last_zxid();
    let Role::Leading(leading) = &mut st.role else {
        return;
    };
    if leading.new_epoch().is_some() || !cfg.is_quorum_of(leading.cepoch.keys()) {
        return;
    }
    let epoch = leading.cepoch.values().max().copied().unwrap_or(0) + 1;
    leading.phase = LeaderPhase::Discovery {
        new_epoch: Some(epoch),
    };
    leading.ackepoch.insert(id, (last_zxid, true));
    for &learner in leading.cepoch.keys().filter(|&&p| p != id) {
        send(o, learner, Msg::LeaderInfo { epoch });
    }
    st.durable.accepted_epoch = epoch;
    st.save(o);
    leader_try_establish_epoch(cfg, st, o);
}

/// `FollowerProcessNEWEPOCH`: promise e' unless a newer epoch was already promised.
pub fn follower_process_leaderinfo<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    epoch: Epoch,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Following(f) if f.leader == src && f.phase() == Phase::Discovery => {}
        _ => return,
    }
    let st = state.to_mut();
    let accepted = st.durable.accepted_epoch;
    if epoch < accepted {
        go_looking(cfg, st, None, o);
        return;
    }
    let fresh = epoch > accepted;
    if fresh {
        st.durable.accepted_epoch = epoch;
    }
    // ACKEPOCH vouches for acceptedEpoch and for the last zxid it reports: a pipelined server
    // saves what its log writer has not saved yet, too.
    if fresh || st.unsaved {
        st.save(o);
    }
    st.following_mut().expect("following").phase =
        FollowerPhase::Synchronization(Default::default());
    let msg = Msg::AckEpoch {
        current_epoch: st.durable.current_epoch,
        // The vote's zxid: the last logged one (stale in memory with ZOOKEEPER-2845).
        last_zxid: st.vote_key().1,
        fresh,
    };
    send(o, src, msg);
}

/// `LeaderProcessACKEPOCH`: record a learner's promise and its last zxid; on a quorum of fresh
/// promises establish e' as the current epoch and synchronize; afterwards synchronize each late
/// learner at once.
pub fn leader_process_ackepoch<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    summary: (Epoch, Zxid),
    fresh: bool,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Leading(l) if l.new_epoch().is_some() && l.cepoch.contains_key(&src) => {}
        _ => return,
    }
    let st = state.to_mut();
    let more_recent = summary > (st.durable.current_epoch, st.durable.last_zxid());
    if more_recent && !cfg.has(Bug::NoRecencyCheck) {
        // The learner's history is more recent than ours: we must not lead.
        go_looking(cfg, st, None, o);
        return;
    }
    let leading = st.leading_mut().expect("leading");
    leading.ackepoch.insert(src, (summary.1, fresh));
    if leading.phase() == Phase::Discovery {
        leader_try_establish_epoch(cfg, st, o);
    } else {
        leader_sync_learner(cfg, st, src, o);
    }
}

/// On a quorum of fresh ACKEPOCH: currentEpoch := e' (durably), enter Synchronization and
/// synchronize every learner that acknowledged.
fn leader_try_establish_epoch<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    let Role::Leading(leading) = &mut st.role else {
        return;
    };
    let fresh = leading
        .ackepoch
        .iter()
        .filter(|(_, (_, f))| *f)
        .map(|(id, _)| id);
    let LeaderPhase::Discovery {
        new_epoch: Some(epoch),
    } = leading.phase
    else {
        return;
    };
    if !cfg.is_quorum_of(fresh) {
        return;
    }
    leading.phase = LeaderPhase::Synchronization { epoch };
    leading.ackld.insert(st.id);
    let learners: Vec<usize> = leading.ackepoch.keys().copied().collect();
    st.durable.current_epoch = epoch;
    st.save(o);
    let id = st.id;
    for learner in learners.into_iter().filter(|&p| p != id) {
        leader_sync_learner(cfg, st, learner, o);
    }
    super::sync::leader_try_establish(cfg, st, o);
}

/// The leader-side data of a freshly elected leader.
pub fn new_leading(id: usize, accepted_epoch: Epoch) -> Leading {
    let mut leading = Leading::default();
    leading.cepoch.insert(id, accepted_epoch);
    leading
}
