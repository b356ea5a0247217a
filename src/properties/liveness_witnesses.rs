//! `Sometimes` properties: witnesses that the model reaches the behaviour the safety properties
//! speak about. A configuration where one is not found fails.

use super::live;
use crate::model::{State, ZabModel};
use crate::zab::Phase;

/// Some server is an established leader.
pub fn leader_established(_: &ZabModel, state: &State) -> bool {
    live(state).any(|s| s.is_established_leader())
}

/// Every server is up and has delivered a client write made in this run.
pub fn committed_everywhere(model: &ZabModel, state: &State) -> bool {
    let first = model.cfg.bounds.first_value;
    state.crashed.iter().all(|c| !c)
        && live(state).all(|s| s.sm.0.iter().any(|t| t.op >= first))
}

/// A server that crashed and recovered is back in Broadcast, following or leading.
pub fn recovered_and_rejoined(_: &ZabModel, state: &State) -> bool {
    live(state).any(|s| state.history.restarted.contains(&s.id) && s.phase() == Phase::Broadcast)
}
