//! The data directory: where a server's `Storage` ([`Durable`]) lives on disk.
//!
//! Layout, after ZooKeeper's (`dataDir/version-2/`):
//! - `acceptedEpoch` and `currentEpoch`: one decimal number each, replaced atomically (write a
//!   temporary file, fsync it, rename it over the old one, fsync the directory);
//! - `snapshot.<zxid>`: the snapshot, one checksummed record, written the same way;
//! - `log.<zxid>`: the transaction log after that snapshot, one checksummed record per
//!   transaction, written after the last record and fsynced; the file is preallocated
//!   [`PREALLOC`] bytes at a time (zeros after the last record are free space).
//!
//! Each file's content is a header and a sequence of records ([`super::record`]; the bytes are
//! described in docs/storage.md).
//!
//! [`DataDir::save`] writes only what changed since the last save: new log entries are
//! appended; a log that is not an extension of the saved one (a TRUNC, a SNAP) is rewritten.
//! A snapshot the server takes itself keeps the log it was taken from, so that recovery
//! ([`super::recovery`]) can fall back to an older snapshot, and is written on a thread of its
//! own while appends go on ([`super::snapshot_write`]); a snapshot received from the leader
//! (SNAP) starts a new chain, written at once. `autopurge` removes old snapshots with their
//! logs.

use super::files::{io_err, log_name, names, snapshot_name, Result};
pub use super::files::{StorageError, ZkDurable};
use super::record::{self, Format};
use super::snapshot_write::{tmp_path, InFlight, Written};
use crate::zab::{Epoch, Snapshot, Txn, Zxid};
use crate::zk::{DataTree, ZkTxn};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A server's data directory: the staging of saves ([`Stage`], on the actor's thread) and the
/// files they are written to ([`Files`], on the log writer's thread in the runtime).
pub struct DataDir {
    /// What the saves ask for, encoded.
    pub stage: Stage,
    /// The files.
    pub files: Files,
}

/// The saves since the last [`Stage::take`], encoded: what the next write must do.
pub struct Stage {
    /// What the saves since the last take ask for, in summary.
    staged: Saved,
    /// The writes those saves need.
    pending: Pending,
    /// The zxids the current log file holds (staged included), in order.
    log_zxids: Vec<Zxid>,
    /// Nothing was ever written here: the first save writes everything.
    fresh: bool,
    /// The snapshot the current log file follows. The actor folds its committed log into its
    /// snapshot more often than a snapshot is written (see [`Stage::write_snapshots_every`]);
    /// between two written snapshots the disk holds an older snapshot and a longer log, which
    /// recover the same state.
    disk_snapshot: Zxid,
    /// `snapCount`: a snapshot the actor takes from its own log is written only once the
    /// current log holds at least this many transactions (None: every one is written).
    disk_every: Option<usize>,
}

/// One write for the log writer: the encoded saves and what the disk holds after it.
pub struct Job {
    pending: Pending,
    staged: Saved,
}

impl Job {
    /// How many transactions the job writes (a rewritten log's count them all).
    pub fn txns(&self) -> usize {
        self.pending.txns
    }
}

/// The files of a data directory, and what they hold.
pub struct Files {
    /// `dataDir/version-2`: epochs and snapshots.
    dir: PathBuf,
    /// `dataLogDir/version-2`: the transaction logs.
    log_dir: PathBuf,
    /// What the disk holds now, in summary.
    saved: Saved,
    /// The snapshots written since [`Files::written_snapshots`] last asked: (zxid, bytes,
    /// microseconds to encode, write and fsync).
    snapshots: Vec<(Zxid, usize, u64)>,
    log: Option<LogFile>,
    /// A snapshot taken here, being written by its own thread.
    snapshotting: Option<InFlight>,
}

/// A snapshot and the whole log after it, to be written afresh.
type Rewrite = (Arc<Snapshot<DataTree>>, Vec<Txn<ZkTxn>>);

