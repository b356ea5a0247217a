//! SASL authentication with DIGEST-MD5 (RFC 2831), as ZooKeeper's server runs it for the users
//! of its JAAS file's `DigestLoginModule`.
//!
//! A client opens the exchange with an empty token (`GetSASLRequest`, opcode 102); the server
//! answers with a challenge naming realm `zk-sasl-md5` and a nonce. The client answers with a
//! digest of its password over the nonce, its own nonce (cnonce) and the digest URI
//! `zookeeper/zk-sasl-md5`; the server recomputes that digest from the password it knows and,
//! if they agree, proves it knows the password too (`rspauth=...`). The connection then carries
//! the identity `sasl:<user>`, which `sasl` ACLs match.
//!
//! Only quality of protection `auth` is offered (ZooKeeper's default `javax.security.sasl.qop`):
//! no integrity or confidentiality layer follows the exchange. The nonce is an input (the
//! runtime draws it when the connection opens), so this code stays deterministic.

use md5::{Digest, Md5};
use std::collections::BTreeMap;

/// The realm ZooKeeper's server names (`SecurityUtils.createSaslServer`'s server name).
pub const REALM: &str = "zk-sasl-md5";
/// The digest URI a client must name: the service `zookeeper` at that realm.
pub const DIGEST_URI: &str = "zookeeper/zk-sasl-md5";
/// The longest client response accepted (RFC 2831 limits it to 4096 bytes).
const MAX_RESPONSE: usize = 4096;

/// The users a server authenticates: name -> [`secret`] (from `user_<name>="<password>"`).
pub type SaslUsers = BTreeMap<String, String>;

/// What the server keeps of a user's password: `H(user:realm:password)` in hexadecimal, all
/// DIGEST-MD5 needs (and a password equivalent for it: keep it as private as the password).
pub fn secret(user: &str, password: &str) -> String {
    secret_in(REALM, user, password)
}

/// [`secret`] in another realm.
pub fn secret_in(realm: &str, user: &str, password: &str) -> String {
    let h = Md5::new()
        .chain_update(latin1_or_utf8(user))
        .chain_update(b":")
        .chain_update(latin1_or_utf8(realm))
        .chain_update(b":")
        .chain_update(latin1_or_utf8(password))
        .finalize();
    hex(&h)
}

/// Where one connection's exchange stands.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exchange {
    /// No token yet; the nonce to challenge with (the runtime's; empty in the models).
    Fresh(String),
    /// The challenge went out with this nonce.
    Challenged(String),
    /// The client authenticated; no further token is expected.
    Done,
}

/// What one client token leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this token and wait for the client's next one.
    Challenge(Vec<u8>),
    /// The client is `user`; send this token (`rspauth`).
    Authenticated {
        /// The authenticated user (the identity `sasl:<user>`).
        user: String,
        /// The server's proof.
        token: Vec<u8>,
    },
    /// The exchange failed (AuthFailed, and the connection closes).
    Failed(String),
}

impl Default for Exchange {
    fn default() -> Self {
        Exchange::Fresh(String::new())
    }
}

/// Takes the client's `token` at stage `exchange`, for these `users`.
pub fn step(exchange: &mut Exchange, token: &[u8], users: &SaslUsers) -> Step {
    match std::mem::replace(exchange, Exchange::Done) {
        Exchange::Fresh(_) if users.is_empty() => Step::Failed("SASL is not configured".into()),
        Exchange::Fresh(nonce) if nonce.is_empty() => Step::Failed("no nonce to offer".into()),
        Exchange::Fresh(_) if !token.is_empty() => {
            Step::Failed("DIGEST-MD5 takes no initial response".into())
        }
        Exchange::Fresh(nonce) => {
            let challenge = challenge(&nonce).into_bytes();
            *exchange = Exchange::Challenged(nonce);
            Step::Challenge(challenge)
        }
        Exchange::Challenged(nonce) => match verify(token, &nonce, users) {
            Ok((user, token)) => Step::Authenticated { user, token },
            Err(why) => Step::Failed(why),
        },
        Exchange::Done => Step::Failed("SASL authentication already complete".into()),
    }
}

/// The digest-challenge (RFC 2831 2.1.1).
fn challenge(nonce: &str) -> String {
    format!("realm=\"{REALM}\",nonce=\"{nonce}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess")
}

