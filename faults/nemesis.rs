//! The nemeses: the faults a run injects, every few seconds, each healed before the next.
//! Every fault and heal is an event on the run's timeline.

use crate::cluster::Cluster;
use crate::disk::{self, Damage};
use crate::history::{Event, Recorder};
use crate::workload::{Rng, SESSION_TIMEOUT};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nemesis {
    /// No fault: the baseline.
    None,
    /// `kill -9` of the leader, restarted 1-3 s later.
    KillLeader,
    /// `kill -9` of a random server.
    KillRandom,
    /// `kill -9` of a majority (the leader among them when it is chosen).
    KillMajority,
    /// `kill -9` of every server at once (the ensemble's power cut with `--power-cut`;
    /// without it the kernel keeps what was written and not yet fsynced).
    KillAll,
    /// SIGSTOP of the leader for longer than the session timeout, then SIGCONT.
    PauseLeader,
    /// The same for a follower.
    PauseFollower,
    /// The servers split into two random groups.
    Partition,
    /// The leader cut off from everyone, its clients too.
    IsolateLeader,
    /// The leader cut off from its peers; its clients still reach it.
    IsolateLeaderPeers,
    /// Two halves sharing one server (with three: 1 and 3 cannot talk, 2 talks to both).
    Bridge,
    /// What one server sends to another is dropped, not the other way.
    OneWay,
    /// A follower's newest log: one byte changed (`disk.rs`), then restarted.
    FlipLog,
    /// A follower's newest snapshot: one byte changed, then restarted.
    FlipSnapshot,
    /// A follower's newest log cut short, then restarted.
    CutLog,
    /// A follower's data removed, then restarted empty.
    Wipe,
    /// A server's disk (a 64 MiB tmpfs in this nemesis's runs) filled up for 3-5 s.
    FullDisk,
    /// Each fault drawn from all of the above.
    Mix,
}

impl Nemesis {
    pub const ALL: [Nemesis; 18] = [
        Nemesis::None,
        Nemesis::KillLeader,
        Nemesis::KillRandom,
        Nemesis::KillMajority,
        Nemesis::KillAll,
        Nemesis::PauseLeader,
        Nemesis::PauseFollower,
        Nemesis::Partition,
        Nemesis::IsolateLeader,
        Nemesis::IsolateLeaderPeers,
        Nemesis::Bridge,
        Nemesis::OneWay,
        Nemesis::FlipLog,
        Nemesis::FlipSnapshot,
        Nemesis::CutLog,
        Nemesis::Wipe,
        Nemesis::FullDisk,
        Nemesis::Mix,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Nemesis::None => "none",
            Nemesis::KillLeader => "kill-leader",
            Nemesis::KillRandom => "kill-random",
            Nemesis::KillMajority => "kill-majority",
            Nemesis::KillAll => "kill-all",
            Nemesis::PauseLeader => "pause-leader",
            Nemesis::PauseFollower => "pause-follower",
            Nemesis::Partition => "partition",
            Nemesis::IsolateLeader => "isolate-leader",
            Nemesis::IsolateLeaderPeers => "isolate-leader-peers",
            Nemesis::Bridge => "bridge",
            Nemesis::OneWay => "one-way",
            Nemesis::FlipLog => "flip-log",
            Nemesis::FlipSnapshot => "flip-snapshot",
            Nemesis::CutLog => "cut-log",
            Nemesis::Wipe => "wipe",
            Nemesis::FullDisk => "full-disk",
            Nemesis::Mix => "mix",
        }
    }

    pub fn parse(s: &str) -> Option<Nemesis> {
        Nemesis::ALL.into_iter().find(|n| n.name() == s)
    }
}

/// Runs faults against `cluster` until `end`, then heals everything.
pub fn run(
    nemesis: Nemesis,
    cluster: Arc<Mutex<Cluster>>,
    rec: Recorder,
    events: Arc<Mutex<Vec<Event>>>,
    seed: u64,
    end: Instant,
) {
    let mut rng = Rng::new(seed);
    let log = |what: String| {
        events.lock().unwrap().push(Event {
            at: rec.elapsed(),
            what,
        })
    };
    if nemesis == Nemesis::None {
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
        return;
    }
    // Let the clients start before the first fault.
    std::thread::sleep(Duration::from_millis(2000));
    while Instant::now() + Duration::from_secs(3) < end {
        let n = if nemesis == Nemesis::Mix {
            Nemesis::ALL[1 + rng.below(15) as usize]
        } else {
            nemesis
        };
        let hold = fault(n, &cluster, &mut rng, &log);
        std::thread::sleep(hold.min(end.saturating_duration_since(Instant::now())));
        heal(&cluster, &log);
        std::thread::sleep(Duration::from_millis(2000 + rng.below(2000)));
    }
    heal(&cluster, &log);
}

