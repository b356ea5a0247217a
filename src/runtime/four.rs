//! The four-letter words (`echo srvr | nc host 2181`), answered from the server's state
//! between two steps, and only when `4lw.commands.whitelist` lets them.

use super::node::role_name;
use super::stats::{wall_ms, ClientStats, ConnView, Latency, WriterStats};
use super::Event;
use crate::zab::ServerState;
use crate::zk::ZooKeeper;
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
    /// The data directory (`dirs`, `conf`).
    pub data_dir: std::path::PathBuf,
    /// The transaction log directory (`dirs`, `conf`).
    pub data_log_dir: std::path::PathBuf,
    /// `tickTime` in ms (`dump`'s expiry times).
    pub tick_ms: u64,
    /// The log writer's group commits (`mntr`).
    pub writer: std::sync::Arc<WriterStats>,
}

impl Context {
    /// The answer to `cmd`, given the client port's counters now.
    pub async fn answer(&self, cmd: &str, clients: ClientStats, inbox: &Sender<Event>) -> String {
        if !self.whitelist.iter().any(|w| w == "*" || w == cmd) {
            return format!("{cmd} is not executed because it is not in the whitelist.\n");
        }
        match cmd {
            "ruok" => return "imok".to_string(),
            "conf" => return self.conf(),
            "envi" => return envi(),
            "dirs" => {
                let (data, log) = (dir_size(&self.data_dir), dir_size(&self.data_log_dir));
                return format!("datadir_size: {data}\nlogdir_size: {log}\n");
            }
            _ => {}
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let seen = Seen {
            standalone: self.standalone,
            voter: self.voter,
            conns: clients.conns,
            packets: clients.packets,
            latency: clients.latency,
            uptime_ms: clients.uptime_ms,
            tick_ms: self.tick_ms,
            writer: self.writer.view(),
        };
        let cmd = cmd.to_string();
        let inspect = move |st: &ServerState<ZooKeeper>| {
            let _ = tx.send(describe(&cmd, st, &seen));
        };
        if inbox.send(Event::Inspect(Box::new(inspect))).is_err() {
            return "This ZooKeeper instance is not currently serving requests\n".to_string();
        }
        rx.await.unwrap_or_default()
    }

    /// `conf`: the configuration lines, with the directories' sizes after the directories.
    fn conf(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.conf {
            out.push_str(&format!("{k}={v}\n"));
            match k.as_str() {
                "dataDir" => out.push_str(&format!("dataDirSize={}\n", dir_size(&self.data_dir))),
                "dataLogDir" => {
                    let size = dir_size(&self.data_log_dir);
                    out.push_str(&format!("dataLogSize={size}\n"));
                }
                _ => {}
            }
        }
        out
    }
}

/// What the runtime knows that the actor's state does not.
struct Seen {
    standalone: bool,
    voter: bool,
    /// Client connections' peer addresses and counters, by id.
    conns: std::collections::BTreeMap<usize, (std::net::SocketAddr, ConnView)>,
    /// Frames received from and sent to clients.
    packets: (u64, u64),
    /// Request latencies.
    latency: Latency,
    uptime_ms: u64,
    tick_ms: u64,
    /// fsync times (ms), transactions per group commit, snapshot times (ms).
    writer: (Latency, Latency, Latency),
}

fn mode(st: &ServerState<ZooKeeper>, seen: &Seen) -> &'static str {
    if st.local.read_only {
        "read-only"
    } else if seen.standalone {
        "standalone"
    } else {
        role_name(st, seen.voter)
    }
}

fn describe(cmd: &str, st: &ServerState<ZooKeeper>, seen: &Seen) -> String {
    // A read-only server answers as ZooKeeper's ReadOnlyZooKeeperServer does.
    let serving = st.local.serving || st.local.read_only;
    if !serving && cmd != "isro" {
        return "This ZooKeeper instance is not currently serving requests\n".to_string();
    }
    match cmd {
        "cons" => cons(true, st, seen),
        "dump" => dump(st, seen),
        "wchs" | "wchc" | "wchp" => watches(cmd, st),
        "isro" => match (st.local.serving, st.local.read_only) {
            (true, _) => "rw",
            (false, true) => "ro",
            (false, false) => "null",
        }
        .to_string(),
        "mntr" => mntr(st, seen),
        _ => srvr(cmd == "stat", st, seen),
    }
}

