//! The network the servers live in: one namespace per server, joined by a bridge in a hub
//! namespace, and one veth from the harness's own namespace onto that bridge so that its
//! clients reach every server. Partitions are `iptables` rules in the servers' namespaces.
//!
//! Names carry the harness's pid (`zkf<pid>h`, `zkf<pid>s<i>`, the harness's end `zkf<pid>r`),
//! so a later run can tell the leftovers of a harness that died (its pid gone) and remove them.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Mutex;

/// Everything this process made that must go when it stops: namespaces, links, processes.
static MADE: Mutex<Made> = Mutex::new(Made {
    namespaces: Vec::new(),
    links: Vec::new(),
    pids: Vec::new(),
    mounts: Vec::new(),
});

struct Made {
    namespaces: Vec<String>,
    links: Vec<String>,
    pids: Vec<u32>,
    mounts: Vec<String>,
}

/// Mounts a tmpfs of `mib` MiB on `dir` (a small disk that can fill up), unmounted at cleanup.
pub fn mount_small_disk(dir: &std::path::Path, mib: u32) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let d = dir.display().to_string();
    sh(
        None,
        &[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &format!("size={mib}m"),
            "tmpfs",
            &d,
        ],
    )?;
    MADE.lock().unwrap().mounts.push(d);
    Ok(())
}

/// Unmounts the small disks under `dir` (after their servers stopped).
pub fn unmount_under(dir: &std::path::Path) {
    let prefix = dir.display().to_string();
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let (mine, rest): (Vec<String>, Vec<String>) =
        made.mounts.drain(..).partition(|m| m.starts_with(&prefix));
    made.mounts = rest;
    drop(made);
    for m in mine {
        let _ = Command::new("umount").args(["-l", &m]).output();
    }
}

/// Records a server process to kill at cleanup.
pub fn track_pid(pid: u32) {
    MADE.lock().unwrap().pids.push(pid);
}

/// Forgets a process that was reaped.
pub fn untrack_pid(pid: u32) {
    MADE.lock().unwrap().pids.retain(|p| *p != pid);
}

/// Kills every tracked process and removes every namespace and link this process made.
/// Safe to call more than once (from a signal handler and from `Drop`).
pub fn cleanup() {
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    for pid in made.pids.drain(..) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .output();
    }
    for link in made.links.drain(..) {
        let _ = Command::new("ip").args(["link", "del", &link]).output();
    }
    for m in made.mounts.drain(..) {
        let _ = Command::new("umount").args(["-l", &m]).output();
    }
    for ns in made.namespaces.drain(..) {
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
    }
}

