//! Compatibility with ZooKeeper's clients where zabkeeper once differed (issue 14), each shown
//! side by side with Apache ZooKeeper 3.8 (`interop::RealZk`): the same client, the same
//! script, the same output.

use crate::interop::{kazoo, run, side_by_side, zkcli_raw, zookeeper};
use std::path::Path;
use std::process::Command;

#[test]
fn kazoo_sees_zookeeper_s_stats_ip_acls_and_reconfig_answer() {
    // cversion after a delete, ip ACLs (an address, a range that holds it, one that does not),
    // reconfig answered ReconfigDisabled with the session kept.
    if !kazoo() || !zookeeper() {
        return;
    }
    let (real, node) = side_by_side("kazoo-diff", "");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("model-tests/interop/kazoo_diff.py");
    let out = |addr: std::net::SocketAddr| {
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(addr.to_string());
        let (ok, text) = run(cmd, "");
        assert!(ok, "kazoo_diff.py failed against {addr}:\n{text}");
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with("No handlers") && !l.contains("Connection dropped"))
            .map(str::to_string)
            .collect();
        lines
    };
    let (theirs, ours) = (out(real.addr), out(node.running.client_addr));
    println!("{}", ours.join("\n"));
    assert!(
        theirs
            .iter()
            .any(|l| l == "reconfig raises ReconfigDisabledError"),
        "{theirs:?}"
    );
    assert_eq!(ours, theirs);
    node.stop();
}

/// The lines of zkCli's output that name owners and identities.
fn owners_and_identities(out: &str) -> Vec<String> {
    let keep = [
        "ephemeralOwner",
        "cversion",
        "Auth scheme",
        "ip: ",
        "digest: ",
    ];
    out.lines()
        .filter(|l| keep.iter().any(|k| l.starts_with(k)))
        .map(str::to_string)
        .collect()
}

#[test]
fn zkcli_sees_zookeeper_s_owners_of_special_nodes_and_whoami() {
    // Containers and TTL nodes show ephemeralOwner 0x0 (their encoding stays in the server);
    // whoami lists the connection's ip identity and each digest added.
    if !zookeeper() {
        return;
    }
    let (real, node) = side_by_side("zkcli-owners", "extendedTypesEnabled=true\n");
    let script = "create -c /o\ncreate /o/x\ncreate -t 60000 /t\ncreate -e /e\nstat /o\nstat /t\n\
                  whoami\naddauth digest bob:pw\nwhoami\nquit\n";
    let theirs = owners_and_identities(&zkcli_raw(real.addr, script));
    let ours = owners_and_identities(&zkcli_raw(node.running.client_addr, script));
    println!("{}", ours.join("\n"));
    assert!(theirs.iter().any(|l| l == "digest: bob"), "{theirs:?}");
    assert_eq!(ours, theirs);
    node.stop();
}
