//! PrefixConsistency: any two delivered sequences agree, one being a prefix of the other
//! (ZooKeeper's TLA+ protocol spec; it implies Total order and Agreement).

use super::delivered;
use crate::model::{State, ZabModel};

/// Every pair of delivered sequences is prefix-ordered.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    let seqs = delivered(state);
    seqs.iter().all(|p| {
        seqs.iter().all(|q| {
            let n = p.len().min(q.len());
            p[..n] == q[..n]
        })
    })
}
