//! Phase 3, Broadcast: the established leader orders client writes.
//!
//! The leader gives a write the next zxid, logs it durably and sends PROPOSAL to every synced
//! follower. A follower logs the proposal durably and then (in the same step) sends ACK; a
//! fine-grained follower hands it to its log writer, which ACKs once the write is on disk
//! ([`follower_flush`]). When a quorum of voters (the leader included) acknowledged it, and
//! every earlier proposal is committed, the leader commits it and sends COMMIT to followers and
//! INFORM to observers; learners deliver in zxid order.

use super::election::go_looking;
use super::state::{Following, LeaderPhase, Leading, Phase, Role, ServerState};
use super::types::{Txn, Zxid};
use super::{send, Bug, Config, Msg, Op, Out, Service, Timer};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::time::Duration;

/// A client write reaches this server: the established leader proposes it; a serving follower
/// forwards it to its leader (REQUEST); any other server drops it (the client retries).
pub fn process_client_write<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    req: S::Request,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Leading(l) if l.phase() == Phase::Broadcast => {
            leader_propose(cfg, state.to_mut(), req, o)
        }
        Role::Following(f) if f.phase() == Phase::Broadcast => send(o, f.leader, Msg::Request(req)),
        _ => {}
    }
}

/// `LeaderProcessRequest` for a write a learner forwarded.
pub fn leader_process_request<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    req: S::Request,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Leading(l) if l.phase() == Phase::Broadcast && l.synced.contains(&src) => {
            leader_propose(cfg, state.to_mut(), req, o)
        }
        _ => {}
    }
}

/// The leader prepares a write against its committed state and the pending proposals, logs the
/// proposal durably and sends it to every synced learner.
fn leader_propose<S: Service>(
    cfg: &Config,
    st: &mut ServerState<S>,
    req: S::Request,
    o: &mut Out<S>,
) {
    let zxid = st.durable.next_zxid();
    let pending = st.durable.entries_after_ref(st.committed);
    let op = S::prepare(&st.sm, &mut st.local, pending, zxid, &req);
    let txn = Txn { zxid, op };
    st.durable.log.push(txn.clone());
    let id = st.id;
    // The leader's own vote: counted now when the save is in this step; on a pipelined
    // leader it is an ACK to itself that leaves with the log writer's save.
    let counted = if cfg.pipelined && !cfg.has(Bug::SelfAckBeforeSave) {
        hand_to_log_writer(st, Some((id, zxid)), o);
        BTreeSet::new()
    } else {
        if cfg.pipelined {
            // The bug: the own vote counts before the write is durable.
            hand_to_log_writer(st, None, o);
        } else {
            st.save(o);
        }
        BTreeSet::from([id])
    };
    let leading = st.leading_mut().expect("leading");
    leading.acks.insert(txn.zxid, counted);
    for &learner in leading.synced.iter().filter(|&&p| cfg.is_voter(p)) {
        // Paper ambiguity 1: a follower that has not yet sent ACK-LD must get proposals too.
        if cfg.has(Bug::Paper1) && !leading.ackld.contains(&learner) {
            continue;
        }
        send(o, learner, Msg::Proposal(txn.clone()));
    }
    leader_try_commit(cfg, st, o);
}

/// `FollowerProcessPROPOSAL`: log the proposal durably, then acknowledge it.
pub fn follower_process_proposal<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    txn: Txn<Op<S>>,
    o: &mut Out<S>,
) {
    if !state.is_synced_with(src) {
        return;
    }
    let queued = state.writer.last().map(|t| t.zxid);
    if txn.zxid <= state.durable.last_zxid().max(queued.unwrap_or_default()) {
        return;
    }
    let st = state.to_mut();
    let zxid = txn.zxid;
    if cfg.fine_grained {
        if let Some(sync) = st.following_mut().and_then(Following::syncing_mut) {
            sync.uncommitted.push(zxid);
        }
        st.writer.push(txn);
        o.set_timer(Timer::Flush, Duration::ZERO..Duration::ZERO);
        return;
    }
    st.durable.log.push(txn);
    if cfg.pipelined {
        if cfg.has(Bug::AckBeforeSave) {
            // The bug: the ACK leaves now, before the log writer's save.
            hand_to_log_writer(st, None, o);
            send(o, src, Msg::Ack(zxid));
        } else {
            hand_to_log_writer(st, Some((src, zxid)), o);
        }
        return;
    }
    if cfg.has(Bug::AckBeforeSave) {
        // The bug: the write is handed to a writer that reaches the disk in a later step.
        o.set_timer(Timer::Flush, Duration::ZERO..Duration::ZERO);
    } else {
        st.save(o);
    }
    send(o, src, Msg::Ack(zxid));
}

