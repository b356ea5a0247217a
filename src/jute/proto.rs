//! The client protocol's messages: the connect handshake, request and reply headers, and each
//! operation's body, as `zookeeper.jute` defines them.

use super::{Acl, Code, Stat, WatchList};
use serde::{Deserialize, Serialize};

/// ZooKeeper's `ZooDefs.OpCode` values.
pub mod op {
    #![allow(missing_docs)]
    pub const NOTIFICATION: i32 = 0;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
    pub const ERROR: i32 = -1;
}

/// Special xids (`ClientCnxn`).
pub mod xid {
    /// A watch event.
    pub const NOTIFICATION: i32 = -1;
    /// A ping.
    pub const PING: i32 = -2;
    /// An `addAuth`.
    pub const AUTH: i32 = -4;
    /// `setWatches` after a reconnect.
    pub const SET_WATCHES: i32 = -8;
}

/// jute `ConnectRequest`, plus the `readOnly` flag newer clients append.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The last zxid the client saw (a server behind it refuses the session).
    pub last_zxid_seen: i64,
    /// Requested session timeout in ms.
    pub timeout: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// The session password (16 bytes; zeros for a new session).
    pub passwd: Vec<u8>,
    /// Whether the client accepts a read-only server (None: the field was absent).
    pub read_only: Option<bool>,
}

/// jute `ConnectResponse`, plus `readOnly`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// The negotiated timeout (0: the session is expired).
    pub timeout: i32,
    /// The session id.
    pub session_id: i64,
    /// The session password.
    pub passwd: Vec<u8>,
    /// Whether this server is read-only (None: omitted, as for old clients).
    pub read_only: Option<bool>,
}

/// A request body, by operation. `op` in [`RequestFrame`] tells create from create2.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Request {
    /// `CreateRequest` (create, create2, createContainer).
    Create {
        /// Path.
        path: String,
        /// Data (None: null, which ZooKeeper keeps apart from empty).
        data: Option<Vec<u8>>,
        /// ACL.
        acl: Vec<Acl>,
        /// `CreateMode` flag.
        flags: i32,
    },
    /// `CreateTTLRequest`.
    CreateTtl {
        /// Path.
        path: String,
        /// Data (None: null, which ZooKeeper keeps apart from empty).
        data: Option<Vec<u8>>,
        /// ACL.
        acl: Vec<Acl>,
        /// `CreateMode` flag.
        flags: i32,
        /// TTL in ms.
        ttl: i64,
    },
    /// `DeleteRequest`.
    Delete {
        /// Path.
        path: String,
        /// Expected version.
        version: i32,
    },
    /// `ExistsRequest`, `GetDataRequest`, `GetChildrenRequest`, `GetChildren2Request`.
    Read {
        /// Path.
        path: String,
        /// Whether to leave a watch.
        watch: bool,
    },
    /// `SetDataRequest`.
    SetData {
        /// Path.
        path: String,
        /// Data (None: null, which ZooKeeper keeps apart from empty).
        data: Option<Vec<u8>>,
        /// Expected version.
        version: i32,
    },
    /// `GetACLRequest`, `SyncRequest`, `GetAllChildrenNumberRequest`,
    /// `GetEphemeralsRequest` (its prefix).
    Path(String),
    /// `SetACLRequest`.
    SetAcl {
        /// Path.
        path: String,
        /// ACL.
        acl: Vec<Acl>,
        /// Expected aversion.
        version: i32,
    },
    /// `CheckVersionRequest`.
    Check {
        /// Path.
        path: String,
        /// Expected version.
        version: i32,
    },
    /// `MultiOperationRecord` (multi, multiRead): each operation with its opcode.
    Multi(Vec<(i32, Request)>),
    /// No body: ping, closeSession, whoAmI.
    Empty,
    /// A request whose body the server does not read: `reconfig` (answered ReconfigDisabled)
    /// and opcodes ZooKeeper does not have (answered Unimplemented).
    Unsupported,
    /// `CheckWatchesRequest`, `RemoveWatchesRequest`.
    Watches {
        /// Path.
        path: String,
        /// `WatcherType`.
        kind: i32,
    },
    /// `AuthPacket`.
    Auth {
        /// Always 0.
        kind: i32,
        /// Scheme (`digest`).
        scheme: String,
        /// Credentials.
        auth: Vec<u8>,
    },
    /// `GetSASLRequest`: the client's SASL token (empty to start DIGEST-MD5).
    Sasl(Vec<u8>),
    /// `SetWatches` (persistent lists empty) and `SetWatches2`.
    SetWatches(WatchList),
    /// `AddWatchRequest`.
    AddWatch {
        /// Path.
        path: String,
        /// 0 persistent, 1 persistent recursive.
        mode: i32,
    },
}

