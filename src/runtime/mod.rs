//! The runtime: the unmodified server actor over TCP, with its storage on disk.
//!
//! [`start`] builds the actor from a `zoo.cfg` ([`config`]), recovers its `Storage` from the
//! data directory ([`storage`]), opens the election, quorum and client ports ([`peer`],
//! [`client`]) and runs the actor loop on its own thread ([`node`]). Everything the runtime
//! does is deliver inputs (messages, timer firings, the clock) and carry out the actor's
//! commands, saves before sends.

pub mod client;
pub mod config;
pub mod error;
pub mod files;
pub mod four;
pub mod jaas;
pub mod node;
pub mod peer;
pub mod record;
pub mod recovery;
mod snapshot_write;
pub mod stats;
pub mod storage;
pub mod timers;
pub mod tls;
pub mod trace;

use crate::zab::msg::Channel;
use crate::zab::{Config, Durable, ElectionMode, Msg, Server, ServerState, Snapshot};
use crate::zk::server::{Local, ZkOptions};
use crate::zk::session::SessionLimits;
use crate::zk::DataTree;
use crate::zk::ZooKeeper;
use config::{ConfigError, ZooConfig};
pub use error::RuntimeError;
use node::Outlet;
use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;

/// A read-only look at the state between two steps.
pub type Inspector = Box<dyn FnOnce(&ServerState<ZooKeeper>) + Send>;

/// What reaches the actor loop.
pub enum Event {
    /// A message from a peer (`src` < servers) or a client connection.
    Msg {
        /// The sender.
        src: usize,
        /// The message.
        msg: Msg<ZooKeeper>,
    },
    /// A message a peer sent on connection `conn` (the sender's socket address).
    Peer {
        /// The sender.
        src: usize,
        /// The message.
        msg: Msg<ZooKeeper>,
        /// The connection it came on.
        conn: Arc<str>,
        /// The digest of its bytes when tracing (0 otherwise).
        digest: u64,
    },
    /// Quorum connection `conn` with peer `src` broke: the actor gets `Disconnected`.
    Broken {
        /// The peer.
        src: usize,
        /// The connection (the sending end's socket address).
        conn: Arc<str>,
    },
    /// A timer fired (stale generations are ignored).
    Timer(crate::zab::Timer<crate::zk::server::ZkTimer>, u64),
    /// The log writer made every save of the steps up to `upto` durable, with one fsync for
    /// `jobs` batches of steps, in `us` microseconds.
    Durable {
        /// The last step whose saves are durable.
        upto: u64,
        /// How many batches the fsync covered.
        jobs: usize,
        /// How long the writes and the fsync took.
        us: u64,
    },
    /// The log writer failed (its thread returns the error): the server must stop.
    DiskFailed,
    /// A question about the state for the four-letter words; answered without a step.
    Inspect(Inspector),
    /// Stop the loop.
    Stop,
}

/// A running server.
pub struct Running {
    /// The actor loop's inbox (send [`Event::Stop`] to stop it).
    pub inbox: Sender<Event>,
    /// The actor loop's thread; its result says why it stopped.
    pub thread: std::thread::JoinHandle<Result<(), RuntimeError>>,
    /// Where clients connect.
    pub client_addr: SocketAddr,
}

/// Which index each configured server has in the actor's ensemble: voters first, in id order,
/// then observers.
pub fn indices(cfg: &ZooConfig) -> Vec<u64> {
    let voters = cfg.servers.iter().filter(|(_, s)| !s.observer);
    let observers = cfg.servers.iter().filter(|(_, s)| s.observer);
    voters.chain(observers).map(|(id, _)| *id).collect()
}

/// What of `zoo.cfg` makes the server actor: the same parameters make the same actor (the
/// trace validator rebuilds it from a trace's start line).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActorParams {
    /// Voters (`server.N` lines that are not observers; 1 when standalone).
    pub voters: usize,
    /// Observers.
    pub observers: usize,
    /// `tickTime` (ms).
    pub tick_ms: u32,
    /// `syncLimit` (ticks).
    pub sync_limit: u32,
    /// `snapCount`.
    pub snap_count: usize,
    /// `commitLogCount` (None in traces written before it was a parameter: the actor then
    /// kept its log until a snapshot was due).
    #[serde(default)]
    pub commit_log_count: Option<usize>,
    /// `minSessionTimeout` (ms).
    pub min_session_ms: u32,
    /// `maxSessionTimeout` (ms).
    pub max_session_ms: u32,
    /// `extendedTypesEnabled`.
    pub extended_types: bool,
    /// `enforceQuota`.
    pub enforce_quota: bool,
    /// `readonlymode.enabled`.
    pub read_only_mode: bool,
    /// `ZABKEEPER_SUPER_DIGEST`, if set.
    pub super_digest: Option<String>,
    /// The SASL users (user -> DIGEST-MD5 secret) of the JAAS file, if any.
    pub sasl_users: BTreeMap<String, String>,
    /// `superUser`.
    pub super_user: Option<String>,
    /// `X509AuthenticationProvider.superUser`.
    pub x509_super_user: Option<String>,
    /// What `/zookeeper/config` holds (an ensemble's `server.N` lines; none standalone).
    pub config: Option<String>,
}

