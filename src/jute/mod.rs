//! Jute, ZooKeeper's wire encoding, and the client protocol's messages
//! (`zookeeper-jute/src/main/resources/zookeeper.jute`).
//!
//! Jute is big-endian: `int` is 4 bytes, `long` 8, `boolean` 1; a `buffer` or `ustring` is an
//! `int` length (-1 for null) and the bytes; a `vector` is an `int` count (-1 for null) and the
//! elements. On TCP every message is a frame: a 4-byte length, then the message.
//!
//! Decoding never panics and never allocates more than the frame holds: every length is checked
//! against the bytes that remain, and a frame longer than [`MAX_FRAME`] is refused before it is
//! read ([`frame_length`]).

pub mod code;
pub mod codec;
pub mod proto;
pub mod records;

pub use code::Code;
pub use records::{Acl, Id, Stat, WatchList};
use thiserror::Error;

/// The largest frame accepted: `jute.maxbuffer` (1 MiB of data) plus room for the headers.
pub const MAX_FRAME: usize = 1024 * 1024 + 1024;

/// Why bytes are not a valid message. The connection that sent them is closed with this reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JuteError {
    /// The message ends before a field does.
    #[error("truncated: {field} needs {need} bytes, {left} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes it needs.
        need: usize,
        /// Bytes left.
        left: usize,
    },
    /// A length or count is negative (other than -1 for null) or larger than the message.
    #[error("bad length {len} for {field}")]
    BadLength {
        /// The field being read.
        field: &'static str,
        /// The length found.
        len: i32,
    },
    /// A frame is larger than [`MAX_FRAME`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit (jute.maxbuffer)")]
    Oversized(usize),
    /// A string is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    BadUtf8(&'static str),
    /// An opcode this server does not know.
    #[error("unknown opcode {0}")]
    UnknownOpcode(i32),
    /// A field holds a value outside its range.
    #[error("bad value {value} for {field}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// The value.
        value: i64,
    },
}

/// A decoding result.
pub type JuteResult<T> = Result<T, JuteError>;

/// The length a frame header announces; an error if it is negative or too large.
pub fn frame_length(header: [u8; 4]) -> JuteResult<usize> {
    let len = i32::from_be_bytes(header);
    if len < 0 {
        return Err(JuteError::BadLength {
            field: "frame",
            len,
        });
    }
    let len = len as usize;
    if len > MAX_FRAME {
        return Err(JuteError::Oversized(len));
    }
    Ok(len)
}