/// Writes staged and not yet on disk.
#[derive(Default)]
struct Pending {
    epochs: bool,
    /// A new snapshot or a diverged log: the snapshot and the whole log after it.
    rewrite: Option<Rewrite>,
    /// Whether the older snapshots' logs still lead to the rewritten snapshot.
    keep_older: bool,
    /// The rewrite is a snapshot taken from the current log, which holds every record of the
    /// rewritten log too (`before` included): it may be written while appends go on.
    taken_here: bool,
    /// Encoded records for the current log, to write before the rewrite (the entries up to a
    /// snapshot taken in the same batch).
    before: Vec<u8>,
    /// Encoded records to append after that.
    append: Vec<u8>,
    /// How many transactions this job writes (`mntr`'s batch size counts them).
    txns: usize,
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
        let recovered = super::recovery::load(&dir, &log_dir, &mut warnings)?;
        let mut d = Files {
            dir,
            log_dir,
            saved: Saved::default(),
            snapshots: Vec::new(),
            log: None,
            snapshotting: None,
        };
        d.remove_tmp()?;
        let mut stage = Stage {
            staged: Saved::default(),
            pending: Pending::default(),
            log_zxids: Vec::new(),
            fresh: true,
            disk_snapshot: Zxid::ZERO,
            disk_every: None,
        };
        let Some(recovered) = recovered else {
            return Ok((DataDir { stage, files: d }, None, warnings));
        };
        let durable = recovered.durable;
        d.saved = summary(&durable);
        stage.staged = summary(&durable);
        stage.disk_snapshot = durable.snapshot.zxid;
        stage.log_zxids = durable.log.iter().map(|t| t.zxid).collect();
        stage.fresh = false;
        if recovered.damaged.is_empty() && recovered.log_format == Format::CURRENT {
            let path = d.log_path(durable.snapshot.zxid);
            d.log = Some(LogFile::open(path, recovered.log_end)?);
        } else {
            if recovered.log_format != Format::CURRENT {
                // Appends go only to a log of the format this code writes: the newest log is
                // written afresh (older files stay as they are, and are still read).
                warnings.push(format!(
                    "{}: format {} (or missing); written again in format {}",
                    d.log_path(durable.snapshot.zxid).display(),
                    recovered.log_format.number(),
                    record::VERSION
                ));
            }
            // Keep the damaged snapshots aside (renamed), and write the recovered chain as the
            // recovered snapshot's log.
            for z in recovered.damaged {
                let path = d.dir.join(snapshot_name(z));
                let aside = d.dir.join(format!("{}.damaged", snapshot_name(z)));
                fs::rename(&path, &aside).map_err(io_err(&path))?;
                warnings.push(format!(
                    "{} kept aside as {}",
                    path.display(),
                    aside.display()
                ));
            }
            d.rewrite(&durable.snapshot, &durable.log, true)?;
        }
        Ok((DataDir { stage, files: d }, Some(durable), warnings))
    }

    /// Makes `durable` what the disk holds, fsyncing every file it writes.
    pub fn save(&mut self, durable: &ZkDurable) -> Result<()> {
        self.stage.stage(durable);
        self.commit()
    }

    /// Whether staged saves wait to be written.
    pub fn dirty(&self) -> bool {
        self.stage.dirty()
    }

    /// Writes what was staged and makes it durable (a snapshot in place too).
    pub fn commit(&mut self) -> Result<()> {
        if let Some(job) = self.stage.take() {
            self.files.write(job)?;
        }
        self.files.sync()?;
        self.files.finish_snapshot(true)
    }

    /// `autopurge`: see [`Files::purge`].
    pub fn purge(&self, retain: usize) -> Result<usize> {
        self.files.purge(retain)
    }
}

