//! Primary integrity (Zab paper, section III): if the primary of epoch e broadcasts a, and some
//! process delivers b broadcast in an earlier epoch, then the primary of e delivered b before it
//! broadcast a.

use super::delivered;
use crate::model::{State, ZabModel};

/// A primary delivers its whole initial history when it is established, before it broadcasts
/// anything, so: every delivered b from an epoch before e is in the initial history of the
/// primary of e, for each epoch e whose primary broadcast something.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    let ghost = &state.history;
    let seqs = delivered(state);
    ghost
        .initial
        .iter()
        .filter(|(e, _)| ghost.broadcast.keys().any(|z| z.epoch() == **e))
        .all(|(&e, initial)| {
            seqs.iter().all(|seq| {
                seq.iter()
                    .filter(|b| b.zxid.epoch() < e)
                    .all(|b| initial.contains(&b.zxid))
            })
        })
}