impl ActorParams {
    /// The parameters `cfg` gives (and the environment's super digest); the JAAS file it names
    /// is read.
    pub fn of(cfg: &ZooConfig) -> Result<ActorParams, ConfigError> {
        Ok(ActorParams {
            voters: cfg.servers.values().filter(|s| !s.observer).count().max(1),
            observers: cfg.servers.values().filter(|s| s.observer).count(),
            tick_ms: cfg.tick_time,
            sync_limit: cfg.sync_limit,
            snap_count: cfg.snap_count.max(1) as usize,
            commit_log_count: Some(cfg.commit_log_count.max(1) as usize),
            min_session_ms: cfg.min_session_timeout,
            max_session_ms: cfg.max_session_timeout,
            extended_types: cfg.extended_types_enabled,
            enforce_quota: cfg.enforce_quota,
            read_only_mode: cfg.read_only_mode,
            super_digest: std::env::var("ZABKEEPER_SUPER_DIGEST").ok(),
            config: (!cfg.standalone()).then(|| dynamic_config(cfg)),
            sasl_users: jaas::configured_users(cfg)?,
            super_user: cfg.super_user.clone(),
            x509_super_user: cfg.ssl.x509_super_user.clone(),
        })
    }

    /// The server actor.
    pub fn actor(&self) -> Server<ZooKeeper> {
        let mut zab = Config::new(self.voters);
        zab.observers = self.observers;
        zab.election = ElectionMode::Fast;
        zab.heartbeats = true;
        // Proposal log writes run on the log writer thread while the actor keeps stepping;
        // only the ACKs that vouch for them wait (the models `broadcast-pipelined`,
        // `recovery-pipelined` and `runtime-bounded` check this path).
        zab.pipelined = true;
        zab.tick = Duration::from_millis(u64::from(self.tick_ms));
        zab.sync_limit = self.sync_limit;
        // The actor folds its committed log into its in-memory snapshot every
        // `commitLogCount` transactions (a learner further behind gets SNAP, as from
        // ZooKeeper without its on-disk DIFF); the storage writes a snapshot only every
        // `snapCount` (storage.rs, `Stage::write_snapshots_every`).
        let fold = self.commit_log_count.unwrap_or(self.snap_count);
        zab.snap_count = Some(fold.min(self.snap_count));
        let opts = ZkOptions {
            limits: SessionLimits {
                tick_ms: self.tick_ms as i32,
                min_ms: self.min_session_ms as i32,
                max_ms: self.max_session_ms as i32,
            },
            super_digest: self.super_digest.clone(),
            sasl_users: self.sasl_users.clone(),
            sasl_super_user: self.super_user.clone(),
            enforce_quota: self.enforce_quota,
            read_only_mode: self.read_only_mode,
            x509_super_user: self.x509_super_user.clone(),
            config: self.config.clone(),
        };
        let mut server = Server::new(Arc::new(zab)).with_local(Local::with_options(opts));
        if self.extended_types {
            server.seed = Some(Durable {
                snapshot: Snapshot {
                    zxid: Default::default(),
                    state: DataTree::new(true),
                }
                .into(),
                ..Durable::default()
            });
        }
        server
    }
}

/// `/zookeeper/config` as ZooKeeper writes a static configuration: each server as
/// `server.N=host:quorumPort:electionPort:role[;clientAddress]`, then `version=0`.
fn dynamic_config(cfg: &ZooConfig) -> String {
    let mut out = String::new();
    for (id, s) in &cfg.servers {
        let role = if s.observer {
            "observer"
        } else {
            "participant"
        };
        let client = s.client.map(|c| format!(";{c}")).unwrap_or_default();
        let (host, q, e) = (&s.host, s.quorum_port, s.election_port);
        out.push_str(&format!("server.{id}={host}:{q}:{e}:{role}{client}\n"));
    }
    out + "version=0"
}