impl Stage {
    /// Takes note of what `durable` needs written, without writing: the new log entries are
    /// encoded now, so that the caller can drop `durable` at once (its log is then no longer
    /// shared, and the actor's next append does not copy it).
    pub fn stage(&mut self, durable: &ZkDurable) {
        let fresh = self.fresh && self.pending.rewrite.is_none();
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
        let zxid = durable.snapshot.zxid;
        let taken_here = zxid != staged.snapshot && self.log_zxids.binary_search(&zxid).is_ok();
        // A snapshot the actor took from this log, before the log holds `snapCount`
        // transactions: the log goes on (the disk's older snapshot and this log lead to it).
        let fold_only = !fresh
            && taken_here
            && self.pending.rewrite.is_none()
            && self.disk_every.is_some_and(|n| {
                let last = self.log_zxids.last().copied();
                let new = durable.log.iter().filter(|t| Some(t.zxid) > last).count();
                self.log_zxids.len() + new < n
            });
        if extends || fold_only {
            let last = self.log_zxids.last().copied();
            for txn in durable.log.iter().filter(|t| Some(t.zxid) > last) {
                self.pending.txns += 1;
                self.pending.append.extend(record::encode(txn));
                self.log_zxids.push(txn.zxid);
            }
        } else {
            // A snapshot taken from this log: the older logs still lead to it, once what is
            // staged for the current log is written there first. A snapshot from elsewhere
            // (SNAP), or two in one batch, starts afresh; a diverged log keeps its snapshot
            // (if it is the one on disk: otherwise the older log holds what diverged).
            let pending = &mut self.pending;
            let first = pending.rewrite.is_none();
            let same = zxid == staged.snapshot && zxid == self.disk_snapshot;
            pending.keep_older = !fresh && first && (same || taken_here);
            pending.taken_here = pending.keep_older && taken_here;
            if pending.taken_here {
                // The current log gets everything: what was staged for it, and the entries of
                // this save past the last staged one (the snapshot's log holds them too).
                pending.before = std::mem::take(&mut pending.append);
                let last = self.log_zxids.last().copied();
                for txn in durable.log.iter().filter(|t| Some(t.zxid) > last) {
                    pending.before.extend(record::encode(txn));
                }
            }
            pending.txns += durable.log.len();
            pending.rewrite = Some((durable.snapshot.clone(), durable.log.to_vec()));
            pending.append.clear();
            self.log_zxids = durable.log.iter().map(|t| t.zxid).collect();
            self.disk_snapshot = zxid;
        }
        self.staged = summary(durable);
        self.fresh = false;
    }

    /// Whether saves are staged and not yet written.
    pub fn dirty(&self) -> bool {
        self.pending.epochs || self.pending.rewrite.is_some() || !self.pending.append.is_empty()
    }

    /// The staged writes, as one job for the log writer (None when nothing is staged).
    pub fn take(&mut self) -> Option<Job> {
        self.dirty().then(|| Job {
            pending: std::mem::take(&mut self.pending),
            staged: Saved {
                snapshot: self.disk_snapshot,
                ..self.staged.clone()
            },
        })
    }

    /// `snapCount`: write a snapshot the actor takes from its own log only once the current
    /// log holds at least `n` transactions (ZooKeeper's rule); the actor may fold its log
    /// more often, to keep less of it in memory (`commitLogCount`).
    pub fn write_snapshots_every(&mut self, n: usize) {
        self.disk_every = Some(n);
    }
}

impl Files {
    /// Writes a job: the epoch files, snapshots and rewritten logs durably (each replaced
    /// atomically), appended records without their fsync, which [`Files::sync`] does once
    /// for every job written since (group commit).
    pub fn write(&mut self, job: Job) -> Result<()> {
        let Job { pending, staged } = job;
        if pending.epochs {
            let (accepted, current) = (staged.accepted_epoch, staged.current_epoch);
            write_atomic(&self.dir, "acceptedEpoch", accepted.to_string().as_bytes())?;
            write_atomic(&self.dir, "currentEpoch", current.to_string().as_bytes())?;
        }
        self.finish_snapshot(pending.rewrite.is_some())?;
        if !pending.before.is_empty() {
            self.append(self.saved.snapshot, &pending.before)?;
        }
        if let Some((snapshot, log)) = pending.rewrite {
            if pending.taken_here && self.log.is_some() {
                let base = self.saved.snapshot;
                self.snapshotting = Some(InFlight::start(&self.dir, base, snapshot, &log)?);
            } else {
                // What went to the current log must be durable before it closes.
                self.sync()?;
                self.rewrite(&snapshot, &log, pending.keep_older)?;
            }
        }
        if !pending.append.is_empty() {
            self.append(staged.snapshot, &pending.append)?;
        }
        self.saved = staged;
        Ok(())
    }

