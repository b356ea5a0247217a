//! The replicated state machine: what ZAB delivers committed transactions to.

use super::types::Txn;
use std::fmt::Debug;
use std::hash::Hash;

/// A deterministic state machine that every server of an ensemble holds a copy of. ZAB drives
/// it: it applies each committed transaction, in zxid order, and a snapshot is a copy of it
/// (the durable state keeps one, [`super::Snapshot`]). Applying the same transactions in the
/// same order must give equal states on every server.
///
/// The model checker's machine records every delivery; ZooKeeper's is the znode tree. What a
/// client asks for and how the leader turns that into a transaction is the service's business
/// ([`super::Service`]), not the machine's.
pub trait StateMachine: Clone + Debug + Default + Hash + Eq + Ord + Send + Sync + 'static {
    /// The operation a transaction carries.
    type Op: Clone + Debug + Hash + Eq + Ord + Send + Sync + 'static;
    /// What applying a transaction tells the server about it (for ZooKeeper: the result for
    /// the client that asked, the watches it triggers). `()` for a plain log.
    type Output: Clone + Debug + Hash + Eq + Send + Sync + 'static;

    /// Applies one committed transaction.
    fn apply(&mut self, txn: &Txn<Self::Op>) -> Self::Output;
}