/// Runs `ip` (or `ip netns exec NS cmd` when `ns` is given), failing with its message.
pub fn sh(ns: Option<&str>, cmd: &[&str]) -> Result<String, String> {
    let mut c = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).args(cmd);
            c
        }
        None => {
            let mut c = Command::new(cmd[0]);
            c.args(&cmd[1..]);
            c
        }
    };
    let out = c.output().map_err(|e| format!("{}: {e}", cmd.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "`{}`{} failed: {}",
            cmd.join(" "),
            ns.map(|n| format!(" in {n}")).unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Why this machine cannot run the harness, if it cannot: root, `ip` and `iptables` needed.
pub fn unavailable() -> Option<String> {
    let uid = sh(None, &["id", "-u"]).unwrap_or_default();
    if uid.trim() != "0" {
        return Some("the fault harness needs root (network namespaces)".into());
    }
    for tool in ["ip", "iptables", "kill"] {
        if sh(None, &["sh", "-c", &format!("command -v {tool}")]).is_err() {
            return Some(format!(
                "`{tool}` is not installed (Debian: iproute2, iptables, procps)"
            ));
        }
    }
    None
}

/// Removes namespaces and links left by harness processes that no longer run.
pub fn sweep_leftovers() {
    let dead = |name: &str| -> bool {
        let digits: String = name
            .trim_start_matches("zkf")
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        match digits.parse::<u32>() {
            Ok(pid) => {
                pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            }
            Err(_) => false,
        }
    };
    let list = sh(None, &["ip", "netns", "list"]).unwrap_or_default();
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if name.starts_with("zkf") && dead(name) {
            let _ = sh(None, &["ip", "netns", "del", name]);
        }
    }
    let links = sh(None, &["ip", "-o", "link", "show"]).unwrap_or_default();
    for line in links.lines() {
        let name = line.split(':').nth(1).unwrap_or("").trim();
        let name = name.split('@').next().unwrap_or("");
        if name.starts_with("zkf") && dead(name) {
            let _ = sh(None, &["ip", "link", "del", name]);
        }
    }
}

/// The namespaces of one run's servers.
pub struct Net {
    tag: String,
    subnet: [u8; 3],
    pub servers: usize,
}

impl Net {
    /// Makes the hub, `servers` server namespaces and the harness's link; `run` keeps the
    /// subnets of consecutive runs apart.
    pub fn create(servers: usize, run: usize) -> Result<Net, String> {
        let pid = std::process::id();
        let tag = format!("zkf{pid}");
        // A /24 no other harness on this machine uses now (their ends sit in this namespace).
        let taken = sh(None, &["ip", "-o", "-4", "addr", "show"]).unwrap_or_default();
        let third = (0..250)
            .map(|k| ((pid as usize + run + k) % 250) as u8)
            .find(|x| !taken.contains(&format!(" 10.213.{x}.")))
            .ok_or("no free 10.213.x.0/24 subnet")?;
        let subnet = [10, 213, third];
        let net = Net {
            tag,
            subnet,
            servers,
        };
        let hub = net.hub();
        net.add_ns(&hub)?;
        sh(Some(&hub), &["ip", "link", "add", "br0", "type", "bridge"])?;
        sh(Some(&hub), &["ip", "link", "set", "br0", "up"])?;
        for i in 1..=servers {
            let ns = net.ns(i);
            net.add_ns(&ns)?;
            let v = format!("v{i}");
            // Created in the hub, the other end moved into the server's namespace.
            sh(
                Some(&hub),
                &[
                    "ip", "link", "add", &v, "type", "veth", "peer", "name", "eth0", "netns", &ns,
                ],
            )?;
            sh(
                Some(&hub),
                &["ip", "link", "set", &v, "master", "br0", "up"],
            )?;
            let addr = format!("{}/24", net.addr(i));
            sh(Some(&ns), &["ip", "addr", "add", &addr, "dev", "eth0"])?;
            sh(Some(&ns), &["ip", "link", "set", "eth0", "up"])?;
            sh(Some(&ns), &["ip", "link", "set", "lo", "up"])?;
        }
        let root = format!("{}r", net.tag);
        sh(
            None,
            &[
                "ip", "link", "add", &root, "type", "veth", "peer", "name", "up0", "netns", &hub,
            ],
        )?;
        MADE.lock().unwrap().links.push(root.clone());
        sh(
            Some(&hub),
            &["ip", "link", "set", "up0", "master", "br0", "up"],
        )?;
        let addr = format!("{}/24", net.harness_addr());
        sh(None, &["ip", "addr", "add", &addr, "dev", &root])?;
        sh(None, &["ip", "link", "set", &root, "up"])?;
        Ok(net)
    }

    fn add_ns(&self, ns: &str) -> Result<(), String> {
        sh(None, &["ip", "netns", "add", ns])?;
        MADE.lock().unwrap().namespaces.push(ns.to_string());
        Ok(())
    }

    fn hub(&self) -> String {
        format!("{}h", self.tag)
    }

    /// Server `i`'s namespace (1-based).
    pub fn ns(&self, i: usize) -> String {
        format!("{}s{i}", self.tag)
    }

    /// Server `i`'s address.
    pub fn addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(self.subnet[0], self.subnet[1], self.subnet[2], i as u8)
    }

    /// The harness's (its clients') address.
    pub fn harness_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.subnet[0], self.subnet[1], self.subnet[2], 254)
    }

    /// Drops what server `from` sends to server `to` (at `to`'s door); `from == 0` means the
    /// harness's clients.
    pub fn drop_from(&self, from: usize, to: usize) -> Result<(), String> {
        let src = if from == 0 {
            self.harness_addr()
        } else {
            self.addr(from)
        };
        let src = src.to_string();
        sh(
            Some(&self.ns(to)),
            &["iptables", "-A", "INPUT", "-s", &src, "-j", "DROP"],
        )?;
        Ok(())
    }

    /// Removes every rule: the network is whole again.
    pub fn heal(&self) -> Result<(), String> {
        for i in 1..=self.servers {
            sh(Some(&self.ns(i)), &["iptables", "-F", "INPUT"])?;
        }
        Ok(())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
        let mine = |n: &String| n.starts_with(&self.tag);
        let namespaces: Vec<String> = made
            .namespaces
            .iter()
            .filter(|n| mine(n))
            .cloned()
            .collect();
        let links: Vec<String> = made.links.iter().filter(|n| mine(n)).cloned().collect();
        made.namespaces.retain(|n| !mine(n));
        made.links.retain(|n| !mine(n));
        drop(made);
        for link in links {
            let _ = sh(None, &["ip", "link", "del", &link]);
        }
        for ns in namespaces {
            let _ = sh(None, &["ip", "netns", "del", &ns]);
        }
    }
}
