//! The record codec of the data directory: a record is `length (u32 BE) | crc32 of the body
//! (u32 BE) | body (bincode)`, and a file is a sequence of records, possibly followed by
//! preallocated zeros.

/// The largest record accepted when reading (a snapshot may be large; a length beyond this is
/// corruption).
const MAX_RECORD: usize = 1 << 31;

/// Encodes one record.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let body = bincode::serialize(value).expect("in-memory values serialize");
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(crc32fast::hash(&body).to_be_bytes());
    out.extend(body);
    out
}

/// How a sequence of records ends.
pub struct End {
    /// Where the valid records end.
    pub valid: u64,
    /// Whether a torn record (a crash during an append) follows them.
    pub torn: bool,
}

/// Bytes that are not a sequence of records, and not a torn append either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// Where the bad record starts.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// The records of `bytes` and where they end. Zeros after the last record are preallocated
/// space, not data; a record cut short or failing its checksum with only zeros (or nothing)
/// after it is a torn append; anything else that does not read back is corruption.
pub fn decode_all<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<(Vec<T>, End), Corrupt> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let zeros = |from: usize| {
        bytes
            .get(from..)
            .map_or(true, |r| r.iter().all(|&b| b == 0))
    };
    let end = |at: usize, torn: bool| End {
        valid: at as u64,
        torn,
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
        out.push(bincode::deserialize(body).map_err(|e| bad(&e.to_string()))?);
        at += 8 + len;
    }
    Ok((out, end(at, false)))
}
