//! The sequential specification the `service` model's histories are checked against: the
//! znodes the clients touch, as one ZooKeeper client sees them in a single-server world.

use crate::zk::Code;
use serde::Serialize;
use stateright::semantics::SequentialSpec;
use std::collections::BTreeMap;

/// A client operation, as the history records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ZkOp {
    /// `create(path, data)`, persistent or ephemeral.
    Create(String, u8),
    /// `setData(path, data, version)`.
    Set(String, u8, i32),
    /// `getData(path)`.
    Get(String),
    /// `sync(path)`.
    Sync(String),
}

impl ZkOp {
    /// Whether it changes the tree (create, setData).
    pub fn is_write(&self) -> bool {
        matches!(self, ZkOp::Create(..) | ZkOp::Set(..))
    }
}

/// What the client got back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ZkRet {
    /// Success without a value (create, sync).
    Ok,
    /// setData's new version.
    Version(i32),
    /// getData's data and version.
    Data(u8, i32),
    /// A ZooKeeper error.
    Err(Code),
}

/// The reference object: path -> (data, version).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ZkSpec(pub BTreeMap<String, (u8, i32)>);

impl SequentialSpec for ZkSpec {
    type Op = ZkOp;
    type Ret = ZkRet;

    fn invoke(&mut self, op: &ZkOp) -> ZkRet {
        match op {
            ZkOp::Create(p, d) => {
                if self.0.contains_key(p) {
                    return ZkRet::Err(Code::NodeExists);
                }
                self.0.insert(p.clone(), (*d, 0));
                ZkRet::Ok
            }
            ZkOp::Set(p, d, v) => match self.0.get_mut(p) {
                None => ZkRet::Err(Code::NoNode),
                Some((_, cur)) if *v != -1 && v != cur => ZkRet::Err(Code::BadVersion),
                Some(node) => {
                    *node = (*d, node.1 + 1);
                    ZkRet::Version(node.1)
                }
            },
            ZkOp::Get(p) => match self.0.get(p) {
                None => ZkRet::Err(Code::NoNode),
                Some((d, v)) => ZkRet::Data(*d, *v),
            },
            ZkOp::Sync(_) => ZkRet::Ok,
        }
    }

    fn is_valid_step(&mut self, op: &ZkOp, ret: &ZkRet) -> bool {
        // An operation refused because its session expired, or a write (or sync) refused by a
        // read-only server, has no effect.
        *ret == ZkRet::Err(Code::SessionExpired)
            || *ret == ZkRet::Err(Code::NotReadOnly)
            || self.invoke(op) == *ret
    }
}
