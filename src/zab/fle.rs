//! Phase 0, Fast Leader Election: ZooKeeper's `FastLeaderElection.lookForLeader`.
//!
//! A LOOKING server starts a *round* (ZooKeeper's logical clock, sent as the election epoch),
//! votes for itself and sends a notification to every voter on the election port. A vote is
//! (peer epoch, last zxid, server id) and votes compare in that order, so the winner holds the
//! most recent history. On a notification from a LOOKING voter:
//! - of a later round: join that round, forget the votes of the old one, and vote for the
//!   better of the sender's vote and one's own;
//! - of the same round with a better vote: adopt it and tell everyone;
//! - of an earlier round: answer with one's own notification so the sender catches up.
//!
//! When a quorum of voters' votes in this round equals one's own, the server waits
//! `finalizeWait` for a better vote (the [`Timer::Finalize`] timer, which the model checker
//! may fire at any moment) and then leaves election: it leads if the vote names it, and
//! follows (or observes) otherwise.
//!
//! Servers already FOLLOWING or LEADING answer a LOOKING server with their final vote and the
//! round in which they decided. A quorum of such answers naming one leader, the leader's own
//! answer among them (ZooKeeper's `checkLeader`), lets a restarted server join the ensemble.
//! Observers vote for nobody: voters answer them but never count them.
//!
//! The vote is built from the durable state as it is on disk ([`ServerState::vote_key`]):
//! ZOOKEEPER-2845 used a stale in-memory zxid instead.

use super::election::leave_election;
use super::state::{Role, ServerState};
use super::types::{Epoch, Zxid};
use super::{send, Bug, Config, Msg, Out, Service, Timer};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

/// A vote, ordered as ZooKeeper's `totalOrderPredicate` orders them: peer epoch, then zxid,
/// then server id.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Vote {
    /// The proposed leader's currentEpoch (ZooKeeper's `peerEpoch`).
    pub epoch: Epoch,
    /// The proposed leader's last logged zxid.
    pub zxid: Zxid,
    /// The proposed leader.
    pub leader: usize,
}

/// The sender's state in a notification (ZooKeeper's `ServerState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PeerState {
    /// In election.
    Looking,
    /// Following the vote's leader.
    Following,
    /// Leading.
    Leading,
    /// Observing the vote's leader.
    Observing,
}

/// ZooKeeper's `Notification`: a vote with the round it was cast in and the sender's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Notification {
    /// The vote (proposed leader, zxid, peer epoch).
    pub vote: Vote,
    /// The sender's round (ZooKeeper's `electionEpoch`).
    pub round: u32,
    /// The sender's state.
    pub state: PeerState,
}

/// A server's election state. Volatile: a restarted server starts from round 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Election {
    /// The current round (ZooKeeper's `logicalclock`); after a decision, the deciding round.
    pub round: u32,
    /// The proposed vote; after a decision, the final one.
    pub vote: Vote,
    /// Votes of this round from LOOKING voters, own included (ZooKeeper's `recvset`).
    pub recv: BTreeMap<usize, Vote>,
    /// Answers from voters already FOLLOWING or LEADING: (their round, vote, state)
    /// (ZooKeeper's `outofelection`).
    pub out_of_election: BTreeMap<usize, (u32, Vote, PeerState)>,
}

fn own_vote<S: Service>(st: &ServerState<S>) -> Vote {
    let (epoch, zxid, leader) = st.vote_key();
    Vote {
        epoch,
        zxid,
        leader,
    }
}

fn peer_state<S: Service>(cfg: &Config, st: &ServerState<S>) -> PeerState {
    match &st.role {
        Role::Looking => PeerState::Looking,
        Role::Leading(_) => PeerState::Leading,
        Role::Following(_) if cfg.is_voter(st.id) => PeerState::Following,
        Role::Following(_) => PeerState::Observing,
    }
}

fn notification<S: Service>(cfg: &Config, st: &ServerState<S>) -> Msg<S> {
    Msg::Notification(Notification {
        vote: st.election.vote,
        round: st.election.round,
        state: peer_state(cfg, st),
    })
}

/// Sends this server's notification to every other voter.
pub(crate) fn send_notifications<S: Service>(cfg: &Config, st: &ServerState<S>, o: &mut Out<S>) {
    for voter in (0..cfg.voters).filter(|&v| v != st.id) {
        send(o, voter, notification(cfg, st));
    }
}

/// Whether `n` beats `current` (ZooKeeper's `totalOrderPredicate`: peer epoch, then last
/// zxid, then server id). Any voter's vote beats an observer's vote for itself.
fn better(cfg: &Config, n: Vote, current: Vote) -> bool {
    !cfg.is_voter(current.leader) || order(cfg, n) > order(cfg, current)
}

/// The key votes are ordered by; the mutants leave a component out.
fn order(cfg: &Config, v: Vote) -> (Epoch, Zxid, usize) {
    match cfg.bug {
        Some(Bug::VoteWithoutZxid) => (v.epoch, Zxid::ZERO, v.leader),
        Some(Bug::VoteWithoutEpoch) => (0, v.zxid, v.leader),
        _ => (v.epoch, v.zxid, v.leader),
    }
}

fn set_vote<S: Service>(cfg: &Config, st: &mut ServerState<S>, vote: Vote) {
    st.election.vote = vote;
    if cfg.is_voter(st.id) {
        st.election.recv.insert(st.id, vote);
    }
}

