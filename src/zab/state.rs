//! A server's volatile state: its role, its phase and what it tracks while it leads or follows.

use super::fle::Election;
use super::machine::StateMachine;
use super::msg::SyncMode;
use super::service::{Op, Output, Service};
use super::types::{Durable, Epoch, Txn, Zxid};
use std::collections::{BTreeMap, BTreeSet};

/// The four phases of ZAB (ZooKeeper's `ZabState`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Phase 0: looking for a leader.
    #[default]
    Election,
    /// Phase 1: agreeing on a new epoch.
    Discovery,
    /// Phase 2: bringing histories in line with the leader's.
    Synchronization,
    /// Phase 3: the established leader proposes and commits.
    Broadcast,
}

/// A learner's synced history, held in memory between the sync packet and NEWLEADER
/// (ZooKeeper's `packetsNotLogged`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PendingSync<S: Service> {
    /// DIFF, TRUNC or SNAP.
    pub mode: SyncMode<S::Machine>,
    /// The proposals to append.
    pub entries: Vec<Txn<Op<S>>>,
    /// The leader's committed zxid when it sent them.
    pub committed: Zxid,
}

/// One separately scheduled step of a fine-grained follower's NEWLEADER handling (ZooKeeper's
/// `Learner.syncWithLeader` and its log writer). The correct order is `Log, Epoch, Ack`; the
/// bugs ZOOKEEPER-3911, -4643 and -4646 reorder or replace them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Apply the synced history and save it.
    Log,
    /// Apply the synced history in memory only (saved by a later write).
    Apply,
    /// Hand the synced proposals to the asynchronous log writer.
    Enqueue,
    /// currentEpoch := e', saved.
    Epoch,
    /// Send ACK-LD.
    Ack,
}

/// What a follower holds while it synchronizes with its leader (phase 2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Syncing<S: Service> {
    /// The synced history received but not yet logged.
    pub pending: Option<PendingSync<S>>,
    /// Whether NEWLEADER was acknowledged (the synced history is durable).
    pub acked_new_leader: bool,
    /// NEWLEADER steps still to run (fine-grained followers only).
    pub steps: Vec<Step>,
    /// Synced proposals still awaiting COMMIT before UPTODATE (fine-grained followers only;
    /// ZooKeeper's `packetsNotCommitted`).
    pub uncommitted: Vec<Zxid>,
}

/// A follower's phase, with what the follower needs in it and nowhere else.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FollowerPhase<S: Service> {
    /// Phase 1: FOLLOWERINFO sent, LEADERINFO awaited.
    Discovery {
        /// Whether FOLLOWERINFO was sent again after a first silent tick (FLE with heartbeats
        /// only).
        retried: bool,
    },
    /// Phase 2: ACKEPOCH sent; the sync packet, NEWLEADER and UPTODATE follow.
    Synchronization(Syncing<S>),
    /// Phase 3: serving, PROPOSAL and COMMIT from the leader.
    Broadcast {
        /// Whether a PING came from the leader since the last tick (heartbeats only).
        heard: bool,
    },
}

/// What a follower knows about its leader and its own progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Following<S: Service> {
    /// The leader this server follows.
    pub leader: usize,
    /// Discovery until LEADERINFO, Synchronization until UPTODATE, then Broadcast.
    pub phase: FollowerPhase<S>,
}

impl<S: Service> Default for Syncing<S> {
    fn default() -> Self {
        Syncing {
            pending: None,
            acked_new_leader: false,
            steps: Vec::new(),
            uncommitted: Vec::new(),
        }
    }
}

impl<S: Service> Following<S> {
    /// A follower of `leader` starting Discovery.
    pub fn new(leader: usize) -> Self {
        Following {
            leader,
            phase: FollowerPhase::Discovery { retried: false },
        }
    }

    /// The ZAB phase.
    pub fn phase(&self) -> Phase {
        match self.phase {
            FollowerPhase::Discovery { .. } => Phase::Discovery,
            FollowerPhase::Synchronization(_) => Phase::Synchronization,
            FollowerPhase::Broadcast { .. } => Phase::Broadcast,
        }
    }

    /// Whether this follower acknowledged its leader's NEWLEADER (it has in Broadcast).
    pub fn acked_new_leader(&self) -> bool {
        match &self.phase {
            FollowerPhase::Discovery { .. } => false,
            FollowerPhase::Synchronization(s) => s.acked_new_leader,
            FollowerPhase::Broadcast { .. } => true,
        }
    }