/// The server actor `zoo.cfg` describes.
pub fn actor(cfg: &ZooConfig) -> Result<Server<ZooKeeper>, ConfigError> {
    Ok(ActorParams::of(cfg)?.actor())
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, RuntimeError> {
    let fail = |reason: String| RuntimeError::Resolve {
        host: host.to_string(),
        port,
        reason,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))
}

fn listen(rt: &tokio::runtime::Handle, addr: SocketAddr) -> Result<TcpListener, RuntimeError> {
    rt.block_on(TcpListener::bind(addr))
        .map_err(|source| RuntimeError::Listen { addr, source })
}

struct Net {
    me: usize,
    links: Links,
    clients: Arc<client::Registry>,
    inbox: Sender<Event>,
}

impl Outlet for Net {
    fn inbox(&self) -> std::sync::mpsc::Sender<Event> {
        self.inbox.clone()
    }

    fn send(&self, dst: usize, msg: Msg<ZooKeeper>) {
        if dst == self.me {
            let _ = self.inbox.send(Event::Msg { src: dst, msg });
        } else if dst >= client::CLIENT_BASE {
            if let Msg::Client(m) = msg {
                self.clients.send(dst, m);
            }
        } else if let Some(link) = self.links.get(&(dst, msg.channel())) {
            let _ = link.send(msg);
        }
    }
}

/// Starts server `myid` of `cfg` on the tokio runtime `rt`.
pub fn start(
    cfg: &ZooConfig,
    myid: u64,
    rt: &tokio::runtime::Handle,
) -> Result<Running, RuntimeError> {
    let ids = indices(cfg);
    let me = ids.iter().position(|&id| id == myid).unwrap_or(0);
    let (mut disk, recovered, warnings) = storage::DataDir::open(&cfg.data_dir, &cfg.data_log_dir)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let params = ActorParams::of(cfg)?;
    disk.stage.write_snapshots_every(params.snap_count);
    let actor = params.actor();
    let (inbox, rx) = std::sync::mpsc::channel();
    let tracer = trace::Tracer::from_env(me)
        .map_err(RuntimeError::Trace)?
        .map(Arc::new);
    let faults = trace::Break::from_env();
    let peers = peer::Peers {
        tracer: tracer.clone(),
        faults,
    };
    let clients = Arc::new(client::Registry::default());
    let links = peer_links(cfg, &ids, me, rt, &inbox, &peers)?;
    if let Some(entry) = cfg.servers.get(&myid) {
        for (channel, port) in [
            (Channel::Election, entry.election_port),
            (Channel::Quorum, entry.quorum_port),
        ] {
            let addr = resolve(&entry.host, port)?;
            let listener = listen(rt, addr)?;
            let port = peer::Port {
                servers: ids.len(),
                channel,
                peers: peers.clone(),
            };
            rt.spawn(peer::accept(listener, port, inbox.clone()));
        }
    }
    let voter = actor.cfg.is_voter(me);
    let writer_stats = Arc::new(stats::WriterStats::default());
    let port = (&inbox, &clients, &writer_stats);
    let client_addr = serve_clients(cfg, myid, voter, rt, port)?;
    let outlet: Arc<dyn Outlet> = Arc::new(Net {
        me,
        links,
        clients,
        inbox: inbox.clone(),
    });
    let timers = timers::Timers::new(inbox.clone(), rt.clone());
    let purge = (cfg.purge_interval > 0).then(|| node::Purge {
        every: Duration::from_secs(3600 * u64::from(cfg.purge_interval)),
        retain: cfg.snap_retain_count as usize,
    });
    let thread = std::thread::Builder::new()
        .name(format!("zab-{myid}"))
        .spawn(move || {
            let disk = node::Disk {
                dir: disk,
                recovered,
                purge,
                stats: writer_stats,
            };
            let trace = node::Trace {
                tracer,
                faults,
                params,
            };
            node::run(actor, me, disk, rx, timers, outlet, trace)
        })
        .map_err(RuntimeError::Thread)?;
    Ok(Running {
        inbox,
        thread,
        client_addr,
    })
}

