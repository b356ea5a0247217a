//! `validate-trace` must fail on a trace changed where it matters: each change below is made to
//! a copy of a real run's valid trace (the fault run of runtime_faults.rs), and each must be
//! rejected at the changed line, with the reason.

use serde_json::Value;
use std::path::{Path, PathBuf};
use zabkeeper::runtime::storage::ZkDurable;
use zabkeeper::runtime::trace::{hex, unhex};

/// A trace file as JSON values, one per line.
struct File {
    path: PathBuf,
    lines: Vec<Value>,
}

impl File {
    fn read(path: PathBuf) -> File {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        File { path, lines }
    }

    fn write(&self) {
        let text: String = self.lines.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&self.path, text).unwrap();
    }
}

/// Copies `trace` to a fresh directory, changes server files with `change`, and returns what
/// validation said (the change's line must be named: `change` returns (server, line)).
fn mutated(trace: &Path, name: &str, change: impl FnOnce(&mut [File]) -> (usize, usize)) {
    let dir = trace.with_file_name(format!("mutated-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for i in 0.. {
        let from = trace.join(format!("server-{i}.trace"));
        if !from.exists() {
            break;
        }
        let to = dir.join(format!("server-{i}.trace"));
        std::fs::copy(&from, &to).unwrap();
        files.push(File::read(to));
    }
    let (server, line) = change(&mut files);
    for f in &files {
        f.write();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zabkeeper"))
        .arg("validate-trace")
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{name}: not rejected:\n{text}");
    let at = format!("server-{server}.trace:{}:", line + 1);
    assert!(
        text.contains(&at),
        "{name}: rejected elsewhere than {at}:\n{text}"
    );
    eprintln!("{name}: {}", text.trim());
}

fn is(v: &Value, t: &str) -> bool {
    v["t"] == t
}

/// Every change must be rejected: the connections' FIFO, the fsync before a vouching message,
/// the replayed outputs, the recovered state, the timers, the connections the model reset.
pub fn changes_are_rejected(trace: &Path) {
    // Two messages of one connection read in swapped order.
    mutated(trace, "swapped-reads", |files| {
        for (i, f) in files.iter_mut().enumerate() {
            let peer = |v: &Value| is(v, "step") && v["input"]["k"] == "peer";
            let steps: Vec<usize> = (0..f.lines.len()).filter(|&k| peer(&f.lines[k])).collect();
            for w in steps.windows(2) {
                let (a, b) = (&f.lines[w[0]]["input"], &f.lines[w[1]]["input"]);
                if a["conn"] == b["conn"] && a["d"] != b["d"] {
                    let (a, b) = (a.clone(), b.clone());
                    f.lines[w[0]]["input"] = b;
                    f.lines[w[1]]["input"] = a;
                    return (i, w[0]);
                }
            }
        }
        panic!("no two different reads on one connection")
    });
    // A vouching message sent with its fsync's line gone.
    mutated(trace, "no-fsync", |files| {
        for (i, f) in files.iter_mut().enumerate() {
            for k in 1..f.lines.len() {
                let sent = is(&f.lines[k], "send") && f.lines[k]["vouches"] == true;
                if sent && is(&f.lines[k - 1], "durable") {
                    f.lines.remove(k - 1);
                    return (i, k - 1);
                }
            }
        }
        panic!("no vouching message right after an fsync")
    });
    // A step whose logged outputs are not what the actor does on its input: a reply to a
    // client removed.
    mutated(trace, "other-outputs", |files| {
        for (i, f) in files.iter_mut().enumerate() {
            for (k, v) in f.lines.iter_mut().enumerate() {
                let to_client = |s: &Value| s["kind"] == "Client";
                let sends = v["sends"].as_array_mut();
                if let Some(sends) = sends.filter(|s| s.iter().any(to_client)) {
                    let at = sends.iter().position(to_client).unwrap();
                    sends.remove(at);
                    return (i, k);
                }
            }
        }
        panic!("no reply to a client")
    });
    // A restart from a state its previous process never saved.
    mutated(trace, "other-recovery", |files| {
        for (i, f) in files.iter_mut().enumerate() {
            let starts: Vec<usize> = (0..f.lines.len())
                .filter(|&k| is(&f.lines[k], "start") && !f.lines[k]["recovered"].is_null())
                .collect();
            if let Some(&k) = starts.iter().find(|&&k| k > 0) {
                let bytes = unhex(f.lines[k]["recovered"].as_str().unwrap()).unwrap();
                let mut d: ZkDurable = postcard::from_bytes(&bytes).unwrap();
                d.current_epoch += 1;
                f.lines[k]["recovered"] = Value::String(hex(&postcard::to_stdvec(&d).unwrap()));
                return (i, k);
            }
        }
        panic!("no restart from a saved state")
    });
    // A read from a connection after the reader was told it broke.
    mutated(trace, "read-after-break", |files| {
        for (i, f) in files.iter_mut().enumerate() {
            for k in 0..f.lines.len() {
                let v = &f.lines[k];
                if !(is(v, "step") && v["input"]["k"] == "broken") {
                    continue;
                }
                let (src, conn) = (v["input"]["src"].clone(), v["input"]["conn"].clone());
                let later = (k + 1..f.lines.len()).find(|&j| {
                    let w = &f.lines[j];
                    is(w, "step") && w["input"]["k"] == "peer" && w["input"]["src"] == src
                });
                if let Some(j) = later {
                    f.lines[j]["input"]["conn"] = conn;
                    return (i, j);
                }
            }
        }
        panic!("no read after a broken connection")
    });
    // FLE's finalizeWait fires twice (the second time it is no longer set). Postcard writes
    // `Timer::Finalize` as the byte 01.
    mutated(trace, "timer-twice", |files| {
        for (i, f) in files.iter_mut().enumerate() {
            let timer = |v: &Value| is(v, "step") && v["input"]["timer"] == "01";
            let Some(k) = (0..f.lines.len()).find(|&k| timer(&f.lines[k])) else {
                continue;
            };
            let Some(next) = (k + 1..f.lines.len()).find(|&j| {
                is(&f.lines[j], "step")
                    && f.lines[j]["input"]["k"] == "local"
                    && f.lines[j]["sends"].as_array().is_some_and(|s| s.is_empty())
                    && f.lines[j]["save"].is_null()
            }) else {
                continue;
            };
            f.lines[next]["input"] = f.lines[k]["input"].clone();
            return (i, next);
        }
        panic!("no timer step")
    });
}
