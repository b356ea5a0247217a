//! Write requests and the transactions the leader turns them into (jute's `*Txn` records).
//!
//! A [`WriteOp`] is what a client asked for; a [`TxnOp`] is what every server applies. The
//! leader decides everything in between once (sequential names, new versions, errors, the
//! ephemerals a closing session leaves), so applying a transaction never has a choice to make.

use super::acl::Acl;
use super::code::Code;
use super::data::Data;
use serde::{Deserialize, Serialize};

/// ZooKeeper's `CreateMode` (its wire flag is the discriminant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CreateMode {
    /// Stays until deleted.
    Persistent = 0,
    /// Deleted when the creating session ends.
    Ephemeral = 1,
    /// Persistent, with the parent's cversion appended as `%010d`.
    PersistentSequential = 2,
    /// Ephemeral and sequential.
    EphemeralSequential = 3,
    /// Deleted by the leader once its last child is gone.
    Container = 4,
    /// Deleted by the leader once it has had no children and no change for its TTL.
    PersistentWithTtl = 5,
    /// TTL and sequential.
    PersistentSequentialWithTtl = 6,
}

impl CreateMode {
    /// The mode of wire flag `flag` (`CreateMode.fromFlag`).
    pub fn from_flag(flag: i32) -> Option<CreateMode> {
        use CreateMode::*;
        [
            Persistent,
            Ephemeral,
            PersistentSequential,
            EphemeralSequential,
            Container,
            PersistentWithTtl,
            PersistentSequentialWithTtl,
        ]
        .into_iter()
        .find(|m| *m as i32 == flag)
    }

    /// Whether the name gets a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// Whether the node belongs to its session.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// Whether it is a TTL node.
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

/// A state-changing request, as the client sent it (after decoding).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WriteOp {
    /// `create`, `create2`, `createContainer`, `createTTL` (ttl -1 unless TTL).
    Create {
        /// Requested path (the prefix, for sequential nodes).
        path: String,
        /// Initial data.
        #[serde(with = "super::data::format")]
        data: Data,
        /// Requested ACL (before `auth` is expanded).
        acl: Vec<Acl>,
        /// The create mode.
        mode: CreateMode,
        /// Time to live in ms for TTL modes, else -1.
        ttl: i64,
    },
    /// `delete` with an expected version (-1: any).
    Delete {
        /// The node.
        path: String,
        /// Expected data version or -1.
        version: i32,
    },
    /// `setData` with an expected version (-1: any).
    SetData {
        /// The node.
        path: String,
        /// New data.
        #[serde(with = "super::data::format")]
        data: Data,
        /// Expected data version or -1.
        version: i32,
    },
    /// `setACL` with an expected ACL version (-1: any).
    SetAcl {
        /// The node.
        path: String,
        /// New ACL.
        acl: Vec<Acl>,
        /// Expected aversion or -1.
        version: i32,
    },
    /// `check` (inside `multi`): fails unless the version matches.
    Check {
        /// The node.
        path: String,
        /// Expected data version or -1.
        version: i32,
    },
    /// `multi`: all or nothing.
    Multi(Vec<WriteOp>),
    /// `createSession`: the connect handshake of a new session.
    CreateSession {
        /// The negotiated timeout in ms.
        timeout: i32,
    },
    /// `closeSession`: the client closes, or the leader expires the session.
    CloseSession,
    /// `deleteContainer`: the leader removes an empty container or an expired TTL node.
    DeleteContainer {
        /// The node.
        path: String,
    },
}

/// A transaction: what a committed proposal does to the tree. Fully determined by the leader.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TxnOp {
    /// `CreateTxn`/`CreateContainerTxn`/`CreateTTLTxn`: the final path and the parent's new cversion.
    Create {
        /// The final path (sequence suffix included).
        path: String,
        /// Data.
        #[serde(with = "super::data::format")]
        data: Data,
        /// The fixed-up ACL.
        acl: Vec<Acl>,
        /// The parent's cversion after this create.
        parent_cversion: i32,
        /// `ephemeralOwner`: 0, the session, or the container/TTL marker.
        owner: i64,
    },
    /// `DeleteTxn`.
    Delete {
        /// The node.
        path: String,
    },
    /// `SetDataTxn`: the data and the new version.
    SetData {
        /// The node.
        path: String,
        /// New data.
        #[serde(with = "super::data::format")]
        data: Data,
        /// The version after the change.
        version: i32,
    },
    /// `SetACLTxn`: the ACL and the new aversion.
    SetAcl {
        /// The node.
        path: String,
        /// New ACL.
        acl: Vec<Acl>,
        /// The aversion after the change.
        version: i32,
    },
    /// `CheckVersionTxn`: changes nothing.
    Check {
        /// The node.
        path: String,
        /// The checked version plus one (as ZooKeeper records it).
        version: i32,
    },
    /// `CreateSessionTxn`: the session (the header's id) exists with this timeout.
    CreateSession {
        /// Timeout in ms.
        timeout: i32,
        /// Which connection asked (server id << 32 | client id), so that its server answers
        /// it; ZooKeeper's server picks the id itself and needs no tag.
        origin: i64,
    },
    /// `CloseSessionTxn`: the session ends and these ephemerals go.
    CloseSession {
        /// The session's ephemerals, fixed by the leader.
        paths: Vec<String>,
    },
    /// `ErrorTxn`: the request failed with this code; nothing changes.
    Error(Code),
    /// `MultiTxn`: every operation applies, or (if any is an error) none.
    Multi(Vec<TxnOp>),
}

/// jute's `TxnHeader` with the transaction: who asked, and the leader's time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ZkTxn {
    /// The session that asked (`clientId`).
    pub session: i64,
    /// The session's request number (`cxid`), to match the reply.
    pub cxid: i32,
    /// The leader's wall clock in ms when it prepared the request (model: 0).
    pub time: i64,
    /// What it does.
    pub op: TxnOp,
}
