//! The safety properties on the global states of a replayed run.
//!
//! The properties of [`crate::properties`] are written over the model's servers, whose state
//! machine is the list of transactions delivered. A ZooKeeper server's state machine is a tree,
//! so each replayed server is mapped to a model server: every field as it is, each transaction
//! named by its zxid and its operation (two different operations at one zxid get different
//! names), and the delivered list made of the snapshot's part and the log's committed part. A
//! tree does not list the transactions folded into it, so a snapshot stands for the committed
//! sequence that ends at its zxid (the ghost's, which every delivered sequence is checked
//! against); a snapshot at a zxid that no server delivered is rejected.

use crate::model::ZabModel;
use crate::model::{Bounds, DeliveredLog, Ghost, ModelConfig, ModelServer, ModelService, State};
use crate::runtime::storage::ZkDurable;
use crate::runtime::trace::digest;
use crate::zab::state::{PendingSync, Syncing};
use crate::zab::{
    Config, Durable, ElectionMode, FollowerPhase, Following, Role, ServerState, Snapshot, SyncMode,
    Txn, Zxid,
};
use crate::zk::ZooKeeper;
use stateright::actor::{Actor, ActorModelState, Id, Network, Out, RandomChoices, Timers};
use stateright::Expectation;
use std::collections::HashMap;
use std::sync::Arc;

type ZkState = ServerState<ZooKeeper>;
type ZkTxn = Txn<crate::zab::Op<ZooKeeper>>;

/// The mapped global state and the ghost, updated step by step.
pub struct Props {
    model: ZabModel,
    /// Each (zxid, operation digest)'s name.
    names: HashMap<(Zxid, u64), u8>,
    /// How many operations were named at each zxid.
    at: HashMap<Zxid, u8>,
    /// The history of the server taking the current step, as it stood in the step.
    own: Vec<Txn<u8>>,
    state: State,
}

impl Props {
    /// For an ensemble of `servers` servers running the actor configured by `cfg`.
    pub fn new(cfg: &Config, servers: usize) -> Props {
        let model_cfg = ModelConfig {
            name: "trace",
            about: "a recorded run",
            bounds: Bounds {
                servers: cfg.voters,
                writes: 0,
                first_value: 0,
                crashes: 0,
                resets: 0,
                max_epoch: u32::MAX,
                max_round: u32::MAX,
                max_ticks: u8::MAX,
            },
            seeds: vec![None; servers],
            seed_committed: Vec::new(),
            sync_witnesses: false,
            any_leader: false,
            server: cfg.clone(),
        };
        let model = model_cfg.into_model();
        let blank = ModelServer::new(Arc::new(cfg.clone()));
        let states = (0..servers)
            .map(|i| Arc::new(blank.on_start(Id::from(i), &None, &mut Out::new())))
            .collect();
        let state = ActorModelState {
            actor_states: states,
            network: Network::new_ordered(vec![]),
            timers_set: vec![Timers::new(); servers],
            random_choices: vec![RandomChoices::default(); servers],
            crashed: vec![true; servers],
            history: Ghost::default(),
            actor_storages: vec![None; servers],
        };
        Props {
            model,
            names: HashMap::new(),
            at: HashMap::new(),
            own: Vec::new(),
            state,
        }
    }

