//! zabkeeper: a ZooKeeper-compatible coordination service whose replication protocol, ZAB, is
//! written once as a `stateright` actor ([`zab::Server`]), model-checked ([`model`],
//! [`properties`]) and run unchanged by the runtime.
#![warn(missing_docs)]

pub mod cli;
pub mod jute;
pub mod model;
pub mod properties;
pub mod runtime;
pub mod validate;
pub mod zab;
pub mod zk;
