//! Named model configurations: their bounds, seeds and `into_model()`.

use super::{DeliveredLog, Ghost, ModelServer, ZabModel};
use crate::properties;
use crate::zab::{Bugs, Config, Durable, Epoch, Server, Snapshot, Txn, Zxid};
use stateright::actor::{ActorModel, Network};
use std::sync::Arc;

/// How far a configuration lets the environment go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Voting servers.
    pub servers: usize,
    /// Client writes in all.
    pub writes: u8,
    /// The value of the first client write (later ones count up).
    pub first_value: u8,
    /// Crashes in all (at most one server is down at a time).
    pub crashes: u8,
    /// Connection resets between a leader and a learner, in all.
    pub resets: u8,
    /// No server accepts an epoch above this one.
    pub max_epoch: Epoch,
}

/// A named configuration of the model.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line on what it covers.
    pub about: &'static str,
    /// The bounds.
    pub bounds: Bounds,
    /// What each server finds on disk when it first starts (None: empty).
    pub seeds: Vec<Option<Durable<DeliveredLog>>>,
    /// The ensemble, with any bug switched on.
    pub server: Config,
}

/// Names of the configurations, for `check --list`.
pub const NAMES: &[&str] = &["small", "broadcast", "recovery", "heartbeat"];

impl ModelConfig {
    /// The configuration called `name`.
    pub fn named(name: &str) -> Option<ModelConfig> {
        match name {
            "small" => Some(small()),
            "broadcast" => Some(broadcast()),
            "recovery" => Some(recovery()),
            "heartbeat" => Some(heartbeat()),
            _ => None,
        }
    }

    /// Switches bugs on.
    pub fn with_bugs(mut self, bugs: Bugs) -> Self {
        self.server.bugs = bugs;
        self
    }

    /// The ghost state of the seeded histories: what was committed and broadcast before.
    fn init_ghost(&self) -> Ghost {
        let mut ghost = Ghost::default();
        for durable in self.seeds.iter().flatten() {
            let held = durable.snapshot.state.0.iter().chain(durable.log.iter());
            for txn in held {
                ghost.broadcast.insert(txn.zxid, txn.op);
            }
            if durable.snapshot.state.0.len() > ghost.committed.len() {
                ghost.committed = durable.snapshot.state.0.clone();
            }
        }
        ghost
    }

    /// Builds the model.
    pub fn into_model(self) -> ZabModel {
        let cfg = Arc::new(self.server.clone());
        let servers = (0..self.bounds.servers).map(|i| ModelServer {
            cfg: Arc::clone(&cfg),
            seed: self.seeds.get(i).cloned().flatten(),
        });
        let inner = ActorModel::<Server<DeliveredLog>, (), Ghost>::new((), self.init_ghost())
            .actors(servers)
            .init_network(Network::new_ordered([]))
            .max_crashes(1);
        ZabModel {
            inner,
            properties: properties::all(self.bounds.crashes > 0, !self.seeds.is_empty()),
            cfg: self,
        }
    }
}

fn config(servers: usize) -> Config {
    Config {
        voters: servers,
        bugs: Bugs::default(),
        heartbeats: false,
    }
}

/// The smallest useful run: three servers elect, establish and commit one write; no faults.
pub fn small() -> ModelConfig {
    ModelConfig {
        name: "small",
        about: "3 servers from empty disks, 1 client write, no faults",
        bounds: Bounds {
            servers: 3,
            writes: 1,
            first_value: 1,
            crashes: 0,
            resets: 0,
            max_epoch: 1,
        },
        seeds: vec![],
        server: config(3),
    }
}

/// Broadcast with crashes: three servers from empty disks elect a leader, which orders two
/// client writes while one server crashes and recovers.
pub fn broadcast() -> ModelConfig {
    ModelConfig {
        name: "broadcast",
        about: "3 servers from empty disks, 2 client writes, 1 crash",
        bounds: Bounds {
            servers: 3,
            writes: 2,
            first_value: 1,
            crashes: 1,
            resets: 0,
            max_epoch: 2,
        },
        seeds: vec![],
        server: config(3),
    }
}

fn txn(epoch: Epoch, counter: u32, value: u8) -> Txn<u8> {
    Txn {
        zxid: Zxid::new(epoch, counter),
        op: value,
    }
}

/// Recovery from divergent histories. Epoch 1 committed <1,1> (on servers 0 and 1); its leader,
/// server 0, also logged <1,2>, which nobody acknowledged. Server 1 has folded <1,1> into a
/// snapshot; server 2 promised epoch 1 but never synced. Election, Discovery and
/// Synchronization must pick TRUNC, DIFF or SNAP right, then two client writes are ordered,
/// with one crash and one connection reset.
pub fn recovery() -> ModelConfig {
    let committed = txn(1, 1, 1);
    let s0 = Durable {
        accepted_epoch: 1,
        current_epoch: 1,
        snapshot: Snapshot::default(),
        log: vec![committed.clone(), txn(1, 2, 2)],
    };
    let s1 = Durable {
        accepted_epoch: 1,
        current_epoch: 1,
        snapshot: Snapshot {
            zxid: committed.zxid,
            state: DeliveredLog(vec![committed]),
        },
        log: vec![],
    };
    let s2 = Durable {
        accepted_epoch: 1,
        ..Durable::default()
    };
    ModelConfig {
        name: "recovery",
        about: "3 servers with divergent logs (committed, proposed, snapshot), 2 writes, 1 crash, 1 reset",
        bounds: Bounds {
            servers: 3,
            writes: 2,
            first_value: 3,
            crashes: 1,
            resets: 1,
            max_epoch: 3,
        },
        seeds: vec![Some(s0), Some(s1), Some(s2)],
        server: config(3),
    }
}

/// Heartbeats instead of resets: PING timers that may fire at any moment (any delay, so any
/// false suspicion), three servers from empty disks, one client write.
pub fn heartbeat() -> ModelConfig {
    let mut cfg = small();
    cfg.name = "heartbeat";
    cfg.about = "3 servers from empty disks, PING timers firing at any moment, 1 client write";
    cfg.bounds.max_epoch = 2;
    cfg.server.heartbeats = true;
    cfg
}
