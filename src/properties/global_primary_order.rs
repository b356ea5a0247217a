//! Global primary order (Zab paper, section III): if the primary of epoch e broadcasts a and the
//! primary of a later epoch e' broadcasts b, a process that delivers both delivers a first.

use super::delivered;
use crate::model::{State, ZabModel};

/// Along every delivered sequence the epochs never decrease.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    delivered(state).iter().all(|seq| {
        seq.windows(2)
            .all(|w| w[0].zxid.epoch() <= w[1].zxid.epoch())
    })
}
