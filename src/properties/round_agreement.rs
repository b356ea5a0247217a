//! RoundAgreement (Fast Leader Election): servers may leave one round with different leaders,
//! when votes changed while they counted, but then Discovery rejects all but one of them. Of
//! the live leaders that decided in a round, at most one is *accepted*: established, or
//! followed by a quorum of servers that decided in that round.

use super::live;
use crate::model::{State, ZabModel};
use crate::zab::Role;

/// No round has two accepted leaders at once.
pub fn holds(model: &ZabModel, state: &State) -> bool {
    let cfg = &model.cfg.server;
    let leaders: Vec<_> = live(state)
        .filter(|s| matches!(s.role, Role::Leading(_)))
        .collect();
    let accepted: Vec<(u32, usize)> = leaders
        .iter()
        .filter(|l| {
            let round = l.election.round;
            let deciders: Vec<usize> = live(state)
                .filter(|s| s.role != Role::Looking && s.election.round == round)
                .filter(|s| s.leader() == Some(l.id))
                .map(|s| s.id)
                .collect();
            l.is_established_leader() || cfg.is_quorum_of(&deciders)
        })
        .map(|l| (l.election.round, l.id))
        .collect();
    accepted
        .iter()
        .all(|(r, id)| accepted.iter().all(|(r2, id2)| r != r2 || id == id2))
}
