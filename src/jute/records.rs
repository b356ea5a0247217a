//! The records of `zookeeper.jute` that the client protocol shares with the service: `Stat`,
//! `Id`, `ACL` and the watch lists of `SetWatches`. ZooKeeper generates these classes from its
//! jute file and its server code uses them as they are; here the wire owns them likewise and the
//! service layer re-exports them.

use serde::{Deserialize, Serialize};

/// jute's `Stat`: what every read and most writes return.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Stat {
    /// The zxid of the transaction that created the node.
    pub czxid: i64,
    /// The zxid of the transaction that last set its data.
    pub mzxid: i64,
    /// When it was created (milliseconds since the epoch, the leader's clock).
    pub ctime: i64,
    /// When its data was last set.
    pub mtime: i64,
    /// How many times its data was set.
    pub version: i32,
    /// How many times its children changed (created or deleted).
    pub cversion: i32,
    /// How many times its ACL was set.
    pub aversion: i32,
    /// The owning session of an ephemeral, or the container/TTL marker, else 0.
    pub ephemeral_owner: i64,
    /// Length of its data.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// The zxid of the transaction that last changed its children.
    pub pzxid: i64,
}

/// ZooKeeper's `ZooDefs.Perms`.
pub mod perms {
    /// Read data and list children.
    pub const READ: i32 = 1;
    /// Set data.
    pub const WRITE: i32 = 2;
    /// Create children.
    pub const CREATE: i32 = 4;
    /// Delete children.
    pub const DELETE: i32 = 8;
    /// Set the ACL.
    pub const ADMIN: i32 = 16;
    /// Every permission.
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// An identity: jute's `Id { ustring scheme; ustring id; }`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    /// `world`, `auth`, `digest`, `ip` or `super`.
    pub scheme: String,
    /// The identity within the scheme (`anyone`, `user:base64(sha1)`, an address...).
    pub id: String,
}

impl Id {
    /// Builds an identity.
    pub fn new(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.to_string(),
            id: id.to_string(),
        }
    }

    /// `world:anyone`.
    pub fn anyone() -> Id {
        Id::new("world", "anyone")
    }
}

/// One entry: jute's `ACL { int perms; Id id; }`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    /// A bit set of [`perms`].
    pub perms: i32,
    /// Who gets them.
    pub id: Id,
}

impl Acl {
    /// `ZooDefs.Ids.OPEN_ACL_UNSAFE`: everyone may do everything.
    pub fn open() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: Id::anyone(),
        }]
    }

    /// `ZooDefs.Ids.READ_ACL_UNSAFE`: everyone may read.
    pub fn read_only() -> Vec<Acl> {
        vec![Acl {
            perms: perms::READ,
            id: Id::anyone(),
        }]
    }

    /// `ZooDefs.Ids.CREATOR_ALL_ACL`: every permission for the creator's identities.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: Id::new("auth", ""),
        }]
    }
}

/// The watches a reconnecting client names (`SetWatches`/`SetWatches2`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WatchList {
    /// The last zxid the client saw.
    pub relative_zxid: i64,
    /// Data watches.
    pub data: Vec<String>,
    /// Exist watches.
    pub exist: Vec<String>,
    /// Child watches.
    pub child: Vec<String>,
    /// Persistent watches.
    pub persistent: Vec<String>,
    /// Persistent recursive watches.
    pub recursive: Vec<String>,
}