/// Injects one fault; returns how long to hold it.
fn fault(n: Nemesis, cluster: &Mutex<Cluster>, rng: &mut Rng, log: &dyn Fn(String)) -> Duration {
    let mut c = cluster.lock().unwrap();
    let count = c.servers.len();
    let random = |rng: &mut Rng| 1 + rng.below(count as u64) as usize;
    let leader = c.leader();
    let pause = SESSION_TIMEOUT + Duration::from_millis(1000 + rng.below(3000));
    let down = Duration::from_millis(1000 + rng.below(2000));
    let cut = Duration::from_millis(3000 + rng.below(2000));
    match n {
        Nemesis::None | Nemesis::Mix => Duration::ZERO,
        Nemesis::KillLeader | Nemesis::KillRandom => {
            let v = match (n, leader) {
                (Nemesis::KillLeader, Some(l)) => l,
                _ => random(rng),
            };
            c.kill(v);
            log(format!("kill {v}"));
            down
        }
        Nemesis::KillMajority | Nemesis::KillAll => {
            let mut order: Vec<usize> = (1..=count).collect();
            shuffle(&mut order, rng);
            let victims = if n == Nemesis::KillAll {
                &order[..]
            } else {
                &order[..count / 2 + 1]
            };
            for &v in victims {
                c.kill(v);
            }
            log(format!("kill {victims:?}"));
            down
        }
        Nemesis::PauseLeader | Nemesis::PauseFollower => {
            let v = match (n, leader) {
                (Nemesis::PauseLeader, Some(l)) => l,
                (Nemesis::PauseFollower, Some(l)) => {
                    (l + rng.below(count as u64 - 1) as usize) % count + 1
                }
                _ => random(rng),
            };
            c.pause(v);
            log(format!("pause {v}"));
            pause
        }
        Nemesis::Partition => {
            let mut order: Vec<usize> = (1..=count).collect();
            shuffle(&mut order, rng);
            let k = 1 + rng.below(count as u64 / 2) as usize;
            let (a, b) = order.split_at(k);
            for &x in a {
                for &y in b {
                    let _ = c.net.drop_from(x, y);
                    let _ = c.net.drop_from(y, x);
                }
            }
            log(format!("partition {a:?} | {b:?}"));
            cut
        }
        Nemesis::IsolateLeader | Nemesis::IsolateLeaderPeers => {
            let l = leader.unwrap_or_else(|| random(rng));
            for x in (1..=count).filter(|&x| x != l) {
                let _ = c.net.drop_from(x, l);
                let _ = c.net.drop_from(l, x);
            }
            if n == Nemesis::IsolateLeader {
                let _ = c.net.drop_from(0, l);
                log(format!("isolate {l} from all"));
            } else {
                log(format!("isolate {l} from its peers"));
            }
            cut
        }
        Nemesis::Bridge => {
            let mut order: Vec<usize> = (1..=count).collect();
            shuffle(&mut order, rng);
            let mid = count / 2;
            let (a, b) = (&order[..mid], &order[mid + 1..]);
            for &x in a {
                for &y in b {
                    let _ = c.net.drop_from(x, y);
                    let _ = c.net.drop_from(y, x);
                }
            }
            log(format!("bridge {a:?} - {} - {b:?}", order[mid]));
            cut
        }
        Nemesis::FlipLog | Nemesis::FlipSnapshot | Nemesis::CutLog | Nemesis::Wipe => {
            let v = match leader {
                Some(l) => (l + rng.below(count as u64 - 1) as usize) % count + 1,
                None => random(rng),
            };
            let d = match n {
                Nemesis::FlipLog => Damage::FlipLog,
                Nemesis::FlipSnapshot => Damage::FlipSnapshot,
                Nemesis::CutLog => Damage::CutLog,
                _ => Damage::Wipe,
            };
            disk::fault(&mut c, v, d, rng, log);
            Duration::from_millis(500)
        }
        Nemesis::FullDisk => {
            let v = random(rng);
            let what = disk::fill(&c.servers[v - 1].dir.join("data"));
            c.may_exit.insert(v);
            log(format!("fill the disk of {v}: {what}"));
            cut
        }
        Nemesis::OneWay => {
            let from = leader.unwrap_or_else(|| random(rng));
            let to = (from + rng.below(count as u64 - 1) as usize) % count + 1;
            let _ = c.net.drop_from(from, to);
            log(format!("drop {from} -> {to}"));
            cut
        }
    }
}

/// Restarts killed servers, resumes paused ones, removes every rule.
pub fn heal(cluster: &Mutex<Cluster>, log: &dyn Fn(String)) {
    let mut c = cluster.lock().unwrap();
    let _ = c.net.heal();
    for s in &c.servers {
        disk::unfill(&s.dir.join("data"));
    }
    let mut done: Vec<String> = c
        .exited()
        .iter()
        .map(|(i, st)| {
            format!(
                "server {i} had exited ({st}): {}",
                disk::last_words(&c.servers[i - 1].dir)
            )
        })
        .collect();
    c.may_exit.clear();
    for i in 1..=c.servers.len() {
        if c.servers[i - 1].paused {
            c.resume(i);
            done.push(format!("resume {i}"));
        }
        if !c.running(i) {
            match c.launch(i) {
                Ok(()) => done.push(format!("start {i}")),
                Err(e) => done.push(format!("start {i} failed: {e}")),
            }
        }
    }
    done.push("heal".into());
    log(done.join(", "));
}

fn shuffle(v: &mut [usize], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}
