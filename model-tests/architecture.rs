//! The layering of docs/architecture.md, enforced: every `crate::<layer>` path in a source file
//! (a `use` line, a qualified path or a doc link) must name a layer its own layer may depend on.
//! Also: no test hides in `src/` (the library's test harness is off, so it would never run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each layer and the layers it may name (itself included). From docs/architecture.md.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("zab", &["zab"][..]),
        ("jute", &["jute"][..]),
        ("zk", &["zk", "zab", "jute"][..]),
        ("runtime", &["runtime", "zk", "zab", "jute"][..]),
        ("model", &["model", "properties", "zk", "zab", "jute"][..]),
        ("properties", &["properties", "model", "zab"][..]),
        (
            "validate",
            &["validate", "runtime", "model", "properties", "zk", "zab"][..],
        ),
        (
            "cli",
            &[
                "cli",
                "validate",
                "model",
                "properties",
                "runtime",
                "zk",
                "zab",
                "jute",
            ][..],
        ),
    ])
}

/// Files inside a layer that must not reach some of its neighbours: the znode tree knows
/// nothing of connections or of the server's steps.
fn inner_rules() -> Vec<(&'static str, &'static str)> {
    vec![
        ("src/zk/tree.rs", "server::"),
        ("src/zk/tree.rs", "session::"),
        ("src/zk/tree.rs", "service::"),
        ("src/zk/tree.rs", "crate::zab::service"),
        ("src/zk/tree.rs", "Host"),
    ]
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layers a file's text names with `crate::<layer>`.
fn named_layers(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((n + 1, name));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn every_layer_depends_only_on_the_layers_below_it() {
    let allowed = allowed();
    let mut files = Vec::new();
    sources(&root().join("src"), &mut files);
    let mut crossings = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root().join("src")).unwrap();
        let mut parts = rel.components();
        let first = parts
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        if parts.next().is_none() {
            continue; // lib.rs and main.rs assemble the crate
        }
        let may = allowed
            .get(first.as_str())
            .unwrap_or_else(|| panic!("{} is in no layer of docs/architecture.md", rel.display()));
        let text = std::fs::read_to_string(f).unwrap();
        for (line, layer) in named_layers(&text) {
            if !may.contains(&layer.as_str()) {
                crossings.push(format!("src/{}:{line}: {first} -> {layer}", rel.display()));
            }
        }
        assert!(
            !text.contains("super::super"),
            "src/{}: `super::super` leaves the module; name the layer with crate::",
            rel.display()
        );
    }
    assert!(
        crossings.is_empty(),
        "forbidden dependencies:\n{}",
        crossings.join("\n")
    );
}

#[test]
fn the_znode_tree_knows_nothing_of_connections() {
    for (file, needle) in inner_rules() {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(!text.contains(needle), "{file} names {needle}");
    }
}

#[test]
fn the_dependency_check_sees_a_crossing() {
    // The checker itself: a protocol file naming the service would be caught.
    let text = "use crate::zk::DataTree;\n/// See [`crate::runtime`].\nfn f() {}\n";
    let layers: Vec<String> = named_layers(text).into_iter().map(|(_, l)| l).collect();
    assert_eq!(layers, ["zk", "runtime"]);
    assert!(!allowed()["zab"].contains(&"zk"));
}

#[test]
fn no_test_lives_where_no_harness_runs_it() {
    let mut files = Vec::new();
    sources(&root().join("src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for marker in ["#[test]", "#[cfg(test)]"] {
            assert!(
                !text.contains(marker),
                "{}: {marker} in src/ never runs ([lib] test = false); move it to model-tests/",
                f.display()
            );
        }
    }
}

/// The sibling modules of `layer` that each file's code (comments left out) names with
/// `super::x` or `crate::<layer>::x`.
fn sibling_graph(layer: &str) -> BTreeMap<String, Vec<String>> {
    let dir = root().join("src").join(layer);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .filter(|n| n != "mod")
        .collect();
    let mut graph = BTreeMap::new();
    for n in &names {
        let text = std::fs::read_to_string(dir.join(format!("{n}.rs"))).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let deps = names
            .iter()
            .filter(|m| *m != n)
            .filter(|m| {
                code.contains(&format!("super::{m}"))
                    || code.contains(&format!("crate::{layer}::{m}"))
            })
            .cloned()
            .collect();
        graph.insert(n.clone(), deps);
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            return Some(path[i..].to_vec());
        }
        if done.iter().any(|d| d == n) {
            return None;
        }
        path.push(n.to_string());
        for m in &graph[n] {
            if let Some(c) = visit(m, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.push(n.to_string());
        None
    }
    let mut done = Vec::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_wire_and_the_runtime_have_no_import_circles() {
    for layer in ["jute", "runtime"] {
        let graph = sibling_graph(layer);
        assert!(graph.len() > 2, "{layer}: no modules found");
        if let Some(c) = cycle(&graph) {
            panic!(
                "src/{layer}: modules import each other in a circle: {}",
                c.join(" -> ")
            );
        }
    }
    // The detector itself finds a circle.
    let g = BTreeMap::from([
        ("a".to_string(), vec!["b".to_string()]),
        ("b".to_string(), vec!["a".to_string()]),
    ]);
    assert!(cycle(&g).is_some());
}
