//! The workloads: what each client does, each client its own session. Every operation is
//! recorded with its invocation and outcome; `final_reads` reads each server's state after
//! the faults are healed, recorded as operations too, so that the checkers see them.

use crate::history::{Outcome, Recorder, Ret, F};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zookeeper_client as zk;

/// How long the clients' sessions live without a server (ZooKeeper's session timeout).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a client waits for one reply before calling the outcome unknown.
const OP_TIMEOUT: Duration = Duration::from_secs(6);
/// Register keys: operations on one key before the clients move to the next, and how many keys
/// exist. Short keys keep the linearizability check small (Jepsen's independent keys).
const KEY_OPS: usize = 120;
const KEYS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// A compare-and-set register per key: sync+getData, setData, versioned setData.
    Register,
    /// A grow-only set: one node per element, read with sync+getChildren.
    Set,
    /// Unique ids from sequential nodes.
    Ids,
    /// A counter incremented through `multi` (check version + setData).
    Counter,
    /// A queue: sequential children, consumed with `multi` (check + delete).
    Queue,
    /// A lock (ephemeral sequential nodes) whose holder writes a protected node with its lock
    /// node's czxid as a fencing token.
    Lock,
}

impl Workload {
    pub const ALL: [Workload; 6] = [
        Workload::Register,
        Workload::Set,
        Workload::Ids,
        Workload::Counter,
        Workload::Queue,
        Workload::Lock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::Set => "set",
            Workload::Ids => "ids",
            Workload::Counter => "counter",
            Workload::Queue => "queue",
            Workload::Lock => "lock",
        }
    }

    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    /// The parent nodes, created before the clients start.
    fn parents(self) -> Vec<String> {
        match self {
            Workload::Register => (0..KEYS).map(|k| format!("/reg/k{k}")).collect(),
            Workload::Set => vec!["/set".into()],
            Workload::Ids => vec!["/ids".into()],
            Workload::Counter => vec!["/counter".into()],
            Workload::Queue => vec!["/queue".into()],
            Workload::Lock => vec!["/lock".into(), "/protected".into()],
        }
    }
}

fn open() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// What an error says about an operation's effect: a definite "not done", or unknown.
pub fn outcome(e: &zk::Error) -> Outcome {
    use zk::Error::*;
    match e {
        BadVersion | NoNode | NodeExists | NotEmpty => Outcome::Fail(e.to_string()),
        _ => Outcome::Info(e.to_string()),
    }
}

/// Awaits `f` for at most `OP_TIMEOUT`; a timeout is `zk::Error::Timeout`.
pub async fn timed<T>(f: impl Future<Output = Result<T, zk::Error>>) -> Result<T, zk::Error> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => Err(zk::Error::Timeout),
    }
}

/// A client's session, opened again when it expired or the client closed.
pub struct Session {
    conn: String,
    client: Option<zk::Client>,
}

impl Session {
    pub fn new(conn: String) -> Session {
        Session { conn, client: None }
    }

    /// The client, connecting first if needed; `None` if no server answered in time.
    pub async fn get(&mut self) -> Option<zk::Client> {
        if self.client.is_none() {
            let connect = zk::Client::connector()
                .with_session_timeout(SESSION_TIMEOUT)
                .with_connection_timeout(Duration::from_secs(1))
                .connect(&self.conn);
            if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), connect).await {
                self.client = Some(c);
            }
        }
        self.client.clone()
    }

    /// Drops the session (its ephemerals go when it expires); the next `get` opens another.
    pub fn reset(&mut self) {
        self.client = None;
    }

    /// After an error: a session that cannot go on is dropped, so the next `get` opens one.
    pub fn failed(&mut self, e: &zk::Error) {
        if matches!(
            e,
            zk::Error::SessionExpired | zk::Error::ClientClosed | zk::Error::NoHosts
        ) {
            self.client = None;
        }
    }
}

pub fn int(data: &[u8]) -> i64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(i64::MIN)
}

/// Numbers in child names (`e-42`, `id-0000000007`), sorted.
fn numbers(children: &[String]) -> Vec<i64> {
    let mut v: Vec<i64> = children
        .iter()
        .filter_map(|c| c.rsplit('-').next().and_then(|n| n.parse().ok()))
        .collect();
    v.sort();
    v
}

