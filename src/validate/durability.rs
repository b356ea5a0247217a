//! Architecture rule 3 on a real run: a message that vouches for saved state leaves only after
//! that state is durable.

use super::read::Logs;
use super::Rejection;
use crate::runtime::trace::Record;

/// Checks every process; returns how many vouching messages were sent.
pub fn check(logs: &Logs) -> Result<usize, Rejection> {
    let mut vouching = 0;
    for p in logs.servers.iter().flatten() {
        // The steps that saved, in order, and the last step the fsyncs so far covered.
        let mut saves: Vec<u64> = Vec::new();
        let mut durable: Option<u64> = None;
        for line in &p.lines {
            match &line.rec {
                Record::Step {
                    n, save: Some(_), ..
                } => saves.push(*n),
                Record::Durable { n } => durable = Some(*n),
                Record::Send {
                    n,
                    kind,
                    vouches: true,
                    dst,
                    ..
                } => {
                    vouching += 1;
                    let needed = saves.iter().rev().find(|&&s| s <= *n);
                    if let Some(&needed) = needed.filter(|&&s| durable.is_none_or(|d| d < s)) {
                        let covered = durable.map_or("none yet".to_string(), |d| d.to_string());
                        let reason = format!(
                            "server {} sent {kind} (step {n}) to server {dst} before the save of \
                             step {needed} was durable (the fsyncs so far covered steps up to \
                             {covered}): a message that vouches for saved state left before it",
                            p.server
                        );
                        return Err(logs.reject(p.server, line.no, reason));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(vouching)
}
