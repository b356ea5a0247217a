//! The data directory's format (docs/storage.md): files this code writes carry the format
//! header and postcard records (format 3); data directories of the older formats are still
//! read: recovery gets the same tree, the newest log is written again in format 3 before
//! anything is appended, and a server started on it serves that tree. The fixtures were made
//! with kazoo against the named commit's `zabkeeper server` with snapCount=5, then `kill -9`:
//! `fixtures/datadir-618cabf` (format 1: headerless, bincode records) and
//! `fixtures/datadir-023916a` (format 2: data never null; its `/none` was created with null
//! data, which format 2 stored as empty).

use crate::runtime::Node;
use crate::zk_wire::{free_port, scratch, Client};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zabkeeper::runtime::record::{self, Format};
use zabkeeper::runtime::storage::{DataDir, ZkDurable};
use zabkeeper::zk::tree::Store;

const FORMAT_1: &str = "datadir-618cabf";
const FORMAT_2: &str = "datadir-023916a";

fn fixture(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("model-tests/fixtures")
        .join(which)
}

/// A copy of a fixture's data directory (tests change what they open).
fn copy_fixture(which: &str, name: &str) -> PathBuf {
    let data = scratch(name).join("data");
    std::fs::create_dir_all(data.join("version-2")).unwrap();
    if fixture(which).join("myid").exists() {
        std::fs::copy(fixture(which).join("myid"), data.join("myid")).unwrap();
    }
    for e in std::fs::read_dir(fixture(which).join("version-2")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, data.join("version-2").join(p.file_name().unwrap())).unwrap();
    }
    data
}

fn format_of(path: &Path) -> Format {
    record::format_of(&std::fs::read(path).unwrap()).unwrap().0
}

/// What the fixture's kazoo session left: `/fixture` set once, seven sequential children of
/// which one was deleted, and `/acl` with a digest ACL.
fn assert_fixture_tree(d: &ZkDurable, which: &str) {
    let tree = d.state_at(d.last_zxid());
    let root = tree.node("/fixture").expect("/fixture");
    let commit = which.trim_start_matches("datadir-");
    let set_once = format!("made by {commit}, set once").into_bytes();
    assert_eq!(root.data, Some(set_once));
    assert_eq!(root.stat.version, 1);
    let children: Vec<&str> = root.children.iter().map(String::as_str).collect();
    assert_eq!(
        children,
        [
            "n0000000000",
            "n0000000001",
            "n0000000002",
            "n0000000004",
            "n0000000005",
            "n0000000006"
        ]
    );
    let acl = tree.node("/acl").expect("/acl");
    assert_eq!(acl.acl[0].id.scheme, "digest");
    if which == FORMAT_2 {
        // Created with null data, which format 2 could only store as empty.
        assert_eq!(tree.node("/none").expect("/none").data, Some(Vec::new()));
    }
}

#[test]
fn a_data_directory_of_format_1_is_read_and_its_newest_log_written_again_in_format_3() {
    read_and_upgrade(FORMAT_1, Format::Bincode1);
}

#[test]
fn a_data_directory_of_format_2_is_read_and_its_newest_log_written_again_in_format_3() {
    read_and_upgrade(FORMAT_2, Format::Postcard2);
}

fn read_and_upgrade(which: &str, old: Format) {
    let data = copy_fixture(which, &format!("format-{}-read", old.number()));
    let v2 = data.join("version-2");
    assert_eq!(format_of(&v2.join("log.10000000a")), old);
    let (mut d, back, warnings) = DataDir::open(&data, &data).unwrap();
    let back = back.expect("the fixture holds a history");
    assert_fixture_tree(&back, which);
    let warned = format!("format {}", old.number());
    assert!(warnings.iter().any(|w| w.contains(&warned)), "{warnings:?}");
    // The newest log is format 3 now; the older files are left as they were, and still read.
    assert_eq!(format_of(&v2.join("log.10000000a")), Format::Postcard3);
    assert_eq!(format_of(&v2.join("snapshot.100000005")), old);
    // Appends after the rewrite, then a restart: the same history and nothing to warn about.
    let mut more = back.clone();
    more.accepted_epoch += 1;
    d.save(&more).unwrap();
    drop(d);
    let (_, again, warnings) = DataDir::open(&data, &data).unwrap();
    assert_eq!(again, Some(more));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn files_this_code_writes_start_with_the_format_header() {
    let data = copy_fixture(FORMAT_1, "format-header");
    let (mut d, back, _) = DataDir::open(&data, &data).unwrap();
    let mut durable = back.unwrap();
    // A snapshot of the whole history: a new snapshot file and a new, empty log.
    let tree = durable.state_at(durable.last_zxid());
    let zxid = durable.last_zxid();
    durable.snapshot = zabkeeper::zab::Snapshot { zxid, state: tree }.into();
    durable.log = Default::default();
    d.save(&durable).unwrap();
    let v2 = data.join("version-2");
    let name = format!("{:x}", zxid.0);
    for file in [format!("snapshot.{name}"), format!("log.{name}")] {
        let bytes = std::fs::read(v2.join(&file)).unwrap();
        assert_eq!(bytes[..8], record::header(), "{file}");
    }
    drop(d);
    let (_, back, _) = DataDir::open(&data, &data).unwrap();
    assert_fixture_tree(&back.unwrap(), FORMAT_1);
}

#[test]
fn a_file_of_a_newer_format_is_refused_with_its_version() {
    let mut bytes = record::MAGIC.to_vec();
    bytes.extend(4u32.to_be_bytes());
    let err = record::format_of(&bytes).unwrap_err();
    assert!(err.reason.contains("format 4"), "{}", err.reason);
}

#[test]
fn a_server_started_on_a_data_directory_of_format_1_serves_its_tree() {
    let data = copy_fixture(FORMAT_1, "format-1-serve");
    let port = free_port();
    let cfg = format!(
        "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n",
        data.display()
    );
    let node = Node::start(&cfg, data.parent().unwrap());
    let mut c = Client::connect(node.running.client_addr, Duration::from_secs(30));
    assert_eq!(c.get("/fixture").unwrap(), b"made by 618cabf, set once");
    assert_eq!(c.get("/fixture/n0000000006").unwrap(), b"v6");
    assert!(
        c.get("/fixture/n0000000003").is_none(),
        "deleted in the fixture"
    );
    assert_eq!(c.create("/after-upgrade", b"x"), 0);
    drop(c);
    node.stop();
    let node = Node::start(&cfg, data.parent().unwrap());
    let mut c = Client::connect(node.running.client_addr, Duration::from_secs(30));
    assert_eq!(c.get("/after-upgrade").unwrap(), b"x");
    drop(c);
    node.stop();
}

/// `len | crc32 | body` around `body`, as docs/storage.md frames a record.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend(crc32fast::hash(body).to_be_bytes());
    out.extend(body);
    out
}

