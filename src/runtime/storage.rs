//! The data directory: where a server's `Storage` ([`Durable`]) lives on disk.
//!
//! Layout, after ZooKeeper's (`dataDir/version-2/`):
//! - `acceptedEpoch` and `currentEpoch`: one decimal number each, replaced atomically (write a
//!   temporary file, fsync it, rename it over the old one, fsync the directory);
//! - `snapshot.<zxid>`: the snapshot, one checksummed record, written the same way;
//! - `log.<zxid>`: the transaction log after that snapshot, one checksummed record per
//!   transaction, appended and fsynced.
//!
//! A record is `length (u32 BE) | crc32 of the body (u32 BE) | body (bincode)`.
//!
//! [`DataDir::save`] writes only what changed since the last save: new log entries are
//! appended; a log that is not an extension of the saved one (a TRUNC, a SNAP) is rewritten.
//! Recovery ([`DataDir::load`]) reads the newest valid snapshot and its log; a torn record at
//! the end of the log (a crash in the middle of an append) is cut off with a warning, but a bad
//! record followed by more data is corruption and stops the server.

use crate::zab::{Durable, Epoch, Snapshot, Txn, Zxid};
use crate::zk::{DataTree, ZkTxn};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
}

type Result<T> = std::result::Result<T, StorageError>;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The largest record accepted when reading (a snapshot may be large; a length beyond this is
/// corruption).
const MAX_RECORD: usize = 1 << 31;

/// A server's data directory.
pub struct DataDir {
    /// `dataDir/version-2`: epochs and snapshots.
    dir: PathBuf,
    /// `dataLogDir/version-2`: the transaction logs.
    log_dir: PathBuf,
    /// What the disk holds now, in summary.
    saved: Saved,
    log: Option<File>,
    /// What the saves since the last [`DataDir::commit`] ask for, in summary.
    staged: Saved,
    /// The writes those saves need.
    pending: Pending,
}

/// A snapshot and the whole log after it, to be written afresh.
type Rewrite = (Arc<Snapshot<DataTree>>, Vec<Txn<ZkTxn>>);

/// Writes staged and not yet on disk.
#[derive(Default)]
struct Pending {
    epochs: bool,
    /// A new snapshot or a diverged log: the snapshot and the whole log after it.
    rewrite: Option<Rewrite>,
    /// Encoded records to append after that.
    append: Vec<u8>,
}

#[derive(Clone, Default)]
struct Saved {
    accepted_epoch: Epoch,
    current_epoch: Epoch,
    snapshot: Zxid,
    log_len: usize,
    log_last: Option<Zxid>,
}

impl DataDir {
    /// Opens (creating them if needed) `data_dir/version-2` and `log_dir/version-2` (the same
    /// directory when `dataLogDir` is not set) and recovers what they hold; `None` when they
    /// hold nothing yet. Returns the warnings recovery produced.
    pub fn open(
        data_dir: &Path,
        log_dir: &Path,
    ) -> Result<(DataDir, Option<ZkDurable>, Vec<String>)> {
        let dir = data_dir.join("version-2");
        let log_dir = log_dir.join("version-2");
        for d in [&dir, &log_dir] {
            fs::create_dir_all(d).map_err(io_err(d))?;
        }
        let mut warnings = Vec::new();
        let durable = load(&dir, &log_dir, &mut warnings)?;
        let mut d = DataDir {
            dir,
            log_dir,
            saved: Saved::default(),
            log: None,
            staged: Saved::default(),
            pending: Pending::default(),
        };
        if let Some(durable) = &durable {
            d.saved = summary(durable);
            d.staged = summary(durable);
            d.log = Some(d.open_log(durable.snapshot.zxid)?);
        }
        Ok((d, durable, warnings))
    }

    /// Makes `durable` what the disk holds, fsyncing every file it writes.
    pub fn save(&mut self, durable: &ZkDurable) -> Result<()> {
        self.stage(durable);
        self.commit()
    }

    /// Takes note of what `durable` needs written, without writing: the new log entries are
    /// encoded now, so that the caller can drop `durable` at once (its log is then no longer
    /// shared, and the actor's next append does not copy it).
    pub fn stage(&mut self, durable: &ZkDurable) {
        let fresh = self.log.is_none() && self.pending.rewrite.is_none();
        if durable.accepted_epoch != self.staged.accepted_epoch
            || durable.current_epoch != self.staged.current_epoch
            || fresh
        {
            self.pending.epochs = true;
        }
        let staged = &self.staged;
        let extends = !fresh
            && durable.snapshot.zxid == staged.snapshot
            && durable.log.len() >= staged.log_len
            && (staged.log_len == 0
                || Some(durable.log[staged.log_len - 1].zxid) == staged.log_last);
        if extends {
            for txn in &durable.log[staged.log_len..] {
                self.pending.append.extend(record(txn));
            }
        } else {
            self.pending.rewrite = Some((durable.snapshot.clone(), durable.log.to_vec()));
            self.pending.append.clear();
        }
        self.staged = summary(durable);
    }

    /// Whether saves are staged and not yet written.
    pub fn dirty(&self) -> bool {
        self.pending.epochs || self.pending.rewrite.is_some() || !self.pending.append.is_empty()
    }

    /// Writes what was staged, fsyncing every file it writes.
    pub fn commit(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        if pending.epochs {
            let (accepted, current) = (self.staged.accepted_epoch, self.staged.current_epoch);
            write_atomic(&self.dir, "acceptedEpoch", accepted.to_string().as_bytes())?;
            write_atomic(&self.dir, "currentEpoch", current.to_string().as_bytes())?;
        }
        if let Some((snapshot, log)) = pending.rewrite {
            self.rewrite(&snapshot, &log)?;
        }
        if !pending.append.is_empty() {
            let path = self.log_path(self.staged.snapshot);
            let log = self.log.as_mut().expect("an open log");
            log.write_all(&pending.append).map_err(io_err(&path))?;
            log.sync_data().map_err(io_err(&path))?;
        }
        self.saved = self.staged.clone();
        Ok(())
    }

    /// A new snapshot or a log that diverged: write the snapshot (if new) and a fresh log.
    fn rewrite(&mut self, snapshot: &Snapshot<DataTree>, log: &[Txn<ZkTxn>]) -> Result<()> {
        let zxid = snapshot.zxid;
        let name = snapshot_name(zxid);
        if !self.dir.join(&name).exists() || zxid != self.saved.snapshot {
            write_atomic(&self.dir, &name, &record(snapshot))?;
        }
        let mut buf = Vec::new();
        for txn in log {
            buf.extend(record(txn));
        }
        write_atomic(&self.log_dir, &log_name(zxid), &buf)?;
        self.log = Some(self.open_log(zxid)?);
        self.remove_stale(zxid)
    }

    /// Removes the logs of older snapshots and all but the newest `retain` snapshots.
    fn remove_stale(&self, current: Zxid) -> Result<()> {
        for z in names(&self.log_dir, "log.")? {
            if z != current {
                let _ = fs::remove_file(self.log_dir.join(log_name(z)));
            }
        }
        let snaps = names(&self.dir, "snapshot.")?;
        for z in snaps.into_iter().filter(|&z| z > current) {
            // A snapshot newer than the current one belongs to a history this server left.
            let _ = fs::remove_file(self.dir.join(snapshot_name(z)));
        }
        Ok(())
    }

    /// Keeps the newest `retain` snapshots (`autopurge.snapRetainCount`).
    pub fn purge(&self, retain: usize) -> Result<usize> {
        let snaps = names(&self.dir, "snapshot.")?;
        let excess = snaps.len().saturating_sub(retain);
        for z in &snaps[..excess] {
            let path = self.dir.join(snapshot_name(*z));
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
        Ok(excess)
    }

    fn open_log(&self, zxid: Zxid) -> Result<File> {
        let path = self.log_path(zxid);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))
    }

    fn log_path(&self, zxid: Zxid) -> PathBuf {
        self.log_dir.join(log_name(zxid))
    }
}

