//! Phase 0: leaving election, and going back to it.
//!
//! This version takes the election's outcome as an input ([`Msg::ElectionOutcome`]): the
//! model's oracle elects, among a quorum of LOOKING servers, the one with the greatest
//! (currentEpoch, last zxid, id), as ZooKeeper's protocol spec does. Fast Leader Election will
//! reach the same two transitions: [`leave_election`] and [`go_looking`].

use super::discovery;
use super::state::{Following, Phase, Role, ServerState};
use super::{send, Config, Msg, Out, StateMachine};
use std::borrow::Cow;

/// `FollowLeader` / `UpdateLeader`: a LOOKING server learns the outcome of election and starts
/// Discovery as a follower (sending FOLLOWERINFO) or as the prospective leader.
pub fn leave_election<S: StateMachine>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    leader: usize,
    o: &mut Out<S>,
) {
    if state.role != Role::Looking {
        return;
    }
    let st = state.to_mut();
    if leader == st.id {
        st.role = Role::Leading(discovery::new_leading(st.id, st.durable.accepted_epoch));
        // A one-server ensemble is its own quorum.
        discovery::leader_try_decide_epoch(cfg, st, o);
    } else {
        st.role = Role::Following(Following {
            leader,
            phase: Phase::Discovery,
            pending: None,
            acked_new_leader: false,
            heard: false,
        });
        if cfg.heartbeats {
            super::heartbeat::arm(o);
        }
        let accepted_epoch = st.durable.accepted_epoch;
        send(o, leader, Msg::FollowerInfo { accepted_epoch });
    }
}

/// `FollowerShutdown` / `LeaderShutdown`: back to LOOKING. The server closes its connections
/// (a follower to its leader, a leader to each learner) so that its peers notice at once;
/// `gone` is a peer whose connection is already closed.
pub fn go_looking<S: StateMachine>(st: &mut ServerState<S>, gone: Option<usize>, o: &mut Out<S>) {
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
}

/// The connection to `src` is gone. A follower that loses its leader goes back to election; a
/// leader forgets the learner, and goes back to election when it is not yet established or
/// has lost its quorum (ZooKeeper's `Timeout` and `LeaderShutdown`).
pub fn process_disconnected<S: StateMachine>(
    cfg: &Config,
    state: &mut Cow<ServerState<S>>,
    src: usize,
    o: &mut Out<S>,
) {
    match &state.role {
        Role::Looking => {}
        Role::Following(f) => {
            if f.leader == src {
                go_looking(state.to_mut(), Some(src), o);
            }
        }
        Role::Leading(l) => {
            if l.phase != Phase::Broadcast {
                go_looking(state.to_mut(), Some(src), o);
                return;
            }
            if !l.cepoch.contains_key(&src) {
                return;
            }
            let st = state.to_mut();
            let leading = st.leading_mut().expect("leading");
            leading.forget(src);
            if !cfg.is_quorum(leading.cepoch.len()) {
                go_looking(st, Some(src), o);
            }
        }
    }
}
