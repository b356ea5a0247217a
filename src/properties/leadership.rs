//! Leadership: at most one server is established as leader of each epoch (ZooKeeper's TLA+
//! protocol spec). Without it two primaries could order different transactions under the same
//! zxids.

use crate::model::{State, ZabModel};

/// No epoch has two established leaders.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    state
        .history
        .established
        .values()
        .all(|leaders| leaders.len() <= 1)
}
