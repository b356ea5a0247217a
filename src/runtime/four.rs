//! The four-letter words (`echo srvr | nc host 2181`), answered from the server's state
//! between two steps, and only when `4lw.commands.whitelist` lets them.

use super::node::{role_name, Event};
use crate::zab::ServerState;
use crate::zk::DataTree;
use std::sync::mpsc::Sender;

/// The words zabkeeper answers.
pub const WORDS: [&str; 13] = [
    "ruok", "srvr", "stat", "isro", "mntr", "conf", "envi", "cons", "wchs", "wchc", "wchp", "dump",
    "dirs",
];

/// The version string the words report.
pub const VERSION: &str = concat!("3.8.0-zabkeeper-", env!("CARGO_PKG_VERSION"));

/// The word a connection opened with, if its first four bytes are one.
pub fn command(header: &[u8; 4]) -> Option<&'static str> {
    let text = std::str::from_utf8(header).ok()?;
    WORDS.iter().copied().find(|w| *w == text)
}

/// What the words need to know besides the state.
pub struct Context {
    /// `4lw.commands.whitelist`.
    pub whitelist: Vec<String>,
    /// Whether the server is standalone (`Mode: standalone`).
    pub standalone: bool,
    /// Whether it votes.
    pub voter: bool,
    /// `conf`'s lines.
    pub conf: Vec<(String, String)>,
    /// Open client connections.
    pub connections: std::sync::Arc<super::client::Registry>,
    /// The data directory (`dirs`).
    pub data_dir: std::path::PathBuf,
}

impl Context {
    /// The answer to `cmd`.
    pub async fn answer(&self, cmd: &str, inbox: &Sender<Event>) -> String {
        if !self.whitelist.iter().any(|w| w == "*" || w == cmd) {
            return format!("{cmd} is not executed because it is not in the whitelist.\n");
        }
        match cmd {
            "ruok" => return "imok".to_string(),
            "conf" => {
                return self
                    .conf
                    .iter()
                    .map(|(k, v)| format!("{k}={v}\n"))
                    .collect()
            }
            "envi" => return envi(),
            "dirs" => {
                let size = dir_size(&self.data_dir);
                return format!("datadir_size: {size}\nlogdir_size: {size}\n");
            }
            _ => {}
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let seen = Seen {
            standalone: self.standalone,
            voter: self.voter,
            addresses: self.connections.addresses(),
            packets: self.connections.packets(),
        };
        let cmd = cmd.to_string();
        let inspect = move |st: &ServerState<DataTree>| {
            let _ = tx.send(describe(&cmd, st, &seen));
        };
        if inbox.send(Event::Inspect(Box::new(inspect))).is_err() {
            return "This ZooKeeper instance is not currently serving requests\n".to_string();
        }
        rx.await.unwrap_or_default()
    }
}

/// What the runtime knows that the actor's state does not.
struct Seen {
    standalone: bool,
    voter: bool,
    /// Client connections' peer addresses by id.
    addresses: std::collections::BTreeMap<usize, std::net::SocketAddr>,
    /// Frames received from and sent to clients.
    packets: (u64, u64),
}

fn mode(st: &ServerState<DataTree>, seen: &Seen) -> &'static str {
    if seen.standalone {
        "standalone"
    } else {
        role_name(st, seen.voter)
    }
}

fn describe(cmd: &str, st: &ServerState<DataTree>, seen: &Seen) -> String {
    let serving = st.local.serving;
    if !serving && cmd != "isro" {
        return "This ZooKeeper instance is not currently serving requests\n".to_string();
    }
    match cmd {
        "cons" => cons(st, seen),
        "dump" => dump(st),
        "wchs" | "wchc" | "wchp" => watches(cmd, st),
        "isro" => if serving { "rw" } else { "null" }.to_string(),
        "mntr" => mntr(st, seen),
        _ => srvr(cmd == "stat", st, seen),
    }
}

/// Requests received and not answered yet, over every connection.
fn outstanding(st: &ServerState<DataTree>) -> usize {
    st.local.conns.values().map(|c| c.queue.len()).sum()
}

/// `srvr`, and `stat` with its client list. Latency is not measured yet (reported as 0).
fn srvr(stat: bool, st: &ServerState<DataTree>, seen: &Seen) -> String {
    let clients = if stat {
        format!("Clients:\n{}", cons(st, seen))
    } else {
        String::new()
    };
    format!(
        "Zookeeper version: {VERSION}\n{clients}Latency min/avg/max: 0/0.0/0\nReceived: {}\n\
         Sent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\nMode: {}\n\
         Node count: {}\n",
        seen.packets.0,
        seen.packets.1,
        seen.addresses.len(),
        outstanding(st),
        st.committed.0,
        mode(st, seen),
        st.sm.nodes().len()
    )
}

