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

/// What a follower knows about its leader and its own progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Following<S: Service> {
    /// The leader this server follows.
    pub leader: usize,
    /// Discovery until LEADERINFO, Synchronization until UPTODATE, then Broadcast.
    pub phase: Phase,
    /// The synced history received but not yet logged.
    pub pending: Option<PendingSync<S>>,
    /// Whether NEWLEADER was acknowledged (the synced history is durable).
    pub acked_new_leader: bool,
    /// Whether a PING came from the leader since the last tick (heartbeats only).
    pub heard: bool,
    /// Whether FOLLOWERINFO was sent again after a first silent tick in Discovery (FLE with
    /// heartbeats only).
    pub retried: bool,
    /// NEWLEADER steps still to run (fine-grained followers only).
    pub steps: Vec<Step>,
    /// Synced proposals still awaiting COMMIT before UPTODATE (fine-grained followers only;
    /// ZooKeeper's `packetsNotCommitted`).
    pub uncommitted: Vec<Zxid>,
}

impl<S: Service> Following<S> {
    /// A follower of `leader` starting Discovery.
    pub fn new(leader: usize) -> Self {
        Following {
            leader,
            phase: Phase::Discovery,
            pending: None,
            acked_new_leader: false,
            heard: false,
            retried: false,
            steps: Vec::new(),
            uncommitted: Vec::new(),
        }
    }
}

/// What a leader tracks (ZooKeeper's `Leader` and its `LearnerHandler`s).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Leading {
    /// Discovery, Synchronization, then Broadcast once established.
    pub phase: Phase,
    /// FOLLOWERINFO received: connected learners with their acceptedEpoch (self included).
    pub cepoch: BTreeMap<usize, Epoch>,
    /// The epoch e' once a quorum of FOLLOWERINFO chose it.
    pub new_epoch: Option<Epoch>,
    /// ACKEPOCH received: learner -> (last zxid, counts toward the quorum). Self included.
    pub ackepoch: BTreeMap<usize, (Zxid, bool)>,
    /// Learners sent their sync and NEWLEADER: they receive every later PROPOSAL and COMMIT.
    pub synced: BTreeSet<usize>,
    /// ACK of NEWLEADER received (self included).
    pub ackld: BTreeSet<usize>,
    /// Outstanding proposals and who acknowledged each (self included).
    pub acks: BTreeMap<Zxid, BTreeSet<usize>>,
    /// Learners that answered PING since the last tick (heartbeats only).
    pub heard: BTreeSet<usize>,
    /// Syncs waiting for a commit (ZooKeeper's `pendingSyncs`): the last zxid proposed when
    /// the sync arrived, the server that asked and the service's handle for it.
    pub syncs: Vec<(Zxid, usize, usize)>,
}

impl Leading {
    /// Forgets a learner whose connection closed (its acknowledgements of proposals stay: they
    /// record what is durable there).
    pub fn forget(&mut self, learner: usize) {
        self.cepoch.remove(&learner);
        self.ackepoch.remove(&learner);
        self.synced.remove(&learner);
        self.ackld.remove(&learner);
        self.heard.remove(&learner);
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
    /// acceptedEpoch, currentEpoch, snapshot and log, exactly as last saved.
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
    /// The ZAB phase this server is in.
    pub fn phase(&self) -> Phase {
        match &self.role {
            Role::Looking => Phase::Election,
            Role::Following(f) => f.phase,
            Role::Leading(l) => l.phase,
        }
    }

    /// Whether this server leads an established epoch (it serves as the primary).
    pub fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leading(l) if l.phase == Phase::Broadcast)
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
        matches!(&self.role, Role::Following(f) if f.leader == leader && f.acked_new_leader)
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
