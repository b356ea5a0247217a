//! Encoding and decoding of the client protocol's frames (without the 4-byte length).

use super::proto::{
    op, xid, ConnectRequest, ConnectResponse, MultiResult, ReplyFrame, Request, RequestFrame,
    Response,
};
use super::{Code, WatchList};
use super::{JuteError, JuteResult, Reader, Writer};

/// Decodes the first frame a client sends.
pub fn decode_connect_request(buf: &[u8]) -> JuteResult<ConnectRequest> {
    let mut r = Reader::new(buf);
    Ok(ConnectRequest {
        protocol_version: r.int("protocolVersion")?,
        last_zxid_seen: r.long("lastZxidSeen")?,
        timeout: r.int("timeOut")?,
        session_id: r.long("sessionId")?,
        passwd: r.buffer("passwd")?,
        read_only: optional_bool(&mut r)?,
    })
}

fn optional_bool(r: &mut Reader) -> JuteResult<Option<bool>> {
    if r.remaining() == 0 {
        Ok(None)
    } else {
        r.boolean("readOnly").map(Some)
    }
}

/// Encodes a connect request.
pub fn encode_connect_request(c: &ConnectRequest) -> Vec<u8> {
    let mut w = Writer::default();
    w.int(c.protocol_version)
        .long(c.last_zxid_seen)
        .int(c.timeout);
    w.long(c.session_id).buffer(&c.passwd);
    if let Some(ro) = c.read_only {
        w.boolean(ro);
    }
    w.buf
}

/// Decodes the server's answer to the connect request.
pub fn decode_connect_response(buf: &[u8]) -> JuteResult<ConnectResponse> {
    let mut r = Reader::new(buf);
    Ok(ConnectResponse {
        protocol_version: r.int("protocolVersion")?,
        timeout: r.int("timeOut")?,
        session_id: r.long("sessionId")?,
        passwd: r.buffer("passwd")?,
        read_only: optional_bool(&mut r)?,
    })
}

/// Encodes the answer to a connect request.
pub fn encode_connect_response(c: &ConnectResponse) -> Vec<u8> {
    let mut w = Writer::default();
    w.int(c.protocol_version).int(c.timeout).long(c.session_id);
    w.buffer(&c.passwd);
    if let Some(ro) = c.read_only {
        w.boolean(ro);
    }
    w.buf
}

/// Decodes a request frame (header and body).
pub fn decode_request(buf: &[u8]) -> JuteResult<RequestFrame> {
    let mut r = Reader::new(buf);
    let xid = r.int("RequestHeader.xid")?;
    let op = r.int("RequestHeader.type")?;
    let body = decode_body(&mut r, op, true)?;
    Ok(RequestFrame { xid, op, body })
}

fn decode_body(r: &mut Reader, code: i32, allow_multi: bool) -> JuteResult<Request> {
    Ok(match code {
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER => Request::Create {
            path: r.ustring("path")?,
            data: r.nullable_buffer("data")?,
            acl: r.acls()?,
            flags: r.int("flags")?,
        },
        op::CREATE_TTL => Request::CreateTtl {
            path: r.ustring("path")?,
            data: r.nullable_buffer("data")?,
            acl: r.acls()?,
            flags: r.int("flags")?,
            ttl: r.long("ttl")?,
        },
        op::DELETE => Request::Delete {
            path: r.ustring("path")?,
            version: r.int("version")?,
        },
        op::EXISTS | op::GET_DATA | op::GET_CHILDREN | op::GET_CHILDREN2 => Request::Read {
            path: r.ustring("path")?,
            watch: r.boolean("watch")?,
        },
        op::SET_DATA => Request::SetData {
            path: r.ustring("path")?,
            data: r.nullable_buffer("data")?,
            version: r.int("version")?,
        },
        op::GET_ACL | op::SYNC | op::GET_ALL_CHILDREN_NUMBER | op::GET_EPHEMERALS => {
            Request::Path(r.ustring("path")?)
        }
        op::SET_ACL => Request::SetAcl {
            path: r.ustring("path")?,
            acl: r.acls()?,
            version: r.int("version")?,
        },
        op::CHECK => Request::Check {
            path: r.ustring("path")?,
            version: r.int("version")?,
        },
        op::MULTI | op::MULTI_READ if allow_multi => Request::Multi(decode_multi(r)?),
        op::PING | op::CLOSE_SESSION | op::WHO_AM_I => Request::Empty,
        op::CHECK_WATCHES | op::REMOVE_WATCHES => Request::Watches {
            path: r.ustring("path")?,
            kind: r.int("type")?,
        },
        op::AUTH => Request::Auth {
            kind: r.int("type")?,
            scheme: r.ustring("scheme")?,
            auth: r.buffer("auth")?,
        },
        op::SASL => Request::Sasl(r.buffer("token")?),
        op::SET_WATCHES | op::SET_WATCHES2 => Request::SetWatches(decode_set_watches(r, code)?),
        op::ADD_WATCH => Request::AddWatch {
            path: r.ustring("path")?,
            mode: r.int("mode")?,
        },
        // A top-level request the server does not read (reconfig, an opcode ZooKeeper does not
        // have): the server answers it with an error code and the connection stays.
        _ if allow_multi => Request::Unsupported,
        other => return Err(JuteError::UnknownOpcode(other)),
    })
}

