//! A snapshot the server took itself, written on a thread of its own (as ZooKeeper's
//! `SyncRequestProcessor` starts a snapshot thread), so that the log writer's group commits,
//! and the ACKs that wait for them, do not queue behind a file of hundreds of megabytes.
//!
//! A snapshot vouches for nothing new: every transaction it folds in is already durable in the
//! log it was taken from. So while it is written, that log stays the open one and keeps taking
//! every append; the disk holds the older snapshot and a log through the newest record, the
//! same history as the actor's (new snapshot, shorter log). The records after the snapshot's
//! zxid are kept aside too. Once the snapshot is durable under a temporary name, the log writer
//! finishes the switch ([`super::storage::Files`]): it writes those records as the new
//! snapshot's log, renames the snapshot into place, and appends to the new log from then on. A
//! crash before the rename recovers from the older snapshot and its log (the new log, without
//! its snapshot, is never read); after it, from the new snapshot and its log.

use super::files::{io_err, snapshot_name, Result, StorageError};
use super::record;
use crate::zab::{Snapshot, Txn, Zxid};
use crate::zk::{DataTree, ZkTxn};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// A snapshot being written by its own thread, and the log that goes with it.
pub struct InFlight {
    /// The snapshot's zxid.
    pub zxid: Zxid,
    /// The zxid of the snapshot whose log is still the open one.
    pub base: Zxid,
    /// The new log's content: the header, then every record after `zxid` (those in the log
    /// when the snapshot was taken, and every one appended since).
    pub tail: Vec<u8>,
    start: Instant,
    thread: JoinHandle<Result<usize>>,
}

/// A snapshot written and durable under its temporary name.
pub struct Written {
    /// The snapshot's zxid.
    pub zxid: Zxid,
    /// The new log's content.
    pub tail: Vec<u8>,
    /// The snapshot file's size.
    pub bytes: usize,
    /// When the snapshot was handed to its thread.
    pub start: Instant,
}

impl InFlight {
    /// Starts writing `snapshot` as `dir/snapshot.<zxid>.tmp` on a thread of its own; `log` is
    /// the log after it, `base` the snapshot whose log stays open meanwhile.
    pub fn start(
        dir: &Path,
        base: Zxid,
        snapshot: Arc<Snapshot<DataTree>>,
        log: &[Txn<ZkTxn>],
    ) -> Result<InFlight> {
        let mut tail = record::header().to_vec();
        for txn in log {
            tail.extend(record::encode(txn));
        }
        let zxid = snapshot.zxid;
        let path = tmp_path(dir, zxid);
        let thread = std::thread::Builder::new()
            .name("zab-snapshot".into())
            .spawn(move || write_durably(&path, &snapshot))
            .map_err(|e| StorageError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        Ok(InFlight {
            zxid,
            base,
            tail,
            start: Instant::now(),
            thread,
        })
    }

    /// Whether the snapshot's thread is done (so that [`InFlight::wait`] will not block).
    pub fn done(&self) -> bool {
        self.thread.is_finished()
    }

    /// Keeps an appended batch of records for the new log too.
    pub fn append(&mut self, records: &[u8]) {
        self.tail.extend_from_slice(records);
    }

    /// Waits for the snapshot's thread.
    pub fn wait(self) -> Result<Written> {
        let bytes = self.thread.join().unwrap_or(Err(StorageError::Stopped))?;
        Ok(Written {
            zxid: self.zxid,
            tail: self.tail,
            bytes,
            start: self.start,
        })
    }
}

/// Where the snapshot at `zxid` is written before it is renamed into place.
pub fn tmp_path(dir: &Path, zxid: Zxid) -> PathBuf {
    dir.join(format!("{}.tmp", snapshot_name(zxid)))
}

/// Writes the header and the snapshot's one record to `path` and fsyncs it; returns its size.
fn write_durably(path: &Path, snapshot: &Snapshot<DataTree>) -> Result<usize> {
    let (prefix, body) = record::encode_parts(snapshot);
    let mut f = File::create(path).map_err(io_err(path))?;
    for part in [&record::header()[..], &prefix[..], &body[..]] {
        f.write_all(part).map_err(io_err(path))?;
    }
    f.sync_all().map_err(io_err(path))?;
    Ok(record::HEADER_LEN + prefix.len() + body.len())
}
