//! Phase 0: leaving election, and going back to it.
//!
//! Election ends in [`leave_election`], whether Fast Leader Election ([`super::fle`]) decided
//! or the model's oracle did ([`Msg::ElectionOutcome`]: among a quorum of LOOKING servers, the
//! one with the greatest (currentEpoch, last zxid, id), as ZooKeeper's protocol spec does, so
//! that models of the later phases need not pay for FLE's interleavings). A server goes back
//! to election through [`go_looking`].

use super::discovery;
use super::state::{Following, Phase, Role, ServerState};
use super::{send, Bug, Config, ElectionMode, Msg, Out, Service, Timer};
use std::borrow::Cow;

/// `FollowLeader` / `UpdateLeader`: a LOOKING server learns the outcome of election and starts
/// Discovery as a follower (sending FOLLOWERINFO) or as the prospective leader.
pub fn leave_election<S: Service>(
    cfg: &Config,
    st: &mut ServerState<S>,
    leader: usize,
    o: &mut Out<S>,
) {
    if st.role != Role::Looking {
        return;
    }
    if leader == st.id {
        st.role = Role::Leading(discovery::new_leading(st.id, st.durable.accepted_epoch));
        if !cfg.election_only {
            // A one-server ensemble is its own quorum.
            discovery::leader_try_decide_epoch(cfg, st, o);
        }
    } else {
        st.role = Role::Following(Following::new(leader));
        if cfg.election_only {
            return;
        }
        if cfg.heartbeats {
            super::heartbeat::arm_discovery(cfg, o);
        }
        let accepted_epoch = st.durable.accepted_epoch;
        send(o, leader, Msg::FollowerInfo { accepted_epoch });
    }
}

/// `FollowerShutdown` / `LeaderShutdown`: back to LOOKING. The server closes its connections
/// (a follower to its leader, a leader to each learner) so that its peers notice at once;
/// `gone` is a peer whose connection is already closed. It stops its log writer, dropping what
/// it had not written (nothing of it was acknowledged), and starts a new election round.
pub fn go_looking<S: Service>(
    cfg: &Config,
    st: &mut ServerState<S>,
    gone: Option<usize>,
    o: &mut Out<S>,
) {
    let open = |p: usize| p != st.id && Some(p) != gone;
    match &st.role {
        Role::Following(f) if open(f.leader) => send(o, f.leader, Msg::Disconnected),
        Role::Leading(l) => {
            for &learner in l.cepoch.keys().filter(|&&p| open(p)) {
                send(o, learner, Msg::Disconnected);
            }
        }
        _ => {}
    }
    st.role = Role::Looking;
    if cfg.pipelined {
        // The held ACKs were for the leadership this server leaves (its leader's connection
        // is closed): they never leave. What is unsaved stays `unsaved`: the next save,
        // which every vouching message waits for, writes it.
        st.held_acks.clear();
        if !st.unsaved {
            o.cancel_timer(Timer::Flush);
        }
    }
    if cfg.fine_grained && !cfg.has(Bug::Zk4712) {
        st.writer.clear();
        o.cancel_timer(Timer::Flush);
    }
    if cfg.has(Bug::Zk2845) {
        // The bug: the in-memory last processed zxid, not the log's last zxid, goes to the vote.
        st.vote_zxid = Some(st.committed);
    }
    if cfg.election == ElectionMode::Fast {
        super::fle::start_round(cfg, st, o);
    }
}

/// The connection to `src` is gone. A follower that loses its leader goes back to election; a
/// leader forgets the learner, and goes back to election when it is not yet established or
/// has lost its quorum (ZooKeeper's `Timeout` and `LeaderShutdown`).
pub fn process_disconnected<S: Service>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Looking => {}
        Role::Following(f) => {
            if f.leader == src {
                go_looking(cfg, state.to_mut(), Some(src), o);
            }
        }
        Role::Leading(l) => {
            if l.phase() != Phase::Broadcast {
                go_looking(cfg, state.to_mut(), Some(src), o);
                return;
            }
            if !l.cepoch.contains_key(&src) {
                return;
            }
            let st = state.to_mut();
            let leading = st.leading_mut().expect("leading");
            leading.forget(src);
            if !cfg.is_quorum_of(leading.cepoch.keys()) {
                go_looking(cfg, st, Some(src), o);
            }
        }
    }
}