/// `SetWatches`, or `SetWatches2` with the persistent lists.
fn decode_set_watches(r: &mut Reader, code: i32) -> JuteResult<WatchList> {
    let mut l = WatchList {
        relative_zxid: r.long("relativeZxid")?,
        data: r.strings("dataWatches")?,
        exist: r.strings("existWatches")?,
        child: r.strings("childWatches")?,
        ..WatchList::default()
    };
    if code == op::SET_WATCHES2 {
        l.persistent = r.strings("persistentWatches")?;
        l.recursive = r.strings("persistentRecursiveWatches")?;
    }
    Ok(l)
}

/// `MultiOperationRecord`: `MultiHeader(type, done=false, -1)` and the body, repeated, then
/// `MultiHeader(-1, true, -1)`.
fn decode_multi(r: &mut Reader) -> JuteResult<Vec<(i32, Request)>> {
    let mut ops = Vec::new();
    loop {
        let code = r.int("MultiHeader.type")?;
        let done = r.boolean("MultiHeader.done")?;
        r.int("MultiHeader.err")?;
        if done {
            return Ok(ops);
        }
        ops.push((code, decode_body(r, code, false)?));
    }
}

/// Encodes a request frame.
pub fn encode_request(f: &RequestFrame) -> Vec<u8> {
    let mut w = Writer::default();
    w.int(f.xid).int(f.op);
    encode_body(&mut w, f.op, &f.body);
    w.buf
}

fn encode_body(w: &mut Writer, code: i32, body: &Request) {
    match body {
        Request::Create {
            path,
            data,
            acl,
            flags,
        } => {
            w.ustring(path).nullable_buffer(data).acls(acl).int(*flags);
        }
        Request::CreateTtl {
            path,
            data,
            acl,
            flags,
            ttl,
        } => {
            w.ustring(path)
                .nullable_buffer(data)
                .acls(acl)
                .int(*flags)
                .long(*ttl);
        }
        Request::Delete { path, version } | Request::Check { path, version } => {
            w.ustring(path).int(*version);
        }
        Request::Read { path, watch } => {
            w.ustring(path).boolean(*watch);
        }
        Request::SetData {
            path,
            data,
            version,
        } => {
            w.ustring(path).nullable_buffer(data).int(*version);
        }
        Request::Path(path) => {
            w.ustring(path);
        }
        Request::SetAcl { path, acl, version } => {
            w.ustring(path).acls(acl).int(*version);
        }
        Request::Multi(ops) => {
            for (c, o) in ops {
                w.int(*c).boolean(false).int(-1);
                encode_body(w, *c, o);
            }
            w.int(-1).boolean(true).int(-1);
        }
        other => encode_session_body(w, code, other),
    }
}

/// The bodies of session-level requests: auth, watches, and the empty ones.
fn encode_session_body(w: &mut Writer, code: i32, body: &Request) {
    match body {
        Request::Watches { path, kind } => {
            w.ustring(path).int(*kind);
        }
        Request::Auth { kind, scheme, auth } => {
            w.int(*kind).ustring(scheme).buffer(auth);
        }
        Request::SetWatches(l) => {
            w.long(l.relative_zxid)
                .strings(&l.data)
                .strings(&l.exist)
                .strings(&l.child);
            if code == op::SET_WATCHES2 {
                w.strings(&l.persistent).strings(&l.recursive);
            }
        }
        Request::AddWatch { path, mode } => {
            w.ustring(path).int(*mode);
        }
        Request::Sasl(token) => {
            w.buffer(token);
        }
        _ => {}
    }
}

/// Encodes a reply frame.
pub fn encode_reply(f: &ReplyFrame) -> Vec<u8> {
    let mut w = Writer::default();
    w.int(f.xid).long(f.zxid).int(f.err);
    encode_response(&mut w, &f.body);
    w.buf
}

