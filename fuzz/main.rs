//! Bad input, generated and mutated (docs/reliability.md, "Fuzzing"): every decoder that reads
//! bytes from outside takes millions of inputs, and none may panic, hang, or ask for an
//! allocation larger than the frame limit allows.
//!
//!     cargo test --release --test fuzz                       # 200,000 inputs per target (CI)
//!     cargo test --release --test fuzz -- --inputs 10000000  # the recorded run
//!     cargo test --release --test fuzz -- --target log --seed 7
//!
//! Targets: `jute` (a client frame's length, then the connect request, a request or a reply of
//! any opcode, as `src/jute/codec.rs` decodes them), `peer` (a peer frame's body on either
//! channel, `runtime::peer::decode`, the trust boundary between servers), `log` and
//! `snapshot` (a data directory file, `runtime::record::decode_all`, every format it reads),
//! `zoo.cfg` (`runtime::config::ZooConfig::parse`). Inputs are mutations of real ones (frames
//! captured from ZooKeeper 3.8 with zkCli and kazoo, the data directories of
//! `model-tests/fixtures`, a documented zoo.cfg, encoded peer messages) and random bytes.
//!
//! A panic is caught, counted and its input saved under `target/fuzz/`. An allocation larger
//! than the limit (the jute frame limit, or 16 bytes per input byte where that is more) is
//! counted the same way; one of more than 256 MiB would stop the process, so the allocator
//! writes the input to `target/fuzz/<target>.oversized` and aborts with a message. An input
//! that runs longer than 10 s makes a watchdog abort the same way (`<target>.hang`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use zabkeeper::jute::{codec, frame_length, MAX_FRAME};
use zabkeeper::runtime::config::ZooConfig;
use zabkeeper::runtime::{peer, record};
use zabkeeper::zab::msg::Channel;
use zabkeeper::zab::{Msg, Snapshot, Txn, Zxid};
use zabkeeper::zk::{DataTree, ZkTxn, ZooKeeper};

/// Allocations above this stop the process (see the module's docs).
const HARD: usize = 256 << 20;

/// The global allocator, watching the largest request while a target runs.
struct Watch;

static ARMED: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// Where the input goes when the process must abort; opened before each target runs.
static SINK: Mutex<Option<std::fs::File>> = Mutex::new(None);
/// When the current input began, in ms since `EPOCH` (+1; 0 when none runs).
static STARTED_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();
/// The input being decoded (written there on abort).
static CURRENT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
            if layout.size() > HARD {
                ARMED.store(false, Ordering::Relaxed);
                abort_with("oversized", layout.size());
            }
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            LARGEST.fetch_max(new, Ordering::Relaxed);
            if new > HARD {
                ARMED.store(false, Ordering::Relaxed);
                abort_with("oversized", new);
            }
        }
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Watch = Watch;

/// Saves the current input and aborts (from the allocator or the watchdog: nothing here may
/// allocate).
fn abort_with(what: &str, size: usize) -> ! {
    let mut err = std::io::stderr();
    if let (Ok(mut sink), Ok(input)) = (SINK.try_lock(), CURRENT.try_lock()) {
        if let Some(f) = sink.as_mut() {
            let _ = f.write_all(&input);
        }
    }
    let _ = err.write_all(b"fuzz: ");
    let _ = err.write_all(what.as_bytes());
    let _ = err.write_all(b": an input asked for ");
    let mut digits = [0u8; 20];
    let mut n = size;
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let _ = err.write_all(&digits[k..]);
    let _ = err.write_all(b" (bytes; ms for a hang); its input is target/fuzz/<target>.aborted\n");
    std::process::abort()
}

/// A tiny deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break length and count fields.
const INTERESTING: [u32; 10] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x0010_0001,
];

/// One to eight stacked mutations of `seed` (or random bytes, one time in ten).
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.below(10) == 0 {
        let len = rng.below(96);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next() as u8;
            }
            2 if len >= 4 => {
                // A big-endian length or count field set to a value that breaks it.
                let i = rng.below(len - 3);
                let x = INTERESTING[rng.below(INTERESTING.len())];
                v[i..i + 4].copy_from_slice(&x.to_be_bytes());
            }
            3 if len > 0 => {
                // A varint (postcard) made long.
                let i = rng.below(len);
                v[i] |= 0x80;
            }
            4 => v.truncate(rng.below(len + 1)),
            5 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(i..i, bytes);
            }
            6 if len > 1 => {
                let a = rng.below(len);
                let b = a + rng.below(len - a);
                v.drain(a..b);
            }
            7 if len > 1 => {
                // A chunk repeated.
                let a = rng.below(len);
                let b = (a + 1 + rng.below(32)).min(len);
                let chunk = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            _ => {
                // Spliced with another seed.
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
        }
    }
    v
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Jute,
    Peer,
    Log,
    Snapshot,
    ZooCfg,
}

