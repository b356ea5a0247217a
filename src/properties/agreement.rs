//! Agreement (Zab paper, section III): if process p delivers a and process q delivers b, then
//! p delivers b or q delivers a.

use super::delivered;
use crate::model::{State, ZabModel};

/// For all delivered sequences p, q and a in p, b in q: b is in p or a is in q.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    let seqs = delivered(state);
    seqs.iter().all(|p| {
        seqs.iter().all(|q| {
            p.iter()
                .all(|a| q.contains(a) || q.iter().all(|b| p.contains(b)))
        })
    })
}
