//! The ZooKeeper service: the znode tree the ensemble replicates, how the leader turns
//! client requests into transactions, sessions, watches and ACLs.
//!
//! ZAB ([`crate::zab`]) orders transactions; this module says what they are and what they do.
//! The pieces follow ZooKeeper's own: [`tree`] is `DataTree`, [`prep`] is
//! `PrepRequestProcessor`, [`watch`] is `WatchManager`, [`acl`] is the authentication
//! providers and `checkACL`, [`code`] is `KeeperException.Code`.

pub mod acl;
pub mod authn;
pub mod code;
pub mod data;
pub mod jute_map;
pub mod outstanding;
pub mod path;
pub mod persistent;
pub mod prep;
pub mod queue;
pub mod quota;
pub mod read;
pub mod read_only;
pub mod sasl;
pub mod server;
pub mod service;
pub mod session;
pub mod stat;
pub mod tree;
pub mod txn;
pub mod watch;

pub use acl::{Acl, Id};
pub use code::{Code, ZkResult};
pub use data::Data;
pub use prep::{prepare, prepare_outstanding, WriteRequest, ZkRequest};
pub use service::ZooKeeper;
pub use stat::Stat;
pub use tree::{DataTree, Node, OpResult};
pub use txn::{CreateMode, TxnOp, WriteOp, ZkTxn};
