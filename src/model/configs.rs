//! Named model configurations: their bounds, seeds and `into_model()`.

use super::{DeliveredLog, Ghost, ModelServer, ModelService, ZabModel};
use crate::properties;
use crate::zab::{Bug, Config, Durable, ElectionMode, Epoch, Server, Snapshot, Txn, Zxid};
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
    /// No server's election round goes above this one (Fast Leader Election models).
    pub max_round: u32,
    /// Heartbeat ticks (`Timer::Tick`) fired in all, when bounded (`u8::MAX`: unbounded and
    /// not counted, so that configurations without a budget keep their state counts).
    pub max_ticks: u8,
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
    /// Seeded transactions that were committed before the run (besides snapshots).
    pub seed_committed: Vec<Txn<u8>>,
    /// Whether the run must show a TRUNC and a SNAP (the `Sometimes` witnesses).
    pub sync_witnesses: bool,
    /// Whether the election oracle may elect any member of a quorum, not only the most recent
    /// (multi-grained models: Discovery's refusal of a more recent follower is then what keeps
    /// the run safe).
    pub any_leader: bool,
    /// The ensemble, with any bug switched on.
    pub server: Config,
}

/// Names of the configurations, for `check --list`.
pub const NAMES: &[&str] = &[
    "small",
    "broadcast",
    "broadcast-pipelined",
    "snapshot",
    "recovery",
    "recovery-any-leader",
    "recovery-pipelined",
    "heartbeat",
    "newleader",
    "election",
    "ensemble",
    "observer",
    "runtime",
    "runtime-bounded",
];

impl ModelConfig {
    /// The configuration called `name`.
    pub fn named(name: &str) -> Option<ModelConfig> {
        match name {
            "small" => Some(small()),
            "broadcast" => Some(broadcast()),
            "broadcast-pipelined" => Some(broadcast_pipelined()),
            "snapshot" => Some(snapshot()),
            "recovery" => Some(recovery()),
            "recovery-any-leader" => Some(recovery_any_leader()),
            "recovery-pipelined" => Some(recovery_pipelined()),
            "heartbeat" => Some(heartbeat()),
            "newleader" => Some(newleader()),
            "election" => Some(election()),
            "ensemble" => Some(ensemble()),
            "observer" => Some(observer()),
            "runtime" => Some(runtime()),
            "runtime-bounded" => Some(runtime_bounded()),
            _ => None,
        }
    }

    /// Switches a bug on.
    pub fn with_bug(mut self, bug: Bug) -> Self {
        self.server.bug = Some(bug);
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
        if self.seed_committed.len() > ghost.committed.len() {
            ghost.committed = self.seed_committed.clone();
        }
        ghost
    }

    /// Builds the model.
    pub fn into_model(self) -> ZabModel {
        let cfg = Arc::new(self.server.clone());
        debug_assert_eq!(self.bounds.servers, self.server.servers());
        let servers = (0..self.bounds.servers).map(|i| ModelServer {
            cfg: Arc::clone(&cfg),
            seed: self.seeds.get(i).cloned().flatten(),
            local: (),
        });
        let inner = ActorModel::<Server<ModelService>, (), Ghost>::new((), self.init_ghost())
            .actors(servers)
            .init_network(Network::new_ordered([]))
            .max_crashes(1);
        ZabModel {
            inner,
            properties: properties::all(&self),
            cfg: self,
        }
    }
}

fn config(servers: usize) -> Config {
    Config::new(servers)
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
            max_round: u32::MAX,
            max_ticks: u8::MAX,
        },
        seeds: vec![],
        seed_committed: vec![],
        sync_witnesses: false,
        any_leader: false,
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
            max_round: u32::MAX,
            max_ticks: u8::MAX,
        },
        seeds: vec![],
        seed_committed: vec![],
        sync_witnesses: false,
        any_leader: false,
        server: config(3),
    }
}

/// `broadcast` with the runtime's write path ([`Config::pipelined`]): each log write is a step
/// of its own, so a crash can fall after PROPOSAL left and before the leader's write reached
/// the disk, and every ACK (the leader's own vote included) waits for the save it vouches for.
pub fn broadcast_pipelined() -> ModelConfig {
    let mut cfg = broadcast();
    cfg.name = "broadcast-pipelined";
    cfg.about = "broadcast with the runtime's pipelined log writes: 3 servers, 2 writes, 1 crash";
    cfg.server.pipelined = true;
    cfg
}