    /// The names of the properties checked.
    pub fn names(&self) -> Vec<&'static str> {
        self.always().map(|p| p.name).collect()
    }

    fn always(&self) -> impl Iterator<Item = &stateright::Property<ZabModel>> {
        self.model
            .properties
            .iter()
            .filter(|p| p.expectation == Expectation::Always)
    }

    /// Server `i` took a step to `after` (`finalize`: the step was FLE's finalizeWait), with
    /// `disk` its saved state; `held` is every log entry it held during the step (a snapshot
    /// taken in the step may fold in transactions it delivered in the same step).
    pub fn step(
        &mut self,
        i: usize,
        after: &ZkState,
        disk: Option<&ZkDurable>,
        finalize: bool,
        held: &[ZkTxn],
    ) -> Result<(), String> {
        let mut own = self.state.actor_states[i].sm.0.clone();
        let mut extra: Vec<Txn<u8>> = held.iter().map(|t| self.txn(t)).collect();
        extra.sort();
        extra.dedup();
        let last = own.last().map(|t| t.zxid);
        own.extend(
            extra
                .into_iter()
                .filter(|t| last.is_none_or(|z| t.zxid > z)),
        );
        self.own = own;
        let mapped = self.server(after)?;
        let disk = match disk {
            Some(d) => Some(self.durable(d)?),
            None => None,
        };
        let cfg = &self.model.cfg.server;
        let before = self.state.actor_states[i].clone();
        let ghost = &mut self.state.history;
        ghost.observe(&mapped);
        if cfg.election == ElectionMode::Fast {
            ghost.observe_election(cfg, &mapped);
        }
        if finalize {
            ghost.observe_decision(cfg, &before, &mapped);
        }
        self.state.actor_states[i] = Arc::new(mapped);
        self.state.actor_storages[i] = disk;
        self.state.crashed[i] = false;
        self.holds()
    }

    /// Server `i` is down.
    pub fn crash(&mut self, i: usize) {
        self.state.crashed[i] = true;
    }

    /// The first safety property that fails on the global state, if any.
    fn holds(&self) -> Result<(), String> {
        match self
            .always()
            .find(|p| !(p.condition)(&self.model, &self.state))
        {
            Some(p) => Err(format!("after this step, {} does not hold", p.name)),
            None => Ok(()),
        }
    }

    fn txn(&mut self, t: &ZkTxn) -> Txn<u8> {
        let d = digest(&postcard::to_stdvec(&t.op).expect("operations serialize"));
        let next = self.at.entry(t.zxid).or_default();
        let name = *self.names.entry((t.zxid, d)).or_insert_with(|| {
            *next = next.wrapping_add(1);
            *next - 1
        });
        Txn {
            zxid: t.zxid,
            op: name,
        }
    }

    /// The committed sequence that ends at `z`: the ghost's, or what the server taking the
    /// step held (it may deliver and fold into a snapshot in one step).
    fn prefix(&self, z: Zxid) -> Result<Vec<Txn<u8>>, String> {
        if z == Zxid::default() {
            return Ok(Vec::new());
        }
        for seq in [&self.state.history.committed, &self.own] {
            if let Some(k) = seq.iter().position(|t| t.zxid == z) {
                return Ok(seq[..=k].to_vec());
            }
        }
        Err(format!(
            "a snapshot at {z:?} is of no sequence any server delivered"
        ))
    }

    fn snapshot(
        &self,
        s: &Snapshot<crate::zk::DataTree>,
    ) -> Result<Snapshot<DeliveredLog>, String> {
        Ok(Snapshot {
            zxid: s.zxid,
            state: DeliveredLog(self.prefix(s.zxid)?),
        })
    }

    fn durable(&mut self, d: &ZkDurable) -> Result<Durable<DeliveredLog>, String> {
        Ok(Durable {
            accepted_epoch: d.accepted_epoch,
            current_epoch: d.current_epoch,
            snapshot: Arc::new(self.snapshot(&d.snapshot)?),
            log: d.log.iter().map(|t| self.txn(t)).collect(),
        })
    }

    fn server(&mut self, st: &ZkState) -> Result<ServerState<ModelService>, String> {
        let durable = self.durable(&st.durable)?;
        let mut delivered = durable.snapshot.state.0.clone();
        let snap = durable.snapshot.zxid;
        let upto = st.committed;
        delivered.extend(
            durable
                .log
                .iter()
                .filter(|t| t.zxid > snap && t.zxid <= upto)
                .cloned(),
        );
        Ok(ServerState {
            id: st.id,
            durable,
            committed: st.committed,
            sm: DeliveredLog(delivered),
            role: self.role(&st.role),
            election: st.election.clone(),
            writer: st.writer.iter().map(|t| self.txn(t)).collect(),
            unsaved: st.unsaved,
            held_acks: st.held_acks.clone(),
            vote_zxid: st.vote_zxid,
            fault: st.fault,
            applied: Vec::new(),
            local: (),
        })
    }

    fn role(&mut self, role: &Role<ZooKeeper>) -> Role<ModelService> {
        let f = match role {
            Role::Looking => return Role::Looking,
            Role::Leading(l) => return Role::Leading(l.clone()),
            Role::Following(f) => f,
        };
        let phase = match &f.phase {
            FollowerPhase::Discovery { retried } => FollowerPhase::Discovery { retried: *retried },
            FollowerPhase::Broadcast { heard } => FollowerPhase::Broadcast { heard: *heard },
            FollowerPhase::Synchronization(s) => FollowerPhase::Synchronization(Syncing {
                pending: s.pending.as_ref().map(|p| PendingSync {
                    mode: match &p.mode {
                        SyncMode::Diff => SyncMode::Diff,
                        SyncMode::Trunc(z) => SyncMode::Trunc(*z),
                        SyncMode::Snap(snap) => SyncMode::Snap(Snapshot {
                            zxid: snap.zxid,
                            state: DeliveredLog(self.prefix(snap.zxid).unwrap_or_default()),
                        }),
                    },
                    entries: p.entries.iter().map(|t| self.txn(t)).collect(),
                    committed: p.committed,
                }),
                acked_new_leader: s.acked_new_leader,
                steps: s.steps.clone(),
                uncommitted: s.uncommitted.clone(),
            }),
        };
        Role::Following(Following {
            leader: f.leader,
            phase,
        })
    }
}