/// The log writer's write reaches the disk: the queued proposals join the log, which is saved,
/// and each is acknowledged to the leader being followed (ZooKeeper's `SyncRequestProcessor`
/// then `SendAckRequestProcessor`).
pub fn follower_flush<S: Service>(cfg: &Config, state: &mut Cow<ServerState<S>>, o: &mut Out<S>) {
    if cfg.pipelined {
        log_writer_save(state, o);
        if !cfg.fine_grained {
            return;
        }
    }
    if state.writer.is_empty() && !cfg.has(Bug::AckBeforeSave) {
        return;
    }
    let st = state.to_mut();
    let written = std::mem::take(&mut st.writer);
    st.durable.append_newer(&written);
    st.save(o);
    if let Role::Following(f) = &st.role {
        if f.acked_new_leader() && cfg.is_voter(st.id) {
            for txn in &written {
                send(o, f.leader, Msg::Ack(txn.zxid));
            }
        }
    }
}

/// A pipelined server's change to `durable` goes to its log writer: the save happens in the
/// writer's own step ([`log_writer_save`]), and `ack`, if any, waits for it there.
fn hand_to_log_writer<S: Service>(
    st: &mut ServerState<S>,
    ack: Option<(usize, Zxid)>,
    o: &mut Out<S>,
) {
    st.unsaved = true;
    st.held_acks.extend(ack);
    o.set_timer(Timer::Flush, Duration::ZERO..Duration::ZERO);
}

/// The pipelined log writer's step (ZooKeeper's `SyncRequestProcessor` flushing, then
/// `SendAckRequestProcessor`, or the leader's `AckRequestProcessor`): save what changed and
/// send the ACKs that vouch for it. Nothing else changes, so every other step commutes with
/// this one; the runtime releases these ACKs only once this save is durable.
fn log_writer_save<S: Service>(state: &mut Cow<ServerState<S>>, o: &mut Out<S>) {
    if !state.unsaved && state.held_acks.is_empty() {
        return;
    }
    let st = state.to_mut();
    st.save(o);
    for (to, zxid) in std::mem::take(&mut st.held_acks) {
        send(o, to, Msg::Ack(zxid));
    }
}

/// `LeaderProcessACK`: count the acknowledgement and commit what has a quorum.
pub fn leader_process_ack<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    zxid: Zxid,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Leading(l) if l.acks.get(&zxid).is_some_and(|a| !a.contains(&src)) => {}
        _ => return,
    }
    let st = state.to_mut();
    let leading = st.leading_mut().expect("leading");
    leading
        .acks
        .get_mut(&zxid)
        .expect("outstanding")
        .insert(src);
    leader_try_commit(cfg, st, o);
}

/// Commits, in zxid order, every outstanding proposal that a quorum acknowledged, and sends
/// COMMIT for each to the synced learners.
pub fn leader_try_commit<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    loop {
        let Role::Leading(leading) = &mut st.role else {
            return;
        };
        if leading.phase() != Phase::Broadcast {
            return;
        }
        let Some((&zxid, ackers)) = leading.acks.first_key_value() else {
            return;
        };
        if !cfg.is_quorum_of(ackers) {
            return;
        }
        leading.acks.remove(&zxid);
        let pos = st
            .durable
            .position(zxid)
            .expect("the leader logs what it proposes");
        let txn = &st.durable.log[pos];
        for &learner in &leading.synced {
            let msg = if cfg.is_voter(learner) {
                Msg::Commit(zxid)
            } else {
                Msg::Inform(txn.clone())
            };
            send(o, learner, msg);
        }
        st.commit_up_to(zxid);
    }
}

