//! A znode's metadata: jute's `StatPersisted` (what the tree stores) and `Stat` (what clients
//! see), and the encoding of special nodes in `ephemeralOwner` (`EphemeralType`).

pub use crate::jute::records::Stat;

/// `EphemeralType`: what `ephemeralOwner` says about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// `ephemeralOwner == 0`: a persistent node.
    Persistent,
    /// Owned by a session: deleted when it ends.
    Ephemeral(i64),
    /// `Long.MIN_VALUE`: a container, deleted by the leader once its last child goes.
    Container,
    /// `0xFF << 56 | ttl`: deleted by the leader once unchanged and childless for `ttl` ms.
    Ttl(i64),
}

/// ZooKeeper's `EphemeralType.CONTAINER_EPHEMERAL_OWNER`.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// ZooKeeper's `EphemeralType.EXTENDED_MASK`: set in the owner of TTL nodes.
pub const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;
/// The largest TTL (`EphemeralType.TTL.maxValue()`): 40 bits of milliseconds.
pub const MAX_TTL: i64 = 0x0000_00ff_ffff_ffff;

impl NodeKind {
    /// Decodes `ephemeralOwner` (TTL encodings only count with extended types enabled).
    pub fn of(owner: i64, extended_types: bool) -> NodeKind {
        if owner == 0 {
            NodeKind::Persistent
        } else if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if extended_types && owner & EXTENDED_MASK == EXTENDED_MASK {
            NodeKind::Ttl(owner & MAX_TTL)
        } else {
            NodeKind::Ephemeral(owner)
        }
    }

    /// Encodes the kind into `ephemeralOwner`.
    pub fn owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(s) => s,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ttl) => EXTENDED_MASK | ttl,
        }
    }
}

/// The stat as clients see it, translated from the stored one as ZooKeeper's
/// `DataNode.copyStat` does:
/// - the tree counts only creates in `cversion` (the sequence counter of sequential children);
///   clients see every change to the children, creates and deletes: each child not present
///   any more was deleted once, so `2 * creates - children`;
/// - containers and TTL nodes show `ephemeralOwner` 0 (`DataTree.getClientEphemeralOwner`):
///   their encoding stays inside the server.
pub fn client_stat(stat: Stat, extended_types: bool) -> Stat {
    let cversion = stat
        .cversion
        .wrapping_mul(2)
        .wrapping_sub(stat.num_children);
    let ephemeral_owner = match NodeKind::of(stat.ephemeral_owner, extended_types) {
        NodeKind::Container | NodeKind::Ttl(_) => 0,
        NodeKind::Persistent | NodeKind::Ephemeral(_) => stat.ephemeral_owner,
    };
    Stat {
        cversion,
        ephemeral_owner,
        ..stat
    }
}
