//! Ghost state: what the properties need to remember about the past, which no server keeps.

use super::ModelService;
use crate::zab::types::VoteKey;
use crate::zab::{Config, Epoch, Role, ServerState, Txn, Zxid};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Ghost variables and fault budgets, kept as the `ActorModel`'s history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Ghost {
    /// Client writes issued so far.
    pub writes: u8,
    /// Crashes so far.
    pub crashes: u8,
    /// Connection resets so far.
    pub resets: u8,
    /// Heartbeat ticks fired so far (counted only when `Bounds::max_ticks` bounds them).
    pub ticks: u8,
    /// The longest sequence any server ever delivered: the ghost committed log.
    pub committed: Vec<Txn<u8>>,
    /// Delivered sequences that were neither a prefix nor an extension of `committed` when
    /// they were delivered (empty unless a safety property is about to fail).
    pub divergent: BTreeSet<Vec<Txn<u8>>>,
    /// Every proposal an established leader made, by zxid (seeded histories included).
    pub broadcast: BTreeMap<Zxid, u8>,
    /// The servers seen as established leader of each epoch.
    pub established: BTreeMap<Epoch, BTreeSet<usize>>,
    /// The history (zxids) of each epoch's leader when it became established.
    pub initial: BTreeMap<Epoch, Vec<Zxid>>,
    /// Servers that crashed and recovered at least once.
    pub restarted: BTreeSet<usize>,
    /// FLE only: every vote a voter held, as (round, voter, proposed leader).
    pub votes: BTreeSet<(u32, usize, usize)>,
    /// FLE only: the first voter that left election for a vote less recent than its own, as
    /// (voter, its own vote key, the vote it followed); None while FLE orders votes right.
    pub stale_vote: Option<(usize, VoteKey, VoteKey)>,
    /// How many timers each server has set ([`super::env::timer_counts`]: without it the
    /// checker's fingerprint cannot tell which server holds a timer).
    pub timer_counts: Vec<u8>,
}

impl Ghost {
    /// Records what one live server shows after a step.
    pub fn observe(&mut self, st: &ServerState<ModelService>) {
        self.observe_delivery(&st.sm.0);
        if st.is_established_leader() {
            let epoch = st.durable.current_epoch;
            self.established.entry(epoch).or_default().insert(st.id);
            self.initial.entry(epoch).or_insert_with(|| all_zxids(st));
            for txn in st.durable.log.iter().filter(|t| t.zxid.epoch() == epoch) {
                self.broadcast.entry(txn.zxid).or_insert(txn.op);
            }
        }
    }

    /// Records a server's election state (Fast Leader Election models only).
    pub fn observe_election(&mut self, cfg: &Config, st: &ServerState<ModelService>) {
        let e = &st.election;
        if cfg.is_voter(st.id) && st.role == Role::Looking {
            self.votes.insert((e.round, st.id, e.vote.leader));
        }
    }

    /// Records a voter's decision at the end of `finalizeWait` (FLE only): `before` and
    /// `after` are its state around the step.
    pub fn observe_decision(
        &mut self,
        cfg: &Config,
        before: &ServerState<ModelService>,
        after: &ServerState<ModelService>,
    ) {
        let decided = before.role == Role::Looking && after.role != Role::Looking;
        if !decided || !cfg.is_voter(before.id) || self.stale_vote.is_some() {
            return;
        }
        let own = before.vote_key();
        let v = after.election.vote;
        let followed = (v.epoch, v.zxid, v.leader);
        if followed < own {
            self.stale_vote = Some((before.id, own, followed));
        }
    }

    fn observe_delivery(&mut self, seq: &[Txn<u8>]) {
        if seq.len() <= self.committed.len() {
            if self.committed[..seq.len()] != *seq {
                self.divergent.insert(seq.to_vec());
            }
        } else if seq[..self.committed.len()] == *self.committed {
            self.committed = seq.to_vec();
        } else {
            self.divergent.insert(seq.to_vec());
        }
    }
}

/// Every zxid a server holds, snapshot and log.
pub fn all_zxids(st: &ServerState<ModelService>) -> Vec<Zxid> {
    let snap = st.durable.snapshot.state.0.iter().map(|t| t.zxid);
    snap.chain(st.durable.log.iter().map(|t| t.zxid)).collect()
}
