//! What taking and encoding a snapshot costs with the tree's size: builds a tree of
//! `ZK_BENCH_NODES` znodes of 100 bytes (default 1,000,000, under a thousand parents as
//! `benches/scale.sh` fills them), then times the copy a snapshot takes of it (O(1): the tree is
//! persistent), the encoding of that snapshot into its record, and reports the process's peak
//! resident memory. `cargo bench --bench snapshot`.

use std::time::Instant;
use zabkeeper::zab::{Snapshot, Zxid};
use zabkeeper::zk::txn::{TxnOp, ZkTxn};
use zabkeeper::zk::{Acl, DataTree};

fn create(path: String, cxid: i32) -> ZkTxn {
    ZkTxn {
        session: 0,
        cxid,
        time: 0,
        op: TxnOp::Create {
            path,
            data: Some(vec![b'x'; 100]),
            acl: Acl::open(),
            parent_cversion: 1,
            owner: 0,
        },
    }
}

fn main() {
    let n: i64 = std::env::var("ZK_BENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut tree = DataTree::default();
    let start = Instant::now();
    tree.apply_txn(1, &create("/scale".into(), 0));
    for p in 0..1000 {
        tree.apply_txn(2, &create(format!("/scale/p{p}"), 0));
    }
    for i in 0..n {
        tree.apply_txn(
            3 + i,
            &create(format!("/scale/p{}/n{i}", i % 1000), i as i32),
        );
    }
    println!("{n} znodes built in {:.2} s", start.elapsed().as_secs_f64());
    let start = Instant::now();
    let snapshot = Snapshot {
        zxid: Zxid::new(1, 1),
        state: tree.clone(),
    };
    println!("snapshot copy: {:?}", start.elapsed());
    let start = Instant::now();
    let (_, body) = zabkeeper::runtime::record::encode_parts(&snapshot);
    println!(
        "snapshot encoded: {} bytes in {:.2} s",
        body.len(),
        start.elapsed().as_secs_f64()
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
        println!(
            "peak resident memory: {}",
            line.trim_start_matches("VmHWM:").trim()
        );
    }
}
