//! CommittedLogDurability (after Ouyang et al., EuroSys 2025): a committed transaction is never
//! lost. We check the strong form: every transaction ever committed is on the disks (the saved
//! `Storage`) of a quorum of voters at all times, so no crash and no TRUNC can remove it.
//! Observers' disks do not count: no election or quorum consults them.

use crate::model::{State, ZabModel};

/// Every entry of the ghost committed log is held durably by a quorum.
pub fn holds(model: &ZabModel, state: &State) -> bool {
    let disks: Vec<_> = (0..model.cfg.server.voters)
        .map(|i| {
            state.actor_storages[i]
                .as_ref()
                .or(model.cfg.seeds.get(i).and_then(|s| s.as_ref()))
        })
        .collect();
    state.history.committed.iter().all(|t| {
        let holders = disks
            .iter()
            .filter(|d| {
                d.is_some_and(|d| d.snapshot.state.0.contains(t) || d.log.iter().any(|x| x == t))
            })
            .count();
        model.cfg.server.is_quorum(holders)
    })
}
