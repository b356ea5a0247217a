//! ZooKeeper's configuration format (`zoo.cfg`) and the `myid` file.
//!
//! `key=value` lines; `#` starts a comment line. The keys ZooKeeper 3.8 documents in its
//! Administrator's Guide that matter to zabkeeper are read; any other key is kept as a warning
//! (the server logs it and goes on); a value that does not parse stops the server with the
//! file, the line and the reason.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration error, naming where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The line (1-based; 0 when the error is about the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

/// One `server.N=host:quorumPort:electionPort[:participant|:observer][;[addr:]clientPort]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    /// The host the peers reach it at.
    pub host: String,
    /// The quorum (leader-learner) port.
    pub quorum_port: u16,
    /// The leader election port.
    pub election_port: u16,
    /// Whether it is an observer.
    pub observer: bool,
    /// Its client address, when the line gives one.
    pub client: Option<SocketAddr>,
}

/// A parsed `zoo.cfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooConfig {
    /// `tickTime` in ms (default 2000).
    pub tick_time: u32,
    /// `initLimit` in ticks (default 10).
    pub init_limit: u32,
    /// `syncLimit` in ticks (default 5).
    pub sync_limit: u32,
    /// `dataDir` (required).
    pub data_dir: PathBuf,
    /// `dataLogDir` (default: `dataDir`).
    pub data_log_dir: PathBuf,
    /// `clientPort`.
    pub client_port: Option<u16>,
    /// `clientPortAddress` (default: every interface).
    pub client_port_address: Option<String>,
    /// `secureClientPort`: TLS (with `ssl.*`).
    pub secure_client_port: Option<u16>,
    /// `secureClientPortAddress` (default: `clientPortAddress`, else every interface).
    pub secure_client_port_address: Option<String>,
    /// The `ssl.*` keys of the secure client port.
    pub ssl: SslConfig,
    /// `server.N` lines by id.
    pub servers: BTreeMap<u64, PeerEntry>,
    /// `maxClientCnxns` per client address (default 60; 0: no limit).
    pub max_client_cnxns: u32,
    /// `minSessionTimeout` in ms (default 2 ticks).
    pub min_session_timeout: u32,
    /// `maxSessionTimeout` in ms (default 20 ticks).
    pub max_session_timeout: u32,
    /// `autopurge.snapRetainCount` (default 3, at least 3).
    pub snap_retain_count: u32,
    /// `autopurge.purgeInterval` in hours (default 0: off).
    pub purge_interval: u32,
    /// `snapCount`: transactions between snapshots (default 100000).
    pub snap_count: u64,
    /// `commitLogCount` (ZooKeeper's `zookeeper.commitLogCount`, which zoo.cfg sets as
    /// ZooKeeper turns unknown keys into `zookeeper.` properties): committed transactions the
    /// server keeps in memory to sync a learner by DIFF (default 500); one further behind gets
    /// SNAP.
    pub commit_log_count: u64,
    /// `4lw.commands.whitelist` (default: `srvr` only, as ZooKeeper 3.5.3+; `*` for all).
    pub four_letter_words: Vec<String>,
    /// `extendedTypesEnabled` (container and TTL create modes; default false).
    pub extended_types_enabled: bool,
    /// `enforceQuota` (ZooKeeper's `zookeeper.enforceQuota`; default false).
    pub enforce_quota: bool,
    /// `readonlymode.enabled` (ZooKeeper's JVM property of that name; default false).
    pub read_only_mode: bool,
    /// The JAAS file SASL users come from: `ZABKEEPER_JAAS_CONFIG`, else the key
    /// `java.security.auth.login.config` (the JVM property ZooKeeper reads it from).
    pub jaas_config: Option<PathBuf>,
    /// The JAAS section of the server (`sasl.serverconfig`, ZooKeeper's
    /// `zookeeper.sasl.serverconfig`; default `Server`).
    pub jaas_section: String,
    /// `superUser` (ZooKeeper's `zookeeper.superUser`): the SASL user that is also `super`.
    pub super_user: Option<String>,
    /// Keys that were not understood, with their lines.
    pub unknown: Vec<(usize, String)>,
}

