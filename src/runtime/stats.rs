//! Request latency and per-connection counters for the four-letter words, measured as
//! ZooKeeper's `ServerStats` and `ServerCnxn` do: from a request frame read off the socket to
//! its reply frame written back, in milliseconds. Runtime bookkeeping only; nothing here is
//! seen by the actor.

use crate::jute::proto::op;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Minimum, maximum and average of a series of latencies (ZooKeeper's `AvgMinMaxCounter`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Latency {
    min: u64,
    max: u64,
    sum: u64,
    count: u64,
}

impl Latency {
    /// Adds one sample, in milliseconds.
    pub fn add(&mut self, ms: u64) {
        self.min = if self.count == 0 {
            ms
        } else {
            self.min.min(ms)
        };
        self.max = self.max.max(ms);
        self.sum += ms;
        self.count += 1;
    }

    /// The smallest sample (0 before any).
    pub fn min(&self) -> u64 {
        self.min
    }

    /// The largest sample (0 before any).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean rounded half-up to four decimals, printed as Java prints a double
    /// (`0.0`, `1.2308`), which is how `srvr` and `mntr` show it.
    pub fn avg(&self) -> String {
        if self.count == 0 {
            return "0.0".to_string();
        }
        let scaled = (self.sum * 10_000 * 2 + self.count) / (self.count * 2);
        let (whole, frac) = (scaled / 10_000, scaled % 10_000);
        let frac = format!("{frac:04}");
        let frac = frac.trim_end_matches('0');
        format!("{whole}.{}", if frac.is_empty() { "0" } else { frac })
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their sum.
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The mean truncated to whole milliseconds (`cons`'s `avglat`).
    pub fn avg_ms(&self) -> u64 {
        self.sum.checked_div(self.count).unwrap_or(0)
    }
}

/// Milliseconds since the Unix epoch (ZooKeeper's `est=`).
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The four-letter name ZooKeeper's `cons` gives the last operation (`lop=`).
pub fn op_name(code: i32) -> &'static str {
    match code {
        op::PING => "PING",
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => "CREA",
        op::DELETE | op::DELETE_CONTAINER => "DELE",
        op::EXISTS => "EXIS",
        op::GET_DATA => "GETD",
        op::SET_DATA => "SETD",
        op::GET_ACL => "GETA",
        op::SET_ACL => "SETA",
        op::GET_CHILDREN | op::GET_CHILDREN2 => "GETC",
        op::SYNC => "SYNC",
        op::CHECK => "CHEC",
        op::MULTI => "MULT",
        op::MULTI_READ => "MLTR",
        op::SET_WATCHES | op::SET_WATCHES2 => "SETW",
        op::ADD_WATCH => "ADDW",
        op::REMOVE_WATCHES => "REMW",
        op::CHECK_WATCHES => "CHKW",
        op::CLOSE_SESSION => "CLOS",
        op::AUTH => "AUTH",
        _ => "NA",
    }
}

/// What one connection has done, for `cons` and `stat`.
#[derive(Debug)]
pub struct ConnStats {
    inner: Mutex<ConnInner>,
}

/// A snapshot of a connection's counters.
#[derive(Clone, Debug, Default)]
pub struct ConnView {
    /// When the connection was accepted, in ms since the epoch.
    pub established: u64,
    /// Frames received.
    pub received: u64,
    /// Frames sent.
    pub sent: u64,
    /// The last operation answered.
    pub last_op: &'static str,
    /// Its xid.
    pub last_cxid: i32,
    /// The zxid of the last reply.
    pub last_zxid: i64,
    /// When the last reply was sent, in ms since the epoch.
    pub last_response: u64,
    /// The last reply's latency.
    pub last_latency: u64,
    /// All replies' latencies.
    pub latency: Latency,
}

#[derive(Debug, Default)]
struct ConnInner {
    view: ConnView,
    /// Requests read and not answered yet: (xid, opcode, when read).
    pending: VecDeque<(i32, i32, Instant)>,
}

impl Default for ConnStats {
    fn default() -> Self {
        let mut inner = ConnInner::default();
        inner.view.last_op = "NA";
        inner.view.established = wall_ms();
        ConnStats {
            inner: Mutex::new(inner),
        }
    }
}

impl ConnStats {
    /// A frame was read; `request` is (xid, opcode) for a request frame.
    pub fn received(&self, request: Option<(i32, i32)>) {
        let mut inner = self.inner.lock().expect("stats");
        inner.view.received += 1;
        if let Some((xid, code)) = request {
            inner.pending.push_back((xid, code, Instant::now()));
        }
    }

    /// A frame was written; `reply` is (xid, zxid) for a reply. Returns the latency of the
    /// request it answers, if any (watch events answer none).
    pub fn sent(&self, reply: Option<(i32, i64)>) -> Option<u64> {
        let mut inner = self.inner.lock().expect("stats");
        inner.view.sent += 1;
        let (xid, zxid) = reply?;
        let at = inner.pending.iter().position(|(x, _, _)| *x == xid)?;
        let (_, code, read) = inner.pending.drain(..=at).next_back()?;
        let ms = read.elapsed().as_millis() as u64;
        let v = &mut inner.view;
        v.last_op = op_name(code);
        v.last_cxid = xid;
        v.last_zxid = zxid;
        v.last_response = wall_ms();
        v.last_latency = ms;
        v.latency.add(ms);
        Some(ms)
    }

    /// The counters now.
    pub fn view(&self) -> ConnView {
        self.inner.lock().expect("stats").view.clone()
    }
}

/// The client port's counters at one moment, for the four-letter words.
#[derive(Clone, Debug, Default)]
pub struct ClientStats {
    /// Each open connection's peer address and counters, by id.
    pub conns: std::collections::BTreeMap<usize, (std::net::SocketAddr, ConnView)>,
    /// Frames received from and sent to clients since the server started.
    pub packets: (u64, u64),
    /// Request latencies since the server started.
    pub latency: Latency,
    /// Milliseconds since the server started.
    pub uptime_ms: u64,
}

/// The log writer's group commits, for `mntr`: how long each write-and-fsync took and how many
/// transactions it made durable (ZooKeeper's `fsynctime` and `sync_processor_batch_size`), and
/// how long each snapshot took to encode, write and fsync (`snapshottime`).
#[derive(Debug, Default)]
pub struct WriterStats {
    inner: Mutex<(Latency, Latency, Latency)>,
}

impl WriterStats {
    /// One group commit of `txns` transactions took `us` microseconds.
    pub fn commit(&self, txns: u64, us: u64) {
        let mut inner = self.inner.lock().expect("stats");
        inner.0.add(us / 1000);
        inner.1.add(txns);
    }

    /// A snapshot took `us` microseconds.
    pub fn snapshot(&self, us: u64) {
        self.inner.lock().expect("stats").2.add(us / 1000);
    }

    /// (fsync time in ms, transactions per group commit, snapshot time in ms) so far.
    pub fn view(&self) -> (Latency, Latency, Latency) {
        *self.inner.lock().expect("stats")
    }
}
