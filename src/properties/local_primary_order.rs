//! Local primary order (Zab paper, section III): if a primary broadcasts a before b, a process
//! that delivers b delivers a before b.

use super::delivered;
use crate::model::{State, ZabModel};

/// For each delivered b, every proposal of b's epoch with a smaller zxid (the same primary
/// broadcast it first) is delivered before b.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    let broadcast = &state.history.broadcast;
    delivered(state).iter().all(|seq| {
        seq.iter().enumerate().all(|(i, b)| {
            broadcast
                .keys()
                .filter(|a| a.epoch() == b.zxid.epoch() && **a < b.zxid)
                .all(|a| seq[..i].iter().any(|t| t.zxid == *a))
        })
    })
}
