//! `Sometimes` properties: witnesses that the model reaches the behaviour the safety properties
//! speak about. A configuration where one is not found fails.

use super::live;
use crate::model::{State, ZabModel};
use crate::zab::{FollowerPhase, Msg, Phase, Role, SyncMode};
use stateright::actor::Network;

/// Some server is an established leader.
pub fn leader_established(_: &ZabModel, state: &State) -> bool {
    live(state).any(|s| s.is_established_leader())
}

/// Every server is up and has delivered a client write made in this run.
pub fn committed_everywhere(model: &ZabModel, state: &State) -> bool {
    let first = model.cfg.bounds.first_value;
    state.crashed.iter().all(|c| !c) && live(state).all(|s| s.sm.0.iter().any(|t| t.op >= first))
}

/// A server that crashed and recovered is back in Broadcast, following or leading.
pub fn recovered_and_rejoined(_: &ZabModel, state: &State) -> bool {
    live(state).any(|s| state.history.restarted.contains(&s.id) && s.phase() == Phase::Broadcast)
}

/// A follower that got no LEADERINFO sent FOLLOWERINFO again (FLE with heartbeats).
pub fn followerinfo_resent(_: &ZabModel, state: &State) -> bool {
    live(state).any(|s| {
        matches!(&s.role, Role::Following(f) if matches!(f.phase, FollowerPhase::Discovery { retried: true }))
    })
}

/// Some voter voted in a second election round though no server crashed and no connection
/// reset: a heartbeat made it give up on its leader or its followers.
pub fn second_round_without_faults(_: &ZabModel, state: &State) -> bool {
    state.history.crashes == 0
        && state.history.resets == 0
        && state.history.votes.iter().any(|&(round, _, _)| round >= 2)
}

/// An established leader kept a learner whose PING went unanswered through a tick (`syncLimit`
/// above one): a learner busy for a while is not dropped for it.
pub fn silent_learner_kept(_: &ZabModel, state: &State) -> bool {
    live(state).any(|s| {
        matches!(&s.role, Role::Leading(l)
            if l.pinged.iter().any(|(p, &ticks)| ticks > 0 && l.synced.contains(p)))
    })
}

/// Some leader is bringing a learner in line with TRUNC.
pub fn synced_by_trunc(_: &ZabModel, state: &State) -> bool {
    sync_in_flight(state, |m| matches!(m, SyncMode::Trunc(_)))
}

/// Some leader is bringing a learner in line with SNAP.
pub fn synced_by_snap(_: &ZabModel, state: &State) -> bool {
    sync_in_flight(state, |m| matches!(m, SyncMode::Snap(_)))
}

fn sync_in_flight(
    state: &State,
    mode: impl Fn(&SyncMode<crate::model::DeliveredLog>) -> bool,
) -> bool {
    // Iterate the flows directly: `Network::iter_all` never ends on ordered networks.
    let Network::Ordered(flows) = &state.network else {
        return false;
    };
    flows
        .values()
        .flatten()
        .any(|m| matches!(m, Msg::Sync { mode: m, .. } if mode(m)))
}

/// Fast Leader Election ended: some server leads.
pub fn leader_elected(_: &ZabModel, state: &State) -> bool {
    live(state).any(|s| matches!(s.role, Role::Leading(_)))
}

/// A server that crashed and recovered follows a live leader that a quorum follows.
pub fn restarted_rejoins_ensemble(model: &ZabModel, state: &State) -> bool {
    live(state).any(|s| {
        let Role::Following(f) = &s.role else {
            return false;
        };
        let leader = f.leader;
        let leading =
            !state.crashed[leader] && matches!(state.actor_states[leader].role, Role::Leading(_));
        let members: Vec<usize> = live(state)
            .filter(|p| p.leader() == Some(leader))
            .map(|p| p.id)
            .collect();
        state.history.restarted.contains(&s.id)
            && leading
            && model.cfg.server.is_quorum_of(&members)
    })
}
