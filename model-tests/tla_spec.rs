//! The TLA+ spec (tla/) and the Rust model describe one machine: each .cfg carries the bounds,
//! switches and seeds of the Rust configuration it names and expects its pinned state count,
//! and the abstraction function (`model::tla::state`) tells every reachable state apart, so a
//! TLA+ state stands for one Rust state. TLC itself runs where a copy is at hand (tla/tlc).

use super::support::{pinned, zabkeeper};
use serde_json::Value;
use stateright::Model;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use zabkeeper::model::tla::{constants, state, tla_value, uncovered};
use zabkeeper::model::{ModelConfig, ZabModel};
use zabkeeper::zab::Bug;

fn tla_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tla")
}

/// A .cfg file: the configuration its first line names, its `expect:` line and its constants
/// (`NAME = VALUE` or `NAME <- DEFINITION`, the latter as `<-DEFINITION`).
struct Cfg {
    file: String,
    model: String,
    bug: Option<Bug>,
    expect: String,
    constants: BTreeMap<String, String>,
}

fn read_cfg(path: &std::path::Path) -> Cfg {
    let text = std::fs::read_to_string(path).expect("a cfg");
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let first = text.lines().next().unwrap_or("");
    let quoted = first.split('`').nth(1).unwrap_or("");
    let words: Vec<&str> = quoted.split_whitespace().collect();
    let (model, bug) = match words.as_slice() {
        ["zabkeeper", "check", "--bug", b] => {
            let bug = Bug::named(b).unwrap_or_else(|| panic!("{file}: no bug {b}"));
            (bug.model().to_string(), Some(bug))
        }
        ["zabkeeper", "check", m] => (m.to_string(), None),
        _ => panic!("{file}: the first line must name `zabkeeper check ...`"),
    };
    let expect = text
        .lines()
        .find_map(|l| l.strip_prefix("\\* expect: "))
        .unwrap_or_else(|| panic!("{file}: no expect line"))
        .to_string();
    let mut constants = BTreeMap::new();
    let mut in_constants = false;
    for line in text
        .lines()
        .map(|l| l.split("\\*").next().unwrap_or("").trim())
    {
        if line == "CONSTANTS" {
            in_constants = true;
        } else if line.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && !line.contains('=')
            && !line.contains("<-")
        {
            in_constants = false;
        } else if in_constants && !line.is_empty() {
            let (k, v) = match line.split_once("<-") {
                Some((k, v)) => (k.trim(), format!("<-{}", v.trim())),
                None => {
                    let (k, v) = line.split_once('=').expect("NAME = VALUE");
                    (k.trim(), v.trim().to_string())
                }
            };
            constants.insert(k.to_string(), v);
        }
    }
    Cfg {
        file,
        model,
        bug,
        expect,
        constants,
    }
}

fn cfgs() -> Vec<Cfg> {
    let mut paths: Vec<_> = std::fs::read_dir(tla_dir().join("cfg"))
        .expect("tla/cfg")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
        .collect();
    paths.sort();
    paths.iter().map(|p| read_cfg(p)).collect()
}

fn without_spaces(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn every_tla_configuration_carries_the_rust_bounds_switches_and_seeds() {
    let mc = without_spaces(&std::fs::read_to_string(tla_dir().join("MCZab.tla")).unwrap());
    let all = cfgs();
    assert!(all.len() >= 10, "expected the tla/cfg files");
    for cfg in &all {
        let mut rust = ModelConfig::named(&cfg.model)
            .unwrap_or_else(|| panic!("{}: no configuration {}", cfg.file, cfg.model));
        if let Some(bug) = cfg.bug {
            rust = rust.with_bug(bug);
        }
        assert_eq!(uncovered(&rust), None, "{}", cfg.file);
        let expected = constants(&rust);
        let expected = expected.as_object().unwrap();
        assert_eq!(
            cfg.constants.keys().collect::<Vec<_>>(),
            expected
                .keys()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>(),
            "{}: the constants",
            cfg.file
        );
        for (name, value) in expected {
            let written = &cfg.constants[name];
            match written.strip_prefix("<-") {
                Some(def) => {
                    let wanted = match name.as_str() {
                        "Seeds" => format!("{def}==SeedsFrom({})", tla_value(value)),
                        _ => format!("{def}=={}", tla_value(value)),
                    };
                    assert!(
                        mc.contains(&without_spaces(&wanted)),
                        "{}: {name} <- {def}: MCZab.tla must define\n{wanted}",
                        cfg.file
                    );
                }
                None => assert_eq!(*written, tla_value(value), "{}: {name}", cfg.file),
            }
        }
        match (cfg.bug, cfg.expect.split_once(' ')) {
            (None, Some(("distinct", n))) => {
                let n: usize = n.parse().expect("a count");
                assert_eq!(n, pinned(&cfg.model), "{}: the pinned count", cfg.file);
            }
            (Some(bug), Some(("violated", p))) => {
                assert_eq!(
                    p,
                    bug.expected(),
                    "{}: the property the bug breaks",
                    cfg.file
                )
            }
            _ => panic!("{}: unexpected `expect: {}`", cfg.file, cfg.expect),
        }
    }
}

fn hash<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Breadth-first over the model (as stateright does: states beyond the boundary are neither
/// counted nor expanded); returns the number of distinct states and of distinct renderings.
fn distinct_states_and_renderings(model: &ZabModel) -> (usize, usize) {
    let mut seen = HashSet::new();
    let mut rendered = HashSet::new();
    let mut queue = VecDeque::new();
    for s in model.init_states() {
        if model.within_boundary(&s) && seen.insert(hash(&s)) {
            queue.push_back(s);
        }
    }
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        let v: Value = state(model, &s).expect("the spec covers every state");
        rendered.insert(hash(&v.to_string()));
        actions.clear();
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&s, a) {
                if model.within_boundary(&next) && seen.insert(hash(&next)) {
                    queue.push_back(next);
                }
            }
        }
    }
    (seen.len(), rendered.len())
}