impl ZooConfig {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<ZooConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            reason: format!("cannot read: {e}"),
        })?;
        ZooConfig::parse(path, &text)
    }

    /// Parses the text of `file`.
    pub fn parse(file: &Path, text: &str) -> Result<ZooConfig, ConfigError> {
        let err = |line: usize, reason: String| ConfigError {
            file: file.to_path_buf(),
            line,
            reason,
        };
        let raw = key_values(text).map_err(|(line, reason)| err(line, reason))?;
        let mut p = Parser {
            raw,
            lines: BTreeMap::new(),
            err: &err,
        };
        let tick_time: u32 = p.num("tickTime", 2000)?;
        if tick_time == 0 {
            return Err(err(p.line("tickTime"), "tickTime must be positive".into()));
        }
        let data_dir = p.take("dataDir").map(|(_, v)| PathBuf::from(v));
        let Some(data_dir) = data_dir else {
            return Err(err(0, "dataDir is not set".into()));
        };
        let data_log_dir = p
            .take("dataLogDir")
            .map_or_else(|| data_dir.clone(), |(_, v)| PathBuf::from(v));
        let min = p.num("minSessionTimeout", 2 * tick_time)?;
        let max = p.num("maxSessionTimeout", 20 * tick_time)?;
        if min > max {
            let line = p.line("minSessionTimeout").max(p.line("maxSessionTimeout"));
            return Err(err(
                line,
                format!("minSessionTimeout {min} > maxSessionTimeout {max}"),
            ));
        }
        let mut cfg = ZooConfig {
            tick_time,
            init_limit: p.num("initLimit", 10)?,
            sync_limit: p.num("syncLimit", 5)?,
            data_dir,
            data_log_dir,
            client_port: p.opt_num("clientPort")?,
            client_port_address: p.take("clientPortAddress").map(|(_, v)| v),
            secure_client_port: p.opt_num("secureClientPort")?,
            secure_client_port_address: p.take("secureClientPortAddress").map(|(_, v)| v),
            ssl: p.ssl()?,
            servers: BTreeMap::new(),
            max_client_cnxns: p.num("maxClientCnxns", 60)?,
            min_session_timeout: min,
            max_session_timeout: max,
            snap_retain_count: p.num::<u32>("autopurge.snapRetainCount", 3)?.max(3),
            purge_interval: p.num("autopurge.purgeInterval", 0)?,
            snap_count: p.num("snapCount", 100_000)?,
            commit_log_count: p.num("commitLogCount", 500)?,
            four_letter_words: p.list("4lw.commands.whitelist", &["srvr"]),
            extended_types_enabled: p.boolean("extendedTypesEnabled", false)?,
            enforce_quota: p.boolean("enforceQuota", false)?,
            read_only_mode: p.boolean("readonlymode.enabled", false)?,
            jaas_config: std::env::var_os("ZABKEEPER_JAAS_CONFIG")
                .map(PathBuf::from)
                .or_else(|| {
                    p.take("java.security.auth.login.config")
                        .map(|(_, v)| PathBuf::from(v))
                }),
            jaas_section: p
                .take("sasl.serverconfig")
                .map_or_else(|| "Server".to_string(), |(_, v)| v),
            super_user: p.take("superUser").map(|(_, v)| v),
            unknown: Vec::new(),
        };
        p.auth_providers()?;
        p.servers_and_unknown(&mut cfg)?;
        cfg.unknown.sort();
        if cfg.client_port.is_none() && cfg.servers.values().all(|s| s.client.is_none()) {
            return Err(err(0, "clientPort is not set".into()));
        }
        Ok(cfg)
    }

    /// Whether this is a standalone server (no `server.N` lines).
    pub fn standalone(&self) -> bool {
        self.servers.is_empty()
    }

    /// The server's id from `dataDir/myid` (standalone servers need none: id 0).
    pub fn myid(&self) -> Result<u64, ConfigError> {
        if self.standalone() {
            return Ok(0);
        }
        let path = self.data_dir.join("myid");
        let err = |reason: String| ConfigError {
            file: path.clone(),
            line: 0,
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read: {e}")))?;
        let id: u64 = text
            .trim()
            .parse()
            .map_err(|_| err(format!("not a server id: {:?}", text.trim())))?;
        if !self.servers.contains_key(&id) {
            return Err(err(format!(
                "id {id} has no server.{id} line in the configuration"
            )));
        }
        Ok(id)
    }

    /// Whether the four-letter word `cmd` is enabled.
    pub fn four_letter_word_enabled(&self, cmd: &str) -> bool {
        self.four_letter_words.iter().any(|c| c == "*" || c == cmd)
    }
}

