//! The servers: `zabkeeper server` processes, each started in its own namespace with
//! `ip netns exec` (which execs, so the child's pid is the server's), its data directory and
//! log under the run's directory. What a nemesis does to a process happens here.

use crate::net::{self, Net};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The client port every server listens on, in its own namespace.
pub const CLIENT_PORT: u16 = 2181;

/// One server process.
pub struct Server {
    pub dir: PathBuf,
    child: Option<Child>,
    pub paused: bool,
}

/// An ensemble of servers in their namespaces.
pub struct Cluster {
    pub net: Net,
    pub servers: Vec<Server>,
    env: Vec<(String, String)>,
    /// Servers that exited on their own (not killed here), with their exit status.
    pub crashes: Vec<String>,
    /// Servers a fault may make exit (a full disk): their exit is an event, not a crash.
    pub may_exit: std::collections::BTreeSet<usize>,
}

/// The `zoo.cfg` of every server: short ticks so that a fault is noticed within a second
/// (`syncLimit` 5 x 200 ms), snapshots often so that recovery reads snapshot and log.
fn zoo_cfg(net: &Net, data: &Path) -> String {
    let mut cfg = format!(
        "tickTime=200\ninitLimit=10\nsyncLimit=5\nsnapCount=200\nmaxSessionTimeout=60000\n\
         dataDir={}\nclientPort={CLIENT_PORT}\n4lw.commands.whitelist=*\n",
        data.display()
    );
    for i in 1..=net.servers {
        cfg += &format!("server.{i}={}:2888:3888\n", net.addr(i));
    }
    cfg
}

impl Cluster {
    /// Writes each server's configuration under `dir` and starts them all; `env` goes to
    /// every server (`ZABKEEPER_BREAK` for a broken server, `ZABKEEPER_TRACE`).
    /// With `small_disks`, each data directory is a tmpfs of that many MiB.
    pub fn start(
        net: Net,
        dir: &Path,
        env: Vec<(String, String)>,
        small_disks: Option<u32>,
    ) -> Result<Cluster, String> {
        let mut servers = Vec::new();
        for i in 1..=net.servers {
            let d = dir.join(format!("s{i}"));
            let data = d.join("data");
            std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
            if let Some(mib) = small_disks {
                net::mount_small_disk(&data, mib)?;
            }
            std::fs::write(data.join("myid"), i.to_string()).map_err(|e| e.to_string())?;
            std::fs::write(d.join("zoo.cfg"), zoo_cfg(&net, &data)).map_err(|e| e.to_string())?;
            servers.push(Server {
                dir: d,
                child: None,
                paused: false,
            });
        }
        let mut c = Cluster {
            net,
            servers,
            env,
            crashes: Vec::new(),
            may_exit: Default::default(),
        };
        for i in 1..=c.servers.len() {
            c.launch(i)?;
        }
        Ok(c)
    }

    /// Server `i` (1-based).
    fn server(&mut self, i: usize) -> &mut Server {
        &mut self.servers[i - 1]
    }

