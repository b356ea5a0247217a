//! The data directory's files: their names, how they are read back, and the storage error.
//! Shared by the writer (`storage`) and recovery (`recovery`).

use super::record::{self, End};
use crate::zab::{Durable, Epoch, Zxid};
use crate::zk::DataTree;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What the server's storage holds.
pub type ZkDurable = Durable<DataTree>;

/// A storage error.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The operating system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A record that is not the torn tail fails its checksum or does not decode.
    #[error("{path}: corrupt record at byte {offset}: {reason}; refusing to serve from it")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The log writer stopped without saying why (its thread panicked).
    #[error("the log writer stopped")]
    Stopped,
}

/// The result of a storage operation.
pub type Result<T> = std::result::Result<T, StorageError>;

pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The zxids of the files `prefix.<zxid>` in `dir`, in order.
pub(super) fn names(dir: &Path, prefix: &str) -> Result<Vec<Zxid>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let name = entry.map_err(io_err(dir))?.file_name();
        if let Some(z) = parse_name(&name.to_string_lossy(), prefix) {
            out.push(z);
        }
    }
    out.sort();
    Ok(out)
}

pub(super) fn snapshot_name(z: Zxid) -> String {
    format!("snapshot.{:x}", z.0)
}

pub(super) fn log_name(z: Zxid) -> String {
    format!("log.{:x}", z.0)
}

fn parse_name(name: &str, prefix: &str) -> Option<Zxid> {
    let hex = name.strip_prefix(prefix)?;
    u64::from_str_radix(hex, 16).ok().map(Zxid)
}

/// The records of `bytes` (see [`super::record::decode_all`]), a corruption named with `path`.
pub(super) fn records<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<T>, End)> {
    record::decode_all(bytes).map_err(|c| StorageError::Corrupt {
        path: path.to_path_buf(),
        offset: c.offset,
        reason: c.reason,
    })
}

pub(super) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(io_err(path))?;
    Ok(buf)
}

pub(super) fn read_epoch(dir: &Path, name: &str) -> Result<Option<Epoch>> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&read_file(&path)?)
        .trim()
        .to_string();
    text.parse().map(Some).map_err(|_| StorageError::Corrupt {
        path,
        offset: 0,
        reason: format!("not an epoch: {text:?}"),
    })
}