fn mntr(st: &ServerState<DataTree>, seen: &Seen) -> String {
    let ephemerals: usize = st
        .sm
        .sessions()
        .keys()
        .map(|s| st.sm.ephemerals(*s).count())
        .sum();
    let data: usize = st
        .sm
        .nodes()
        .iter()
        .map(|(path, n)| path.len() + n.data.len())
        .sum();
    let mut out = format!(
        "zk_version\t{VERSION}\nzk_server_state\t{}\nzk_ephemerals_count\t{ephemerals}\n\
         zk_num_alive_connections\t{}\nzk_outstanding_requests\t{}\nzk_znode_count\t{}\n\
         zk_global_sessions\t{}\nzk_packets_received\t{}\nzk_packets_sent\t{}\n\
         zk_watch_count\t{}\nzk_approximate_data_size\t{data}\n",
        mode(st, seen),
        seen.addresses.len(),
        outstanding(st),
        st.sm.nodes().len(),
        st.sm.sessions().len(),
        seen.packets.0,
        seen.packets.1,
        st.local.watches.list().len(),
    );
    if let crate::zab::Role::Leading(l) = &st.role {
        let learners = l.cepoch.len().saturating_sub(1);
        let synced = l.synced.len();
        out.push_str(&format!(
            "zk_learners\t{learners}\nzk_synced_followers\t{synced}\n"
        ));
    }
    out
}

fn envi() -> String {
    let mut out = String::from("Environment:\n");
    out.push_str(&format!("zookeeper.version={VERSION}\n"));
    if let Ok(host) = std::env::var("HOSTNAME") {
        out.push_str(&format!("host.name={host}\n"));
    }
    out.push_str(&format!("os.name={}\n", std::env::consts::OS));
    out.push_str(&format!("os.arch={}\n", std::env::consts::ARCH));
    if let Ok(dir) = std::env::current_dir() {
        out.push_str(&format!("user.dir={}\n", dir.display()));
    }
    out
}

/// One line per client connection, as ZooKeeper's `cons` prints them.
fn cons(st: &ServerState<DataTree>, seen: &Seen) -> String {
    let mut out = String::new();
    for (id, addr) in &seen.addresses {
        match st.local.conns.get(id) {
            Some(c) => out.push_str(&format!(
                " /{addr}[1](queued={},sid=0x{:x},to={})\n",
                c.queue.len(),
                c.session,
                c.timeout
            )),
            None => out.push_str(&format!(" /{addr}[0](queued=0)\n")),
        }
    }
    out.push('\n');
    out
}

/// `wchs` (summary), `wchc` (by session), `wchp` (by path).
fn watches(cmd: &str, st: &ServerState<DataTree>) -> String {
    use std::collections::{BTreeMap, BTreeSet};
    let all = st.local.watches.list();
    let mut by_path: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let mut by_session: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
    for (path, session, _) in &all {
        by_path.entry(path).or_default().insert(*session);
        by_session.entry(*session).or_default().insert(path);
    }
    if cmd == "wchs" {
        return format!(
            "{} connections watching {} paths\nTotal watches:{}\n",
            by_session.len(),
            by_path.len(),
            all.len()
        );
    }
    let mut out = String::new();
    if cmd == "wchc" {
        for (session, paths) in &by_session {
            out.push_str(&format!("0x{session:x}\n"));
            paths.iter().for_each(|p| out.push_str(&format!("\t{p}\n")));
        }
    } else {
        for (path, sessions) in &by_path {
            out.push_str(&format!("{path}\n"));
            sessions
                .iter()
                .for_each(|s| out.push_str(&format!("\t0x{s:x}\n")));
        }
    }
    out
}

/// `dump`: the sessions and their ephemerals.
fn dump(st: &ServerState<DataTree>) -> String {
    let sessions = st.sm.sessions();
    let n = sessions.len();
    let mut out = format!("SessionTracker dump:\nSession Sets ({n})/({n}):\n");
    for (s, timeout) in sessions {
        out.push_str(&format!("\t0x{s:x} (timeout {timeout} ms)\n"));
    }
    let owners: Vec<i64> = sessions
        .keys()
        .copied()
        .filter(|s| st.sm.ephemerals(*s).next().is_some())
        .collect();
    out.push_str(&format!(
        "ephemeral nodes dump:\nSessions with Ephemerals ({}):\n",
        owners.len()
    ));
    for s in owners {
        out.push_str(&format!("0x{s:x}:\n"));
        st.sm
            .ephemerals(s)
            .for_each(|p| out.push_str(&format!("\t{p}\n")));
    }
    out
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
