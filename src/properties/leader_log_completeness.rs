//! LeaderLogCompleteness (Ouyang et al., EuroSys 2025): every leader, from the moment it chose
//! its initial history (Synchronization) on, holds every transaction ever committed in its own
//! epoch or an earlier one. (A stale leader that has not yet noticed a newer epoch cannot hold
//! that epoch's transactions; the heartbeat model reaches that state.)

use super::{held, live};
use crate::model::{State, ZabModel};
use crate::zab::{Phase, Role};

/// Each live leader in Synchronization or Broadcast holds every entry of the ghost committed log
/// up to its own epoch.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    live(state).all(|s| match &s.role {
        Role::Leading(l) if l.phase() >= Phase::Synchronization => {
            let h = held(s);
            let epoch = s.durable.current_epoch;
            state
                .history
                .committed
                .iter()
                .filter(|t| t.zxid.epoch() <= epoch)
                .all(|t| h.contains(&t))
        }
        _ => true,
    })
}