/// Replaces `dir/name` with `bytes` atomically and durably.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The zxids of the files `prefix.<zxid>` in `dir`, in order.
fn names(dir: &Path, prefix: &str) -> Result<Vec<Zxid>> {
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

fn summary(d: &ZkDurable) -> Saved {
    Saved {
        accepted_epoch: d.accepted_epoch,
        current_epoch: d.current_epoch,
        snapshot: d.snapshot.zxid,
        log_len: d.log.len(),
        log_last: d.log.last().map(|t| t.zxid),
    }
}

fn snapshot_name(z: Zxid) -> String {
    format!("snapshot.{:x}", z.0)
}

fn log_name(z: Zxid) -> String {
    format!("log.{:x}", z.0)
}

fn parse_name(name: &str, prefix: &str) -> Option<Zxid> {
    let hex = name.strip_prefix(prefix)?;
    u64::from_str_radix(hex, 16).ok().map(Zxid)
}

/// Encodes one record.
fn record<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let body = bincode::serialize(value).expect("in-memory values serialize");
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(crc32fast::hash(&body).to_be_bytes());
    out.extend(body);
    out
}

/// The records of `bytes`: the decoded values, and where the valid prefix ends if a torn
/// record follows it.
fn records<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<T>, Option<u64>)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let bad = |reason: &str| StorageError::Corrupt {
            path: path.to_path_buf(),
            offset: at as u64,
            reason: reason.to_string(),
        };
        let rest = &bytes[at..];
        let len = rest
            .get(..4)
            .map(|h| u32::from_be_bytes(h.try_into().expect("4 bytes")) as usize);
        let complete = len.is_some_and(|len| len <= MAX_RECORD && rest.len() >= 8 + len);
        if !complete {
            // The tail is shorter than the record it announces: a torn append.
            return Ok((out, Some(at as u64)));
        }
        let len = len.expect("complete");
        let crc = u32::from_be_bytes(rest[4..8].try_into().expect("4 bytes"));
        let body = &rest[8..8 + len];
        let last = at + 8 + len == bytes.len();
        if crc32fast::hash(body) != crc {
            if last {
                return Ok((out, Some(at as u64)));
            }
            return Err(bad("checksum mismatch"));
        }
        out.push(bincode::deserialize(body).map_err(|e| bad(&e.to_string()))?);
        at += 8 + len;
    }
    Ok((out, None))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(io_err(path))?;
    Ok(buf)
}