/// Checks a digest-response (RFC 2831 2.1.2) and computes the response-auth (2.1.3).
fn verify(token: &[u8], nonce: &str, users: &SaslUsers) -> Result<(String, Vec<u8>), String> {
    if token.len() > MAX_RESPONSE {
        return Err(format!("a response of {} bytes", token.len()));
    }
    let text = std::str::from_utf8(token).map_err(|_| "a response that is not UTF-8")?;
    let d = directives(text)?;
    let get = |k: &str| d.get(k).map(String::as_str);
    let need = |k: &str| get(k).ok_or_else(|| format!("no {k} in the response"));
    let user = need("username")?;
    if need("nonce")? != nonce {
        return Err("the response names another nonce".into());
    }
    if u32::from_str_radix(need("nc")?, 16) != Ok(1) {
        return Err("nonce count is not 1".into());
    }
    let qop = get("qop").unwrap_or("auth");
    if qop != "auth" {
        return Err(format!("quality of protection {qop:?} is not offered"));
    }
    let realm = get("realm").unwrap_or("");
    if realm != REALM {
        return Err(format!("realm {realm:?} is not {REALM:?}"));
    }
    let uri = need("digest-uri")?;
    if uri != DIGEST_URI {
        return Err(format!("digest-uri {uri:?} is not {DIGEST_URI:?}"));
    }
    let secret = users.get(user).ok_or_else(|| format!("no user {user:?}"))?;
    let (cnonce, nc, authzid) = (need("cnonce")?, need("nc")?, get("authzid"));
    let (response, rspauth) = digests(secret, nonce, cnonce, nc, authzid, uri)
        .ok_or("a secret that is not 16 bytes in hexadecimal")?;
    if response != need("response")? {
        return Err(format!("wrong password for {user:?}"));
    }
    Ok((user.to_string(), format!("rspauth={rspauth}").into_bytes()))
}

/// The client's `response` and the server's `rspauth` (qop `auth`, algorithm md5-sess) for a
/// user's [`secret`], or None if the secret is not 32 hexadecimal digits.
pub fn digests(
    secret: &str,
    nonce: &str,
    cnonce: &str,
    nc: &str,
    authzid: Option<&str>,
    digest_uri: &str,
) -> Option<(String, String)> {
    let parts = Parts {
        secret: unhex(secret)?,
        nonce,
        cnonce,
        nc,
        authzid,
    };
    Some((
        parts.digest(&format!("AUTHENTICATE:{digest_uri}")),
        parts.digest(&format!(":{digest_uri}")),
    ))
}

/// What the digests are computed over.
struct Parts<'a> {
    secret: Vec<u8>,
    nonce: &'a str,
    cnonce: &'a str,
    nc: &'a str,
    authzid: Option<&'a str>,
}

impl Parts<'_> {
    /// `HEX(KD(HEX(H(A1)), nonce:nc:cnonce:auth:HEX(H(A2))))` with algorithm md5-sess.
    fn digest(&self, a2: &str) -> String {
        let mut a1 = self.secret.clone();
        a1.extend(format!(":{}:{}", self.nonce, self.cnonce).bytes());
        if let Some(z) = self.authzid {
            a1.extend(format!(":{z}").bytes());
        }
        let kd = format!(
            "{}:{}:{}:{}:auth:{}",
            hex(&Md5::digest(&a1)),
            self.nonce,
            self.nc,
            self.cnonce,
            hex(&Md5::digest(a2.as_bytes()))
        );
        hex(&Md5::digest(kd.as_bytes()))
    }
}

/// RFC 2831's rule for `charset=utf-8`: a string whose characters are all in ISO 8859-1 is
/// hashed in that encoding, any other in UTF-8.
fn latin1_or_utf8(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) < 256) {
        s.chars().map(|c| c as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 32 || !s.is_ascii() {
        return None;
    }
    (0..16)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The `name=value` directives of a response, values unquoted (a backslash escapes the next
/// character inside quotes). A directive given twice is an error.
fn directives(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let name: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("{name}: an unterminated quoted value")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
            value = value.trim().to_string();
        }
        if name.is_empty() || out.insert(name.clone(), value).is_some() {
            return Err(format!("directive {name:?} empty or repeated"));
        }
    }
}