    /// What it holds while synchronizing, in phase 2.
    pub fn syncing(&self) -> Option<&Syncing<S>> {
        match &self.phase {
            FollowerPhase::Synchronization(s) => Some(s),
            _ => None,
        }
    }

    /// The same, for changing.
    pub fn syncing_mut(&mut self) -> Option<&mut Syncing<S>> {
        match &mut self.phase {
            FollowerPhase::Synchronization(s) => Some(s),
            _ => None,
        }
    }
}

/// A leader's phase, with what the leader needs in it and nowhere else.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LeaderPhase {
    /// Phase 1: FOLLOWERINFO collected until a quorum lets the leader choose the new epoch,
    /// then ACKEPOCH for it.
    Discovery {
        /// The epoch e' once a quorum of FOLLOWERINFO chose it.
        new_epoch: Option<Epoch>,
    },
    /// Phase 2: learners synced, ACK of NEWLEADER collected.
    Synchronization {
        /// The epoch e'.
        epoch: Epoch,
    },
    /// Phase 3: established; proposals and commits.
    Broadcast {
        /// The epoch e'.
        epoch: Epoch,
        /// Syncs waiting for a commit (ZooKeeper's `pendingSyncs`): the last zxid proposed
        /// when the sync arrived, the server that asked and the service's handle for it.
        syncs: Vec<(Zxid, usize, usize)>,
    },
}

impl Default for LeaderPhase {
    fn default() -> Self {
        LeaderPhase::Discovery { new_epoch: None }
    }
}

/// What a leader tracks (ZooKeeper's `Leader` and its `LearnerHandler`s).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Leading {
    /// Discovery, Synchronization, then Broadcast once established.
    pub phase: LeaderPhase,
    /// FOLLOWERINFO received: connected learners with their acceptedEpoch (self included).
    pub cepoch: BTreeMap<usize, Epoch>,
    /// ACKEPOCH received: learner -> (last zxid, counts toward the quorum). Self included.
    pub ackepoch: BTreeMap<usize, (Zxid, bool)>,
    /// Learners sent their sync and NEWLEADER: they receive every later PROPOSAL and COMMIT.
    pub synced: BTreeSet<usize>,
    /// ACK of NEWLEADER received (self included).
    pub ackld: BTreeSet<usize>,
    /// Outstanding proposals and who acknowledged each (self included).
    pub acks: BTreeMap<Zxid, BTreeSet<usize>>,
    /// Synced learners with a PING outstanding, and joining learners (FOLLOWERINFO received
    /// once established, no ACKEPOCH yet), with how many ticks they have been silent
    /// (heartbeats only; a synced learner missing here has answered its last PING).
    pub pinged: BTreeMap<usize, u32>,
}

impl Leading {
    /// The ZAB phase.
    pub fn phase(&self) -> Phase {
        match self.phase {
            LeaderPhase::Discovery { .. } => Phase::Discovery,
            LeaderPhase::Synchronization { .. } => Phase::Synchronization,
            LeaderPhase::Broadcast { .. } => Phase::Broadcast,
        }
    }

    /// The new epoch e', once chosen.
    pub fn new_epoch(&self) -> Option<Epoch> {
        match self.phase {
            LeaderPhase::Discovery { new_epoch } => new_epoch,
            LeaderPhase::Synchronization { epoch } | LeaderPhase::Broadcast { epoch, .. } => {
                Some(epoch)
            }
        }
    }

    /// Forgets a learner whose connection closed (its acknowledgements of proposals stay: they
    /// record what is durable there).
    pub fn forget(&mut self, learner: usize) {
        self.cepoch.remove(&learner);
        self.ackepoch.remove(&learner);
        self.synced.remove(&learner);
        self.ackld.remove(&learner);
        self.pinged.remove(&learner);
    }
}

/// A server's role (ZooKeeper's `ServerState`) with the data the role needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role<S: Service> {
    /// LOOKING: in election.
    Looking,
    /// FOLLOWING a leader.
    Following(Following<S>),
    /// LEADING.
    Leading(Leading),
}

