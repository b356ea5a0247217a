//! ProcessConsistency (Ouyang et al., EuroSys 2025): a follower that has acknowledged its
//! leader's NEWLEADER holds a prefix of that leader's history.

use super::{held, live};
use crate::model::{State, ZabModel};
use crate::zab::Role;

/// For each live follower past NEWLEADER whose leader is up and leads the same epoch, the
/// follower's history is a prefix of the leader's.
pub fn holds(_: &ZabModel, state: &State) -> bool {
    live(state).all(|f| {
        let Role::Following(following) = &f.role else {
            return true;
        };
        let l = &state.actor_states[following.leader];
        let leads_same_epoch = matches!(l.role, Role::Leading(_))
            && !state.crashed[following.leader]
            && l.durable.current_epoch == f.durable.current_epoch;
        if !following.acked_new_leader() || !leads_same_epoch {
            return true;
        }
        let (fh, lh) = (held(f), held(l));
        fh.len() <= lh.len() && fh[..] == lh[..fh.len()]
    })
}