/// `FollowerProcessCOMMIT`: deliver everything up to the zxid. A COMMIT for a proposal this
/// server never logged means it is out of step with its leader: like ZooKeeper, it stops
/// following.
pub fn follower_process_commit<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    zxid: Zxid,
    o: &mut Out<S>,
) {
    let syncing = match &state.role {
        Role::Following(f) if f.leader == src && f.acked_new_leader() => {
            cfg.fine_grained && f.phase() == Phase::Synchronization
        }
        _ => return,
    };
    if zxid <= state.committed {
        return;
    }
    let st = state.to_mut();
    if let (true, Some(sync)) = (syncing, st.following_mut().and_then(Following::syncing_mut)) {
        // Before UPTODATE a COMMIT is matched with the oldest synced proposal awaiting one
        // (ZooKeeper only warns when they differ, and fails when there is none).
        match sync.uncommitted.first() {
            None => {
                st.fault = Some("COMMIT during sync with no pending proposal");
                go_looking(cfg, st, None, o);
                return;
            }
            Some(&head) if head == zxid => {
                sync.uncommitted.remove(0);
            }
            Some(_) => {}
        }
    }
    if st.durable.holds(zxid) {
        st.commit_up_to(zxid);
    } else {
        go_looking(cfg, st, None, o);
    }
}

/// ZooKeeper's `Observer.processPacket(INFORM)`: log the committed transaction and deliver it.
pub fn observer_process_inform<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    txn: Txn<Op<S>>,
    o: &mut Out<S>,
) {
    if !state.is_synced_with(src) {
        return;
    }
    let st = state.to_mut();
    let zxid = txn.zxid;
    if zxid > st.durable.last_zxid() {
        st.durable.log.push(txn);
        if cfg.pipelined {
            // Committed already: an observer vouches for nothing, so its write need not be
            // durable before it delivers.
            hand_to_log_writer(st, None, o);
        } else {
            st.save(o);
        }
    }
    st.commit_up_to(zxid);
}

/// A client's `sync` reaches this server ([`super::Host::sync`]): the leader handles it at
/// once, a follower forwards it to its leader (ZooKeeper's `REQUEST` of type sync).
pub fn process_client_sync<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    handle: usize,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Leading(_) => leader_process_sync(cfg, state, state.id, handle, o),
        Role::Following(f) => send(o, f.leader, Msg::SyncRequest(handle)),
        Role::Looking => {}
    }
}

/// ZooKeeper's `Leader.processSync`: with no outstanding proposal the sync is answered now;
/// otherwise it waits for the commit of the last proposal made so far (`pendingSyncs`).
pub fn leader_process_sync<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    handle: usize,
    o: &mut Out<S>,
) {
    if !state.is_established_leader() {
        return;
    }
    let last = state.durable.last_zxid();
    if last <= state.committed {
        return leader_send_sync(cfg, state, src, handle, o);
    }
    if let Role::Leading(Leading {
        phase: LeaderPhase::Broadcast { syncs, .. },
        ..
    }) = &mut state.to_mut().role
    {
        syncs.push((last, src, handle));
    }
}

/// ZooKeeper's `Leader.sendSync` for the syncs whose proposal has committed, at the end of the
/// step (after the step's COMMITs).
pub(crate) fn leader_release_syncs<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    o: &mut Out<S>,
) {
    let committed = state.committed;
    let ready = |syncs: &[(Zxid, usize, usize)]| syncs.iter().any(|&(z, _, _)| z <= committed);
    match &state.role {
        Role::Leading(Leading {
            phase: LeaderPhase::Broadcast { syncs, .. },
            ..
        }) if ready(syncs) => {}
        _ => return,
    }
    let Role::Leading(Leading {
        phase: LeaderPhase::Broadcast { syncs, .. },
        ..
    }) = &mut state.to_mut().role
    else {
        return;
    };
    let (ready, wait) = std::mem::take(syncs)
        .into_iter()
        .partition::<Vec<_>, _>(|&(z, _, _)| z <= committed);
    *syncs = wait;
    for (_, server, handle) in ready {
        leader_send_sync(cfg, state, server, handle, o);
    }
}

/// Answers one sync: a SYNC packet to a learner, or the leader's own service told directly.
fn leader_send_sync<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    server: usize,
    handle: usize,
    o: &mut Out<S>,
) {
    if server == state.id {
        S::on_synced(&mut super::Host::new(cfg, state, o), handle);
    } else {
        send(o, server, Msg::Synced(handle));
    }
}

/// A learner gets its leader's SYNC: the sync it forwarded is done. Like ZooKeeper's learner,
/// which reads packets only from its leader's socket, it takes SYNC from its leader alone.
pub fn learner_process_synced<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    handle: usize,
    o: &mut Out<S>,
) {
    if matches!(&state.role, Role::Following(f) if f.leader == src) {
        S::on_synced(&mut super::Host::new(cfg, state, o), handle);
    }
}
