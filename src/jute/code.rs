//! ZooKeeper's error codes (`KeeperException.Code`), as they travel in a reply header's `err`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A ZooKeeper result code. The numbers are the wire values of ZooKeeper 3.8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum Code {
    /// Everything is OK.
    Ok = 0,
    /// A system or server-side error.
    SystemError = -1,
    /// A runtime inconsistency: in a failed `multi`, the operations after the one that failed.
    RuntimeInconsistency = -2,
    /// A data inconsistency was found.
    DataInconsistency = -3,
    /// The connection to the server was lost.
    ConnectionLoss = -4,
    /// Error while marshalling or unmarshalling data.
    MarshallingError = -5,
    /// The operation is not implemented.
    Unimplemented = -6,
    /// The operation timed out.
    OperationTimeout = -7,
    /// Invalid arguments (a bad path, a reserved node, a bad TTL...).
    BadArguments = -8,
    /// Unknown session (internal).
    UnknownSession = -12,
    /// The API errors start here (not itself an error).
    ApiError = -100,
    /// The node does not exist.
    NoNode = -101,
    /// Not authenticated for the operation.
    NoAuth = -102,
    /// The expected version does not match.
    BadVersion = -103,
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals = -108,
    /// The node already exists.
    NodeExists = -110,
    /// The node has children.
    NotEmpty = -111,
    /// The session has been expired by the server.
    SessionExpired = -112,
    /// Invalid callback.
    InvalidCallback = -113,
    /// Invalid ACL.
    InvalidAcl = -114,
    /// Client authentication failed.
    AuthFailed = -115,
    /// The session moved to another server.
    SessionMoved = -118,
    /// A state-changing request was sent to a read-only server.
    NotReadOnly = -119,
    /// Attempt to create an ephemeral node on a local session.
    EphemeralOnLocalSession = -120,
    /// No watcher matches `removeWatches`/`checkWatches`.
    NoWatcher = -121,
    /// The request took too long.
    RequestTimeout = -122,
    /// Reconfiguration is disabled.
    ReconfigDisabled = -123,
    /// A quota was exceeded.
    QuotaExceeded = -125,
    /// The request was throttled.
    Throttled = -127,
}

impl Code {
    /// Every code, for decoding and tests.
    pub const ALL: [Code; 29] = [
        Code::Ok,
        Code::SystemError,
        Code::RuntimeInconsistency,
        Code::DataInconsistency,
        Code::ConnectionLoss,
        Code::MarshallingError,
        Code::Unimplemented,
        Code::OperationTimeout,
        Code::BadArguments,
        Code::UnknownSession,
        Code::ApiError,
        Code::NoNode,
        Code::NoAuth,
        Code::BadVersion,
        Code::NoChildrenForEphemerals,
        Code::NodeExists,
        Code::NotEmpty,
        Code::SessionExpired,
        Code::InvalidCallback,
        Code::InvalidAcl,
        Code::AuthFailed,
        Code::SessionMoved,
        Code::NotReadOnly,
        Code::EphemeralOnLocalSession,
        Code::NoWatcher,
        Code::RequestTimeout,
        Code::ReconfigDisabled,
        Code::QuotaExceeded,
        Code::Throttled,
    ];

    /// The wire value.
    pub fn value(self) -> i32 {
        self as i32
    }

    /// The code with wire value `v`, if ZooKeeper defines one.
    pub fn from_value(v: i32) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.value() == v)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, self.value())
    }
}
