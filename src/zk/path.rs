//! ZooKeeper's path rules (`PathUtils.validatePath`) and the reserved `/zookeeper` subtree.

use super::code::{Code, ZkResult};

/// The reserved subtree every ensemble has.
pub const PROC_ZOOKEEPER: &str = "/zookeeper";
/// Quota records.
pub const QUOTA_ZOOKEEPER: &str = "/zookeeper/quota";
/// The ensemble configuration (read-only for clients).
pub const CONFIG_ZOOKEEPER: &str = "/zookeeper/config";

/// Why a path is not a ZooKeeper path (the messages of `PathUtils`).
pub fn path_error(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("Path length must be > 0");
    }
    if !path.starts_with('/') {
        return Some("Path must start with / character");
    }
    if path.len() == 1 {
        return None;
    }
    if path.ends_with('/') {
        return Some("Path must not end with / character");
    }
    let chars: Vec<char> = path.chars().collect();
    for i in 1..chars.len() {
        let (c, last) = (chars[i], chars[i - 1]);
        let next_ends = i + 1 == chars.len() || chars[i + 1] == '/';
        if c == '\0' {
            return Some("null character not allowed");
        } else if c == '/' && last == '/' {
            return Some("empty node name specified");
        } else if c == '.' && next_ends && (last == '/' || (last == '.' && chars[i - 2] == '/')) {
            return Some("relative paths not allowed");
        } else if is_forbidden(c) {
            return Some("invalid character");
        }
    }
    None
}

/// Characters ZooKeeper rejects: controls, and (as Java sees UTF-16) surrogates, the private
/// use area, specials and everything outside the Basic Multilingual Plane.
fn is_forbidden(c: char) -> bool {
    let u = c as u32;
    (0x01..=0x1f).contains(&u)
        || (0x7f..=0x9f).contains(&u)
        || (0xd800..=0xf8ff).contains(&u)
        || (0xfff0..=0xffff).contains(&u)
        || u > 0xffff
}

/// `BadArguments` unless `path` is a valid ZooKeeper path.
pub fn validate(path: &str) -> ZkResult<()> {
    match path_error(path) {
        None => Ok(()),
        Some(_) => Err(Code::BadArguments),
    }
}

/// The parent of `path` ("/" for a child of the root); `BadArguments` for "/" or a path without
/// a slash.
pub fn parent(path: &str) -> ZkResult<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Ok("/"),
        Some(i) if i > 0 => Ok(&path[..i]),
        _ => Err(Code::BadArguments),
    }
}

/// The last component of `path`.
pub fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// `parent` + "/" + `name`.
pub fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Nodes that can never be deleted (`DataTree.isSpecialPath`).
pub fn is_special(path: &str) -> bool {
    matches!(
        path,
        "/" | PROC_ZOOKEEPER | QUOTA_ZOOKEEPER | CONFIG_ZOOKEEPER
    )
}
