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
    let out = |addr: std::net::SocketAddr| kazoo_script("kazoo_diff.py", &[addr.to_string()]);
    let (theirs, ours) = (out(real.addr), out(node.running.client_addr));
    println!("{}", ours.join("\n"));
    printed(
        &theirs,
        &[
            "reconfig raises ReconfigDisabledError",
            "null create: None dataLength 0",
        ],
    );
    assert_eq!(ours, theirs);
    node.stop();
}

#[test]
fn kazoo_logs_in_with_sasl_digest_md5_as_against_zookeeper() {
    // The same JAAS file for both servers: ZooKeeper reads it from the JVM property, zabkeeper
    // from the zoo.cfg key of the same name. superUser=admin is zookeeper.superUser for both.
    if !zookeeper() || !kazoo() {
        return;
    }
    let dir = crate::zk_wire::scratch("kazoo-sasl");
    let jaas = dir.join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         user_bob=\"bobsecret\"\n  user_admin=\"adminsecret\";\n};\n",
    )
    .unwrap();
    let common = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n\
                  superUser=admin\n";
    let jvm = [format!(
        "-Djava.security.auth.login.config={}",
        jaas.display()
    )];
    let real = crate::interop::RealZk::start_with("kazoo-sasl-real", common, &jvm);
    let ours = format!(
        "{common}java.security.auth.login.config={}\n",
        jaas.display()
    );
    let (cfg, d) = crate::runtime::standalone_cfg("kazoo-sasl-ours", &ours);
    let node = crate::runtime::Node::start(&cfg, &d);
    let out = |addr: std::net::SocketAddr| kazoo_script("kazoo_sasl.py", &[addr.to_string()]);
    let (theirs, ours) = (out(real.addr), out(node.running.client_addr));
    println!("{}", ours.join("\n"));
    printed(
        &theirs,
        &[
            "bob reads b'secret'",
            "anonymous reads raises NoAuthError",
            "then LOST connected False",
        ],
    );
    // One difference, documented in docs/compatibility.md: a user the JAAS file does not
    // name fails its login with zabkeeper as a wrong password does; ZooKeeper 3.8 leaves
    // that connection open, unauthenticated (its SASL handler swallows the error).
    let carol = |lines: &[String]| lines.iter().position(|l| l.starts_with("login carol"));
    let (i, j) = (carol(&ours).unwrap(), carol(&theirs).unwrap());
    assert_eq!(ours[..i], theirs[..j]);
    assert_eq!(ours[i + 1], "then LOST connected False");
    assert_eq!(theirs[j + 1], "then CONNECTED connected True");
    node.stop();
}