/// Creates the workload's nodes; retried until it succeeds or `within` passes.
pub async fn setup(w: Workload, conn: &str, within: Duration) -> Result<(), String> {
    let start = Instant::now();
    let mut s = Session::new(conn.to_string());
    let mut todo = vec!["/reg".to_string()];
    todo.retain(|_| w == Workload::Register);
    todo.extend(w.parents());
    while let Some(path) = todo.first().cloned() {
        if start.elapsed() > within {
            return Err(format!(
                "setup of {} did not finish within {within:?}",
                w.name()
            ));
        }
        let Some(c) = s.get().await else { continue };
        let data: &[u8] = if path.starts_with("/reg/") || path == "/counter" || path == "/protected"
        {
            b"0"
        } else {
            b""
        };
        match timed(c.create(&path, data, &open())).await {
            Ok(_) | Err(zk::Error::NodeExists) => {
                todo.remove(0);
            }
            Err(e) => {
                s.failed(&e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(())
}

/// A tiny deterministic generator (splitmix64), one per client and per nemesis.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One client's loop until `deadline`.
pub struct Client {
    pub w: Workload,
    pub id: usize,
    pub rec: Recorder,
    pub session: Session,
    pub rng: Rng,
    /// Operations issued on register keys by all clients (which key is current).
    pub key_ops: Arc<AtomicUsize>,
    /// Values this client wrote so far (values are unique: id * 10^9 + n).
    pub n: i64,
}

impl Client {
    fn fresh(&mut self) -> i64 {
        self.n += 1;
        self.id as i64 * 1_000_000_000 + self.n
    }

    pub async fn run(mut self, deadline: Instant) {
        while Instant::now() < deadline {
            let Some(c) = self.session.get().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let err = match self.w {
                Workload::Register => self.register(&c).await,
                Workload::Set => self.set(&c).await,
                Workload::Ids => self.ids(&c).await,
                Workload::Counter => self.counter(&c).await,
                Workload::Queue => self.queue(&c).await,
                Workload::Lock => crate::lock::cycle(&mut self, &c, deadline).await,
            };
            if let Some(e) = err {
                self.session.failed(&e);
            }
            let pause = 5 + self.rng.below(25);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// Records `f` on `key`, runs `op`, records its outcome; returns the error if any.
    pub async fn record<T>(
        &self,
        key: &str,
        f: F,
        op: impl Future<Output = Result<T, zk::Error>>,
        ret: impl FnOnce(T) -> Ret,
    ) -> Option<zk::Error> {
        let i = self.rec.invoke(self.id, key, f);
        match timed(op).await {
            Ok(v) => {
                self.rec.complete(i, Outcome::Ok(ret(v)));
                None
            }
            Err(e) => {
                self.rec.complete(i, outcome(&e));
                Some(e)
            }
        }
    }

    /// A read: any error means it had no effect, so it is recorded as failed.
    async fn read<T>(
        &self,
        key: &str,
        f: F,
        op: impl Future<Output = Result<T, zk::Error>>,
        ret: impl FnOnce(T) -> Ret,
    ) -> Option<zk::Error> {
        let i = self.rec.invoke(self.id, key, f);
        match timed(op).await {
            Ok(v) => {
                self.rec.complete(i, Outcome::Ok(ret(v)));
                None
            }
            Err(e) => {
                self.rec.complete(i, Outcome::Fail(e.to_string()));
                Some(e)
            }
        }
    }

    async fn register(&mut self, c: &zk::Client) -> Option<zk::Error> {
        let k = (self.key_ops.fetch_add(1, Ordering::Relaxed) / KEY_OPS).min(KEYS - 1);
        let key = format!("/reg/k{k}");
        match self.rng.below(10) {
            0..=3 => {
                let op = async {
                    c.sync(&key).await?;
                    c.get_data(&key).await
                };
                self.read(&key, F::Read, op, |(d, s)| {
                    Ret::Versioned(int(&d), s.version)
                })
                .await
            }
            4..=6 => {
                let v = self.fresh();
                let data = v.to_string();
                let op = c.set_data(&key, data.as_bytes(), None);
                self.record(&key, F::Write(v), op, |s| Ret::Int(s.version as i64))
                    .await
            }
            _ => {
                // The version comes from a plain (maybe stale) read, not part of the history.
                let version = match timed(c.get_data(&key)).await {
                    Ok((_, s)) => s.version,
                    Err(e) => return Some(e),
                };
                let v = self.fresh();
                let data = v.to_string();
                let op = c.set_data(&key, data.as_bytes(), Some(version));
                let f = F::Cas { version, value: v };
                self.record(&key, f, op, |s| Ret::Int(s.version as i64))
                    .await
            }
        }
    }

    async fn set(&mut self, c: &zk::Client) -> Option<zk::Error> {
        if self.rng.below(4) == 0 {
            let op = async {
                c.sync("/set").await?;
                c.list_children("/set").await
            };
            self.read("/set", F::ReadSet, op, |ch| Ret::List(numbers(&ch)))
                .await
        } else {
            let e = self.fresh();
            let path = format!("/set/e-{e}");
            let op = c.create(&path, b"", &open());
            self.record("/set", F::Add(e), op, |_| Ret::None).await
        }
    }

    async fn ids(&mut self, c: &zk::Client) -> Option<zk::Error> {
        let mode = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
        let op = c.create("/ids/id-", b"", &mode);
        self.record("/ids", F::NewId, op, |(_, seq)| Ret::Int(seq.into_i64()))
            .await
    }

    async fn counter(&mut self, c: &zk::Client) -> Option<zk::Error> {
        if self.rng.below(3) == 0 {
            let op = async {
                c.sync("/counter").await?;
                c.get_data("/counter").await
            };
            return self
                .read("/counter", F::ReadCounter, op, |(d, _)| Ret::Int(int(&d)))
                .await;
        }
        let (from, version) = match timed(c.get_data("/counter")).await {
            Ok((d, s)) => (int(&d), s.version),
            Err(e) => return Some(e),
        };
        let data = (from + 1).to_string();
        let op = async {
            let mut m = c.new_multi_writer();
            m.add_check_version("/counter", version)?;
            m.add_set_data("/counter", data.as_bytes(), Some(version))?;
            m.commit().await.map_err(zk::Error::from)
        };
        let f = F::Incr { version, from };
        self.record("/counter", f, op, move |_| Ret::Int(from + 1))
            .await
    }

    async fn queue(&mut self, c: &zk::Client) -> Option<zk::Error> {
        if self.rng.below(2) == 0 {
            let e = self.fresh();
            let mode = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
            let data = e.to_string();
            let op = c.create("/queue/item-", data.as_bytes(), &mode);
            return self
                .record("/queue", F::Enqueue(e), op, |(_, s)| Ret::Int(s.into_i64()))
                .await;
        }
        let mut children = match timed(c.list_children("/queue")).await {
            Ok(ch) => ch,
            Err(e) => return Some(e),
        };
        children.sort();
        let first = children.first()?;
        let path = format!("/queue/{first}");
        let (item, version) = match timed(c.get_data(&path)).await {
            Ok((d, s)) => (int(&d), s.version),
            Err(zk::Error::NoNode) => return None,
            Err(e) => return Some(e),
        };
        let op = async {
            let mut m = c.new_multi_writer();
            m.add_check_version(&path, version)?;
            m.add_delete(&path, Some(version))?;
            m.commit().await.map_err(zk::Error::from)
        };
        self.record("/queue", F::Dequeue(item), op, move |_| Ret::Int(item))
            .await
    }
}

/// What one server holds for the workload after healing, read through a session on that
/// server alone, after `sync`; each read is recorded as an operation of process `process`.
pub async fn final_read(
    w: Workload,
    addr: &str,
    rec: &Recorder,
    process: usize,
    keys_used: usize,
) -> Result<String, String> {
    let mut s = Session::new(addr.to_string());
    let mut last = String::new();
    for _ in 0..20 {
        let Some(c) = s.get().await else { continue };
        let r = Client {
            w,
            id: process,
            rec: rec.clone(),
            session: Session::new(String::new()),
            rng: Rng::new(0),
            key_ops: Arc::default(),
            n: 0,
        };
        match read_all(&r, &c, keys_used).await {
            Ok(summary) => return Ok(summary),
            Err(e) => {
                last = e.to_string();
                s.failed(&e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Err(format!("final read at {addr} failed: {last}"))
}

async fn read_all(r: &Client, c: &zk::Client, keys_used: usize) -> Result<String, zk::Error> {
    let sync_get = |key: String| async move {
        c.sync(&key).await?;
        c.get_data(&key).await
    };
    let mut out = String::new();
    match r.w {
        Workload::Register => {
            for k in 0..keys_used.min(KEYS) {
                let key = format!("/reg/k{k}");
                let (d, s) = timed(sync_get(key.clone())).await?;
                let i = r.rec.invoke(r.id, &key, F::Read);
                r.rec
                    .complete(i, Outcome::Ok(Ret::Versioned(int(&d), s.version)));
                out += &format!("{key}={}@{} ", int(&d), s.version);
            }
        }
        Workload::Counter => {
            let (d, s) = timed(sync_get("/counter".into())).await?;
            let i = r.rec.invoke(r.id, "/counter", F::ReadCounter);
            r.rec.complete(i, Outcome::Ok(Ret::Int(int(&d))));
            out += &format!("{}@{}", int(&d), s.version);
        }
        Workload::Lock => {
            let (d, s) = timed(sync_get("/protected".into())).await?;
            let i = r.rec.invoke(r.id, "/protected", F::Read);
            r.rec
                .complete(i, Outcome::Ok(Ret::Versioned(int(&d), s.version)));
            out += &format!("token {}@{}", int(&d), s.version);
        }
        Workload::Set | Workload::Ids | Workload::Queue => {
            let parent = match r.w {
                Workload::Set => "/set",
                Workload::Ids => "/ids",
                _ => "/queue",
            };
            timed(c.sync(parent)).await?;
            let children = timed(c.list_children(parent)).await?;
            let list = if r.w == Workload::Queue {
                let mut items = Vec::new();
                for ch in &children {
                    let (d, _) = timed(c.get_data(&format!("{parent}/{ch}"))).await?;
                    items.push(int(&d));
                }
                items.sort();
                items
            } else {
                numbers(&children)
            };
            let i = r.rec.invoke(r.id, parent, F::ReadSet);
            r.rec.complete(i, Outcome::Ok(Ret::List(list.clone())));
            out += &format!(
                "{} items, {:?}",
                list.len(),
                list.iter().take(3).collect::<Vec<_>>()
            );
            out += &format!(
                " hash {:x}",
                list.iter().fold(0u64, |h, x| h.rotate_left(5) ^ *x as u64)
            );
        }
    }
    Ok(out)
}

/// How many register keys the clients reached.
pub fn keys_used(key_ops: &AtomicUsize) -> usize {
    (key_ops.load(Ordering::Relaxed) / KEY_OPS + 1).min(KEYS)
}