/// The whole state of one server: the durable part as last saved, plus volatile state that
/// `on_start` rebuilds after a crash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerState<S: Service> {
    /// This server's id.
    pub id: usize,
    /// acceptedEpoch, currentEpoch, snapshot and log as this server knows them: as last saved,
    /// or, while `unsaved` (a pipelined server between a change and its log writer's step),
    /// ahead of the last save.
    pub durable: Durable<S::Machine>,
    /// Everything up to this zxid is delivered to `sm`.
    pub committed: Zxid,
    /// The state machine after every delivered transaction.
    pub sm: S::Machine,
    /// The role and its data.
    pub role: Role<S>,
    /// Fast Leader Election's round and votes (untouched under the oracle).
    pub election: Election,
    /// Proposals handed to the asynchronous log writer, not yet on disk (fine-grained only).
    pub writer: Vec<Txn<Op<S>>>,
    /// Pipelined ([`super::Config::pipelined`]): `durable` changed since the last save; the log
    /// writer's step ([`super::Timer::Flush`]) saves it.
    pub unsaved: bool,
    /// Pipelined: the ACKs that vouch for the unsaved proposals, as (to, zxid): a follower's to
    /// its leader, and the leader's own vote, which it sends itself. They leave in the log
    /// writer's step, together with its save (the durability ticket is that step).
    pub held_acks: Vec<(usize, Zxid)>,
    /// Only with the ZOOKEEPER-2845 bug: the stale last-processed zxid that votes and ACKEPOCH
    /// report instead of the last logged one, from going LOOKING until the next sync.
    pub vote_zxid: Option<Zxid>,
    /// An internal error ZooKeeper would throw on (only reachable with a bug switched on).
    pub fault: Option<&'static str>,
    /// What this step's commits produced, for the client layer; emptied at the end of the step.
    pub applied: Vec<Output<S>>,
    /// The client layer's state.
    pub local: S::Local,
}

impl<S: Service> ServerState<S> {
    /// Saves `durable` in this step (whatever the log writer had not saved is in it).
    pub(crate) fn save(&mut self, o: &mut super::Out<S>) {
        self.unsaved = false;
        o.save(self.durable.clone());
    }

    /// The ZAB phase this server is in.
    pub fn phase(&self) -> Phase {
        match &self.role {
            Role::Looking => Phase::Election,
            Role::Following(f) => f.phase(),
            Role::Leading(l) => l.phase(),
        }
    }

    /// Whether this server leads an established epoch (it serves as the primary).
    pub fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leading(l) if l.phase() == Phase::Broadcast)
    }

    /// The leader this server follows, if any.
    pub fn leader(&self) -> Option<usize> {
        match &self.role {
            Role::Following(f) => Some(f.leader),
            Role::Leading(_) => Some(self.id),
            Role::Looking => None,
        }
    }

    /// This server's vote key: (currentEpoch, last zxid, id), from the durable state as it is on
    /// disk (ZOOKEEPER-2845 voted with a stale in-memory zxid).
    pub fn vote_key(&self) -> super::types::VoteKey {
        let zxid = self.vote_zxid.unwrap_or(self.durable.last_zxid());
        (self.durable.current_epoch, zxid, self.id)
    }

    /// Delivers every held transaction up to `zxid` that is not yet delivered, in order.
    pub fn commit_up_to(&mut self, zxid: Zxid) {
        let upto = zxid.min(self.durable.last_zxid());
        if upto <= self.committed {
            return;
        }
        let start = self
            .durable
            .log
            .partition_point(|t| t.zxid <= self.committed);
        for txn in &self.durable.log[start..] {
            if txn.zxid > upto {
                break;
            }
            let out = self.sm.apply(txn);
            self.applied.push(out);
        }
        self.committed = upto;
    }

    /// Whether this server follows `leader` and has acknowledged its NEWLEADER: from then on it
    /// takes PROPOSAL, COMMIT and INFORM from that leader.
    pub fn is_synced_with(&self, leader: usize) -> bool {
        matches!(&self.role, Role::Following(f) if f.leader == leader && f.acked_new_leader())
    }

    /// The leader-side data, when leading.
    pub fn leading_mut(&mut self) -> Option<&mut Leading> {
        match &mut self.role {
            Role::Leading(l) => Some(l),
            _ => None,
        }
    }

    /// The follower-side data, when following.
    pub fn following_mut(&mut self) -> Option<&mut Following<S>> {
        match &mut self.role {
            Role::Following(f) => Some(f),
            _ => None,
        }
    }
}
