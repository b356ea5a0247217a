//! ShouldNotBeTriggered (after the checks of that name in ZooKeeper's TLA+ specs): no server
//! meets a packet its state cannot handle. ZooKeeper throws there (ZOOKEEPER-4394's
//! NullPointerException) and the server drops out of the ensemble.

use super::live;
use crate::model::{State, ZabModel};

/// No live server has recorded an internal error.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    live(state).all(|s| s.fault.is_none())
}