const TARGETS: [Target; 5] = [
    Target::Jute,
    Target::Peer,
    Target::Log,
    Target::Snapshot,
    Target::ZooCfg,
];

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Jute => "jute",
            Target::Peer => "peer",
            Target::Log => "log",
            Target::Snapshot => "snapshot",
            Target::ZooCfg => "zoo.cfg",
        }
    }

    /// Decodes `input`; whether some decoder accepted it (the rest is refused with an error,
    /// which is what bad input must get).
    fn run(self, input: &[u8]) -> bool {
        match self {
            Target::Jute => {
                let Some((head, body)) = input.split_first_chunk::<4>() else {
                    return false;
                };
                let Ok(len) = frame_length(*head) else {
                    return false;
                };
                let body = &body[..len.min(body.len())];
                let code = body
                    .get(4..8)
                    .map_or(0, |c| i32::from_be_bytes(c.try_into().unwrap()));
                let a = codec::decode_connect_request(body).is_ok();
                let b = codec::decode_request(body).is_ok();
                let c = codec::decode_reply(body, code).is_ok();
                let d = codec::decode_connect_response(body).is_ok();
                a || b || c || d
            }
            Target::Peer => {
                let a = peer::decode(1, Channel::Quorum, input).is_ok();
                a || peer::decode(1, Channel::Election, input).is_ok()
            }
            Target::Log => record::decode_all::<Txn<ZkTxn>>(input).is_ok(),
            Target::Snapshot => record::decode_all::<Snapshot<DataTree>>(input).is_ok(),
            Target::ZooCfg => {
                ZooConfig::parse(Path::new("zoo.cfg"), &String::from_utf8_lossy(input)).is_ok()
            }
        }
    }

    fn seeds(self, root: &Path) -> Vec<Vec<u8>> {
        let fixtures = root.join("model-tests/fixtures");
        let files = |prefix: &str| -> Vec<Vec<u8>> {
            let mut out = Vec::new();
            for d in ["datadir-618cabf", "datadir-023916a"] {
                let dir = fixtures.join(d).join("version-2");
                for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if e.file_name().to_string_lossy().starts_with(prefix) {
                        out.extend(std::fs::read(e.path()));
                    }
                }
            }
            out
        };
        let seeds = match self {
            Target::Jute => {
                let mut out = Vec::new();
                for f in ["zk38-zkcli-kazoo.txt", "zk38-watches-reconnect.txt"] {
                    let text = std::fs::read_to_string(fixtures.join(f)).unwrap_or_default();
                    for line in text.lines() {
                        let Some(hex) = line.strip_prefix("C ").or_else(|| line.strip_prefix("S "))
                        else {
                            continue;
                        };
                        let body: Vec<u8> = (0..hex.len() / 2)
                            .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                            .collect();
                        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
                        frame.extend(body);
                        out.push(frame);
                    }
                }
                out
            }
            Target::Peer => {
                let msgs: Vec<Msg<ZooKeeper>> = vec![
                    Msg::Ping,
                    Msg::Ack(Zxid(0x1_0000_0005)),
                    Msg::Commit(Zxid(0x1_0000_0005)),
                    Msg::SyncRequest(3),
                    Msg::Synced(3),
                    Msg::FollowerInfo { accepted_epoch: 1 },
                    Msg::LeaderInfo { epoch: 2 },
                ];
                // Without the 4-byte length: `decode` takes the body.
                msgs.iter().map(|m| peer::encode(m)[4..].to_vec()).collect()
            }
            Target::Log => current_format::<Txn<ZkTxn>>(files("log.")),
            Target::Snapshot => current_format::<Snapshot<DataTree>>(files("snapshot.")),
            Target::ZooCfg => vec![ZOO_CFG.as_bytes().to_vec()],
        };
        assert!(!seeds.is_empty(), "no seeds for {}", self.name());
        seeds
    }
}

/// The fixtures (formats 1 and 2) and the same records written in the current format.
fn current_format<T: serde::Serialize + serde::de::DeserializeOwned>(
    files: Vec<Vec<u8>>,
) -> Vec<Vec<u8>> {
    let mut out = files.clone();
    for f in &files {
        if let Ok((records, _)) = record::decode_all::<T>(f) {
            let mut bytes = record::header().to_vec();
            for r in &records {
                bytes.extend(record::encode(r));
            }
            out.push(bytes);
        }
    }
    out
}

