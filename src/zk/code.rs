//! ZooKeeper's error codes as the service uses them: the wire's [`Code`] (owned by
//! [`crate::jute`], as ZooKeeper generates its records from `zookeeper.jute`) and the result of a
//! step that may fail with one.

pub use crate::jute::code::Code;

/// The result of a step that may fail with a ZooKeeper code.
pub type ZkResult<T> = Result<T, Code>;