    /// The snapshots written since the last call: (zxid, bytes, microseconds).
    pub fn written_snapshots(&mut self) -> Vec<(Zxid, usize, u64)> {
        std::mem::take(&mut self.snapshots)
    }

    /// Makes every record appended since the last sync durable (one `fdatasync`).
    pub fn sync(&mut self) -> Result<()> {
        match &mut self.log {
            Some(log) => log.sync(),
            None => Ok(()),
        }
    }

    fn append(&mut self, zxid: Zxid, records: &[u8]) -> Result<()> {
        let log = self.log.as_mut().expect("an open log");
        let open = match &mut self.snapshotting {
            Some(snap) if snap.zxid == zxid => {
                snap.append(records);
                snap.base
            }
            _ => zxid,
        };
        debug_assert_eq!(log.path, self.log_dir.join(log_name(open)));
        log.append(records)
    }

    /// Whether a snapshot is being written by its own thread.
    pub fn snapshotting(&self) -> bool {
        self.snapshotting.is_some()
    }

    /// Puts the snapshot being written into place once its thread is done (waiting for it if
    /// `wait`): the records after it become its log, written durably, then the snapshot is
    /// renamed into place and its log becomes the open one.
    pub fn finish_snapshot(&mut self, wait: bool) -> Result<()> {
        match &self.snapshotting {
            Some(snap) if wait || snap.done() => {}
            _ => return Ok(()),
        }
        let snap = self.snapshotting.take().expect("a snapshot in flight");
        let Written {
            zxid,
            tail,
            bytes,
            start,
        } = snap.wait()?;
        // The old log closes with everything durable (an older snapshot's fallback needs it).
        self.sync()?;
        let name = log_name(zxid);
        write_atomic(&self.log_dir, &name, &tail)?;
        let path = self.dir.join(snapshot_name(zxid));
        fs::rename(tmp_path(&self.dir, zxid), &path).map_err(io_err(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.dir))?;
        if let Some(old) = self.log.take() {
            let _ = old.file.set_len(old.end);
        }
        self.log = Some(LogFile::open(self.log_path(zxid), tail.len() as u64)?);
        self.snapshots
            .push((zxid, bytes, start.elapsed().as_micros() as u64));
        self.remove_stale(zxid, true)
    }

    /// Removes snapshots left half written (`snapshot.<zxid>.tmp`) by a crash.
    fn remove_tmp(&self) -> Result<()> {
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let path = entry.map_err(io_err(&self.dir))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with("snapshot.") && n.ends_with(".tmp")) {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(())
    }

    /// A new snapshot or a log that diverged: write the snapshot (if new) and a fresh log;
    /// `keep_older`: the older snapshots' logs still lead to this snapshot.
    fn rewrite(
        &mut self,
        snapshot: &Snapshot<DataTree>,
        log: &[Txn<ZkTxn>],
        keep_older: bool,
    ) -> Result<()> {
        let zxid = snapshot.zxid;
        let name = snapshot_name(zxid);
        if !self.dir.join(&name).exists() || zxid != self.saved.snapshot {
            let start = std::time::Instant::now();
            let mut bytes = record::header().to_vec();
            bytes.extend(record::encode(snapshot));
            write_atomic(&self.dir, &name, &bytes)?;
            let us = start.elapsed().as_micros() as u64;
            self.snapshots.push((zxid, bytes.len(), us));
        }
        let mut buf = record::header().to_vec();
        for txn in log {
            buf.extend(record::encode(txn));
        }
        write_atomic(&self.log_dir, &log_name(zxid), &buf)?;
        if let Some(old) = self.log.take() {
            // A closed log keeps only its records (recovery may still read it).
            let _ = old.file.set_len(old.end);
        }
        self.log = Some(LogFile::open(self.log_path(zxid), buf.len() as u64)?);
        self.remove_stale(zxid, keep_older)
    }

