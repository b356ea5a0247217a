//! The secure client port's setup (`src/runtime/tls.rs`, the `ssl.*` keys of
//! `src/runtime/config.rs`): client certificate subjects written as Java writes them (the
//! `x509` identity), and each way a TLS configuration is refused. TLS connections of kazoo,
//! zkCli and the Rust client, side by side with ZooKeeper, are in `compat.rs`; the test
//! certificates are `fixtures/tls` (made by its `make.sh`).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use zabkeeper::runtime::config::{ClientAuth, ZooConfig};
use zabkeeper::runtime::tls;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("model-tests/fixtures/tls")
        .join(name)
}

fn der(name: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(fixture(name))
        .unwrap()
        .to_vec()
}

#[test]
fn a_certificate_s_subject_is_written_as_java_writes_it() {
    // `openssl x509 -subject -nameopt RFC2253` and Java's X500Principal.getName() agree.
    assert_eq!(
        tls::subject(&der("client.pem")).unwrap(),
        "CN=client one,OU=clients,O=zabkeeper tests,C=NL"
    );
    assert_eq!(
        tls::subject(&der("ca.pem")).unwrap(),
        "CN=Test CA,O=zabkeeper tests"
    );
    assert_eq!(tls::subject(b"not a certificate"), None);
}

fn cfg(extra: &str) -> Result<ZooConfig, String> {
    let text = format!("dataDir=/tmp/x\nclientPort=2181\nsecureClientPort=2281\n{extra}");
    ZooConfig::parse(Path::new("zoo.cfg"), &text).map_err(|e| e.to_string())
}

#[test]
fn the_ssl_keys_are_read_and_a_bad_tls_setup_refused_with_its_reason() {
    let stores = format!(
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
         ssl.keyStore.location={}\nssl.trustStore.location={}\n",
        fixture("server-keystore.pem").display(),
        fixture("ca.pem").display()
    );
    let good = cfg(&stores).unwrap();
    assert_eq!(good.secure_client_port, Some(2281));
    assert_eq!(good.ssl.client_auth, ClientAuth::Need);
    assert!(tls::acceptor(&good.ssl).is_ok());
    // Key stores of other types are refused on their line (PEM only).
    let err = cfg("ssl.keyStore.location=/etc/zk/keystore.jks\n").unwrap_err();
    assert!(
        err.starts_with("zoo.cfg:4:") && err.contains("JKS store is not supported"),
        "{err}"
    );
    let err = cfg("ssl.trustStore.location=t.pem\nssl.trustStore.type=PKCS12\n").unwrap_err();
    assert!(
        err.starts_with("zoo.cfg:5:") && err.contains("PKCS12"),
        "{err}"
    );
    let err = cfg("ssl.clientAuth=maybe\n").unwrap_err();
    assert!(err.starts_with("zoo.cfg:4:"), "{err}");
    let err = cfg("serverCnxnFactory=com.example.Factory\n").unwrap_err();
    assert!(err.contains("unknown class"), "{err}");
    // What acceptor() refuses, each with the file or key concerned.
    let refused = |extra: &str| match tls::acceptor(&cfg(extra).unwrap().ssl) {
        Ok(_) => panic!("accepted: {extra}"),
        Err(e) => e.to_string(),
    };
    assert!(refused("").contains("ssl.keyStore.location is not set"));
    let no_trust = format!(
        "ssl.keyStore.location={}\n",
        fixture("server-keystore.pem").display()
    );
    assert!(refused(&no_trust).contains("needs ssl.trustStore.location"));
    let none = format!("{no_trust}ssl.clientAuth=none\n");
    assert!(tls::acceptor(&cfg(&none).unwrap().ssl).is_ok());
    let missing = "ssl.keyStore.location=/nonexistent.pem\nssl.clientAuth=none\n";
    assert!(refused(missing).starts_with("/nonexistent.pem: cannot read"));
    let certs_only = format!(
        "ssl.keyStore.location={}\nssl.clientAuth=none\n",
        fixture("ca.pem").display()
    );
    assert!(refused(&certs_only).contains("no private key"));
    let dir = crate::zk_wire::scratch("tls-encrypted");
    let encrypted = dir.join("enc.pem");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let enc = format!(
        "ssl.keyStore.location={}\nssl.clientAuth=none\n",
        encrypted.display()
    );
    assert!(refused(&enc).contains("encrypted private key"));
}