/// Reads jute fields from a message.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize, field: &'static str) -> JuteResult<&'a [u8]> {
        if self.buf.len() < n {
            return Err(JuteError::Truncated {
                field,
                need: n,
                left: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// A jute `int`.
    pub fn int(&mut self, field: &'static str) -> JuteResult<i32> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A jute `long`.
    pub fn long(&mut self, field: &'static str) -> JuteResult<i64> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// A jute `boolean` (any non-zero byte is true, as Java reads it).
    pub fn boolean(&mut self, field: &'static str) -> JuteResult<bool> {
        Ok(self.take(1, field)?[0] != 0)
    }

    /// A length or count: -1 is null (None); other negatives and lengths past the end fail.
    fn len(&mut self, field: &'static str, unit: usize) -> JuteResult<Option<usize>> {
        let len = self.int(field)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || (len as usize).saturating_mul(unit) > self.buf.len() {
            return Err(JuteError::BadLength { field, len });
        }
        Ok(Some(len as usize))
    }

    /// A jute `buffer` (null reads as empty).
    pub fn buffer(&mut self, field: &'static str) -> JuteResult<Vec<u8>> {
        match self.len(field, 1)? {
            None => Ok(Vec::new()),
            Some(n) => Ok(self.take(n, field)?.to_vec()),
        }
    }

    /// A jute `buffer` that may be null (a znode's data: ZooKeeper keeps null apart from empty).
    pub fn nullable_buffer(&mut self, field: &'static str) -> JuteResult<Option<Vec<u8>>> {
        match self.len(field, 1)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n, field)?.to_vec())),
        }
    }

    /// A jute `ustring` (null reads as empty).
    pub fn ustring(&mut self, field: &'static str) -> JuteResult<String> {
        match self.len(field, 1)? {
            None => Ok(String::new()),
            Some(n) => String::from_utf8(self.take(n, field)?.to_vec())
                .map_err(|_| JuteError::BadUtf8(field)),
        }
    }

    /// A jute `vector` whose elements take at least `min_size` bytes each (null reads as empty).
    pub fn vector<T>(
        &mut self,
        field: &'static str,
        min_size: usize,
        mut item: impl FnMut(&mut Self) -> JuteResult<T>,
    ) -> JuteResult<Vec<T>> {
        let n = self.len(field, min_size.max(1))?.unwrap_or(0);
        (0..n).map(|_| item(self)).collect()
    }

    /// `vector<ustring>`.
    pub fn strings(&mut self, field: &'static str) -> JuteResult<Vec<String>> {
        self.vector(field, 4, |r| r.ustring(field))
    }

    /// jute `Id`.
    pub fn id(&mut self) -> JuteResult<Id> {
        Ok(Id {
            scheme: self.ustring("Id.scheme")?,
            id: self.ustring("Id.id")?,
        })
    }

    /// `vector<ACL>`.
    pub fn acls(&mut self) -> JuteResult<Vec<Acl>> {
        self.vector("acl", 12, |r| {
            Ok(Acl {
                perms: r.int("ACL.perms")?,
                id: r.id()?,
            })
        })
    }

    /// jute `Stat`.
    pub fn stat(&mut self) -> JuteResult<Stat> {
        Ok(Stat {
            czxid: self.long("czxid")?,
            mzxid: self.long("mzxid")?,
            ctime: self.long("ctime")?,
            mtime: self.long("mtime")?,
            version: self.int("version")?,
            cversion: self.int("cversion")?,
            aversion: self.int("aversion")?,
            ephemeral_owner: self.long("ephemeralOwner")?,
            data_length: self.int("dataLength")?,
            num_children: self.int("numChildren")?,
            pzxid: self.long("pzxid")?,
        })
    }
}

/// Writes jute fields.
#[derive(Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// A jute `int`.
    pub fn int(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A jute `long`.
    pub fn long(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A jute `boolean`.
    pub fn boolean(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    /// A jute `buffer`.
    pub fn buffer(&mut self, v: &[u8]) -> &mut Self {
        self.int(v.len() as i32);
        self.buf.extend_from_slice(v);
        self
    }

    /// A jute `buffer` that may be null (length -1).
    pub fn nullable_buffer(&mut self, v: &Option<Vec<u8>>) -> &mut Self {
        match v {
            Some(v) => self.buffer(v),
            None => self.int(-1),
        }
    }

    /// A jute `ustring`.
    pub fn ustring(&mut self, v: &str) -> &mut Self {
        self.buffer(v.as_bytes())
    }

    /// `vector<ustring>`.
    pub fn strings(&mut self, v: &[String]) -> &mut Self {
        self.int(v.len() as i32);
        for s in v {
            self.ustring(s);
        }
        self
    }

    /// `vector<ACL>`.
    pub fn acls(&mut self, v: &[Acl]) -> &mut Self {
        self.int(v.len() as i32);
        for a in v {
            self.int(a.perms).ustring(&a.id.scheme).ustring(&a.id.id);
        }
        self
    }

    /// jute `Stat`.
    pub fn stat(&mut self, s: &Stat) -> &mut Self {
        self.long(s.czxid).long(s.mzxid).long(s.ctime).long(s.mtime);
        self.int(s.version).int(s.cversion).int(s.aversion);
        self.long(s.ephemeral_owner)
            .int(s.data_length)
            .int(s.num_children);
        self.long(s.pzxid)
    }

    /// The bytes with the 4-byte frame length in front.
    pub fn framed(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + 4);
        out.extend_from_slice(&(self.buf.len() as i32).to_be_bytes());
        out.extend_from_slice(&self.buf);
        out
    }
}