/// Listens on the client port and serves clients and four-letter words there; returns the
/// address it listens on.
fn serve_clients(
    cfg: &ZooConfig,
    myid: u64,
    voter: bool,
    rt: &tokio::runtime::Handle,
    (inbox, clients, writer): (
        &std::sync::mpsc::Sender<Event>,
        &Arc<client::Registry>,
        &Arc<stats::WriterStats>,
    ),
) -> Result<SocketAddr, RuntimeError> {
    let client_addr = client_address(cfg, myid)?;
    let listener = listen(rt, client_addr)?;
    let client_addr = listener
        .local_addr()
        .map_err(|source| RuntimeError::Listen {
            addr: client_addr,
            source,
        })?;
    let four = four::Context {
        whitelist: cfg.four_letter_words.clone(),
        standalone: cfg.standalone(),
        voter,
        conf: conf_lines(cfg, myid, client_addr),
        data_dir: cfg.data_dir.clone(),
        data_log_dir: cfg.data_log_dir.clone(),
        tick_ms: u64::from(cfg.tick_time),
        writer: writer.clone(),
    };
    let port = client::ClientPort {
        inbox: inbox.clone(),
        registry: clients.clone(),
        four: Arc::new(four),
        max_per_ip: cfg.max_client_cnxns,
    };
    if let Some(secure) = cfg.secure_client_port {
        let acceptor = tls::acceptor(&cfg.ssl).map_err(RuntimeError::Tls)?;
        let host = (cfg.secure_client_port_address.as_deref())
            .or(cfg.client_port_address.as_deref())
            .unwrap_or("0.0.0.0");
        let addr = resolve(host, secure)?;
        let listener = listen(rt, addr)?;
        rt.spawn(client::accept(listener, port.clone(), Some(acceptor)));
    }
    rt.spawn(client::accept(listener, port, None));
    Ok(client_addr)
}

type Links = HashMap<(usize, Channel), UnboundedSender<Msg<ZooKeeper>>>;

/// The outbound links from server `me` to every other server, on both ports.
fn peer_links(
    cfg: &ZooConfig,
    ids: &[u64],
    me: usize,
    rt: &tokio::runtime::Handle,
    inbox: &Sender<Event>,
    peers: &peer::Peers,
) -> Result<Links, RuntimeError> {
    let mut links = HashMap::new();
    for (idx, id) in ids.iter().enumerate().filter(|(i, _)| *i != me) {
        let entry = &cfg.servers[id];
        for (channel, port) in [
            (Channel::Election, entry.election_port),
            (Channel::Quorum, entry.quorum_port),
        ] {
            let addr = resolve(&entry.host, port)?;
            let tx = peer::link(rt, (me, idx), addr, channel, inbox.clone(), peers.clone());
            links.insert((idx, channel), tx);
        }
    }
    Ok(links)
}

fn client_address(cfg: &ZooConfig, myid: u64) -> Result<SocketAddr, RuntimeError> {
    if let Some(addr) = cfg.servers.get(&myid).and_then(|s| s.client) {
        return Ok(addr);
    }
    let port = cfg
        .client_port
        .ok_or(RuntimeError::Config("clientPort is not set"))?;
    let host = cfg.client_port_address.as_deref().unwrap_or("0.0.0.0");
    resolve(host, port)
}

fn conf_lines(cfg: &ZooConfig, myid: u64, client: SocketAddr) -> Vec<(String, String)> {
    let version2 = |d: &std::path::Path| d.join("version-2").display().to_string();
    let mut lines = vec![
        ("clientPort".to_string(), client.port().to_string()),
        (
            "secureClientPort".into(),
            cfg.secure_client_port.map_or(-1, i32::from).to_string(),
        ),
        ("dataDir".into(), version2(&cfg.data_dir)),
        ("dataLogDir".into(), version2(&cfg.data_log_dir)),
        ("tickTime".into(), cfg.tick_time.to_string()),
        ("maxClientCnxns".into(), cfg.max_client_cnxns.to_string()),
        (
            "minSessionTimeout".into(),
            cfg.min_session_timeout.to_string(),
        ),
        (
            "maxSessionTimeout".into(),
            cfg.max_session_timeout.to_string(),
        ),
        ("clientPortListenBacklog".into(), "-1".into()),
        ("serverId".into(), myid.to_string()),
    ];
    if !cfg.standalone() {
        lines.push(("initLimit".into(), cfg.init_limit.to_string()));
        lines.push(("syncLimit".into(), cfg.sync_limit.to_string()));
        for (id, s) in &cfg.servers {
            let role = if s.observer {
                "observer"
            } else {
                "participant"
            };
            let value = format!("{}:{}:{}:{role}", s.host, s.quorum_port, s.election_port);
            lines.push((format!("server.{id}"), value));
        }
    }
    lines
}
