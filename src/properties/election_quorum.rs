//! ElectionQuorum (Fast Leader Election, after ZooKeeper's `termPredicate`): a server that
//! elected itself leader in a round had the votes of a quorum of voters in that round.

use crate::model::{State, ZabModel};

/// Every self-decided leader of round r was voted for by a quorum of voters in round r (the
/// ghost keeps every vote any voter held).
pub fn holds(model: &ZabModel, state: &State) -> bool {
    let ghost = &state.history;
    ghost
        .decisions
        .iter()
        .filter(|((_, server), leader)| server == *leader)
        .all(|(&(round, _), &leader)| {
            let voters = ghost
                .votes
                .iter()
                .filter(|&&(r, _, l)| r == round && l == leader)
                .map(|(_, voter, _)| voter);
            model.cfg.server.is_quorum_of(voters)
        })
}
