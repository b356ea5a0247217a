//! The record codec of the data directory (docs/storage.md describes the bytes).
//!
//! A file of format 2 or 3 starts with an 8-byte header, [`MAGIC`] then the format version
//! (u32 BE), and holds records: `length (u32 BE) | crc32 of the body (u32 BE) | body`, the
//! body being the value in postcard's encoding. Format 3 (written now) differs from format 2
//! only in a znode's data, which may be null ([`crate::zk::data`]). Format 1 (zabkeeper before
//! the header; bodies in bincode 1's encoding) had no header. Files of formats 1 and 2 are
//! still read, never written. Read as a record length, the magic number exceeds
//! [`MAX_RECORD`], so no format-1 file starts with it.
//!
//! A log file may end in preallocated zeros after its last record.

use crate::zk::data;

/// The first four bytes of a file of format 2 or later.
pub const MAGIC: [u8; 4] = [0xFA, b'Z', b'K', b'D'];
/// The format this code writes.
pub const VERSION: u32 = 3;
/// The header's length.
pub const HEADER_LEN: usize = 8;

/// The largest record accepted when reading (a snapshot may be large; a length beyond this is
/// corruption).
const MAX_RECORD: usize = 1 << 31;

/// How a file's records are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// No header; bodies in bincode 1's encoding (read only).
    Bincode1,
    /// The header; bodies in postcard 1's encoding, data never null (read only).
    Postcard2,
    /// The header; bodies in postcard 1's encoding, data null or bytes.
    Postcard3,
}

impl Format {
    /// The format this code writes.
    pub const CURRENT: Format = Format::Postcard3;

    /// Its number, as in the header (1 has none).
    pub fn number(self) -> u32 {
        match self {
            Format::Bincode1 => 1,
            Format::Postcard2 => 2,
            Format::Postcard3 => 3,
        }
    }
}

/// The header every file this code writes starts with.
pub fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4..].copy_from_slice(&VERSION.to_be_bytes());
    h
}

/// Encodes one record of the current format.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let (prefix, body) = encode_parts(value);
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend(prefix);
    out.extend(body);
    out
}

/// One record of the current format as its length-and-checksum prefix and its body, to be
/// written one after the other (a snapshot's body is large: no copy).
pub fn encode_parts<T: serde::Serialize>(value: &T) -> ([u8; 8], Vec<u8>) {
    let body = postcard::to_stdvec(value).expect("in-memory values serialize");
    let mut prefix = [0u8; 8];
    prefix[..4].copy_from_slice(&(body.len() as u32).to_be_bytes());
    prefix[4..].copy_from_slice(&crc32fast::hash(&body).to_be_bytes());
    (prefix, body)
}

/// How a sequence of records ends.
pub struct End {
    /// Where the valid records end (an offset in the file, the header included).
    pub valid: u64,
    /// Whether a torn record (a crash during an append) follows them.
    pub torn: bool,
    /// How the file's records are encoded.
    pub format: Format,
}

/// Bytes that are not a sequence of records, and not a torn append either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// Where the bad record starts.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// The format of a file that starts with `bytes`, and where its records start.
pub fn format_of(bytes: &[u8]) -> Result<(Format, usize), Corrupt> {
    if !bytes.starts_with(&MAGIC) {
        return Ok((Format::Bincode1, 0));
    }
    let corrupt = |reason: String| Corrupt { offset: 0, reason };
    let version = bytes
        .get(4..HEADER_LEN)
        .map(|v| u32::from_be_bytes(v.try_into().expect("4 bytes")))
        .ok_or_else(|| corrupt("a header cut short".into()))?;
    match version {
        2 => Ok((Format::Postcard2, HEADER_LEN)),
        3 => Ok((Format::Postcard3, HEADER_LEN)),
        v => Err(corrupt(format!(
            "written in format {v}; this server reads formats 1 to {VERSION}"
        ))),
    }
}

fn decode<T: serde::de::DeserializeOwned>(format: Format, body: &[u8]) -> Result<T, String> {
    match format {
        Format::Bincode1 => data::legacy(|| bincode::deserialize(body)).map_err(|e| e.to_string()),
        Format::Postcard2 => data::legacy(|| postcard::from_bytes(body)).map_err(|e| e.to_string()),
        Format::Postcard3 => postcard::from_bytes(body).map_err(|e| e.to_string()),
    }
}

/// The records of a whole file and where they end. Zeros after the last record are
/// preallocated space, not data; a record cut short or failing its checksum with only zeros
/// (or nothing) after it is a torn append; anything else that does not read back is corruption.
pub fn decode_all<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<(Vec<T>, End), Corrupt> {
    let (format, start) = format_of(bytes)?;
    let mut out = Vec::new();
    let mut at = start;
    let zeros = |from: usize| bytes.get(from..).is_none_or(|r| r.iter().all(|&b| b == 0));
    let end = |at: usize, torn: bool| End {
        valid: at as u64,
        torn,
        format,
    };
    while at < bytes.len() {
        let bad = |reason: &str| Corrupt {
            offset: at as u64,
            reason: reason.to_string(),
        };
        let rest = &bytes[at..];
        let len = rest
            .get(..4)
            .map(|h| u32::from_be_bytes(h.try_into().expect("4 bytes")) as usize);
        if len == Some(0) || (len.is_none() && zeros(at)) {
            if zeros(at) {
                return Ok((out, end(at, false)));
            }
            return Err(bad("a record of length 0"));
        }
        let complete = len.is_some_and(|len| len <= MAX_RECORD && rest.len() >= 8 + len);
        if !complete {
            // The tail is shorter than the record it announces: a torn append.
            return Ok((out, end(at, true)));
        }
        let len = len.expect("complete");
        let crc = u32::from_be_bytes(rest[4..8].try_into().expect("4 bytes"));
        let body = &rest[8..8 + len];
        if crc32fast::hash(body) != crc {
            if zeros(at + 8 + len) {
                return Ok((out, end(at, true)));
            }
            return Err(bad("checksum mismatch"));
        }
        out.push(decode(format, body).map_err(|e| bad(&e))?);
        at += 8 + len;
    }
    Ok((out, end(at, false)))
}
