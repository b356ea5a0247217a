//! LeaderLogCompleteness (Ouyang et al., EuroSys 2025): every leader, from the moment it chose
//! its initial history (Synchronization) on, holds every transaction ever committed.

use super::{held, live};
use crate::model::{State, ZabModel};
use crate::zab::{Phase, Role};

/// Each live leader in Synchronization or Broadcast holds the whole ghost committed log.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    live(state).all(|s| match &s.role {
        Role::Leading(l) if l.phase >= Phase::Synchronization => {
            let h = held(s);
            state.history.committed.iter().all(|t| h.contains(&t))
        }
        _ => true,
    })
}
