//! The data directory: what a save writes is what recovery reads, a torn tail is cut off with
//! a warning, a corrupt record before the tail stops recovery.

use crate::zk_wire::scratch;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use zabkeeper::runtime::storage::{DataDir, StorageError, ZkDurable, PREALLOC};
use zabkeeper::zab::{Snapshot, Txn, Zxid};
use zabkeeper::zk::txn::{TxnOp, ZkTxn};
use zabkeeper::zk::{Acl, DataTree};

fn txn(counter: u32) -> Txn<ZkTxn> {
    Txn {
        zxid: Zxid::new(1, counter),
        op: ZkTxn {
            session: 7,
            cxid: counter as i32,
            time: 0,
            op: TxnOp::Create {
                path: format!("/n{counter}"),
                // Every third create has null data, which must read back as null.
                data: (!counter.is_multiple_of(3)).then(|| vec![counter as u8; 10]),
                acl: Acl::open(),
                parent_cversion: counter as i32,
                owner: 0,
            },
        },
    }
}

fn durable(n: u32) -> ZkDurable {
    ZkDurable {
        accepted_epoch: 1,
        current_epoch: 1,
        snapshot: Snapshot {
            zxid: Zxid::ZERO,
            state: DataTree::default(),
        }
        .into(),
        log: (1..=n).map(txn).collect(),
    }
}

fn log_file(dir: &Path) -> PathBuf {
    dir.join("version-2").join("log.0")
}

/// Where the records of a log end (the 8-byte header, then `length | crc | body` each; zeros
/// after them).
fn records_end(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes[..8], zabkeeper::runtime::record::header());
    let mut at = 8;
    while let Some(header) = bytes.get(at..at + 4) {
        let len = u32::from_be_bytes(header.try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        at += 8 + len;
    }
    at as u64
}

#[test]
fn recovery_reads_back_what_was_saved_with_the_log_in_data_log_dir() {
    let base = scratch("storage-roundtrip");
    let (data, logs) = (base.join("data"), base.join("logs"));
    let (mut d, none, _) = DataDir::open(&data, &logs).unwrap();
    assert!(none.is_none(), "an empty directory holds nothing");
    d.save(&durable(2)).unwrap();
    d.save(&durable(5)).unwrap(); // appends three records
    let mut accepted = durable(5);
    accepted.accepted_epoch = 2;
    d.save(&accepted).unwrap();
    drop(d);
    assert!(log_file(&logs).exists(), "the log lives in dataLogDir");
    let size = std::fs::metadata(log_file(&logs)).unwrap().len();
    assert_eq!(
        size, PREALLOC,
        "the log is preallocated (ZooKeeper's preAllocSize)"
    );
    let (_, back, warnings) = DataDir::open(&data, &logs).unwrap();
    assert_eq!(back, Some(accepted));
    assert!(warnings.is_empty());
}