#[test]
fn the_tla_state_tells_every_state_of_small_broadcast_and_observer_apart() {
    for name in ["small", "broadcast", "observer"] {
        let model = ModelConfig::named(name).unwrap().into_model();
        let (states, renderings) = distinct_states_and_renderings(&model);
        assert_eq!(states, pinned(name), "{name}: states");
        assert_eq!(renderings, states, "{name}: two states render alike");
    }
}

#[test]
fn trace_out_refuses_what_the_spec_does_not_cover() {
    for name in [
        "heartbeat",
        "newleader",
        "runtime",
        "runtime-bounded",
        "broadcast-pipelined",
        "recovery-pipelined",
    ] {
        let cfg = ModelConfig::named(name).unwrap();
        assert!(uncovered(&cfg).is_some(), "{name}");
    }
    for name in ["recovery", "election", "ensemble", "observer"] {
        assert_eq!(
            uncovered(&ModelConfig::named(name).unwrap()),
            None,
            "{name}"
        );
    }
}

#[test]
fn trace_out_writes_each_random_walk_as_the_spec_s_states() {
    let dir = std::env::temp_dir().join(format!("zabkeeper-walks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let args = [
        "check",
        "broadcast",
        "--strategy",
        "simulation",
        "--seed",
        "3",
    ];
    let (code, out, err) = zabkeeper(&[&args[..], &["--seconds", "1", "--trace-out", d]].concat());
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let walks = v["trace_walks"].as_u64().expect("walks counted") as usize;
    assert!(walks > 10, "{v}");
    let cfg = ModelConfig::named("broadcast").unwrap();
    let model = cfg.clone().into_model();
    let init = state(&model, &model.init_states()[0]).unwrap();
    let mut lines_seen = 0;
    for k in 1..=walks {
        let text = std::fs::read_to_string(dir.join(format!("walk-{k}.ndjson"))).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines[0]["constants"], constants(&cfg), "walk {k}");
        let mut first = lines[1].clone();
        assert_eq!(first["action"], "Init", "walk {k}");
        first.as_object_mut().unwrap().remove("action");
        assert_eq!(first, init, "walk {k} starts in the initial state");
        for pair in lines[1..].windows(2) {
            assert_ne!(pair[0]["srv"], Value::Null);
            assert_ne!(pair[0], pair[1], "walk {k}: a step to the same state");
        }
        lines_seen += lines.len() - 1;
    }
    assert!(!dir.join(format!("walk-{}.ndjson", walks + 1)).exists());
    assert!(lines_seen > walks);
    let _ = std::fs::remove_dir_all(&dir);
    let (code, _, err) = zabkeeper(&["check", "broadcast", "--trace-out", d]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--trace-out needs --strategy simulation"),
        "{err}"
    );
    let heartbeat = [
        "check",
        "heartbeat",
        "--strategy",
        "simulation",
        "--seconds",
        "1",
    ];
    let (code, _, err) = zabkeeper(&[&heartbeat[..], &["--trace-out", d]].concat());
    assert_ne!(code, 0);
    assert!(err.contains("not in the TLA+ spec yet"), "{err}");
}
