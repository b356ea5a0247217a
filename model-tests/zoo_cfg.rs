//! `zoo.cfg` as ZooKeeper's Administrator's Guide describes it, and errors that name the line.

use std::path::Path;
use zabkeeper::runtime::config::ZooConfig;

const SAMPLE: &str = "# a comment\n\
tickTime=500\n\
initLimit=5\n\
syncLimit=2\n\
dataDir=/var/zk\n\
dataLogDir=/var/zklog\n\
clientPort=2181\n\
maxClientCnxns=10\n\
4lw.commands.whitelist=stat, ruok ,conf\n\
extendedTypesEnabled=true\n\
server.1=zk1:2888:3888\n\
server.2=zk2:2888:3888:participant;2182\n\
server.3=zk3:2888:3888:observer;127.0.0.1:2183\n\
someFutureKey=1\n";

fn parse(text: &str) -> Result<ZooConfig, String> {
    ZooConfig::parse(Path::new("zoo.cfg"), text).map_err(|e| e.to_string())
}

#[test]
fn the_documented_keys_are_read_and_unknown_keys_kept_for_a_warning() {
    let cfg = parse(SAMPLE).unwrap();
    assert_eq!((cfg.tick_time, cfg.init_limit, cfg.sync_limit), (500, 5, 2));
    assert_eq!(cfg.data_log_dir, Path::new("/var/zklog"));
    assert_eq!(cfg.client_port, Some(2181));
    assert_eq!(cfg.max_client_cnxns, 10);
    // Session limits default to 2 and 20 ticks.
    assert_eq!(
        (cfg.min_session_timeout, cfg.max_session_timeout),
        (1000, 10000)
    );
    assert!(cfg.four_letter_word_enabled("ruok") && !cfg.four_letter_word_enabled("dump"));
    assert!(cfg.extended_types_enabled);
    assert_eq!(cfg.servers.len(), 3);
    assert!(cfg.servers[&3].observer && !cfg.servers[&2].observer);
    assert_eq!(cfg.servers[&2].client.map(|a| a.port()), Some(2182));
    assert_eq!(
        cfg.servers[&3].client.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:2183")
    );
    assert_eq!(cfg.unknown, vec![(14, "someFutureKey".to_string())]);
}

#[test]
fn a_bad_value_names_the_file_and_line() {
    let bad = SAMPLE.replace("initLimit=5", "initLimit=five");
    assert_eq!(
        parse(&bad).unwrap_err(),
        "zoo.cfg:3: initLimit: not a valid number: \"five\""
    );
    let bad = SAMPLE.replace("zk3:2888:3888:observer", "zk3:2888:3888:witness");
    assert_eq!(
        parse(&bad).unwrap_err(),
        "zoo.cfg:13: unknown server role \"witness\""
    );
    let bad = format!("{SAMPLE}minSessionTimeout=20000\n");
    assert_eq!(
        parse(&bad).unwrap_err(),
        "zoo.cfg:15: minSessionTimeout 20000 > maxSessionTimeout 10000"
    );
    let bad = SAMPLE.replace("clientPort=2181", "clientPort 2181");
    assert_eq!(
        parse(&bad).unwrap_err(),
        "zoo.cfg:7: expected key=value, found \"clientPort 2181\""
    );
    assert_eq!(
        parse("clientPort=1\n").unwrap_err(),
        "zoo.cfg: dataDir is not set"
    );
}

#[test]
fn the_four_letter_word_whitelist_defaults_to_srvr() {
    // Administrator's Guide, 4lw.commands.whitelist (3.5.3+): only srvr unless configured.
    let cfg = parse("dataDir=/d\nclientPort=1\n").unwrap();
    assert!(cfg.standalone());
    assert!(cfg.four_letter_word_enabled("srvr"));
    assert!(!cfg.four_letter_word_enabled("ruok"));
}

#[test]
fn sasl_keys_are_read_and_a_missing_jaas_file_or_foreign_provider_is_an_error() {
    let sasl = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n\
                java.security.auth.login.config=/nonexistent/jaas.conf\n\
                superUser=admin\n";
    let cfg = parse(&format!("{SAMPLE}{sasl}")).unwrap();
    assert_eq!(cfg.super_user.as_deref(), Some("admin"));
    assert_eq!(cfg.jaas_section, "Server");
    assert!(
        cfg.unknown.iter().all(|(_, k)| k == "someFutureKey"),
        "{:?}",
        cfg.unknown
    );
    // The JAAS file is read when the server's parameters are made: a missing one stops it.
    let err = zabkeeper::runtime::ActorParams::of(&cfg).unwrap_err();
    assert_eq!(
        err.to_string().split(':').next(),
        Some("/nonexistent/jaas.conf")
    );
    assert!(err.reason.contains("cannot read"), "{err}");
    // A provider class zabkeeper does not have is refused on its line.
    let foreign = format!("{SAMPLE}authProvider.2=com.example.LdapProvider\n");
    let err = parse(&foreign).unwrap_err();
    assert!(err.starts_with("zoo.cfg:15:"), "{err}");
    assert!(
        err.contains("com.example.LdapProvider is not built in"),
        "{err}"
    );
}
