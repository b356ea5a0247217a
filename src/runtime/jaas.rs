//! The JAAS login configuration ZooKeeper's server takes its SASL users from
//! (`-Djava.security.auth.login.config=jaas.conf`), read the way Java's `ConfigFile` reads it:
//!
//! ```text
//! Server {
//!     org.apache.zookeeper.server.auth.DigestLoginModule required
//!     user_super="adminsecret"
//!     user_bob="bobsecret";
//! };
//! ```
//!
//! A file is a list of sections `Name { module flag key=value ... ; ... };`, with `//`, `/* */`
//! and `#` comments and values quoted or bare. The server's section (`Server`, or ZooKeeper's
//! `zookeeper.sasl.serverconfig`) must hold `DigestLoginModule`: each `user_<name>="<password>"`
//! option is a user DIGEST-MD5 authenticates. Other login modules (Kerberos) are refused with
//! the file and line, as is any syntax error.

use super::config::{ConfigError, ZooConfig};
use crate::zk::sasl::{self, SaslUsers};
use std::collections::BTreeMap;
use std::path::Path;

/// ZooKeeper's digest login module.
pub const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// One login module entry of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// Its class name.
    pub class: String,
    /// Its control flag (`required`, `requisite`, `sufficient`, `optional`).
    pub flag: String,
    /// Its options in file order, with their lines.
    pub options: Vec<(usize, String, String)>,
    /// The line it starts on.
    pub line: usize,
}

/// The SASL users of the JAAS file `cfg` names, if it names one (none: SASL is refused).
pub fn configured_users(cfg: &ZooConfig) -> Result<SaslUsers, ConfigError> {
    match &cfg.jaas_config {
        None => Ok(SaslUsers::new()),
        Some(path) => load_users(path, &cfg.jaas_section),
    }
}

/// Reads `path` and returns the SASL users of its section `section`.
pub fn load_users(path: &Path, section: &str) -> Result<SaslUsers, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        reason: format!("cannot read: {e}"),
    })?;
    users(path, &text, section)
}

/// The SASL users of section `section` of the JAAS file `text` (read from `path`).
pub fn users(path: &Path, text: &str, section: &str) -> Result<SaslUsers, ConfigError> {
    let err = |line: usize, reason: String| ConfigError {
        file: path.to_path_buf(),
        line,
        reason,
    };
    let sections = parse(text).map_err(|(line, reason)| err(line, reason))?;
    let Some(modules) = sections.get(section) else {
        return Err(err(0, format!("no section {section:?} for the server")));
    };
    let mut out = SaslUsers::new();
    for m in modules {
        if m.class != DIGEST_LOGIN_MODULE {
            return Err(err(
                m.line,
                format!(
                    "login module {} is not supported (only {DIGEST_LOGIN_MODULE})",
                    m.class
                ),
            ));
        }
        for (line, key, value) in &m.options {
            if let Some(user) = key.strip_prefix("user_") {
                if user.is_empty() {
                    return Err(err(*line, "an option user_ without a user name".into()));
                }
                out.insert(user.to_string(), sasl::secret(user, value));
            }
        }
    }
    if out.is_empty() {
        return Err(err(
            0,
            format!("section {section:?} names no user_<name> option"),
        ));
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, (usize, String)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        None => return Err((start, "a /* comment that never ends".into())),
                        Some('/') if prev == '*' => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            prev = c;
                        }
                    }
                }
            }
            '{' | '}' | ';' | '=' => out.push((line, Token::Punct(c))),
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err((start, "a quoted value that never ends".into())),
                        Some('"') => break,
                        Some('\\') => s.extend(chars.next()),
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            s.push(c);
                        }
                    }
                }
                out.push((start, Token::Quoted(s)));
            }
            c => {
                let mut s = String::from(c);
                while let Some(c) = chars.next_if(|c| !c.is_whitespace() && !"{};=\"".contains(*c))
                {
                    s.push(c);
                }
                out.push((line, Token::Word(s)));
            }
        }
    }
    Ok(out)
}

fn show(t: &Token) -> String {
    match t {
        Token::Word(w) => w.clone(),
        Token::Quoted(q) => format!("{q:?}"),
        Token::Punct(c) => format!("'{c}'"),
    }
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars>, line: &mut usize) {
    for c in chars.by_ref() {
        if c == '\n' {
            *line += 1;
            return;
        }
    }
}

/// The sections of a JAAS file by name.
fn parse(text: &str) -> Result<BTreeMap<String, Vec<Module>>, (usize, String)> {
    let toks = tokens(text)?;
    let mut it = toks.into_iter().peekable();
    let mut sections = BTreeMap::new();
    let last = |it: &mut std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>| {
        it.peek().map_or(0, |(l, _)| *l)
    };
    while let Some((line, tok)) = it.next() {
        let Token::Word(name) = tok else {
            return Err((
                line,
                format!("expected a section name, found {}", show(&tok)),
            ));
        };
        expect(&mut it, '{', line)?;
        let mut modules = Vec::new();
        loop {
            match it.next() {
                Some((_, Token::Punct('}'))) => break,
                Some((l, Token::Word(class))) => {
                    let flag = match it.next() {
                        Some((_, Token::Word(f))) => f,
                        other => return Err(unexpected(other, l, "a control flag")),
                    };
                    let known = ["required", "requisite", "sufficient", "optional"];
                    if !known.contains(&flag.to_ascii_lowercase().as_str()) {
                        return Err((l, format!("unknown control flag {flag:?}")));
                    }
                    let mut options = Vec::new();
                    loop {
                        match it.next() {
                            Some((_, Token::Punct(';'))) => break,
                            Some((ol, Token::Word(key))) => {
                                expect(&mut it, '=', ol)?;
                                let value = match it.next() {
                                    Some((_, Token::Quoted(v) | Token::Word(v))) => v,
                                    other => return Err(unexpected(other, ol, "a value")),
                                };
                                options.push((ol, key, value));
                            }
                            other => return Err(unexpected(other, l, "an option or ';'")),
                        }
                    }
                    modules.push(Module {
                        class,
                        flag,
                        options,
                        line: l,
                    });
                }
                other => return Err(unexpected(other, line, "a login module or '}'")),
            }
        }
        let at = last(&mut it).max(line);
        expect(&mut it, ';', at)?;
        if sections.insert(name.clone(), modules).is_some() {
            return Err((line, format!("section {name:?} appears twice")));
        }
    }
    Ok(sections)
}

fn expect(
    it: &mut std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>,
    want: char,
    line: usize,
) -> Result<(), (usize, String)> {
    match it.next() {
        Some((_, Token::Punct(c))) if c == want => Ok(()),
        other => Err(unexpected(other, line, &format!("'{want}'"))),
    }
}

fn unexpected(found: Option<(usize, Token)>, line: usize, wanted: &str) -> (usize, String) {
    match found {
        Some((l, t)) => (l, format!("expected {wanted}, found {}", show(&t))),
        None => (
            line,
            format!("expected {wanted}, found the end of the file"),
        ),
    }
}
