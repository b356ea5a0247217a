//! ElectionRecency (Fast Leader Election, ZooKeeper's `totalOrderPredicate`): a voter that
//! leaves election at the end of `finalizeWait` follows (or is) a leader whose vote is at least
//! as recent as its own, by (currentEpoch, last zxid, id). So the leader a quorum elects holds
//! the greatest history among its electors, which is what Discovery and Synchronization build
//! on. (A server that joins an established leader out of election may be ahead of it and is
//! truncated; that is not an election and is not checked here.)

use crate::model::{State, ZabModel};

/// No voter decided for a vote less recent than its own (the ghost records the first that
/// did).
pub fn holds(_: &ZabModel, state: &State) -> bool {
    state.history.stale_vote.is_none()
}