/// Requests received and not answered yet, over every connection.
fn outstanding(st: &ServerState<ZooKeeper>) -> usize {
    st.local.conns.values().map(|c| c.queue.len()).sum()
}

/// `srvr`, and `stat` with its client list.
fn srvr(stat: bool, st: &ServerState<ZooKeeper>, seen: &Seen) -> String {
    let clients = if stat {
        format!("Clients:\n{}", cons(false, st, seen))
    } else {
        String::new()
    };
    let l = &seen.latency;
    format!(
        "Zookeeper version: {VERSION}\n{clients}Latency min/avg/max: {}/{}/{}\nReceived: {}\n\
         Sent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\nMode: {}\n\
         Node count: {}\n",
        l.min(),
        l.avg(),
        l.max(),
        seen.packets.0,
        seen.packets.1,
        seen.conns.len(),
        outstanding(st),
        st.committed.0,
        mode(st, seen),
        st.sm.nodes().len()
    )
}

fn mntr(st: &ServerState<ZooKeeper>, seen: &Seen) -> String {
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
        .map(|(path, n)| path.len() + crate::zk::data::bytes(&n.data).len())
        .sum();
    let l = &seen.latency;
    let (open_fds, max_fds) = file_descriptors();
    let mut out = format!(
        "zk_version\t{VERSION}\nzk_server_state\t{}\nzk_ephemerals_count\t{ephemerals}\n\
         zk_num_alive_connections\t{}\nzk_avg_latency\t{}\nzk_min_latency\t{}\n\
         zk_max_latency\t{}\nzk_outstanding_requests\t{}\nzk_znode_count\t{}\n\
         zk_global_sessions\t{}\nzk_packets_received\t{}\nzk_packets_sent\t{}\n\
         zk_watch_count\t{}\nzk_approximate_data_size\t{data}\nzk_uptime\t{}\n\
         zk_open_file_descriptor_count\t{open_fds}\nzk_max_file_descriptor_count\t{max_fds}\n",
        mode(st, seen),
        seen.conns.len(),
        l.avg(),
        l.min(),
        l.max(),
        outstanding(st),
        st.sm.nodes().len(),
        st.sm.sessions().len(),
        seen.packets.0,
        seen.packets.1,
        st.local.watches.list().len(),
        seen.uptime_ms,
    );
    match &st.role {
        crate::zab::Role::Leading(l) if !seen.standalone => {
            let learners = l.cepoch.len().saturating_sub(1);
            let synced = l.synced.len();
            out.push_str(&format!(
                "zk_learners\t{learners}\nzk_synced_followers\t{synced}\n"
            ));
        }
        _ => {}
    }
    let (fsync, batch, snap) = &seen.writer;
    for (name, s) in [
        ("fsynctime", fsync),
        ("sync_processor_batch_size", batch),
        ("snapshottime", snap),
    ] {
        out.push_str(&format!(
            "zk_avg_{name}\t{}\nzk_min_{name}\t{}\nzk_max_{name}\t{}\nzk_cnt_{name}\t{}\n\
             zk_sum_{name}\t{}\n",
            s.avg(),
            s.min(),
            s.max(),
            s.count(),
            s.sum(),
        ));
    }
    out
}

/// Open file descriptors and their limit (Linux `/proc`; 0 where unknown).
fn file_descriptors() -> (usize, u64) {
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    let max = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(0);
    (open, max)
}

/// `envi`: ZooKeeper's keys that mean something outside a JVM, with Java's names for the
/// operating system and architecture.
fn envi() -> String {
    let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
    let mut lines = vec![("zookeeper.version", VERSION.to_string())];
    if let Ok(host) = read("/proc/sys/kernel/hostname").or_else(|_| std::env::var("HOSTNAME")) {
        lines.push(("host.name", host));
    }
    lines.push(("java.io.tmpdir", std::env::temp_dir().display().to_string()));
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        other => other,
    };
    lines.push(("os.name", os.to_string()));
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        other => other,
    };
    lines.push(("os.arch", arch.to_string()));
    if let Ok(release) = read("/proc/sys/kernel/osrelease") {
        lines.push(("os.version", release));
    }
    if let Some(user) = user_name() {
        lines.push(("user.name", user));
    }
    if let Ok(home) = std::env::var("HOME") {
        lines.push(("user.home", home));
    }
    if let Ok(dir) = std::env::current_dir() {
        lines.push(("user.dir", dir.display().to_string()));
    }
    let mut out = String::from("Environment:\n");
    for (k, v) in lines {
        out.push_str(&format!("{k}={v}\n"));
    }
    out
}

