//! Access control lists: ZooKeeper's `ACL`, `Id`, permissions and the built-in schemes
//! `world`, `auth`, `digest`, `ip`, `sasl` (users authenticated by SASL, [`super::sasl`]), plus
//! the administrator's `super` identity.
//!
//! An ACL entry grants permissions to an identity `scheme:id`. A session carries the
//! identities it authenticated as (`addAuth`; the `ip` identity of its connection). An
//! operation needs one entry whose permission it requires and whose identity the session has
//! (`ZooKeeperServer.checkACL`); `super` passes every check, and an empty list allows all.

use super::code::{Code, ZkResult};
use base64::Engine;
use sha1::{Digest, Sha1};

pub use crate::jute::records::{perms, Acl, Id};

/// The digest identity of `user:password`: `user:base64(sha1("user:password"))`
/// (`DigestAuthenticationProvider.generateDigest`).
pub fn generate_digest(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// The identity `addAuth(scheme, auth)` grants, or `AuthFailed`. `super_digest` is the
/// administrator's digest (`zookeeper.DigestAuthenticationProvider.superDigest`): presenting
/// its password grants `super`.
pub fn authenticate(scheme: &str, auth: &[u8], super_digest: Option<&str>) -> ZkResult<Vec<Id>> {
    if scheme != "digest" {
        return Err(Code::AuthFailed);
    }
    let text = std::str::from_utf8(auth).map_err(|_| Code::AuthFailed)?;
    if !text.contains(':') {
        return Err(Code::AuthFailed);
    }
    let digest = generate_digest(text);
    let mut ids = vec![Id::new("digest", &digest)];
    if super_digest == Some(digest.as_str()) {
        ids.push(Id::new("super", ""));
    }
    Ok(ids)
}

/// Whether the session identities `auth` give permission `perm` under `acl`.
pub fn check(acl: &[Acl], perm: i32, auth: &[Id]) -> ZkResult<()> {
    if acl.is_empty() || auth.iter().any(|a| a.scheme == "super") {
        return Ok(());
    }
    let granted = acl.iter().filter(|e| e.perms & perm != 0).any(|e| {
        (e.id.scheme == "world" && e.id.id == "anyone")
            || auth
                .iter()
                .any(|a| a.scheme == e.id.scheme && id_matches(&a.scheme, &a.id, &e.id.id))
    });
    if granted {
        Ok(())
    } else {
        Err(Code::NoAuth)
    }
}

/// Whether a session identity `have` of `scheme` matches the ACL's `want`.
fn id_matches(scheme: &str, have: &str, want: &str) -> bool {
    match scheme {
        "ip" => ip_matches(have, want),
        // `SASLAuthenticationProvider.matches`: the SASL user `super` matches every entry.
        "sasl" => have == want || have == "super",
        _ => have == want,
    }
}

/// `IPAuthenticationProvider.matches`: `want` is an address or `address/bits`.
fn ip_matches(have: &str, want: &str) -> bool {
    let (addr, bits) = match want.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (want, None),
    };
    let (Some(have), Some(want)) = (parse_ip(have), parse_ip(addr)) else {
        return false;
    };
    if have.len() != want.len() {
        return false;
    }
    let bits = bits.unwrap_or(8 * want.len() as u32);
    if bits > 8 * want.len() as u32 {
        return false;
    }
    (0..bits as usize).all(|i| {
        let mask = 0x80u8 >> (i % 8);
        have[i / 8] & mask == want[i / 8] & mask
    })
}

fn parse_ip(s: &str) -> Option<Vec<u8>> {
    match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => Some(a.octets().to_vec()),
        std::net::IpAddr::V6(a) => Some(a.octets().to_vec()),
    }
}

/// `whoAmI`'s answer: each identity as (scheme, user), the user as its provider names it
/// (`AuthenticationProvider.getUserName`: a digest identity's user name, an address). ZooKeeper
/// keeps a connection's identities in a hash set, so their order is not part of the protocol;
/// zabkeeper lists them sorted (which puts `digest` before `ip`, as ZooKeeper 3.8 printed them).
pub fn client_infos(auth: &[Id]) -> Vec<(String, String)> {
    let mut infos: Vec<(String, String)> = auth
        .iter()
        .map(|id| {
            let user = match id.scheme.as_str() {
                "digest" => id.id.split(':').next().unwrap_or("").to_string(),
                _ => id.id.clone(),
            };
            (id.scheme.clone(), user)
        })
        .collect();
    infos.sort();
    infos.dedup();
    infos
}

/// Whether `id` is well formed for its scheme (`AuthenticationProvider.isValid`).
fn is_valid(id: &Id) -> bool {
    match id.scheme.as_str() {
        "world" => id.id == "anyone",
        "digest" => id.id.split(':').count() == 2,
        "sasl" | "x509" => !id.id.is_empty(),
        "ip" => {
            let (addr, bits) = id.id.split_once('/').unwrap_or((&id.id, "0"));
            parse_ip(addr).is_some() && bits.parse::<u32>().is_ok()
        }
        _ => false,
    }
}

/// `PrepRequestProcessor.fixupACL`: rejects an empty or malformed list and replaces each
/// `auth` entry by the session's authenticated identities (`InvalidACL` when it has none).
pub fn fixup(acl: &[Acl], auth: &[Id]) -> ZkResult<Vec<Acl>> {
    if acl.is_empty() {
        return Err(Code::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::new();
    for entry in acl {
        if entry.id.scheme == "auth" {
            // The identities of authenticating providers (digest, sasl, x509; not ip).
            let mine: Vec<&Id> = auth
                .iter()
                .filter(|a| ["digest", "sasl", "x509"].contains(&a.scheme.as_str()))
                .collect();
            if mine.is_empty() {
                return Err(Code::InvalidAcl);
            }
            for id in mine {
                push_unique(&mut out, entry.perms, id.clone());
            }
        } else if is_valid(&entry.id) {
            push_unique(&mut out, entry.perms, entry.id.clone());
        } else {
            return Err(Code::InvalidAcl);
        }
    }
    Ok(out)
}

fn push_unique(out: &mut Vec<Acl>, perms: i32, id: Id) {
    let acl = Acl { perms, id };
    if !out.contains(&acl) {
        out.push(acl);
    }
}
