//! Reading the servers' trace files into processes.

use super::Rejection;
use crate::runtime::storage::ZkDurable;
use crate::runtime::trace::{self, Record};
use crate::runtime::ActorParams;
use std::path::{Path, PathBuf};

/// One line of a trace.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its number in the file (1-based).
    pub no: usize,
    /// What it records.
    pub rec: Record,
}

/// One process of a server: from a start line to the next (or the end of the file).
#[derive(Debug, Clone)]
pub struct Process {
    /// The server's index.
    pub server: usize,
    /// 0 for the first start, then 1, 2, ... for each restart.
    pub ordinal: usize,
    /// The start line's number.
    pub line: usize,
    /// What the actor was built from.
    pub params: ActorParams,
    /// The durable state recovery found.
    pub recovered: Option<ZkDurable>,
    /// The lines after the start line.
    pub lines: Vec<Line>,
}

/// Every server's processes, in order.
#[derive(Debug, Clone)]
pub struct Logs {
    /// The trace directory.
    pub dir: PathBuf,
    /// By server index; a server that never started has none.
    pub servers: Vec<Vec<Process>>,
}

impl Logs {
    /// The file of server `i`, for messages.
    pub fn file(&self, i: usize) -> String {
        self.dir.join(trace::file_name(i)).display().to_string()
    }

    /// A rejection at line `no` of server `i`'s file.
    pub fn reject(&self, i: usize, no: usize, reason: String) -> Rejection {
        Rejection {
            file: self.file(i),
            line: no,
            reason,
        }
    }
}

/// Reads `dir/server-<i>.trace` for every server.
pub fn read(dir: &Path) -> Result<Logs, Rejection> {
    let whole = |reason: String| Rejection {
        file: dir.display().to_string(),
        line: 0,
        reason,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| whole(e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| whole(e.to_string()))?.file_name();
        let name = name.to_string_lossy();
        let index = name
            .strip_prefix("server-")
            .and_then(|n| n.strip_suffix(".trace"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(i) = index {
            files.push(i);
        }
    }
    if files.is_empty() {
        return Err(whole("no server-<index>.trace files".into()));
    }
    let size = files.iter().max().map_or(0, |m| m + 1);
    let mut logs = Logs {
        dir: dir.to_path_buf(),
        servers: vec![Vec::new(); size],
    };
    for i in files {
        logs.servers[i] = read_file(&logs, i)?;
    }
    let params = logs.servers.iter().flatten().map(|p| &p.params);
    let first = params.clone().next().expect("a process").clone();
    if let Some(other) = params.clone().find(|p| **p != first) {
        return Err(whole(format!(
            "the servers' actors differ: {first:?} and {other:?}"
        )));
    }
    if size > first.voters + first.observers {
        return Err(whole(format!(
            "a trace of server {} in an ensemble of {}",
            size - 1,
            first.voters + first.observers
        )));
    }
    logs.servers
        .resize(first.voters + first.observers, Vec::new());
    Ok(logs)
}

fn read_file(logs: &Logs, i: usize) -> Result<Vec<Process>, Rejection> {
    let text = std::fs::read_to_string(logs.dir.join(trace::file_name(i)))
        .map_err(|e| logs.reject(i, 0, e.to_string()))?;
    let mut procs: Vec<Process> = Vec::new();
    let mut next_step = 0;
    for (k, raw) in text.lines().enumerate() {
        let no = k + 1;
        let rec: Record = serde_json::from_str(raw)
            .map_err(|e| logs.reject(i, no, format!("not a trace record: {e}")))?;
        if let Record::Start {
            params, recovered, ..
        } = &rec
        {
            let recovered = match recovered {
                None => None,
                Some(hex) => Some(decode_durable(hex).map_err(|e| logs.reject(i, no, e))?),
            };
            next_step = 0;
            procs.push(Process {
                server: i,
                ordinal: procs.len(),
                line: no,
                params: params.clone(),
                recovered,
                lines: vec![Line { no, rec }],
            });
            continue;
        }
        let Some(p) = procs.last_mut() else {
            return Err(logs.reject(i, no, "a record before any start".into()));
        };
        if let Record::Step { n, .. } = &rec {
            if *n != next_step {
                let reason = format!("step {n} where step {next_step} comes: a step is missing");
                return Err(logs.reject(i, no, reason));
            }
            next_step += 1;
        }
        p.lines.push(Line { no, rec });
    }
    Ok(procs)
}

fn decode_durable(hex: &str) -> Result<ZkDurable, String> {
    let bytes = trace::unhex(hex).ok_or("the recovered state is not hex")?;
    postcard::from_bytes(&bytes).map_err(|e| format!("the recovered state does not decode: {e}"))
}