/// The name of the user the server runs as: `$USER`, or the entry of its uid in /etc/passwd.
fn user_name() -> Option<String> {
    if let Ok(user) = std::env::var("USER") {
        return Some(user);
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let uid = uid.split_whitespace().next()?;
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let fields: Vec<&str> = l.split(':').collect();
        (fields.get(2) == Some(&uid)).then(|| fields[0].to_string())
    })
}

/// One line per client connection, as ZooKeeper prints them: `stat`'s short form, or
/// `cons`'s full one (`full`) with the session and the latencies.
fn cons(full: bool, st: &ServerState<ZooKeeper>, seen: &Seen) -> String {
    let mut out = String::new();
    for (id, (addr, v)) in &seen.conns {
        let counts = format!("recved={},sent={}", v.received, v.sent);
        let Some(c) = st.local.conns.get(id) else {
            out.push_str(&format!(" /{addr}[0](queued=0,{counts})\n"));
            continue;
        };
        out.push_str(&format!(" /{addr}[1](queued={},{counts}", c.queue.len()));
        if full {
            let l = &v.latency;
            out.push_str(&format!(
                ",sid=0x{:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},lresp={},llat={},\
                 minlat={},avglat={},maxlat={}",
                c.session,
                v.last_op,
                v.established,
                c.timeout,
                v.last_cxid,
                v.last_zxid,
                v.last_response,
                v.last_latency,
                l.min(),
                l.avg_ms(),
                l.max()
            ));
        }
        out.push_str(")\n");
    }
    out.push('\n');
    out
}

/// `wchs` (summary), `wchc` (by session), `wchp` (by path).
fn watches(cmd: &str, st: &ServerState<ZooKeeper>) -> String {
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
    out.push('\n');
    out
}

/// `dump`: the sessions grouped by expiry time (the leader's tracker knows it; other servers
/// list their sessions under the time they were asked), their ephemerals, and the connections.
fn dump(st: &ServerState<ZooKeeper>, seen: &Seen) -> String {
    let sessions = st.sm.sessions();
    let now = wall_ms();
    let tracker = &st.local.tracker;
    let expiry = |s: i64| match tracker.deadline(s) {
        Some(d) => now + d.saturating_sub(tracker.now) * seen.tick_ms,
        None => now,
    };
    let mut groups: std::collections::BTreeMap<u64, Vec<i64>> = Default::default();
    sessions
        .keys()
        .for_each(|s| groups.entry(expiry(*s)).or_default().push(*s));
    let n = sessions.len();
    let mut out = format!(
        "SessionTracker dump:\nSession Sets ({})/({n}):\n",
        groups.len()
    );
    for (at, group) in &groups {
        out.push_str(&format!("{} expire at {}:\n", group.len(), java_date(*at)));
        group
            .iter()
            .for_each(|s| out.push_str(&format!("\t0x{s:x}\n")));
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
    let conns: Vec<(String, i64)> = (seen.conns.iter())
        .map(|(id, (addr, _))| {
            (
                addr.to_string(),
                st.local.conns.get(id).map_or(0, |c| c.session),
            )
        })
        .collect();
    let m = conns.len();
    out.push_str(&format!("Connections dump:\nConnections Sets (1)/({m}):\n"));
    out.push_str(&format!("{m} expire at {}:\n", java_date(now)));
    for (addr, session) in conns {
        out.push_str(&format!("\tip: /{addr} sessionId: 0x{session:x}\n"));
    }
    out
}

/// A UTC time as Java's `Date.toString` prints it: `Sun Nov 22 09:59:51 UTC 2026`.
pub fn java_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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