/// A quorum of this round's votes equals `vote`.
fn has_quorum(cfg: &Config, recv: &BTreeMap<usize, Vote>, vote: Vote) -> bool {
    cfg.is_quorum_of(recv.iter().filter(|(_, v)| **v == vote).map(|(id, _)| id))
}

/// ZooKeeper's `checkLeader`: the named leader said it leads, or it is this server and the
/// round is this server's own.
fn check_leader<S: Service>(st: &ServerState<S>, leader: usize, round: u32) -> bool {
    if leader == st.id {
        return round == st.election.round;
    }
    matches!(
        st.election.out_of_election.get(&leader),
        Some((_, _, PeerState::Leading))
    )
}

/// `lookForLeader` begins: a new round, a vote for oneself, notifications to every voter.
pub fn start_round<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    st.election.round += 1;
    st.election.recv.clear();
    st.election.out_of_election.clear();
    let vote = own_vote(st);
    set_vote(cfg, st, vote);
    send_notifications(cfg, st, o);
    if cfg.heartbeats {
        // Re-sent every `NOTIFICATION_INTERVAL` while LOOKING (heartbeat::process_tick).
        super::heartbeat::arm_looking(o);
    }
    // An ensemble of one (a standalone server) is a quorum with its own vote.
    if has_quorum(cfg, &st.election.recv, vote) {
        arm_finalize(cfg, st, o);
    }
}

/// ZooKeeper's `finalizeWait`: how long a quorum's agreement waits for a better vote.
pub const FINALIZE_WAIT: Duration = Duration::from_millis(200);

/// A quorum agrees with this server's vote: it becomes final after [`FINALIZE_WAIT`] without a
/// better one (each further notification waits again, as ZooKeeper's `recvqueue.poll`), or at
/// once when every voter's vote of this round is in, since no better one can come then. (The
/// model checker fires the timer at any moment either way.)
fn arm_finalize<S: Service>(cfg: &Config, st: &ServerState<S>, o: &mut Out<S>) {
    let all_voted = (0..cfg.voters).all(|v| st.election.recv.contains_key(&v));
    let wait = if all_voted {
        Duration::ZERO
    } else {
        FINALIZE_WAIT
    };
    o.set_timer(Timer::Finalize, wait..wait);
}

/// A notification arrives on the election port.
pub fn process_notification<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    n: Notification,
    o: &mut Out<S>,
) {
    let looking = state.role == Role::Looking;
    // A non-voter is only ever answered; a LOOKING sender is answered by a decided server.
    if !cfg.is_voter(src) || (!looking && n.state == PeerState::Looking) {
        send(o, src, notification(cfg, state));
        return;
    }
    if !looking {
        return;
    }
    match n.state {
        PeerState::Looking => process_looking_vote(cfg, state, src, n, o),
        PeerState::Following | PeerState::Leading => {
            process_decided_vote(cfg, state.to_mut(), src, n, o)
        }
        PeerState::Observing => {}
    }
}

fn process_looking_vote<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    n: Notification,
    o: &mut Out<S>,
) {
    if n.round < state.election.round {
        send(o, src, notification(cfg, state));
        return;
    }
    let st = state.to_mut();
    if n.round > st.election.round {
        st.election.round = n.round;
        st.election.recv.clear();
        let own = own_vote(st);
        let vote = if better(cfg, n.vote, own) {
            n.vote
        } else {
            own
        };
        set_vote(cfg, st, vote);
        send_notifications(cfg, st, o);
    } else if better(cfg, n.vote, st.election.vote) {
        set_vote(cfg, st, n.vote);
        send_notifications(cfg, st, o);
    }
    st.election.recv.insert(src, n.vote);
    if has_quorum(cfg, &st.election.recv, st.election.vote) {
        arm_finalize(cfg, st, o);
    } else {
        o.cancel_timer(Timer::Finalize);
    }
}

fn process_decided_vote<S: Service>(
    cfg: &Config,
    st: &mut ServerState<S>,
    src: usize,
    n: Notification,
    o: &mut Out<S>,
) {
    let leader = n.vote.leader;
    if n.round == st.election.round {
        st.election.recv.insert(src, n.vote);
        if has_quorum(cfg, &st.election.recv, n.vote) && check_leader(st, leader, n.round) {
            decide(cfg, st, n.vote, o);
            return;
        }
    }
    st.election
        .out_of_election
        .insert(src, (n.round, n.vote, n.state));
    let agreeing = st
        .election
        .out_of_election
        .iter()
        .filter(|(_, (_, v, _))| v.leader == leader && v.epoch == n.vote.epoch)
        .map(|(id, _)| id);
    if cfg.is_quorum_of(agreeing) && check_leader(st, leader, n.round) {
        st.election.round = n.round;
        decide(cfg, st, n.vote, o);
    }
}

/// `finalizeWait` is over: decide if a quorum still agrees with this server's vote.
pub fn process_finalize<S: Service>(cfg: &Config, state: &mut Cow<ServerState<S>>, o: &mut Out<S>) {
    let e = &state.election;
    if state.role != Role::Looking || !has_quorum(cfg, &e.recv, e.vote) {
        return;
    }
    let vote = e.vote;
    decide(cfg, state.to_mut(), vote, o);
}

fn decide<S: Service>(cfg: &Config, st: &mut ServerState<S>, vote: Vote, o: &mut Out<S>) {
    st.election.vote = vote;
    o.cancel_timer(Timer::Finalize);
    leave_election(cfg, st, vote.leader, o);
}
