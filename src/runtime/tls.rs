//! TLS on the secure client port (`secureClientPort`), with rustls, configured by ZooKeeper's
//! `ssl.*` keys: the key store is a PEM file holding the server's private key (PKCS#8, PKCS#1
//! or SEC1, not encrypted) and its certificate chain, the trust store a PEM file of the CA
//! certificates client certificates must chain to, as ZooKeeper's `PEMFileLoader` reads them.
//! With `ssl.clientAuth=need` (ZooKeeper's default) a client must present a certificate; with
//! `want` it may; with `none` it is not asked.
//!
//! A verified client certificate gives the connection the identity `x509:<subject>`, the
//! subject written as Java's `X500Principal.getName()` writes it (RFC 2253: the last RDN
//! first, `CN=client,OU=clients,O=example`), which is what ZooKeeper's
//! `X509AuthenticationProvider` names a client by.

use super::config::{ClientAuth, SslConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Why the secure client port cannot be set up.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct TlsError {
    /// The file or key concerned.
    pub what: String,
    /// What is wrong.
    pub reason: String,
}

fn fail(what: impl std::fmt::Display, reason: impl std::fmt::Display) -> TlsError {
    TlsError {
        what: what.to_string(),
        reason: reason.to_string(),
    }
}

/// The acceptor for the secure client port `ssl` describes.
pub fn acceptor(ssl: &SslConfig) -> Result<TlsAcceptor, TlsError> {
    let store = ssl
        .key_store
        .as_ref()
        .ok_or_else(|| fail("secureClientPort", "ssl.keyStore.location is not set"))?;
    let (certs, key) = key_store(&store.location)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("TLS", e))?;
    let builder = if ssl.client_auth == ClientAuth::None {
        builder.with_no_client_auth()
    } else {
        let store = ssl.trust_store.as_ref().ok_or_else(|| {
            fail(
                "ssl.clientAuth",
                "checking client certificates needs ssl.trustStore.location (or ssl.clientAuth=none)",
            )
        })?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(&store.location)? {
            roots
                .add(cert)
                .map_err(|e| fail(store.location.display(), e))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let verifier = if ssl.client_auth == ClientAuth::Want {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        let verifier = verifier
            .build()
            .map_err(|e| fail(store.location.display(), e))?;
        builder.with_client_cert_verifier(verifier)
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| fail(store.location.display(), e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| fail(path.display(), format!("cannot read: {e}")))
}

/// The certificates of a PEM file (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(&read(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(path.display(), e))?;
    if certs.is_empty() {
        return Err(fail(path.display(), "no certificate in it"));
    }
    Ok(certs)
}

/// The certificate chain and private key of a PEM key store.
fn key_store(
    path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let bytes = read(path)?;
    if String::from_utf8_lossy(&bytes).contains("ENCRYPTED PRIVATE KEY") {
        return Err(fail(
            path.display(),
            "an encrypted private key (ssl.keyStore.password) is not supported; store it unencrypted, readable by the server only",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| fail(path.display(), format!("no private key: {e}")))?;
    Ok((certificates(path)?, key))
}

/// The subject of a DER certificate as Java's `X500Principal.getName()` (RFC 2253) writes it.
pub fn subject(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let rdns: Vec<String> = cert
        .subject()
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|a| {
                    let oid = a.attr_type().to_id_string();
                    let value = match a.as_str() {
                        Ok(s) => escape(s),
                        Err(_) => format!("#{}", hex(a.attr_value().data)),
                    };
                    format!("{}={value}", keyword(&oid).unwrap_or(&oid))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

/// The attribute keywords RFC 2253 (and Java) write by name.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return None,
    })
}

/// RFC 2253 section 2.4: `,+"\<>;` escaped, and a leading `#` or space and a trailing space.
fn escape(s: &str) -> String {
    let mut out = String::new();
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        let edge = (i == 0 && (c == '#' || c == ' ')) || (i == last && c == ' ');
        if edge || ",+\"\\<>;".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