#[test]
fn kazoo_and_zkcli_use_the_tls_port_as_against_zookeeper() {
    // Both servers: secureClientPort with the test server certificate, client certificates
    // required and checked against the test CA, x509 identities (ZooKeeper needs Netty's
    // connection factory and the X509 provider named; zabkeeper accepts the same lines).
    if !zookeeper() || !kazoo() {
        return;
    }
    let fx = |n: &str| crate::tls::fixture(n).display().to_string();
    let tls_cfg = |port: u16| {
        format!(
            "secureClientPort={port}\n\
             serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
             authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n\
             ssl.keyStore.location={}\nssl.trustStore.location={}\n",
            fx("server-keystore.pem"),
            fx("ca.pem")
        )
    };
    let (real_tls, our_tls) = (crate::zk_wire::free_port(), crate::zk_wire::free_port());
    let real = crate::interop::RealZk::start_with("tls-real", &tls_cfg(real_tls), &[]);
    let (cfg, d) = crate::runtime::standalone_cfg("tls-ours", &tls_cfg(our_tls));
    let node = crate::runtime::Node::start(&cfg, &d);
    let out = |secure: u16, plain: std::net::SocketAddr| {
        let args = [format!("127.0.0.1:{secure}"), plain.to_string(), fx("")];
        kazoo_script("kazoo_tls.py", &args)
    };
    let theirs = out(real_tls, real.addr);
    let ours = out(our_tls, node.running.client_addr);
    println!("{}", ours.join("\n"));
    printed(
        &theirs,
        &[
            "tls reads b'over tls'",
            "plain port reads raises NoAuthError",
        ],
    );
    assert_eq!(ours, theirs);
    // zkCli over TLS (`-Dzookeeper.client.secure=true`, Netty, PEM stores): whoami names the
    // certificate's subject.
    let zkcli = |port: u16| {
        // zkCli.sh's classpath lacks jars Netty needs; a later -cp replaces it.
        let cp = ["/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar"]
            .iter()
            .chain(crate::interop::NETTY_JARS.iter())
            .copied()
            .collect::<Vec<_>>()
            .join(":");
        let flags = format!(
            "-cp {cp} -Dzookeeper.client.secure=true \
             -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty \
             -Dzookeeper.ssl.keyStore.location={} -Dzookeeper.ssl.trustStore.location={}",
            fx("client-keystore.pem"),
            fx("ca.pem")
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exec \"$0\" -server \"$1\" 2>&1"])
            .arg("/usr/share/zookeeper/bin/zkCli.sh")
            .arg(format!("127.0.0.1:{port}"))
            .env("CLIENT_JVMFLAGS", flags);
        let (_, text) = run(cmd, "whoami\nget /tls\nquit\n");
        let keep = ["x509: ", "ip: ", "over tls", "Auth scheme"];
        // whoami's identities come from a hash set in ZooKeeper: compared in sorted order.
        let mut lines = text
            .lines()
            .filter(|l| keep.iter().any(|k| l.contains(k)))
            .map(str::to_string)
            .collect::<Vec<_>>();
        lines.sort();
        lines
    };
    let (theirs, ours) = (zkcli(real_tls), zkcli(our_tls));
    println!("{}", ours.join("\n"));
    assert!(
        theirs.iter().any(|l| l.contains("x509: CN=client one")),
        "{theirs:?}"
    );
    assert_eq!(ours, theirs);
    node.stop();
}

/// zkCli's quota commands, with `enforceQuota=true`: setquota (soft and hard limits), the
/// stats ZooKeeper keeps, writes refused past a hard limit, listquota, delquota.
const QUOTA_SCRIPT: &str = "create /q a\ncreate /q/c1 hello\nsetquota -n 3 /q\nlistquota /q\n\
    get /zookeeper/quota/q/zookeeper_limits\nget /zookeeper/quota/q/zookeeper_stats\n\
    stat /zookeeper/quota/q/zookeeper_stats\ncreate /q/c2 xy\ncreate /q/c3 z\n\
    get /zookeeper/quota/q/zookeeper_stats\nsetquota -N 4 /q\nsetquota -B 20 /q\n\
    get /zookeeper/quota/q/zookeeper_limits\ncreate /q/c4 z\ncreate /q/c5 z\n\
    set /q/c1 0123456789012345678901234567890\ndelete /q/c3\ncreate /q/c6 z\nlistquota /q\n\
    setquota -n 2 /q/c1\ndelquota -n /q\nlistquota /q\ndelquota /q\nlistquota /q\n\
    ls /zookeeper/quota\ncreate /q/c7 z\nquit\n";

#[test]
fn zkcli_s_quotas_work_as_against_zookeeper() {
    if !zookeeper() {
        return;
    }
    let extra = "enforceQuota=true\n";
    let real = crate::interop::RealZk::start_with("quota-real", extra, &[]);
    let (cfg, d) = crate::runtime::standalone_cfg("quota-ours", extra);
    let node = crate::runtime::Node::start(&cfg, &d);
    let theirs = crate::interop::zkcli(real.addr, QUOTA_SCRIPT);
    let ours = crate::interop::zkcli(node.running.client_addr, QUOTA_SCRIPT);
    println!("{ours}");
    for expected in [
        "count=4,bytes=9",
        "Quota has exceeded : /q/c4",
        "Created /q/c6",
    ] {
        assert!(
            theirs.lines().any(|l| l == expected),
            "{expected}: {theirs}"
        );
    }
    assert_eq!(
        ours.lines().collect::<Vec<_>>(),
        theirs.lines().collect::<Vec<_>>()
    );
    node.stop();
}

/// Fails unless ZooKeeper's output `theirs` has each of `lines` (so that two outputs that are
/// equal because both scripts failed the same way cannot pass).
fn printed(theirs: &[String], lines: &[&str]) {
    for l in lines {
        assert!(theirs.iter().any(|t| t == l), "{l}: {theirs:?}");
    }
}

