//! Recovery: the durable state a data directory holds, read back after a restart or a crash.
//!
//! The newest snapshot that reads back whole is the starting point, and the logs carry it to
//! the newest log's end. A snapshot the server took itself keeps the log it was taken from
//! (its zxid is one of that log's entries), so when the newest snapshot is damaged, an older
//! one plus the older log up to the newer snapshot's zxid, plus the newest log, is the same
//! history (ZooKeeper's `FileTxnSnapLog.restore` also tries older snapshots). A torn record at
//! the end of the newest log (a crash during an append) is cut off with a warning. A corrupt
//! record anywhere else, or a damaged snapshot without an unbroken chain of logs from an older
//! one, stops recovery: serving from it could forget what the server acknowledged.

use super::files::{
    log_name, names, read_epoch, read_file, records, snapshot_name, Result, StorageError, ZkDurable,
};
use super::record::{End, Format};
use crate::zab::{Durable, Snapshot, Txn, Zxid};
use crate::zk::{DataTree, ZkTxn};
use std::fs::OpenOptions;
use std::path::Path;

/// What recovery found.
pub struct Recovered {
    /// The durable state.
    pub durable: ZkDurable,
    /// The newer snapshots that were damaged and passed over (the data directory must be
    /// rewritten from `durable` before the server goes on).
    pub damaged: Vec<Zxid>,
    /// Where the records of the newest log end (preallocated zeros may follow).
    pub log_end: u64,
    /// How the newest log is encoded (a log of format 1, or a missing one, is written afresh
    /// before anything is appended).
    pub log_format: Format,
}

/// Recovers the durable state of `dir` (snapshots, epochs) and `log_dir` (logs); `None` when
/// they hold nothing yet.
pub fn load(dir: &Path, log_dir: &Path, warnings: &mut Vec<String>) -> Result<Option<Recovered>> {
    let accepted = read_epoch(dir, "acceptedEpoch")?;
    let current = read_epoch(dir, "currentEpoch")?;
    let snaps = names(dir, "snapshot.")?;
    if snaps.is_empty() {
        if accepted.is_none() && current.is_none() {
            return Ok(None);
        }
        return Err(corrupt(dir, "epoch files without a snapshot"));
    }
    let mut first_error = None;
    for i in (0..snaps.len()).rev() {
        match read_snapshot(dir, snaps[i]) {
            Ok(snapshot) => {
                let chained = chain(log_dir, &snaps[i..], warnings);
                let (log, log_end, log_format) = match (chained, first_error) {
                    (Ok(chain), _) => chain,
                    // The newest snapshot was fine: its own log is what failed.
                    (Err(e), None) => return Err(e),
                    (Err(e), Some(first)) => return Err(no_fallback(first, e)),
                };
                if i + 1 < snaps.len() {
                    warnings.push(format!(
                        "recovered from {} and the logs after it instead",
                        snapshot_name(snaps[i])
                    ));
                }
                let durable = Durable {
                    accepted_epoch: accepted.unwrap_or(0),
                    current_epoch: current.unwrap_or(0),
                    snapshot: snapshot.into(),
                    log: log.into(),
                };
                let damaged = snaps[i + 1..].to_vec();
                return Ok(Some(Recovered {
                    durable,
                    damaged,
                    log_end,
                    log_format,
                }));
            }
            Err(e) => {
                warnings.push(format!("{e}; trying an older snapshot"));
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.expect("at least one snapshot"))
}

/// The newest snapshot's damage, with why no older snapshot could stand in for it.
fn no_fallback(first: StorageError, why: StorageError) -> StorageError {
    match first {
        StorageError::Corrupt {
            path,
            offset,
            reason,
        } => StorageError::Corrupt {
            path,
            offset,
            reason: format!("{reason}, and no older snapshot leads to it ({why})"),
        },
        other => other,
    }
}

fn corrupt(path: &Path, reason: &str) -> StorageError {
    StorageError::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        reason: reason.to_string(),
    }
}

fn read_snapshot(dir: &Path, zxid: Zxid) -> Result<Snapshot<DataTree>> {
    let path = dir.join(snapshot_name(zxid));
    let (mut snap, end) = records::<Snapshot<DataTree>>(&path, &read_file(&path)?)?;
    match (snap.pop(), end.torn) {
        (Some(s), false) if snap.is_empty() && s.zxid == zxid => Ok(s),
        _ => Err(corrupt(&path, "the snapshot is incomplete")),
    }
}

/// The log from snapshot `snaps[0]` to the end of the newest log: each older log up to the next
/// snapshot's zxid (which it must contain), then the newest log whole; and where the newest
/// log's records end.
fn chain(
    log_dir: &Path,
    snaps: &[Zxid],
    warnings: &mut Vec<String>,
) -> Result<(Vec<Txn<ZkTxn>>, u64, Format)> {
    let mut out = Vec::new();
    for pair in snaps.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let path = log_dir.join(log_name(from));
        if !path.exists() {
            return Err(corrupt(
                &path,
                "missing: no chain of logs to the newer snapshot",
            ));
        }
        let (log, _) = records::<Txn<ZkTxn>>(&path, &read_file(&path)?)?;
        if !log.iter().any(|t| t.zxid == to) {
            let reason = format!("does not reach {}", snapshot_name(to));
            return Err(corrupt(&path, &reason));
        }
        out.extend(log.into_iter().filter(|t| t.zxid <= to));
    }
    let (newest, end) = newest_log(log_dir, *snaps.last().expect("a snapshot"), warnings)?;
    out.extend(newest);
    Ok((out, end.valid, end.format))
}

/// The log after the newest snapshot and where its records end, a torn tail cut off with a
/// warning.
fn newest_log(
    log_dir: &Path,
    zxid: Zxid,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Txn<ZkTxn>>, End)> {
    let path = log_dir.join(log_name(zxid));
    let bytes = if path.exists() {
        read_file(&path)?
    } else {
        Vec::new()
    };
    let (log, end) = records::<Txn<ZkTxn>>(&path, &bytes)?;
    if end.torn {
        let at = end.valid;
        warnings.push(format!(
            "{}: torn record at byte {at} (a crash during an append); cutting the log there",
            path.display()
        ));
        let io = |e| StorageError::Io {
            path: path.clone(),
            source: e,
        };
        let f = OpenOptions::new().write(true).open(&path).map_err(io)?;
        f.set_len(at).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    Ok((log, end))
}