/// `broadcast` with the runtime's snapshotting at its most eager (`snapCount` = 1): every
/// commit folds the log into a snapshot and saves it, so a server that crashes and comes back
/// behind the leader's snapshot is synced by SNAP.
pub fn snapshot() -> ModelConfig {
    let mut server = config(3);
    server.snap_count = Some(1);
    ModelConfig {
        name: "snapshot",
        about: "3 servers from empty disks, 2 client writes, 1 crash, a snapshot at every commit",
        server,
        ..broadcast()
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
        snapshot: Default::default(),
        log: vec![committed.clone(), txn(1, 2, 2)].into(),
    };
    let s1 = Durable {
        accepted_epoch: 1,
        current_epoch: 1,
        snapshot: Snapshot {
            zxid: committed.zxid,
            state: DeliveredLog(vec![committed]),
        }
        .into(),
        log: Default::default(),
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
            max_round: u32::MAX,
            max_ticks: u8::MAX,
        },
        seeds: vec![Some(s0), Some(s1), Some(s2)],
        seed_committed: vec![],
        sync_witnesses: true,
        any_leader: false,
        server: config(3),
    }
}

/// `recovery` with an election that may pick any member of a quorum, not only the most
/// recent one: a leader behind one of its followers must give up in Discovery (ZooKeeper's
/// `waitForEpochAck` check), or it would truncate committed entries.
pub fn recovery_any_leader() -> ModelConfig {
    ModelConfig {
        name: "recovery-any-leader",
        about: "recovery with an oracle that may elect any member of a quorum",
        any_leader: true,
        ..recovery()
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
    // The leader drops a learner after one unanswered tick: with timers firing at any moment,
    // every false suspicion of a learner. `runtime-bounded` lets a learner stay silent a tick.
    cfg.server.sync_limit = 1;
    cfg
}

fn durable(epoch: Epoch, log: Vec<Txn<u8>>) -> Option<Durable<DeliveredLog>> {
    Some(Durable {
        accepted_epoch: epoch,
        current_epoch: epoch,
        snapshot: Default::default(),
        log: log.into(),
    })
}

/// The follower's NEWLEADER handling in separately scheduled steps and its log writer, from a
/// seeded state: epoch 1 committed <1,1> (servers 0 and 1); its leader, server 1, also logged
/// <1,2>; server 2 missed both. The new leader must sync server 2 by DIFF. The bug zoo's
/// NEWLEADER bugs (ZOOKEEPER-3911, -4643, -4646, -4394, -4712) run here.
pub fn newleader() -> ModelConfig {
    let mut server = config(3);
    server.fine_grained = true;
    ModelConfig {
        name: "newleader",
        about: "3 seeded servers, NEWLEADER in steps, async log writer, 1 write, 1 crash, 1 reset",
        bounds: Bounds {
            servers: 3,
            writes: 1,
            first_value: 3,
            crashes: 1,
            resets: 1,
            max_epoch: 3,
            max_round: u32::MAX,
            max_ticks: u8::MAX,
        },
        seeds: vec![
            durable(1, vec![txn(1, 1, 1)]),
            durable(1, vec![txn(1, 1, 1), txn(1, 2, 2)]),
            durable(1, vec![]),
        ],
        seed_committed: vec![txn(1, 1, 1)],
        sync_witnesses: false,
        any_leader: false,
        server,
    }
}

/// Fast Leader Election alone: three servers with different epochs and logs elect, crash and
/// rejoin; nobody goes on to Discovery.
pub fn election() -> ModelConfig {
    let mut server = config(3);
    server.election = ElectionMode::Fast;
    server.election_only = true;
    ModelConfig {
        name: "election",
        about: "FLE alone: 3 servers where epoch, zxid and id each decide, 1 crash, rounds up to 3",
        bounds: Bounds {
            servers: 3,
            writes: 0,
            first_value: 1,
            crashes: 1,
            resets: 0,
            max_epoch: 2,
            max_round: 3,
            max_ticks: u8::MAX,
        },
        // Each component of the vote order decides some election: server 1 has the newest
        // epoch but the shorter log of the two that logged, server 0 the longer log, server 2
        // (the highest id) nothing; server 0's <1,2> was never committed.
        seeds: vec![
            durable(1, vec![txn(1, 1, 1), txn(1, 2, 2)]),
            durable(2, vec![txn(1, 1, 1)]),
            durable(1, vec![]),
        ],
        seed_committed: vec![],
        sync_witnesses: false,
        any_leader: false,
        server,
    }
}

/// End to end: Fast Leader Election, Discovery, Synchronization and Broadcast, three servers
/// from empty disks, one client write, one crash, one connection reset.
pub fn ensemble() -> ModelConfig {
    let mut server = config(3);
    server.election = ElectionMode::Fast;
    ModelConfig {
        name: "ensemble",
        about: "FLE + Discovery + Sync + Broadcast: 3 servers, 1 write, 1 crash, 1 reset",
        bounds: Bounds {
            servers: 3,
            writes: 1,
            first_value: 1,
            crashes: 1,
            resets: 1,
            max_epoch: 2,
            max_round: u32::MAX,
            max_ticks: u8::MAX,
        },
        seeds: vec![],
        seed_committed: vec![],
        sync_witnesses: false,
        any_leader: false,
        server,
    }
}

/// What the runtime runs: `ensemble` with heartbeats (PING, the follower's give-up in
/// Discovery, FLE's re-sent notifications) and a snapshot every two commits. Re-sent
/// notifications make the space unbounded, so this one is for random walks
/// (`--strategy simulation`, with `--max-depth`), not for exhaustive runs.
pub fn runtime() -> ModelConfig {
    let mut cfg = ensemble();
    cfg.name = "runtime";
    cfg.about = "the runtime's settings: FLE + heartbeats + snapshots, 3 servers, 1 write, 1 \
                 crash, 1 reset (random walks only: unbounded)";
    cfg.server.heartbeats = true;
    cfg.server.pipelined = true;
    cfg.server.snap_count = Some(2);
    cfg
}

/// `recovery` with the runtime's pipelined log writes: unsaved proposals meet a new epoch.
pub fn recovery_pipelined() -> ModelConfig {
    let mut cfg = recovery();
    cfg.name = "recovery-pipelined";
    cfg.about = "recovery with the runtime's pipelined log writes";
    cfg.server.pipelined = true;
    cfg
}

/// The runtime's election and heartbeats within a bound: two voters, at most 4 heartbeat
/// ticks in all, rounds up to 3, one crash, one write. FLE's re-sends, the FOLLOWERINFO retry
/// and the Discovery give-up are checked exhaustively here (the `runtime` configuration has
/// them unbounded, with snapshots, and is walked at random). Two voters cannot reach SNAP
/// (every commit is on both), so snapshots stay off.
pub fn runtime_bounded() -> ModelConfig {
    let mut cfg = runtime();
    cfg.name = "runtime-bounded";
    cfg.about = "FLE + heartbeats as the runtime runs them, 2 servers, at most 4 ticks, rounds \
                 up to 3, 1 write, 1 crash";
    cfg.server = Config {
        heartbeats: true,
        pipelined: true,
        election: ElectionMode::Fast,
        // A learner may leave one PING unanswered for a tick and stay (syncLimit 2).
        sync_limit: 2,
        ..config(2)
    };
    cfg.bounds.servers = 2;
    cfg.bounds.max_ticks = 4;
    cfg.bounds.max_round = 3;
    cfg.bounds.crashes = 1;
    cfg.bounds.resets = 0;
    cfg
}

/// Two voters and one observer, Fast Leader Election, from empty disks, one client write: the
/// observer elects nobody, joins through the voters' answers, syncs and receives INFORM.
pub fn observer() -> ModelConfig {
    let mut cfg = small();
    cfg.name = "observer";
    cfg.about = "2 voters + 1 observer, FLE, 1 client write, no faults";
    cfg.server = config(2);
    cfg.server.observers = 1;
    cfg.server.election = ElectionMode::Fast;
    cfg
}