    /// Starts server `i` if it is not running.
    pub fn launch(&mut self, i: usize) -> Result<(), String> {
        if self.servers[i - 1].child.is_some() {
            return Ok(());
        }
        let ns = self.net.ns(i);
        let dir = self.servers[i - 1].dir.clone();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(server_binary())
            .args(["server", "--config"])
            .arg(dir.join("zoo.cfg"))
            .env("ZABKEEPER_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting server {i}: {e}"))?;
        net::track_pid(child.id());
        let s = self.server(i);
        s.child = Some(child);
        s.paused = false;
        Ok(())
    }

    /// Whether server `i`'s process runs (paused or not).
    pub fn running(&self, i: usize) -> bool {
        self.servers[i - 1].child.is_some()
    }

    /// `kill -9` of server `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.server(i).child.take() {
            let _ = c.kill();
            let _ = c.wait();
            net::untrack_pid(c.id());
        }
        self.server(i).paused = false;
    }

    fn signal(&mut self, i: usize, sig: &str) {
        if let Some(c) = &self.servers[i - 1].child {
            let _ = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .output();
        }
    }

    /// SIGSTOP of server `i`.
    pub fn pause(&mut self, i: usize) {
        if self.running(i) {
            self.signal(i, "-STOP");
            self.server(i).paused = true;
        }
    }

    /// SIGCONT of server `i`.
    pub fn resume(&mut self, i: usize) {
        if self.servers[i - 1].paused {
            self.signal(i, "-CONT");
            self.server(i).paused = false;
        }
    }

    /// Servers whose process ended without being killed here: their exit statuses, also
    /// recorded as crashes.
    pub fn exited(&mut self) -> Vec<(usize, String)> {
        let out = self.exited_expectedly();
        for (i, status) in &out {
            if !self.may_exit.contains(i) {
                self.crashes
                    .push(format!("server {i} exited on its own: {status}"));
            }
        }
        out
    }

    /// The same, for exits a fault was expected to cause (a server refusing a damaged disk).
    pub fn exited_expectedly(&mut self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (k, s) in self.servers.iter_mut().enumerate() {
            if let Some(c) = &mut s.child {
                if let Ok(Some(status)) = c.try_wait() {
                    net::untrack_pid(c.id());
                    s.child = None;
                    out.push((k + 1, status.to_string()));
                }
            }
        }
        out
    }

    /// Server `i`'s `dataDir/version-2`.
    pub fn data(&self, i: usize) -> PathBuf {
        self.servers[i - 1].dir.join("data/version-2")
    }

    /// Server `i`'s client address, as the harness reaches it.
    pub fn client_addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from((self.net.addr(i), CLIENT_PORT))
    }

    /// The connect string naming every server, starting at server `first`.
    pub fn connect_string(&self, first: usize) -> String {
        let n = self.servers.len();
        (0..n)
            .map(|k| self.client_addr((first - 1 + k) % n + 1).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A four-letter word's answer from server `i`, or None (down, paused, cut off).
    pub fn four(&self, i: usize, word: &str) -> Option<String> {
        four(self.client_addr(i), word)
    }

    /// Server `i`'s `Mode:` line (leader, follower, standalone...).
    pub fn mode(&self, i: usize) -> Option<String> {
        let text = self.four(i, "srvr")?;
        let line = text.lines().find(|l| l.starts_with("Mode:"))?;
        Some(line["Mode:".len()..].trim().to_string())
    }

    /// The server that says it leads (the first, if a deposed one still says so).
    pub fn leader(&self) -> Option<usize> {
        (1..=self.servers.len()).find(|&i| {
            self.running(i)
                && !self.servers[i - 1].paused
                && self.mode(i).as_deref() == Some("leader")
        })
    }

    /// Waits until every running server serves (leader or follower) and one leads.
    pub fn await_serving(&self, within: Duration) -> Result<usize, String> {
        let start = Instant::now();
        loop {
            let modes: Vec<Option<String>> = (1..=self.servers.len())
                .map(|i| {
                    if self.running(i) {
                        self.mode(i)
                    } else {
                        Some("down".into())
                    }
                })
                .collect();
            let serving = modes
                .iter()
                .all(|m| matches!(m.as_deref(), Some("leader" | "follower" | "down")));
            if serving {
                if let Some(l) = modes.iter().position(|m| m.as_deref() == Some("leader")) {
                    return Ok(l + 1);
                }
            }
            if start.elapsed() > within {
                return Err(format!(
                    "the servers did not settle within {within:?}: {modes:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Each running server's `Zxid:` from `srvr`.
    pub fn zxids(&self) -> Vec<(usize, Option<String>)> {
        (1..=self.servers.len())
            .filter(|&i| self.running(i))
            .map(|i| {
                let z = self.four(i, "srvr").and_then(|t| {
                    t.lines()
                        .find(|l| l.starts_with("Zxid:"))
                        .map(|l| l["Zxid:".len()..].trim().to_string())
                });
                (i, z)
            })
            .collect()
    }

    /// Every running server's threads' stacks, in `s<i>/stacks.txt` (with gdb, where it is
    /// installed): what a server that stopped making progress was doing.
    pub fn dump_stacks(&self) {
        for s in &self.servers {
            if let Some(c) = &s.child {
                if let Ok(out) = Command::new("timeout")
                    .args([
                        "60",
                        "gdb",
                        "-p",
                        &c.id().to_string(),
                        "-batch",
                        "-ex",
                        "thread apply all bt",
                    ])
                    .output()
                {
                    let _ = std::fs::write(s.dir.join("stacks.txt"), out.stdout);
                }
            }
        }
    }

    /// Kills every server.
    pub fn stop(&mut self) {
        for i in 1..=self.servers.len() {
            self.resume(i);
            self.kill(i);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if let Some(s) = self.servers.first() {
            if let Some(run) = s.dir.parent() {
                net::unmount_under(run);
            }
        }
    }
}

/// The server's executable: `ZABKEEPER_BIN`, or the one cargo built with this harness (a long
/// campaign copies both away, so that a rebuild does not change them under it).
fn server_binary() -> PathBuf {
    std::env::var_os("ZABKEEPER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_zabkeeper")))
}

/// Sends a four-letter word, with short timeouts so that a paused server costs little.
pub fn four(addr: SocketAddr, word: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(700))).ok()?;
    s.set_write_timeout(Some(Duration::from_millis(300))).ok()?;
    s.write_all(word.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}