    /// Removes the logs and snapshots that do not lead to `current`: newer ones (a history this
    /// server left), and older logs unless `keep_older`.
    fn remove_stale(&self, current: Zxid, keep_older: bool) -> Result<()> {
        for z in names(&self.log_dir, "log.")? {
            if z > current || (z < current && !keep_older) {
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

    /// Keeps the newest `retain` snapshots (`autopurge.snapRetainCount`) and the logs from the
    /// oldest of them on; returns how many snapshots went.
    pub fn purge(&self, retain: usize) -> Result<usize> {
        let snaps = names(&self.dir, "snapshot.")?;
        let excess = snaps.len().saturating_sub(retain.max(1));
        for z in &snaps[..excess] {
            let path = self.dir.join(snapshot_name(*z));
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
        let oldest = snaps[excess..].first().copied();
        for z in names(&self.log_dir, "log.")? {
            if oldest.is_some_and(|oldest| z < oldest) {
                let path = self.log_dir.join(log_name(z));
                fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        Ok(excess)
    }

    fn log_path(&self, zxid: Zxid) -> PathBuf {
        self.log_dir.join(log_name(zxid))
    }
}

/// How far ahead of its records a log file is extended (ZooKeeper's `preAllocSize`, 64 MiB), so
/// that an append's `fdatasync` rarely has a file size to record.
pub const PREALLOC: u64 = 64 << 20;

/// The open transaction log: records are written at `end`; the file is extended by
/// [`PREALLOC`] at a time, zeros past `end` being preallocated space.
struct LogFile {
    file: File,
    path: PathBuf,
    end: u64,
    allocated: u64,
    /// Records were appended since the last `sync_data`.
    unsynced: bool,
    /// Under [`power_cut_fsync`]: the appended records not yet in the file, which start at
    /// `end - held.len()`.
    held: Vec<u8>,
}

/// The fault harness's disk (`ZABKEEPER_POWER_CUT=<ms>`, tests only): a log append reaches the
/// file only when its fsync returns, and an fsync takes that many milliseconds, so that a
/// `kill -9` loses what was not fsynced, as a machine's power cut loses the page cache (the
/// kernel would otherwise keep what a killed process wrote). Epoch files and snapshots are
/// fsynced before they are renamed into place, so they need no such care.
fn power_cut_fsync() -> Option<std::time::Duration> {
    static DELAY: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    *DELAY.get_or_init(|| {
        let ms = std::env::var("ZABKEEPER_POWER_CUT").ok()?.parse().ok()?;
        Some(std::time::Duration::from_millis(ms))
    })
}

impl LogFile {
    /// Opens (creating it if needed) the log at `path` whose records end at `end`.
    fn open(path: PathBuf, end: u64) -> Result<LogFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let allocated = file.metadata().map_err(io_err(&path))?.len();
        Ok(LogFile {
            file,
            path,
            end,
            allocated,
            unsynced: false,
            held: Vec::new(),
        })
    }

    /// Writes `records` after the last one, extending the file first when they do not fit,
    /// and makes them durable.
    fn append(&mut self, records: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let need = self.end + records.len() as u64;
        if need > self.allocated {
            let size = need.div_ceil(PREALLOC) * PREALLOC;
            self.file.set_len(size).map_err(io_err(&self.path))?;
            self.allocated = size;
        }
        if power_cut_fsync().is_some() {
            self.held.extend_from_slice(records);
        } else {
            self.file
                .write_all_at(records, self.end)
                .map_err(io_err(&self.path))?;
        }
        self.end = need;
        self.unsynced = true;
        Ok(())
    }

    /// Makes the appended records durable.
    fn sync(&mut self) -> Result<()> {
        use std::os::unix::fs::FileExt;
        if let Some(delay) = power_cut_fsync().filter(|_| self.unsynced) {
            std::thread::sleep(delay);
            let at = self.end - self.held.len() as u64;
            self.file
                .write_all_at(&self.held, at)
                .map_err(io_err(&self.path))?;
            self.held.clear();
        }
        if self.unsynced {
            self.file.sync_data().map_err(io_err(&self.path))?;
            self.unsynced = false;
        }
        Ok(())
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

fn summary(d: &ZkDurable) -> Saved {
    Saved {
        accepted_epoch: d.accepted_epoch,
        current_epoch: d.current_epoch,
        snapshot: d.snapshot.zxid,
        log_len: d.log.len(),
        log_last: d.log.last().map(|t| t.zxid),
    }
}