/// What the kazoo script `name` (in model-tests/interop) prints when run with `args`, without
/// kazoo's log lines; the script must succeed.
fn kazoo_script(name: &str, args: &[String]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("model-tests/interop")
        .join(name);
    let mut cmd = Command::new("python3");
    cmd.arg(&script).args(args);
    let (ok, text) = run(cmd, "");
    assert!(ok, "{name} {args:?} failed:\n{text}");
    text.lines()
        .filter(|l| !l.starts_with("No handlers") && !l.contains("Connection dropped"))
        .map(str::to_string)
        .collect()
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

#[test]
fn an_ensemble_s_config_node_holds_its_servers() {
    // ZooKeeper 3.8 with three `server.N=127.0.0.1:Q:E` lines answers getConfig with
    // "server.1=127.0.0.1:Q1:E1:participant\n...server.3=...:participant\nversion=0" at
    // version -1 and aversion -1 (checked by hand against QuorumPeerMain; the standalone case
    // is compared side by side in kazoo_diff.py). An observer's line ends in `:observer`.
    let nodes = crate::runtime::ensemble_with_observers("config-node", 2, 1, "");
    let addr = nodes[2].running.client_addr.to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (data, stat) = rt.block_on(async {
        let c = zookeeper_client::Client::connector()
            .with_session_timeout(std::time::Duration::from_secs(4))
            .connect(&addr)
            .await
            .expect("connect");
        c.get_config().await.expect("getConfig")
    });
    let text = String::from_utf8(data).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 4, "{text}");
    for (i, line) in lines[..3].iter().enumerate() {
        let role = if i == 2 { "observer" } else { "participant" };
        let (key, value) = line.split_once('=').expect(line);
        assert_eq!(key, format!("server.{}", i + 1), "{text}");
        let parts: Vec<&str> = value.split(':').collect();
        assert_eq!(parts.len(), 4, "{text}");
        assert_eq!((parts[0], parts[3]), ("127.0.0.1", role), "{text}");
        assert!(parts[1].parse::<u16>().is_ok() && parts[2].parse::<u16>().is_ok());
    }
    assert_eq!(lines[3], "version=0");
    assert_eq!((stat.version, stat.aversion), (-1, -1));
    assert_eq!(stat.data_length as usize, text.len());
    for n in nodes {
        n.stop();
    }
}

/// The C client's shell (`cli_mt`, Debian's `zookeeper-bin`).
const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";

/// The C client's commands: every create mode, reads with their watches, versions, errors.
const CLI_MT_SCRIPT: &str = "create /cm\ncreate /cm\nget /cm\nset /cm bye\nget /cm\n\
    create +e /cm/e\ncreate +s /cm/s-\ncreate +s /cm/s-\ncreate +c /cm/c\n\
    create +t=60000 /cm/t\nls /cm\nexists /cm\nget /nothere\ndelete /cm\ndelete /cm/e\n\
    exists /cm/e\nquit\n";

/// What `cli_mt` printed against `addr`, as a sorted multiset of lines (it prints answers as
/// they arrive, from another thread than the one reading commands, and lists children in the
/// server's order, which ZooKeeper does not define), with times, zxids and session ids blanked
/// and the library's log lines left out.
fn cli_mt(addr: std::net::SocketAddr) -> Vec<String> {
    let mut cmd = Command::new("sh");
    // The shell reads commands only once connected: feed them after a pause.
    let feed = format!("(sleep 1; printf '%s' \"$1\"; sleep 2) | {CLI_MT} {addr}");
    cmd.args(["-c", &feed, "sh", CLI_MT_SCRIPT]);
    let (_, out) = run(cmd, "");
    let blank = |l: &str| -> String {
        let t = l.trim_start();
        for key in ["ctime", "mtime", "czxid", "mzxid"] {
            if t.starts_with(key) {
                return format!("{key} ?");
            }
        }
        l.to_string()
    };
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| !l.starts_with("time = ") && !l.contains("session id"))
        // The C library's own log lines (connection retries, with timestamps and thread ids).
        .filter(|l| !l.contains(":ZOO_"))
        .map(blank)
        .collect();
    lines.sort();
    lines
}

