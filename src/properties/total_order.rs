//! Total order (Zab paper, section III): if some process delivers a before b, then any process
//! that delivers b delivers a before b.

use super::delivered;
use crate::model::{State, ZabModel};
use crate::zab::Txn;

/// For every pair of delivered sequences p and q: if p has a before b and q has b, q has a
/// before b.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    let seqs = delivered(state);
    seqs.iter().all(|p| seqs.iter().all(|q| respects(p, q)))
}

fn respects(p: &[Txn<u8>], q: &[Txn<u8>]) -> bool {
    for (i, a) in p.iter().enumerate() {
        for b in &p[i + 1..] {
            if let Some(qb) = q.iter().position(|t| t == b) {
                if !q[..qb].contains(a) {
                    return false;
                }
            }
        }
    }
    true
}
