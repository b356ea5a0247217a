//! `tla-parse-check DIR`: CI's check of the TLA+ spec, for machines without TLC.
//!
//! - every `DIR/*.tla` parses with the tree-sitter TLA+ grammar, and its module is named after
//!   its file (as SANY requires); the first syntax error is printed with its line and column;
//! - every `DIR/*.cfg` and `DIR/cfg/*.cfg` names, as INIT, NEXT, CONSTRAINT, INVARIANT(S) and `<-` right-hand
//!   sides, only operators that some module defines, and sets every CONSTANT that the modules
//!   declare.
//!
//! It does not resolve names inside the modules or check levels: SANY and TLC do that when a
//! jar is at hand (`tla/tlc`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tree_sitter::{Node, Parser};

fn main() -> ExitCode {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "tla".into()));
    match check(&dir) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// What the modules define and declare.
#[derive(Default)]
struct Names {
    defined: BTreeSet<String>,
    constants: BTreeSet<String>,
}

fn check(dir: &Path) -> Result<String, Vec<String>> {
    let mut errors = Vec::new();
    let mut names = Names::default();
    let modules = files(dir, "tla").map_err(|e| vec![e])?;
    if modules.is_empty() {
        return Err(vec![format!("{}: no .tla module", dir.display())]);
    }
    for path in &modules {
        if let Err(e) = parse_module(path, &mut names) {
            errors.push(e);
        }
    }
    let mut cfgs = files(dir, "cfg").map_err(|e| vec![e])?;
    cfgs.extend(files(&dir.join("cfg"), "cfg").map_err(|e| vec![e])?);
    for path in &cfgs {
        errors.extend(check_cfg(path, &names));
    }
    if errors.is_empty() {
        Ok(format!(
            "tla-parse-check: {} modules parse, {} configurations name {} definitions and {} constants",
            modules.len(),
            cfgs.len(),
            names.defined.len(),
            names.constants.len()
        ))
    } else {
        Err(errors)
    }
}

fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    Ok(out)
}

fn parse_module(path: &Path, names: &mut Names) -> Result<(), String> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_tlaplus::LANGUAGE.into())
        .map_err(|e| format!("tree-sitter: {e}"))?;
    let tree = parser
        .parse(&src, None)
        .ok_or_else(|| format!("{}: the parser gave up", path.display()))?;
    let root = tree.root_node();
    if let Some(bad) = first_error(root) {
        let at = bad.start_position();
        let what = if bad.is_missing() {
            format!("missing {}", bad.kind())
        } else {
            let text = &src[bad.byte_range()];
            let line = text.lines().next().unwrap_or("");
            format!(
                "syntax error at `{}`",
                line.chars().take(40).collect::<String>()
            )
        };
        return Err(format!(
            "{}:{}:{}: {what}",
            path.display(),
            at.row + 1,
            at.column + 1
        ));
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let module = first_of_kind(root, "module")
        .and_then(|m| m.child_by_field_name("name"))
        .map(|n| &src[n.byte_range()]);
    if module != Some(stem) {
        return Err(format!(
            "{}: the module is named {:?}, not after its file",
            path.display(),
            module.unwrap_or("?")
        ));
    }
    collect_names(root, &src, names);
    Ok(())
}

fn first_error(node: Node) -> Option<Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    if !node.has_error() {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node> = node.children(&mut cursor).collect();
    children.into_iter().find_map(first_error)
}

fn first_of_kind<'a>(node: Node<'a>, kind: &str) -> Option<Node<'a>> {
    if node.kind() == kind {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<Node> = node.children(&mut cursor).collect();
    children.into_iter().find_map(|c| first_of_kind(c, kind))
}

/// Top-level operator and function definitions, RECURSIVE declarations and CONSTANTS.
fn collect_names(node: Node, src: &str, names: &mut Names) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "operator_definition" | "function_definition" => {
                if let Some(n) = child.child_by_field_name("name") {
                    names.defined.insert(src[n.byte_range()].to_string());
                }
            }
            "constant_declaration" => {
                let mut c = child.walk();
                for id in child.children(&mut c) {
                    let id = if id.kind() == "operator_declaration" {
                        id.child_by_field_name("name").unwrap_or(id)
                    } else {
                        id
                    };
                    if id.kind() == "identifier" {
                        names.constants.insert(src[id.byte_range()].to_string());
                    }
                }
            }
            "module" => collect_names(child, src, names),
            _ => {}
        }
    }
}

/// The words of a .cfg file after its comments are removed.
fn cfg_words(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split("\\*").next().unwrap_or(""))
        .flat_map(|l| {
            l.split(|c: char| c.is_whitespace() || c == '=')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

const SECTIONS: &[&str] = &[
    "CONSTANT",
    "CONSTANTS",
    "INIT",
    "NEXT",
    "SPECIFICATION",
    "CONSTRAINT",
    "CONSTRAINTS",
    "INVARIANT",
    "INVARIANTS",
    "PROPERTY",
    "PROPERTIES",
    "CHECK_DEADLOCK",
    "SYMMETRY",
    "VIEW",
];

fn check_cfg(path: &Path, names: &Names) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let words = cfg_words(&text);
    let mut errors = Vec::new();
    let mut set = BTreeSet::new();
    let mut section = "";
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if SECTIONS.contains(&w) {
            section = w;
            i += 1;
            continue;
        }
        match section {
            "CONSTANT" | "CONSTANTS" => {
                // NAME VALUE or NAME <- DEFINITION
                set.insert(w.to_string());
                if !names.constants.contains(w) {
                    errors.push(format!(
                        "{}: sets {w}, which no module declares",
                        path.display()
                    ));
                }
                if words.get(i + 1).map(String::as_str) == Some("<-") {
                    let def = words.get(i + 2).map(String::as_str).unwrap_or("");
                    if !names.defined.contains(def) {
                        errors.push(format!(
                            "{}: {w} <- {def}: no such definition",
                            path.display()
                        ));
                    }
                    i += 3;
                } else {
                    i += 2;
                }
                continue;
            }
            "CHECK_DEADLOCK" => {}
            "" => errors.push(format!("{}: `{w}` outside any section", path.display())),
            _ => {
                if !names.defined.contains(w) {
                    errors.push(format!(
                        "{}: {section} {w}: no such definition",
                        path.display()
                    ));
                }
            }
        }
        i += 1;
    }
    for c in names.constants.difference(&set) {
        errors.push(format!("{}: constant {c} is not set", path.display()));
    }
    errors
}