#[test]
fn the_c_client_sees_what_it_sees_against_zookeeper() {
    // Differential, as for zkCli: the C client's shell against Apache ZooKeeper and against a
    // standalone zabkeeper (TTL nodes enabled) prints the same lines.
    if !zookeeper() {
        return;
    }
    let present = Path::new(CLI_MT).exists();
    if !crate::interop::need(
        "the C client cli_mt (apt-get install zookeeper-bin)",
        present,
    ) {
        return;
    }
    let (real, node) = side_by_side("cli-mt", "extendedTypesEnabled=true\n");
    let theirs = cli_mt(real.addr);
    let ours = cli_mt(node.running.client_addr);
    println!("{}", ours.join("\n"));
    assert!(theirs.iter().any(|l| l == "\tname = /cm/t"), "{theirs:?}");
    assert_eq!(ours, theirs);
    node.stop();
}

/// kazoo's own test suite (the `kazoo.tests` package of kazoo 2.11) against `servers`
/// zabkeeper processes, through model-tests/interop/kazoo_cluster.py; the tests listed in
/// kazoo_skips.txt for this size are deselected (by name, with `-k`), each reason printed.
/// Returns pytest's summary line.
fn kazoo_own_suite(name: &str, servers: usize) -> String {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("model-tests/interop");
    let skips = std::fs::read_to_string(here.join("kazoo_skips.txt")).unwrap();
    let mut names = Vec::new();
    for line in skips
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [scope, test, why] = fields[..] else {
            panic!("kazoo_skips.txt: not `scope<TAB>test<TAB>reason`: {line}")
        };
        if scope == "all" || (scope == "standalone" && servers == 1) {
            println!("deselected: {test}: {why}");
            names.push(test.rsplit("::").next().unwrap().to_string());
        }
    }
    names.sort();
    names.dedup();
    let keep = names
        .iter()
        .map(|n| format!("not {n}"))
        .collect::<Vec<_>>()
        .join(" and ");
    let ports: Vec<String> = (0..4 * servers)
        .map(|_| crate::zk_wire::free_port().to_string())
        .collect();
    let dir = crate::zk_wire::scratch(name);
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "pytest",
        "-p",
        "kazoo_cluster",
        "--pyargs",
        "kazoo.tests",
        "-q",
    ])
    .args([
        "-p",
        "no:cacheprovider",
        "--timeout=120",
        "-rfEs",
        "-k",
        &keep,
    ])
    .env("PYTHONPATH", &here)
    .env("ZABKEEPER_BIN", env!("CARGO_BIN_EXE_zabkeeper"))
    .env("ZABKEEPER_PORTS", ports.join(","))
    .env("ZABKEEPER_CLUSTER_DIR", &dir)
    .env("ZABKEEPER_TLS", crate::tls::fixture(""))
    .env("ZOOKEEPER_VERSION", "3.8.0")
    .current_dir(&dir);
    // About two minutes alone; more on a machine busy with the other tests.
    let (ok, out) = crate::interop::run_for(cmd, "", std::time::Duration::from_secs(900));
    let summary = out
        .lines()
        .rev()
        .find(|l| l.contains(" passed") || l.contains(" failed"))
        .unwrap_or("no summary")
        .to_string();
    for skip in out.lines().filter(|l| l.starts_with("SKIPPED")) {
        println!("kazoo skips: {skip}");
    }
    let failures: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("FAILED") || l.starts_with("ERROR"))
        .collect();
    assert!(
        ok,
        "kazoo's suite against {servers} server(s): {summary}\n{}",
        failures.join("\n")
    );
    summary
}

/// Whether kazoo's test suite can run here (pytest and the modules kazoo's tests import).
fn kazoo_suite_tools() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import pytest, pytest_timeout, OpenSSL, jks, objgraph, gevent, eventlet, puresasl, kazoo",
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    crate::interop::need(
        "pytest and kazoo's test dependencies (.ci/run installs them)",
        ok,
    )
}

#[test]
fn kazoo_s_own_suite_passes_against_three_servers() {
    if !kazoo_suite_tools() {
        return;
    }
    println!("{}", kazoo_own_suite("kazoo-own-3", 3));
}

#[test]
fn kazoo_s_own_suite_passes_against_a_standalone_server() {
    if !kazoo_suite_tools() {
        return;
    }
    println!("{}", kazoo_own_suite("kazoo-own-1", 1));
}
