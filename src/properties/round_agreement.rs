//! RoundAgreement (Fast Leader Election): servers may leave one round with different leaders,
//! when votes changed while they counted, but then Discovery rejects all but one of them. Of
//! the leaders that elected themselves in a round, at most one is *accepted*: it becomes
//! established, or a quorum of servers decided for it in that round.

use crate::model::{State, ZabModel};
use std::collections::BTreeSet;

/// No round has two accepted leaders.
pub fn holds(model: &ZabModel, state: &State) -> bool {
    let ghost = &state.history;
    let cfg = &model.cfg.server;
    let rounds: BTreeSet<u32> = ghost.decisions.keys().map(|&(r, _)| r).collect();
    rounds.into_iter().all(|round| {
        let accepted = ghost
            .decisions
            .iter()
            .filter(|(&(r, server), &leader)| r == round && server == leader)
            .filter(|(_, &leader)| {
                let established = ghost
                    .established_rounds
                    .get(&round)
                    .is_some_and(|ls| ls.contains(&leader));
                let deciders = ghost
                    .decisions
                    .iter()
                    .filter(|(&(r, _), &l)| r == round && l == leader)
                    .map(|((_, server), _)| server);
                established || cfg.is_quorum_of(deciders)
            })
            .count();
        accepted <= 1
    })
}
