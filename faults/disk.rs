//! Disk faults: a server is killed, its data directory damaged, and it is started again. A
//! server must never serve or replicate wrong data from a damaged disk: it either refuses to
//! start, saying why (then the harness does what an operator would: removes its data and
//! starts it empty, to be brought back by a SNAP from the leader), or it recovers what it can
//! read and catches up from its peers. Which of the two happened is an event of the run; the
//! checkers decide whether any data went wrong or missing.

use crate::cluster::Cluster;
use crate::workload::Rng;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to do to the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// One byte in the written part of the newest log changed.
    FlipLog,
    /// One byte in the middle of the newest snapshot changed.
    FlipSnapshot,
    /// The newest log cut at a random point of its written part.
    CutLog,
    /// `version-2` removed (myid kept): the server starts empty.
    Wipe,
}

/// The newest file named `<prefix>.<hex zxid>` in `dir`.
fn newest(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(hex) = name.strip_prefix(&format!("{prefix}.")) else {
            continue;
        };
        let Ok(z) = u64::from_str_radix(hex, 16) else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| z > *b) {
            best = Some((z, e.path()));
        }
    }
    best.map(|(_, p)| p)
}

/// The length of a file's written part: preallocated logs end in zeros.
fn written(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}

/// Damages server `v`'s files; returns what was done.
fn damage(dir: &Path, d: Damage, rng: &mut Rng) -> Result<String, String> {
    let io = |e: std::io::Error| e.to_string();
    match d {
        Damage::Wipe => {
            std::fs::remove_dir_all(dir).map_err(io)?;
            Ok("removed version-2".into())
        }
        Damage::FlipLog | Damage::FlipSnapshot | Damage::CutLog => {
            let prefix = if d == Damage::FlipSnapshot {
                "snapshot"
            } else {
                "log"
            };
            let file = newest(dir, prefix).ok_or(format!("no {prefix} file"))?;
            let mut bytes = std::fs::read(&file).map_err(io)?;
            let end = written(&bytes);
            // Past the 8-byte format header.
            if end <= 9 {
                return Ok(format!("{} has no record to damage", file.display()));
            }
            let at = 8 + rng.below((end - 8) as u64) as usize;
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            if d == Damage::CutLog {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&file)
                    .map_err(io)?;
                f.set_len(at as u64).map_err(io)?;
                return Ok(format!("{name} cut at byte {at} of {end}"));
            }
            let at = if d == Damage::FlipSnapshot {
                8 + (end - 8) / 2
            } else {
                at
            };
            bytes[at] ^= 1 + rng.below(255) as u8;
            std::fs::write(&file, &bytes).map_err(io)?;
            Ok(format!("{name}: byte {at} of {end} changed"))
        }
    }
}

/// Kills server `v`, damages its disk, starts it again; if it refuses to start, logs why,
/// removes its data and starts it empty.
pub fn fault(c: &mut Cluster, v: usize, d: Damage, rng: &mut Rng, log: &dyn Fn(String)) {
    c.kill(v);
    let log_file = c.servers[v - 1].dir.join("server.log");
    let before = std::fs::metadata(&log_file).map_or(0, |m| m.len() as usize);
    let said = || -> String {
        let text = std::fs::read(&log_file).unwrap_or_default();
        let new = String::from_utf8_lossy(text.get(before..).unwrap_or_default()).to_string();
        let lines: Vec<&str> = new
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains("error"))
            .collect();
        let lines: Vec<&str> = lines
            .iter()
            .map(|l| l.split_once(": ").map_or(*l, |(_, m)| m))
            .collect();
        if lines.is_empty() {
            "nothing to say".into()
        } else {
            lines.join(" / ")
        }
    };
    let what = damage(&c.data(v), d, rng).unwrap_or_else(|e| format!("damage failed: {e}"));
    log(format!("disk of {v}: {what}"));
    if let Err(e) = c.launch(v) {
        log(format!("start {v} failed: {e}"));
        return;
    }
    // A refusal comes while the server reads its data directory.
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        if c.exited_expectedly().iter().any(|(i, _)| *i == v) {
            log(format!("{v} refused to start: {}", said()));
            let _ = std::fs::remove_dir_all(c.data(v));
            match c.launch(v) {
                Ok(()) => log(format!("{v} wiped and started empty")),
                Err(e) => log(format!("start {v} failed: {e}")),
            }
            return;
        }
        if c.mode(v).is_some() {
            log(format!("{v} started, saying: {}", said()));
            return;
        }
    }
}

/// The filler that makes a small disk full.
const FILLER: &str = "zz-filler";

/// Fills the filesystem of `data` up with a file of zeros; says how much it took.
pub fn fill(data: &Path) -> String {
    use std::io::Write;
    let Ok(mut f) = std::fs::File::create(data.join(FILLER)) else {
        return "could not create the filler".into();
    };
    let chunk = vec![0u8; 1 << 20];
    let mut written = 0usize;
    while f.write_all(&chunk).is_ok() {
        written += chunk.len();
    }
    // Whatever part of the last chunk fits.
    let page = vec![0u8; 4096];
    while f.write_all(&page).is_ok() {
        written += page.len();
    }
    format!("{} MiB written, now full", written >> 20)
}

/// Removes the filler, if any.
pub fn unfill(data: &Path) {
    let _ = std::fs::remove_file(data.join(FILLER));
}

/// The last warning or error server `dir` logged.
pub fn last_words(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("error"))
        .map(|l| l.split_once(": ").map_or(l, |(_, m)| m).to_string())
        .unwrap_or_else(|| "nothing logged".into())
}
