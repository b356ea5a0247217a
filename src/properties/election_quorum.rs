//! ElectionQuorum (Fast Leader Election, after ZooKeeper's `termPredicate`): a server that
//! elected itself leader in a round had the votes of a quorum of voters in that round.
//!
//! Rounds are volatile in ZooKeeper (a restarted server counts from 1 again), so a round number
//! can name two elections; the ghost keeps votes by round number, which makes the check weaker
//! across restarts, never wrong.

use super::live;
use crate::model::{State, ZabModel};
use crate::zab::Role;

/// Every live leader was voted for, while they were LOOKING, by a quorum of voters in the round
/// in which it decided (the ghost keeps every vote a LOOKING voter held).
pub fn holds(model: &ZabModel, state: &State) -> bool {
    live(state)
        .filter(|s| matches!(s.role, Role::Leading(_)))
        .all(|s| {
            let round = s.election.round;
            let voters = state
                .history
                .votes
                .iter()
                .filter(|&&(r, _, l)| r == round && l == s.id)
                .map(|(_, voter, _)| voter);
            model.cfg.server.is_quorum_of(voters)
        })
}