fn read_epoch(dir: &Path, name: &str) -> Result<Option<Epoch>> {
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

/// Recovers the durable state of `dir`.
fn load(dir: &Path, log_dir: &Path, warnings: &mut Vec<String>) -> Result<Option<ZkDurable>> {
    let accepted = read_epoch(dir, "acceptedEpoch")?;
    let current = read_epoch(dir, "currentEpoch")?;
    let snaps = names(dir, "snapshot.")?;
    let Some(&newest) = snaps.last() else {
        if accepted.is_none() && current.is_none() {
            return Ok(None);
        }
        return Err(StorageError::Corrupt {
            path: dir.to_path_buf(),
            offset: 0,
            reason: "epoch files without a snapshot".into(),
        });
    };
    let snap_path = dir.join(snapshot_name(newest));
    let (mut snap, torn) = records::<Snapshot<DataTree>>(&snap_path, &read_file(&snap_path)?)?;
    let snapshot = match (snap.pop(), torn) {
        (Some(s), None) => s,
        _ => {
            return Err(StorageError::Corrupt {
                path: snap_path,
                offset: 0,
                reason: "the newest snapshot is incomplete".into(),
            })
        }
    };
    let log_path = log_dir.join(log_name(newest));
    let bytes = if log_path.exists() {
        read_file(&log_path)?
    } else {
        Vec::new()
    };
    let (log, torn) = records::<Txn<ZkTxn>>(&log_path, &bytes)?;
    if let Some(at) = torn {
        warnings.push(format!(
            "{}: torn record at byte {at} (a crash during an append); cutting the log there",
            log_path.display()
        ));
        let f = OpenOptions::new()
            .write(true)
            .open(&log_path)
            .map_err(io_err(&log_path))?;
        f.set_len(at).map_err(io_err(&log_path))?;
        f.sync_all().map_err(io_err(&log_path))?;
    }
    Ok(Some(Durable {
        accepted_epoch: accepted.unwrap_or(0),
        current_epoch: current.unwrap_or(0),
        snapshot: snapshot.into(),
        log: log.into(),
    }))
}