const ZOO_CFG: &str = "# a comment\ntickTime=500\ninitLimit=5\nsyncLimit=2\ndataDir=/var/zk\n\
dataLogDir=/var/zklog\nclientPort=2181\nsecureClientPort=2281\nmaxClientCnxns=10\n\
4lw.commands.whitelist=stat, ruok ,conf\nextendedTypesEnabled=true\nsnapCount=100000\n\
autopurge.snapRetainCount=3\nautopurge.purgeInterval=1\nreadonlymode.enabled=true\n\
server.1=zk1:2888:3888\nserver.2=zk2:2888:3888:participant;2182\n\
server.3=zk3:2888:3888:observer;127.0.0.1:2183\nsomeFutureKey=1\n";

/// What one target's run found.
struct Found {
    inputs: u64,
    accepted: u64,
    panics: u64,
    oversized: u64,
    largest: usize,
    slowest: Duration,
}

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

fn fuzz(t: Target, inputs: u64, seed: u64, root: &Path, out: &Path) -> Found {
    let seeds = t.seeds(root);
    let mut rng = Rng(seed ^ (t as u64) << 32);
    let mut found = Found {
        inputs,
        accepted: 0,
        panics: 0,
        oversized: 0,
        largest: 0,
        slowest: Duration::ZERO,
    };
    for i in 0..inputs {
        let input = mutate(&mut rng, &seeds);
        let limit = MAX_FRAME.max(16 * input.len());
        {
            let mut cur = CURRENT.lock().unwrap();
            cur.clear();
            cur.extend_from_slice(&input);
        }
        let start = Instant::now();
        STARTED_MS.store(now_ms() + 1, Ordering::Relaxed);
        LARGEST.store(0, Ordering::Relaxed);
        ARMED.store(true, Ordering::Relaxed);
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| t.run(&input)));
        ARMED.store(false, Ordering::Relaxed);
        STARTED_MS.store(0, Ordering::Relaxed);
        found.slowest = found.slowest.max(start.elapsed());
        let largest = LARGEST.load(Ordering::Relaxed);
        found.largest = found.largest.max(largest);
        let save = |kind: &str| {
            let path = out.join(format!("{}-{kind}-{i}.bin", t.name()));
            let _ = std::fs::write(&path, &input);
            path
        };
        if matches!(r, Ok(true)) {
            found.accepted += 1;
        }
        if r.is_err() {
            found.panics += 1;
            if found.panics <= 5 {
                eprintln!(
                    "fuzz: {}: input {i} panicked; saved as {}",
                    t.name(),
                    save("panic").display()
                );
            }
        }
        if largest > limit {
            found.oversized += 1;
            if found.oversized <= 5 {
                eprintln!(
                    "fuzz: {}: input {i} ({} bytes) allocated {largest} bytes at once; saved as {}",
                    t.name(),
                    input.len(),
                    save("oversized").display()
                );
            }
        }
    }
    found
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("sample: test");
        return;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let inputs: u64 = value("--inputs").map_or(200_000, |v| v.parse().expect("--inputs N"));
    let seed: u64 = value("--seed").map_or(1, |v| v.parse().expect("--seed N"));
    let only = value("--target");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/fuzz");
    std::fs::create_dir_all(&out).unwrap();
    // Panics are counted, not printed ten million times.
    std::panic::set_hook(Box::new(|_| {}));
    // The watchdog: an input running for more than 10 s is a hang.
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_secs(1));
        let at = STARTED_MS.load(Ordering::Relaxed);
        if at != 0 && now_ms().saturating_sub(at - 1) > 10_000 {
            abort_with("hang", (now_ms() - at) as usize);
        }
    });
    // The detectors themselves: a panic is caught, a large allocation is seen.
    ARMED.store(true, Ordering::Relaxed);
    let caught = std::panic::catch_unwind(|| panic!("planted")).is_err();
    let big = std::hint::black_box(vec![0u8; 2 * MAX_FRAME]);
    ARMED.store(false, Ordering::Relaxed);
    assert!(
        caught && LARGEST.load(Ordering::Relaxed) >= big.len(),
        "the fuzzer's detectors do not work"
    );
    drop(big);
    let mut failed = false;
    println!("| target | inputs | accepted | panics | allocations over the limit | largest allocation | slowest input | time |");
    println!("|---|---|---|---|---|---|---|---|");
    for t in TARGETS {
        if only.as_deref().is_some_and(|o| o != t.name()) {
            continue;
        }
        // The input of an abort (an allocation over 256 MiB, a hang) lands here.
        let path = out.join(format!("{}.aborted", t.name()));
        *SINK.lock().unwrap() = Some(std::fs::File::create(&path).unwrap());
        let started = Instant::now();
        let f = fuzz(t, inputs, seed, &root, &out);
        *SINK.lock().unwrap() = None;
        let _ = std::fs::remove_file(&path);
        failed |= f.panics > 0 || f.oversized > 0;
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} ms | {:.0} s |",
            t.name(),
            f.inputs,
            f.accepted,
            f.panics,
            f.oversized,
            f.largest,
            f.slowest.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64()
        );
    }
    std::process::exit(i32::from(failed));
}
