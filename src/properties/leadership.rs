//! Leadership: at most one server is established as leader of each epoch (ZooKeeper's TLA+
//! protocol spec). Without it two primaries could order different transactions under the same
//! zxids. An observer never leads.

use super::live;
use crate::model::{State, ZabModel};
use crate::zab::Role;

/// No epoch has two established leaders, and no observer leads.
pub fn holds(model: &ZabModel, state: &State) -> bool {
    let observer_leads =
        live(state).any(|s| !model.cfg.server.is_voter(s.id) && matches!(s.role, Role::Leading(_)));
    !observer_leads
        && state
            .history
            .established
            .values()
            .all(|leaders| leaders.len() <= 1)
}