#[test]
fn a_torn_last_record_is_cut_off_with_a_warning() {
    let dir = scratch("storage-torn");
    let (mut d, _, _) = DataDir::open(&dir, &dir).unwrap();
    d.save(&durable(3)).unwrap();
    d.save(&durable(4)).unwrap(); // an append: the file is preallocated now
    drop(d);
    // A crash in the middle of an append: a length and half a body, in the preallocated space.
    let f = OpenOptions::new().write(true).open(log_file(&dir)).unwrap();
    let end = records_end(&log_file(&dir));
    f.write_all_at(&[0, 0, 0, 40, 1, 2, 3, 4, 5], end).unwrap();
    drop(f);
    let (_, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert_eq!(back, Some(durable(4)));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("torn record"), "{warnings:?}");
    // The cut is durable: a second recovery finds a clean log.
    let (_, _, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert!(warnings.is_empty());
}

#[test]
fn appends_after_a_restart_go_after_the_last_record_not_after_the_preallocated_space() {
    // The log is written at the end of its records, not at the end of the file.
    let dir = scratch("storage-prealloc");
    let (mut d, _, _) = DataDir::open(&dir, &dir).unwrap();
    d.save(&durable(2)).unwrap();
    drop(d);
    let (mut d, back, _) = DataDir::open(&dir, &dir).unwrap();
    assert_eq!(back, Some(durable(2)));
    d.save(&durable(4)).unwrap();
    drop(d);
    let (_, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert_eq!(back, Some(durable(4)));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(std::fs::metadata(log_file(&dir)).unwrap().len(), PREALLOC);
}

#[test]
fn a_corrupt_record_before_the_tail_stops_recovery() {
    let dir = scratch("storage-corrupt");
    let (mut d, _, _) = DataDir::open(&dir, &dir).unwrap();
    d.save(&durable(3)).unwrap();
    drop(d);
    let path = log_file(&dir);
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    // The header (8 bytes), then the first record: length, checksum, body from byte 16.
    let byte = std::fs::read(&path).unwrap()[20];
    f.write_all_at(&[byte ^ 0xff], 20).unwrap(); // inside the first record's body
    drop(f);
    match DataDir::open(&dir, &dir) {
        Err(StorageError::Corrupt { offset, .. }) => assert_eq!(offset, 8),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("served from a corrupt log"),
    }
}

#[test]
fn new_snapshots_replace_the_log_and_purge_keeps_the_newest() {
    // autopurge.snapRetainCount: the newest snapshots are kept. These snapshots are at zxids
    // the saved log never held (as a SNAP from the leader brings): each starts a new chain,
    // so the older logs go at once.
    let dir = scratch("storage-purge");
    let (mut d, _, _) = DataDir::open(&dir, &dir).unwrap();
    let mut durable = durable(0);
    for k in 1..=5u32 {
        durable.log.push(txn(k));
        durable.snapshot = Snapshot {
            zxid: Zxid::new(1, k),
            state: DataTree::default(),
        }
        .into();
        durable.log.clear();
        d.save(&durable).unwrap();
    }
    let names = |prefix: &str| files(&dir, prefix);
    assert_eq!(names("log."), vec!["log.100000005"]);
    assert_eq!(names("snapshot.").len(), 5);
    assert_eq!(d.purge(3).unwrap(), 2);
    assert_eq!(
        names("snapshot."),
        vec![
            "snapshot.100000003",
            "snapshot.100000004",
            "snapshot.100000005"
        ]
    );
    drop(d);
    let (_, back, _) = DataDir::open(&dir, &dir).unwrap();
    assert_eq!(back.unwrap().snapshot.zxid, Zxid::new(1, 5));
}

/// `dataDir/version-2`'s files starting with `prefix`, sorted.
fn files(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("version-2"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && !n.ends_with(".tmp"))
        .collect();
    v.sort();
    v
}

/// Seven writes, with a snapshot taken (as the actor does) after the 2nd, 4th and 6th;
/// `batched`: each snapshot in the same group commit as the write it covers.
fn chain_of_snapshots(dir: &Path, batched: bool) -> DataDir {
    let (mut d, _, _) = DataDir::open(dir, dir).unwrap();
    let mut durable = durable(0);
    for k in 1..=7u32 {
        durable.log.push(txn(k));
        d.stage.stage(&durable);
        if !batched {
            d.commit().unwrap();
        }
        if k % 2 == 0 && k < 7 {
            durable.snapshot = Snapshot {
                zxid: Zxid::new(1, k),
                state: DataTree::default(),
            }
            .into();
            durable.log.clear();
            d.stage.stage(&durable);
        }
        d.commit().unwrap();
    }
    d
}

fn damage(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

fn zxids(d: &ZkDurable) -> Vec<u32> {
    d.log.iter().map(|t| t.zxid.counter()).collect()
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_one_and_its_logs() {
    // ZooKeeper's FileTxnSnapLog tries older snapshots too. A snapshot taken from the log
    // keeps that log, so an older snapshot plus the logs after it is the same history.
    for batched in [false, true] {
        fallback(batched);
    }
}

fn fallback(batched: bool) {
    let dir = scratch(&format!("storage-fallback-{batched}"));
    drop(chain_of_snapshots(&dir, batched));
    assert_eq!(
        files(&dir, "log."),
        vec!["log.0", "log.100000002", "log.100000004", "log.100000006"]
    );
    damage(&dir.join("version-2/snapshot.100000006"));
    let (d, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    drop(d);
    let back = back.unwrap();
    assert_eq!(back.snapshot.zxid, Zxid::new(1, 4));
    assert_eq!(zxids(&back), vec![5, 6, 7], "every write is still there");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("trying an older snapshot")),
        "{warnings:?}"
    );
    assert!(files(&dir, "snapshot.").contains(&"snapshot.100000006.damaged".to_string()));
    // The recovered chain was written back: the next start needs no fallback.
    let (_, again, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(zxids(&again.unwrap()), vec![5, 6, 7]);
    // Two damaged snapshots: back to the one before them.
    damage(&dir.join("version-2/snapshot.100000004"));
    let (_, back, _) = DataDir::open(&dir, &dir).unwrap();
    let back = back.unwrap();
    assert_eq!(back.snapshot.zxid, Zxid::new(1, 2));
    assert_eq!(zxids(&back), vec![3, 4, 5, 6, 7]);
}

#[test]
fn a_damaged_snapshot_without_a_chain_of_logs_stops_recovery() {
    // The older log that leads to the damaged snapshot is gone: refuse, do not serve a
    // history with a hole.
    let dir = scratch("storage-nochain");
    drop(chain_of_snapshots(&dir, false));
    std::fs::remove_file(dir.join("version-2/log.100000004")).unwrap();
    damage(&dir.join("version-2/snapshot.100000006"));
    match DataDir::open(&dir, &dir) {
        Err(e @ StorageError::Corrupt { .. }) => {
            let text = e.to_string();
            assert!(text.contains("snapshot.100000006"), "{text}");
            assert!(text.contains("no older snapshot leads to it"), "{text}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("recovered across a missing log"),
    }
}

#[test]
fn a_snapshot_from_the_leader_starts_a_new_chain_and_purge_takes_logs_with_snapshots() {
    let dir = scratch("storage-chains");
    let mut d = chain_of_snapshots(&dir, true);
    // autopurge with snapRetainCount 3: the oldest snapshot and its log go.
    assert_eq!(d.purge(3).unwrap(), 1);
    assert_eq!(
        files(&dir, "log."),
        vec!["log.100000002", "log.100000004", "log.100000006"]
    );
    // SNAP: a snapshot at a zxid this server's log never held; the older logs do not lead to
    // it, so they go (the older snapshots stay until purged).
    let mut snap = durable(0);
    snap.snapshot = Snapshot {
        zxid: Zxid::new(2, 9),
        state: DataTree::default(),
    }
    .into();
    d.save(&snap).unwrap();
    assert_eq!(files(&dir, "log."), vec!["log.200000009"]);
}

/// Writes 1..=4, then takes a snapshot at 3 (log [4]) with 5 appended in the same group
/// commit, as the log writer gets it: the snapshot goes to its own thread, and the log stays
/// the open one until the writer puts the snapshot in place.
fn snapshot_in_flight(dir: &Path) -> (DataDir, ZkDurable) {
    let (mut d, _, _) = DataDir::open(dir, dir).unwrap();
    let mut durable = durable(4);
    d.save(&durable).unwrap();
    durable.snapshot = Snapshot {
        zxid: Zxid::new(1, 3),
        state: DataTree::default(),
    }
    .into();
    durable.log.drop_front(3);
    d.stage.stage(&durable);
    durable.log.push(txn(5));
    d.stage.stage(&durable);
    let job = d.stage.take().expect("staged");
    d.files.write(job).unwrap();
    d.files.sync().unwrap();
    (d, durable)
}

#[test]
fn a_crash_while_a_snapshot_is_written_recovers_every_write_from_the_older_one() {
    // The snapshot vouches for nothing new: until it is in place, the old snapshot and the
    // log it was taken from (which got 5 too) are the history.
    let dir = scratch("storage-snapshot-crash");
    let (d, _) = snapshot_in_flight(&dir);
    assert!(d.files.snapshotting());
    assert_eq!(files(&dir, "snapshot."), vec!["snapshot.0"]);
    drop(d); // a crash: the snapshot is never renamed into place
    let (_, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let back = back.unwrap();
    assert_eq!(back.snapshot.zxid, Zxid::ZERO);
    assert_eq!(zxids(&back), vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_snapshot_written_on_its_own_thread_takes_its_log_and_the_appends_after_it() {
    let dir = scratch("storage-snapshot-thread");
    let (mut d, mut durable) = snapshot_in_flight(&dir);
    d.files.finish_snapshot(true).unwrap();
    assert!(!d.files.snapshotting());
    assert_eq!(
        files(&dir, "snapshot."),
        vec!["snapshot.0", "snapshot.100000003"]
    );
    assert_eq!(files(&dir, "log."), vec!["log.0", "log.100000003"]);
    // snapshot.0 by the first save, then this one.
    let written: Vec<Zxid> = d.files.written_snapshots().iter().map(|w| w.0).collect();
    assert_eq!(written, vec![Zxid::ZERO, Zxid::new(1, 3)]);
    // Appends now go to the new snapshot's log.
    durable.log.push(txn(6));
    d.save(&durable).unwrap();
    drop(d);
    let (_, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let back = back.unwrap();
    assert_eq!(back.snapshot.zxid, Zxid::new(1, 3));
    assert_eq!(zxids(&back), vec![4, 5, 6]);
    // The older snapshot's log leads to the new one: a damaged new snapshot falls back.
    damage(&dir.join("version-2/snapshot.100000003"));
    let (_, back, _) = DataDir::open(&dir, &dir).unwrap();
    let back = back.unwrap();
    assert_eq!(back.snapshot.zxid, Zxid::ZERO);
    assert_eq!(zxids(&back), vec![1, 2, 3, 4, 5, 6]);
}

/// `durable(n)` with its first `upto` transactions folded into the snapshot, as the actor's
/// `commitLogCount` folds them.
fn folded(upto: u32, n: u32) -> ZkDurable {
    let mut tree = DataTree::default();
    for t in (1..=upto).map(txn) {
        tree.apply_txn(t.zxid.0 as i64, &t.op);
    }
    ZkDurable {
        snapshot: Snapshot {
            zxid: Zxid::new(1, upto),
            state: tree,
        }
        .into(),
        log: (upto + 1..=n).map(txn).collect(),
        ..durable(0)
    }
}

fn snapshots(dir: &Path) -> Vec<String> {
    files(dir, "snapshot.")
}

#[test]
fn the_actor_s_folds_are_written_as_snapshots_only_every_snap_count() {
    // With snapCount 6, a fold of the log into the snapshot (the actor's commitLogCount)
    // writes no snapshot while the current log holds fewer than 6 transactions: the disk
    // keeps the older snapshot and the longer log, which recover the same tree. The first
    // fold after that writes its snapshot.
    let dir = scratch("storage-folds");
    let (mut d, _, _) = DataDir::open(&dir, &dir).unwrap();
    d.stage.write_snapshots_every(6);
    d.save(&durable(4)).unwrap();
    let before = snapshots(&dir);
    d.save(&folded(3, 5)).unwrap();
    assert_eq!(
        snapshots(&dir),
        before,
        "a fold before snapCount writes no snapshot"
    );
    drop(d);
    let (mut d, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let back = back.unwrap();
    assert_eq!((back.snapshot.zxid, back.log.len()), (Zxid::ZERO, 5));
    let mut tree = back.snapshot.state.clone();
    for t in &back.log[..3] {
        tree.apply_txn(t.zxid.0 as i64, &t.op);
    }
    assert_eq!(
        tree,
        folded(3, 5).snapshot.state,
        "the older snapshot and log lead to the fold"
    );
    assert_eq!(back.log[3..], folded(3, 5).log[..]);
    // The actor's view after recovery is the disk's; it folds again, now past snapCount.
    d.stage.write_snapshots_every(6);
    d.save(&folded(5, 7)).unwrap();
    assert_eq!(
        snapshots(&dir).len(),
        before.len() + 1,
        "{:?}",
        snapshots(&dir)
    );
    drop(d);
    let (_, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(back, Some(folded(5, 7)));
}

#[test]
fn a_log_that_diverges_after_an_unwritten_fold_leaves_no_older_chain_behind() {
    // After a fold that wrote no snapshot, the older log holds the transactions past the
    // fold. If the log then diverges (TRUNC), the fold is written as a snapshot with the new
    // log, and the older snapshot and log go: falling back to them would bring back what
    // was truncated (an older snapshot without its log is never a way back: recovery stops).
    let dir = scratch("storage-fold-diverged");
    let (mut d, _, _) = DataDir::open(&dir, &dir).unwrap();
    d.stage.write_snapshots_every(100);
    d.save(&durable(4)).unwrap();
    d.save(&folded(3, 5)).unwrap();
    let mut diverged = folded(3, 3);
    diverged.accepted_epoch = 2;
    diverged.current_epoch = 2;
    let mut other = txn(9);
    other.zxid = Zxid::new(2, 1);
    diverged.log = vec![other].into();
    d.save(&diverged).unwrap();
    drop(d);
    let (_, back, warnings) = DataDir::open(&dir, &dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(back, Some(diverged));
    assert_eq!(
        files(&dir, "log."),
        [format!("log.{:x}", Zxid::new(1, 3).0)],
        "the older log is gone"
    );
}
