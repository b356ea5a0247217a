//! Between the wire's requests and replies ([`crate::jute::proto`]) and the service's
//! operations and results: which opcodes write, which read, and how a result is answered.

use super::read::{ReadOp, ReadResult};
use super::stat::{client_stat, Stat};
use super::tree::OpResult;
use super::txn::{CreateMode, WriteOp};
use super::Code;
use crate::jute::proto::{op, MultiResult, Request, RequestFrame, Response};

/// The write a request asks for (None for reads and session-level requests). A create with
/// a mode its opcode does not allow still becomes a write, which the leader rejects.
pub fn to_write(f: &RequestFrame) -> Option<WriteOp> {
    match (f.op, &f.body) {
        (op::MULTI, Request::Multi(ops)) => Some(WriteOp::Multi(
            ops.iter()
                .map(|(c, b)| one_write(*c, b).unwrap_or(WriteOp::Multi(vec![])))
                .collect(),
        )),
        (op::CLOSE_SESSION, _) => Some(WriteOp::CloseSession),
        (c, b) => one_write(c, b),
    }
}

fn one_write(code: i32, body: &Request) -> Option<WriteOp> {
    Some(match (code, body) {
        (op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL, _) => {
            create_write(code, body)?
        }
        (op::DELETE, Request::Delete { path, version }) => WriteOp::Delete {
            path: path.clone(),
            version: *version,
        },
        (
            op::SET_DATA,
            Request::SetData {
                path,
                data,
                version,
            },
        ) => WriteOp::SetData {
            path: path.clone(),
            data: data.clone(),
            version: *version,
        },
        (op::SET_ACL, Request::SetAcl { path, acl, version }) => WriteOp::SetAcl {
            path: path.clone(),
            acl: acl.clone(),
            version: *version,
        },
        (op::CHECK, Request::Check { path, version }) => WriteOp::Check {
            path: path.clone(),
            version: *version,
        },
        _ => return None,
    })
}

/// create, create2, createContainer and createTTL: the mode from the opcode and flags (a flag
/// the opcode does not allow becomes a write the leader rejects).
fn create_write(code: i32, body: &Request) -> Option<WriteOp> {
    let (path, data, acl, flags, ttl) = match body {
        Request::Create {
            path,
            data,
            acl,
            flags,
        } => (path, data, acl, *flags, -1),
        Request::CreateTtl {
            path,
            data,
            acl,
            flags,
            ttl,
        } if code == op::CREATE_TTL => (path, data, acl, *flags, *ttl),
        _ => return None,
    };
    let mode = match (code, CreateMode::from_flag(flags)) {
        (op::CREATE_CONTAINER, _) => CreateMode::Container,
        (op::CREATE_TTL, Some(m)) => m,
        (_, Some(CreateMode::Container)) | (_, None) => return Some(bad()),
        (_, Some(m)) => m,
    };
    let (path, data, acl) = (path.clone(), data.clone(), acl.clone());
    Some(WriteOp::Create {
        path,
        data,
        acl,
        mode,
        ttl,
    })
}

/// A write the leader will reject with BadArguments (an empty multi inside a multi).
fn bad() -> WriteOp {
    WriteOp::Multi(vec![WriteOp::Multi(vec![])])
}

/// The read a request asks for: kind, path, whether to watch.
pub fn to_read(f: &RequestFrame) -> Option<(ReadOp, String, bool)> {
    let kind = match f.op {
        op::EXISTS => ReadOp::Exists,
        op::GET_DATA => ReadOp::GetData,
        op::GET_CHILDREN | op::GET_CHILDREN2 => ReadOp::GetChildren,
        op::GET_ACL => ReadOp::GetAcl,
        op::GET_ALL_CHILDREN_NUMBER => ReadOp::GetAllChildrenNumber,
        op::GET_EPHEMERALS => ReadOp::GetEphemerals,
        _ => return None,
    };
    match &f.body {
        Request::Read { path, watch } => Some((kind, path.clone(), *watch)),
        Request::Path(path) => Some((kind, path.clone(), false)),
        _ => None,
    }
}

/// The reply body of a read of opcode `code` (`ext`: extended types enabled, for the stat as
/// clients see it).
pub fn read_response(code: i32, r: ReadResult, ext: bool) -> Response {
    let cs = |s| client_stat(s, ext);
    match r {
        ReadResult::Stat(s) => Response::Stat(cs(s)),
        ReadResult::Data(d, s) => Response::GetData(d, cs(s)),
        ReadResult::Children(c, s) if code == op::GET_CHILDREN2 => Response::Children2(c, cs(s)),
        ReadResult::Children(c, _) => Response::Children(c),
        ReadResult::Acl(a, s) => Response::GetAcl(a, cs(s)),
        ReadResult::Count(n) => Response::Count(n),
        ReadResult::Paths(p) => Response::Children(p),
    }
}

/// The reply to a write request once its transaction committed (`ext` as for
/// [`read_response`]).
pub fn reply_for(f: &RequestFrame, result: &OpResult, ext: bool) -> (Code, Response) {
    let cs = |s: &Stat| client_stat(*s, ext);
    match (result, &f.body) {
        (OpResult::Error(code), _) => (*code, Response::Empty),
        (OpResult::Multi(results), Request::Multi(ops)) => {
            let multi = results
                .iter()
                .zip(ops)
                .map(|(r, (c, _))| multi_result(*c, r, ext))
                .collect();
            (Code::Ok, Response::Multi(multi))
        }
        (OpResult::Created { path, .. }, _) if f.op == op::CREATE => {
            (Code::Ok, Response::Path(path.clone()))
        }
        (OpResult::Created { path, stat }, _) => {
            (Code::Ok, Response::Create2(path.clone(), cs(stat)))
        }
        (OpResult::Stat(s), _) => (Code::Ok, Response::Stat(cs(s))),
        _ => (Code::Ok, Response::Empty),
    }
}

fn multi_result(code: i32, r: &OpResult, ext: bool) -> MultiResult {
    let cs = |s: &Stat| client_stat(*s, ext);
    match r {
        OpResult::Created { path, .. } if code == op::CREATE => MultiResult::Create(path.clone()),
        OpResult::Created { path, stat } => MultiResult::Create2 {
            op: code,
            path: path.clone(),
            stat: cs(stat),
        },
        OpResult::Deleted => MultiResult::Delete,
        OpResult::Stat(s) => MultiResult::SetData(cs(s)),
        OpResult::Checked => MultiResult::Check,
        OpResult::Error(c) => MultiResult::Error(*c),
        _ => MultiResult::Error(Code::SystemError),
    }
}