#[test]
fn records_have_the_bytes_docs_storage_md_describes() {
    use zabkeeper::zab::{Txn, Zxid};
    use zabkeeper::zk::txn::{TxnOp, ZkTxn};
    use zabkeeper::zk::{Acl, Code};
    // Worked out by hand from docs/storage.md, not by running the encoder.
    let create = Txn {
        zxid: Zxid::new(1, 2),
        op: ZkTxn {
            session: 7,
            cxid: 3,
            time: 0,
            op: TxnOp::Create {
                path: "/a".into(),
                data: Some(b"x".to_vec()),
                acl: Acl::open(),
                parent_cversion: 1,
                owner: 0,
            },
        },
    };
    let body: &[u8] = &[
        0x82, 0x80, 0x80, 0x80, 0x10, // zxid 1 << 32 | 2, varint
        0x0e, 0x06, 0x00, // session 7, cxid 3, time 0 (zigzag varints)
        0x00, // TxnOp::Create
        0x02, b'/', b'a', // path
        0x01, 0x01, b'x', // data: Some, one byte
        0x01, 0x3e, // one ACL entry, perms 31
        0x05, b'w', b'o', b'r', b'l', b'd', 0x06, b'a', b'n', b'y', b'o', b'n', b'e', 0x02,
        0x00, // parent_cversion 1, owner 0
    ];
    assert_eq!(record::encode(&create), framed(body));
    let multi = Txn {
        zxid: Zxid(1),
        op: ZkTxn {
            session: -1,
            cxid: -2,
            time: 1000,
            op: TxnOp::Multi(vec![
                TxnOp::Delete { path: "/a".into() },
                TxnOp::Error(Code::NoNode),
            ]),
        },
    };
    let body: &[u8] = &[
        0x01, 0x01, 0x03, 0xd0, 0x0f, // zxid 1, session -1, cxid -2, time 1000
        0x08, 0x02, // TxnOp::Multi, two operations
        0x01, 0x02, b'/', b'a', // Delete "/a"
        0x07, 0x0b, // Error(NoNode): the code's index in Code, 11
    ];
    assert_eq!(record::encode(&multi), framed(body));
    // And they read back.
    let mut file = record::header().to_vec();
    file.extend(framed(body));
    let (back, end) = record::decode_all::<Txn<ZkTxn>>(&file).unwrap();
    assert_eq!(back, vec![multi]);
    assert_eq!((end.valid, end.torn), (file.len() as u64, false));
}

#[test]
fn a_snapshot_claiming_more_nodes_than_it_holds_is_refused_without_reserving_them() {
    // Found by fuzz/: a snapshot record (or a SNAP from a peer) whose map of nodes claims 2^40
    // entries. imbl's own deserializer reserved them all first (an allocation failure aborts
    // the server); the tree reads entries one by one, so this is a plain decoding error.
    let mut body = vec![0x05]; // zxid 5
    let mut count: u64 = 1 << 40;
    while count >= 0x80 {
        body.push((count as u8) | 0x80);
        count >>= 7;
    }
    body.push(count as u8);
    body.extend(b"\x01/"); // one path, then the input ends
    let mut file = record::header().to_vec();
    file.extend((body.len() as u32).to_be_bytes());
    file.extend(crc32fast::hash(&body).to_be_bytes());
    file.extend(&body);
    let got = record::decode_all::<zabkeeper::zab::Snapshot<zabkeeper::zk::DataTree>>(&file);
    assert!(got.is_err(), "a snapshot cut short must not decode");
}
