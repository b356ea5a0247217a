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
