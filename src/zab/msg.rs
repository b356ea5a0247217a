//! The messages servers exchange. Each names the paper's message and ZooKeeper's packet.

use super::fle::Notification;
use super::types::{Epoch, Snapshot, StateMachine, Txn, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// How a leader brings one learner's history in line with its own (Synchronization phase).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SyncMode<S> {
    /// ZooKeeper's `DIFF`: the learner's history is a prefix of the leader's; the missing
    /// proposals follow.
    Diff,
    /// ZooKeeper's `TRUNC`: the learner holds entries the leader does not; it drops every
    /// entry after this zxid, then the missing proposals follow.
    Trunc(Zxid),
    /// ZooKeeper's `SNAP`: the learner is behind the leader's snapshot; it replaces its state
    /// with the leader's snapshot, then the proposals after it follow.
    Snap(Snapshot<S>),
}

/// A message between servers, or an input the environment hands to one server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S: Serialize, S::Op: Serialize, S::Request: Serialize, S::ClientMsg: Serialize",
    deserialize = "S: Deserialize<'de>, S::Op: Deserialize<'de>, S::Request: Deserialize<'de>, \
                   S::ClientMsg: Deserialize<'de>"
))]
pub enum Msg<S: StateMachine> {
    /// Phase 0, Fast Leader Election: ZooKeeper's election `Notification` (the paper leaves
    /// election out). Travels on the election port, not the quorum port.
    Notification(Notification),
    /// Phase 0 outcome: the server leaves election to follow `leader` (or to lead, when it
    /// names the receiver), decided by the model's oracle (an atomic election step, after
    /// ZooKeeper's protocol spec `UpdateLeader`/`FollowLeader`) in the multi-grained models;
    /// Fast Leader Election ends in the same transition.
    ElectionOutcome {
        /// The server id of the elected leader.
        leader: usize,
    },
    /// The connection to the sender is gone: a TCP reset or the peer's crash, delivered by the
    /// environment, or a peer that closed the connection on purpose (ZooKeeper shutting down a
    /// `LearnerHandler` or a learner leaving its leader). Nothing sent before it is lost.
    Disconnected,
    /// A client's write request reaching this server (a session's create/setData/delete).
    ClientWrite(S::Request),
    /// Phase 1. Paper: `CEPOCH(f.p)`. ZooKeeper: `FOLLOWERINFO` (`OBSERVERINFO` from an
    /// observer), carrying the learner's accepted epoch.
    FollowerInfo {
        /// The learner's acceptedEpoch.
        accepted_epoch: Epoch,
    },
    /// Phase 1. Paper: `NEWEPOCH(e')`. ZooKeeper: `LEADERINFO`, the epoch the leader proposes.
    LeaderInfo {
        /// The new epoch e'.
        epoch: Epoch,
    },
    /// Phase 1. Paper: `ACK-E(f.a, h_f)`. ZooKeeper: `ACKEPOCH`, carrying the learner's
    /// currentEpoch and last zxid (ZooKeeper sends the zxid, not the whole history).
    AckEpoch {
        /// The learner's currentEpoch.
        current_epoch: Epoch,
        /// The last zxid in the learner's history.
        last_zxid: Zxid,
        /// False when the learner had already accepted this epoch before (ZooKeeper sends
        /// currentEpoch -1): such an acknowledgement does not count toward the quorum.
        fresh: bool,
    },
    /// Phase 2. ZooKeeper's `DIFF`, `TRUNC` or `SNAP` packet with the `PROPOSAL`/`COMMIT`
    /// packets that follow it; the paper sends the whole initial history in `NEWLEADER`.
    Sync {
        /// How the learner's history is brought in line.
        mode: SyncMode<S>,
        /// The leader's proposals the learner lacks, in zxid order.
        entries: Vec<Txn<S::Op>>,
        /// The last zxid the leader had committed when it sent them.
        committed: Zxid,
    },
    /// Phase 2. Paper: `NEWLEADER(e', I_e')`. ZooKeeper: `NEWLEADER`. The learner makes the
    /// synced history durable, sets currentEpoch to e' and acknowledges.
    NewLeader {
        /// The leader's epoch e'.
        epoch: Epoch,
    },
    /// Phase 2. Paper: `ACK-LD`. ZooKeeper: `ACK` of `NEWLEADER`, carrying the learner's last
    /// zxid, which also acknowledges every proposal up to it.
    AckNewLeader {
        /// The learner's last zxid once the synced history is durable.
        last_zxid: Zxid,
    },
    /// Phase 2. Paper: `COMMIT-LD`. ZooKeeper: `UPTODATE`: commit up to the leader's committed
    /// zxid and start serving.
    UpToDate {
        /// Everything up to this zxid is committed.
        committed: Zxid,
    },
    /// Phase 3. Paper: `PROPOSE(e', <v, z>)`. ZooKeeper: `PROPOSAL`.
    Proposal(Txn<S::Op>),
    /// Phase 3. Paper: `ACK(e', <v, z>)`. ZooKeeper: `ACK`: the proposal is durable here.
    Ack(Zxid),
    /// Phase 3. Paper: `COMMIT(e', <v, z>)`. ZooKeeper: `COMMIT`: deliver everything up to zxid.
    Commit(Zxid),
    /// Phase 3. ZooKeeper's `INFORM` (the paper has no observers): PROPOSAL and COMMIT in one,
    /// sent to observers once the leader commits the transaction.
    Inform(Txn<S::Op>),
    /// Phase 3. ZooKeeper's `REQUEST`: a follower forwards a client write to its leader.
    Request(S::Request),
    /// ZooKeeper's `PING`: the leader's heartbeat to a learner, and the learner's answer.
    Ping,
    /// Between a client and the server it is connected to (the client protocol).
    Client(S::ClientMsg),
}

/// The two connections between a pair of servers (ZooKeeper's election port and quorum port):
/// each is FIFO, and they are independent of each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Fast Leader Election notifications.
    Election,
    /// Everything else: Discovery, Synchronization, Broadcast, PING.
    Quorum,
}

impl<S: StateMachine> Msg<S> {
    /// The connection this message travels on.
    pub fn channel(&self) -> Channel {
        match self {
            Msg::Notification(_) => Channel::Election,
            _ => Channel::Quorum,
        }
    }
}