/// A request frame after the handshake: `RequestHeader` and body.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestFrame {
    /// The client's request number, or a special xid.
    pub xid: i32,
    /// The opcode.
    pub op: i32,
    /// The body.
    pub body: Request,
}

/// One result inside a `MultiResponse`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MultiResult {
    /// `CreateResponse` (create).
    Create(String),
    /// `Create2Response` (create2, createTTL, createContainer: `op` says which).
    Create2 {
        /// The opcode of the operation.
        op: i32,
        /// The created path.
        path: String,
        /// Its stat.
        stat: Stat,
    },
    /// delete: no body.
    Delete,
    /// `SetDataResponse`.
    SetData(Stat),
    /// check: no body.
    Check,
    /// `ErrorResponse` (its header has type -1 and the code).
    Error(Code),
    /// `GetDataResponse` (multiRead).
    GetData(Option<Vec<u8>>, Stat),
    /// `GetChildrenResponse` (multiRead).
    GetChildren(Vec<String>),
}

impl MultiResult {
    /// The opcode its `MultiHeader` carries.
    pub fn op(&self) -> i32 {
        match self {
            MultiResult::Create(_) => op::CREATE,
            MultiResult::Create2 { op, .. } => *op,
            MultiResult::Delete => op::DELETE,
            MultiResult::SetData(_) => op::SET_DATA,
            MultiResult::Check => op::CHECK,
            MultiResult::Error(_) => op::ERROR,
            MultiResult::GetData(..) => op::GET_DATA,
            MultiResult::GetChildren(_) => op::GET_CHILDREN,
        }
    }
}

/// A reply body.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Response {
    /// No body: errors, delete, ping, auth, setWatches, closeSession, addWatch...
    Empty,
    /// `CreateResponse`, `SyncResponse`: a path.
    Path(String),
    /// `Create2Response`.
    Create2(String, Stat),
    /// `ExistsResponse`, `SetDataResponse`, `SetACLResponse`.
    Stat(Stat),
    /// `GetDataResponse`.
    GetData(Option<Vec<u8>>, Stat),
    /// `GetACLResponse`.
    GetAcl(Vec<Acl>, Stat),
    /// `GetChildrenResponse`, `GetEphemeralsResponse`.
    Children(Vec<String>),
    /// `GetChildren2Response`.
    Children2(Vec<String>, Stat),
    /// `GetAllChildrenNumberResponse`.
    Count(i32),
    /// `ErrorResponse`: ZooKeeper answers a successful `addWatch` with one holding 0.
    ErrorBody(i32),
    /// `MultiResponse`.
    Multi(Vec<MultiResult>),
    /// `SetSASLResponse`: the server's SASL token (null when the exchange failed).
    Sasl(Option<Vec<u8>>),
    /// `WhoAmIResponse`: each identity as `ClientInfo` (authScheme, user).
    WhoAmI(Vec<(String, String)>),
    /// `WatcherEvent` (xid -1).
    Event {
        /// `EventType`.
        kind: i32,
        /// `KeeperState` (3: SyncConnected).
        state: i32,
        /// Path.
        path: String,
    },
}

/// A reply frame: `ReplyHeader` and body.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReplyFrame {
    /// The request's xid, or a special xid.
    pub xid: i32,
    /// The zxid the server had reached.
    pub zxid: i64,
    /// The result code (0: OK).
    pub err: i32,
    /// The body (Empty when err is not 0).
    pub body: Response,
}