/// The secure client port's TLS settings (`ssl.*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SslConfig {
    /// `ssl.keyStore.*`: the server's private key and certificate chain.
    pub key_store: Option<Store>,
    /// `ssl.trustStore.*`: the certificates client certificates must chain to.
    pub trust_store: Option<Store>,
    /// `ssl.clientAuth`.
    pub client_auth: ClientAuth,
    /// `X509AuthenticationProvider.superUser`: the client certificate subject that is `super`.
    pub x509_super_user: Option<String>,
}

/// A key or trust store: a PEM file (ZooKeeper's `PEMFileLoader` format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    /// `ssl.*.location`.
    pub location: PathBuf,
    /// `ssl.*.password`: only for an encrypted private key, which is not supported.
    pub password: Option<String>,
    /// The line of `location`, for errors about the file.
    pub line: usize,
}

impl Store {
    /// The store type ZooKeeper infers from a file name (`KeyStoreFileType.fromFilename`).
    fn type_of(location: &str) -> String {
        let lower = location.to_ascii_lowercase();
        let ext = lower.rsplit('.').next().unwrap_or("");
        match ext {
            "jks" => "JKS",
            "p12" | "pfx" => "PKCS12",
            "bcfks" => "BCFKS",
            _ => "PEM",
        }
        .to_string()
    }
}

/// `ssl.clientAuth`: whether clients must present a certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// They must (ZooKeeper's default).
    #[default]
    Need,
    /// They may.
    Want,
    /// They are not asked.
    None,
}

/// The `key=value` lines of `text` by key, with their line numbers.
fn key_values(text: &str) -> Result<BTreeMap<String, (usize, String)>, (usize, String)> {
    let mut raw = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err((i + 1, format!("expected key=value, found {line:?}")));
        };
        raw.insert(key.trim().to_string(), (i + 1, value.trim().to_string()));
    }
    Ok(raw)
}

struct Parser<'a, E: Fn(usize, String) -> ConfigError> {
    raw: BTreeMap<String, (usize, String)>,
    /// The lines of the keys taken so far.
    lines: BTreeMap<String, usize>,
    err: &'a E,
}

