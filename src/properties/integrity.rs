//! Integrity (Zab paper, section III): if some process delivers <v, z>, then some primary
//! broadcast <v, z>.

use super::delivered;
use crate::model::{State, ZabModel};

/// Every delivered transaction is one a primary proposed, with the same value.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    let broadcast = &state.history.broadcast;
    delivered(state)
        .iter()
        .all(|seq| seq.iter().all(|t| broadcast.get(&t.zxid) == Some(&t.op)))
}
