//! The messages servers exchange. Each names the paper's message and ZooKeeper's packet.

use super::fle::Notification;
use super::service::{Op, Service};
use super::types::{Epoch, Snapshot, Txn, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// How a leader brings one learner's history in line with its own (Synchronization phase).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SyncMode<M> {
    /// ZooKeeper's `DIFF`: the learner's history is a prefix of the leader's; the missing
    /// proposals follow.
    Diff,
    /// ZooKeeper's `TRUNC`: the learner holds entries the leader does not; it drops every
    /// entry after this zxid, then the missing proposals follow.
    Trunc(Zxid),
    /// ZooKeeper's `SNAP`: the learner is behind the leader's snapshot; it replaces its state
    /// with the leader's snapshot, then the proposals after it follow.
    Snap(Snapshot<M>),
}

/// A message between servers, or an input the environment hands to one server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S::Machine: Serialize, Op<S>: Serialize, S::Request: Serialize, \
                 S::ClientMsg: Serialize, S::PeerMsg: Serialize, S::Input: Serialize",
    deserialize = "S::Machine: Deserialize<'de>, Op<S>: Deserialize<'de>, \
                   S::Request: Deserialize<'de>, S::ClientMsg: Deserialize<'de>, \
                   S::PeerMsg: Deserialize<'de>, S::Input: Deserialize<'de>"
))]
pub enum Msg<S: Service> {
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
        mode: SyncMode<S::Machine>,
        /// The leader's proposals the learner lacks, in zxid order.
        entries: Vec<Txn<Op<S>>>,
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
    Proposal(Txn<Op<S>>),
    /// Phase 3. Paper: `ACK(e', <v, z>)`. ZooKeeper: `ACK`: the proposal is durable here.
    Ack(Zxid),
    /// Phase 3. Paper: `COMMIT(e', <v, z>)`. ZooKeeper: `COMMIT`: deliver everything up to zxid.
    Commit(Zxid),
    /// Phase 3. ZooKeeper's `INFORM` (the paper has no observers): PROPOSAL and COMMIT in one,
    /// sent to observers once the leader commits the transaction.
    Inform(Txn<Op<S>>),
    /// Phase 3. ZooKeeper's `REQUEST`: a follower forwards a client write to its leader.
    Request(S::Request),
    /// Phase 3. ZooKeeper's `REQUEST` carrying a client's `sync` (`OpCode.sync`): a follower
    /// asks its leader to answer once everything proposed so far has committed. The number is
    /// the follower's handle for the sync ([`crate::zab::Host::sync`]).
    SyncRequest(usize),
    /// Phase 3. ZooKeeper's `SYNC` packet: the leader answers a learner's sync, after the
    /// COMMIT of every proposal it had made when the request arrived.
    Synced(usize),
    /// ZooKeeper's `PING`: the leader's heartbeat to a learner, and the learner's answer.
    Ping,
    /// Between the service layers of two servers (ZooKeeper: the session touches a learner
    /// reports to its leader).
    Service(S::PeerMsg),
    /// Between a client and the server it is connected to (the client protocol).
    Client(S::ClientMsg),
    /// The runtime to its own server (ZooKeeper: a clock reading). Never sent by a peer.
    Input(S::Input),
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

impl<S: Service> Msg<S> {
    /// The connection this message travels on.
    pub fn channel(&self) -> Channel {
        match self {
            Msg::Notification(_) => Channel::Election,
            _ => Channel::Quorum,
        }
    }

    /// The message's name in ZooKeeper's terms (the variant's name where ZooKeeper has none),
    /// for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Notification(_) => "Notification",
            Msg::ElectionOutcome { .. } => "ElectionOutcome",
            Msg::Disconnected => "Disconnected",
            Msg::ClientWrite(_) => "ClientWrite",
            Msg::FollowerInfo { .. } => "FOLLOWERINFO",
            Msg::LeaderInfo { .. } => "LEADERINFO",
            Msg::AckEpoch { .. } => "ACKEPOCH",
            Msg::Sync { mode, .. } => match mode {
                SyncMode::Diff => "DIFF",
                SyncMode::Trunc(_) => "TRUNC",
                SyncMode::Snap(_) => "SNAP",
            },
            Msg::NewLeader { .. } => "NEWLEADER",
            Msg::AckNewLeader { .. } => "ACK(NEWLEADER)",
            Msg::UpToDate { .. } => "UPTODATE",
            Msg::Proposal(_) => "PROPOSAL",
            Msg::Ack(_) => "ACK",
            Msg::Commit(_) => "COMMIT",
            Msg::Inform(_) => "INFORM",
            Msg::Request(_) => "REQUEST",
            Msg::SyncRequest(_) => "REQUEST(sync)",
            Msg::Synced(_) => "SYNC",
            Msg::Ping => "PING",
            Msg::Service(_) => "Service",
            Msg::Client(_) => "Client",
            Msg::Input(_) => "Input",
        }
    }

    /// Whether this message vouches for state its sender saved (architecture rule 3): an ACK
    /// says the proposal is logged, an ACKEPOCH that acceptedEpoch is, the ACK of NEWLEADER
    /// that the synced history and currentEpoch are. Such a message may leave only once the
    /// save of the step that sent it is durable.
    pub fn vouches_for_saved_state(&self) -> bool {
        matches!(
            self,
            Msg::Ack(_) | Msg::AckEpoch { .. } | Msg::AckNewLeader { .. }
        )
    }

    /// Whether another server may send this message: the trust boundary between servers. The
    /// runtime's peer decoder refuses, and closes the connection of, a peer that sends anything
    /// else. Refused: the election oracle's outcome (a step of the model's environment), a
    /// client write (the model's environment hands it in; a follower forwards one as REQUEST),
    /// the client protocol (clients have their own port) and the runtime's own inputs.
    /// `Disconnected` is allowed: a peer sends it when it closes the connection on purpose.
    pub fn may_come_from_peer(&self) -> bool {
        match self {
            Msg::ElectionOutcome { .. } | Msg::ClientWrite(_) | Msg::Client(_) | Msg::Input(_) => {
                false
            }
            Msg::Notification(_)
            | Msg::Disconnected
            | Msg::FollowerInfo { .. }
            | Msg::LeaderInfo { .. }
            | Msg::AckEpoch { .. }
            | Msg::Sync { .. }
            | Msg::NewLeader { .. }
            | Msg::AckNewLeader { .. }
            | Msg::UpToDate { .. }
            | Msg::Proposal(_)
            | Msg::Ack(_)
            | Msg::Commit(_)
            | Msg::Inform(_)
            | Msg::Request(_)
            | Msg::SyncRequest(_)
            | Msg::Synced(_)
            | Msg::Ping
            | Msg::Service(_) => true,
        }
    }
}