fn encode_response(w: &mut Writer, body: &Response) {
    match body {
        Response::Empty => {}
        Response::Path(p) => {
            w.ustring(p);
        }
        Response::Create2(p, s) => {
            w.ustring(p).stat(s);
        }
        Response::Stat(s) => {
            w.stat(s);
        }
        Response::GetData(d, s) => {
            w.nullable_buffer(d).stat(s);
        }
        Response::GetAcl(a, s) => {
            w.acls(a).stat(s);
        }
        Response::Children(c) => {
            w.strings(c);
        }
        Response::Children2(c, s) => {
            w.strings(c).stat(s);
        }
        Response::Count(n) | Response::ErrorBody(n) => {
            w.int(*n);
        }
        Response::Sasl(token) => {
            w.nullable_buffer(token);
        }
        Response::WhoAmI(infos) => {
            w.int(infos.len() as i32);
            for (scheme, user) in infos {
                w.ustring(scheme).ustring(user);
            }
        }
        Response::Multi(results) => {
            for res in results {
                encode_multi_result(w, res);
            }
            w.int(-1).boolean(true).int(-1);
        }
        Response::Event { kind, state, path } => {
            w.int(*kind).int(*state).ustring(path);
        }
    }
}

fn encode_multi_result(w: &mut Writer, res: &MultiResult) {
    let err = match res {
        MultiResult::Error(c) => c.value(),
        _ => 0,
    };
    w.int(res.op()).boolean(false).int(err);
    match res {
        MultiResult::Create(p) => {
            w.ustring(p);
        }
        MultiResult::Create2 { path, stat, .. } => {
            w.ustring(path).stat(stat);
        }
        MultiResult::Delete | MultiResult::Check => {}
        MultiResult::SetData(s) => {
            w.stat(s);
        }
        MultiResult::Error(c) => {
            w.int(c.value());
        }
        MultiResult::GetData(d, s) => {
            w.nullable_buffer(d).stat(s);
        }
        MultiResult::GetChildren(c) => {
            w.strings(c);
        }
    }
}

/// Decodes a reply to a request of opcode `code` (a client's side; also used by tests).
/// A notification (xid -1) decodes as an event whatever `code` is.
pub fn decode_reply(buf: &[u8], code: i32) -> JuteResult<ReplyFrame> {
    let mut r = Reader::new(buf);
    let xid = r.int("ReplyHeader.xid")?;
    let zxid = r.long("ReplyHeader.zxid")?;
    let err = r.int("ReplyHeader.err")?;
    let body = if xid == xid::NOTIFICATION {
        Response::Event {
            kind: r.int("WatcherEvent.type")?,
            state: r.int("WatcherEvent.state")?,
            path: r.ustring("WatcherEvent.path")?,
        }
    } else if err != 0 && code != op::MULTI && code != op::MULTI_READ {
        Response::Empty
    } else {
        decode_response(&mut r, code)?
    };
    Ok(ReplyFrame {
        xid,
        zxid,
        err,
        body,
    })
}

fn decode_response(r: &mut Reader, code: i32) -> JuteResult<Response> {
    Ok(match code {
        op::CREATE | op::SYNC => Response::Path(r.ustring("path")?),
        op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
            Response::Create2(r.ustring("path")?, r.stat()?)
        }
        op::EXISTS | op::SET_DATA | op::SET_ACL => Response::Stat(r.stat()?),
        op::GET_DATA => Response::GetData(r.nullable_buffer("data")?, r.stat()?),
        op::GET_ACL => Response::GetAcl(r.acls()?, r.stat()?),
        op::GET_CHILDREN | op::GET_EPHEMERALS => Response::Children(r.strings("children")?),
        op::GET_CHILDREN2 => Response::Children2(r.strings("children")?, r.stat()?),
        op::GET_ALL_CHILDREN_NUMBER => Response::Count(r.int("totalNumber")?),
        op::ADD_WATCH => Response::ErrorBody(r.int("ErrorResponse.err")?),
        op::SASL => Response::Sasl(r.nullable_buffer("token")?),
        op::MULTI | op::MULTI_READ => Response::Multi(decode_multi_response(r)?),
        _ => Response::Empty,
    })
}

fn decode_multi_response(r: &mut Reader) -> JuteResult<Vec<MultiResult>> {
    let mut out = Vec::new();
    loop {
        let code = r.int("MultiHeader.type")?;
        let done = r.boolean("MultiHeader.done")?;
        let _err = r.int("MultiHeader.err")?;
        if done {
            return Ok(out);
        }
        out.push(match code {
            op::CREATE => MultiResult::Create(r.ustring("path")?),
            op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => MultiResult::Create2 {
                op: code,
                path: r.ustring("path")?,
                stat: r.stat()?,
            },
            op::DELETE => MultiResult::Delete,
            op::CHECK => MultiResult::Check,
            op::SET_DATA => MultiResult::SetData(r.stat()?),
            op::GET_DATA => MultiResult::GetData(r.nullable_buffer("data")?, r.stat()?),
            op::GET_CHILDREN => MultiResult::GetChildren(r.strings("children")?),
            op::ERROR => {
                let value = r.int("ErrorResponse.err")?;
                let c = Code::from_value(value).ok_or(JuteError::BadValue {
                    field: "ErrorResponse.err",
                    value: i64::from(value),
                })?;
                MultiResult::Error(c)
            }
            other => return Err(JuteError::UnknownOpcode(other)),
        });
    }
}