impl<E: Fn(usize, String) -> ConfigError> Parser<'_, E> {
    fn take(&mut self, key: &str) -> Option<(usize, String)> {
        let found = self.raw.remove(key);
        if let Some((line, _)) = &found {
            self.lines.insert(key.to_string(), *line);
        }
        found
    }

    /// The line `key` was on (0 if absent).
    fn line(&self, key: &str) -> usize {
        self.lines.get(key).copied().unwrap_or(0)
    }

    /// The `ssl.*` keys (ZooKeeper's `zookeeper.ssl.*` properties, which zoo.cfg sets without
    /// the prefix), and `serverCnxnFactory`, which must be one ZooKeeper has (TLS needs Netty's
    /// there; zabkeeper serves TLS either way).
    fn ssl(&mut self) -> Result<SslConfig, ConfigError> {
        if let Some((line, v)) = self.take("serverCnxnFactory") {
            let known = [
                "org.apache.zookeeper.server.NettyServerCnxnFactory",
                "org.apache.zookeeper.server.NIOServerCnxnFactory",
            ];
            if !known.contains(&v.as_str()) {
                return Err((self.err)(
                    line,
                    format!("serverCnxnFactory: unknown class {v}"),
                ));
            }
        }
        let mut store = |name: &str| -> Result<Option<Store>, ConfigError> {
            let location = self.take(&format!("ssl.{name}.location"));
            let password = self.take(&format!("ssl.{name}.password")).map(|(_, v)| v);
            let kind = self.take(&format!("ssl.{name}.type"));
            let Some((line, location)) = location else {
                return Ok(None);
            };
            let kind = match &kind {
                Some((_, t)) => t.to_ascii_uppercase(),
                None => Store::type_of(&location),
            };
            if kind != "PEM" {
                let line = self
                    .lines
                    .get(&format!("ssl.{name}.type"))
                    .copied()
                    .unwrap_or(line);
                return Err((self.err)(
                    line,
                    format!("ssl.{name}: a {kind} store is not supported; use PEM (openssl can convert JKS and PKCS12 stores)"),
                ));
            }
            Ok(Some(Store {
                location: PathBuf::from(location),
                password,
                line,
            }))
        };
        let key_store = store("keyStore")?;
        let trust_store = store("trustStore")?;
        let client_auth = match self.take("ssl.clientAuth") {
            None => ClientAuth::Need,
            Some((line, v)) => match v.to_ascii_lowercase().as_str() {
                "need" => ClientAuth::Need,
                "want" => ClientAuth::Want,
                "none" => ClientAuth::None,
                _ => {
                    return Err((self.err)(
                        line,
                        format!("ssl.clientAuth: not need, want or none: {v:?}"),
                    ))
                }
            },
        };
        let x509_super_user = self
            .take("X509AuthenticationProvider.superUser")
            .map(|(_, v)| v);
        Ok(SslConfig {
            key_store,
            trust_store,
            client_auth,
            x509_super_user,
        })
    }

    /// `authProvider.N`: the built-in providers (ip, digest, and SASL, which zabkeeper always
    /// has) are accepted; another class cannot be loaded, which is an error.
    fn auth_providers(&mut self) -> Result<(), ConfigError> {
        let keys: Vec<String> = self
            .raw
            .keys()
            .filter(|k| k.starts_with("authProvider."))
            .cloned()
            .collect();
        let known = [
            "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            "org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
            "org.apache.zookeeper.server.auth.IPAuthenticationProvider",
            "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
        ];
        for key in keys {
            let (line, class) = self.take(&key).expect("listed");
            if !known.contains(&class.as_str()) {
                return Err((self.err)(
                    line,
                    format!(
                        "{key}: provider {class} is not built in (built in: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The `server.N` lines; every key left is unknown.
    fn servers_and_unknown(&mut self, cfg: &mut ZooConfig) -> Result<(), ConfigError> {
        for (key, (line, value)) in std::mem::take(&mut self.raw) {
            if let Some(id) = key.strip_prefix("server.") {
                let id: u64 = id
                    .parse()
                    .map_err(|_| (self.err)(line, format!("bad server id in {key:?}")))?;
                let entry = parse_peer(&value).map_err(|r| (self.err)(line, r))?;
                cfg.servers.insert(id, entry);
            } else {
                cfg.unknown.push((line, key));
            }
        }
        Ok(())
    }

    fn opt_num<T: std::str::FromStr>(&mut self, key: &str) -> Result<Option<T>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some((line, v)) => v
                .parse()
                .map(Some)
                .map_err(|_| (self.err)(line, format!("{key}: not a valid number: {v:?}"))),
        }
    }

    fn num<T: std::str::FromStr>(&mut self, key: &str, default: T) -> Result<T, ConfigError> {
        Ok(self.opt_num(key)?.unwrap_or(default))
    }

    fn boolean(&mut self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some((line, v)) => match v.to_ascii_lowercase().as_str() {
                "true" | "yes" => Ok(true),
                "false" | "no" => Ok(false),
                _ => Err((self.err)(line, format!("{key}: not true or false: {v:?}"))),
            },
        }
    }

    fn list(&mut self, key: &str, default: &[&str]) -> Vec<String> {
        match self.take(key) {
            None => default.iter().map(|s| s.to_string()).collect(),
            Some((_, v)) => v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

fn parse_port(s: &str, what: &str) -> Result<u16, String> {
    s.parse()
        .map_err(|_| format!("{what}: not a valid port: {s:?}"))
}

/// Parses the value of a `server.N` line.
fn parse_peer(value: &str) -> Result<PeerEntry, String> {
    let (addrs, client) = match value.split_once(';') {
        Some((a, c)) => (a, Some(c.trim())),
        None => (value, None),
    };
    let parts: Vec<&str> = addrs.trim().split(':').collect();
    if parts.len() < 3 || parts.len() > 4 {
        return Err(format!(
            "expected host:quorumPort:electionPort[:participant|:observer], found {addrs:?}"
        ));
    }
    let observer = match parts.get(3) {
        None | Some(&"participant") => false,
        Some(&"observer") => true,
        Some(other) => return Err(format!("unknown server role {other:?}")),
    };
    let client = match client {
        None => None,
        Some(c) => {
            let (addr, port) = c.rsplit_once(':').unwrap_or(("0.0.0.0", c));
            let port = parse_port(port, "client port")?;
            let ip = addr
                .parse()
                .map_err(|_| format!("client address: not an IP address: {addr:?}"))?;
            Some(SocketAddr::new(ip, port))
        }
    };
    Ok(PeerEntry {
        host: parts[0].to_string(),
        quorum_port: parse_port(parts[1], "quorum port")?,
        election_port: parse_port(parts[2], "election port")?,
        observer,
        client,
    })
}
