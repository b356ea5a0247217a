//! The command line: verdicts, the JSON line, and clear errors with non-zero exits.

use super::support::zabkeeper;

#[test]
fn list_names_every_configuration() {
    let (code, out, _) = zabkeeper(&["check", "--list"]);
    assert_eq!(code, 0);
    for name in zabkeeper::model::configs::NAMES {
        assert!(out.contains(name), "{out}");
    }
}

#[test]
fn check_ends_with_one_json_line_and_exits_zero_when_all_hold() {
    let (code, out, _) = zabkeeper(&["check", "small"]);
    assert_eq!(code, 0);
    let last = out.lines().last().expect("a line");
    let v: serde_json::Value = serde_json::from_str(last).expect("json");
    assert_eq!(v["model"], "small");
    assert_eq!(v["complete"], true);
    assert_eq!(v["unique_states"], 320);
    assert_eq!(v["counterexample"], serde_json::Value::Null);
    assert_eq!(v["properties"]["Leadership"], "holds");
}

#[test]
fn a_violation_exits_non_zero_with_a_readable_trace_and_a_path() {
    let (code, out, err) = zabkeeper(&["check", "broadcast", "--bug", "ack-before-save"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["counterexample"]["property"], "CommittedLogDurability");
    let path = v["counterexample"]["path"].as_str().unwrap();
    assert!(
        path.split('/').all(|i| i.parse::<usize>().is_ok()),
        "{path}"
    );
    assert!(
        err.contains("step 1:") && err.contains("explorer path:"),
        "{err}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let (code, _, err) = zabkeeper(&["check", "nosuch"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown model `nosuch`"), "{err}");
    let (code, _, err) = zabkeeper(&["check", "small", "--strategy", "sideways"]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid value 'sideways'"), "{err}");
    let (code, _, err) = zabkeeper(&["check", "small", "--threads", "0"]);
    assert_ne!(code, 0);
    assert!(err.contains("--threads"), "{err}");
    let (code, _, err) = zabkeeper(&["check", "small", "--frobnicate"]);
    assert_ne!(code, 0);
    assert!(err.contains("--frobnicate"), "{err}");
    let (code, _, err) = zabkeeper(&["explore", "nosuch"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown model"), "{err}");
}

#[test]
fn list_bugs_names_each_bug_with_its_model_and_bug_picks_its_model() {
    let (code, out, _) = zabkeeper(&["check", "--list-bugs"]);
    assert_eq!(code, 0);
    for bug in zabkeeper::zab::Bug::ALL {
        let line = out
            .lines()
            .find(|l| l.starts_with(bug.name()))
            .unwrap_or_else(|| panic!("{}", bug.name()));
        assert!(line.contains(bug.model()), "{line}");
    }
    let (code, out, _) = zabkeeper(&["check", "--bug", "zk-4646"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["model"], "newleader");
    assert_eq!(v["counterexample"]["property"], "CommittedLogDurability");
    let (code, _, err) = zabkeeper(&["check", "--bug", "zk-9999"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown bug `zk-9999`"), "{err}");
    let (code, _, err) = zabkeeper(&["check", "small", "--strategy", "simulation"]);
    assert_eq!(code, 2);
    assert!(err.contains("--seconds"), "{err}");
}

/// The arrows of a sequence diagram: (y where the message was sent, y where it arrived).
fn arrows(svg: &str) -> Vec<(u64, u64)> {
    let attr = |line: &str, name: &str| -> u64 {
        let start = line.find(&format!("{name}='")).expect("attribute") + name.len() + 2;
        line[start..].split('\'').next().unwrap().parse().unwrap()
    };
    svg.lines()
        .filter(|l| l.contains("marker-end"))
        .map(|l| (attr(l, "y1"), attr(l, "y2")))
        .collect()
}

#[test]
fn svg_writes_the_counterexample_as_a_sequence_diagram() {
    let file = std::env::temp_dir().join(format!("zk4643-{}.svg", std::process::id()));
    let f = file.to_str().unwrap();
    let (code, _, err) = zabkeeper(&["check", "--bug", "zk-4643", "--svg", f]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sequence diagram written"), "{err}");
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for text in ["server 0", "server 2", "NEWLEADER", "ACKEPOCH", "elect"] {
        assert!(svg.contains(text), "no {text:?} in the diagram");
    }
    // Every message arrives after it was sent, and some were sent during the run (not all
    // at the start): the send times come from the network, step by step.
    let arrows = arrows(&svg);
    assert!(arrows.len() >= 4, "{arrows:?}");
    assert!(arrows.iter().all(|(sent, got)| sent < got), "{arrows:?}");
    assert!(arrows.iter().any(|&(sent, _)| sent > 40), "{arrows:?}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn seconds_stops_a_long_depth_first_search_and_reports_it_incomplete() {
    // One DFS thread rarely runs out of local work, which is when stateright looks at its own
    // time limit; the command must stop waiting by itself.
    let start = std::time::Instant::now();
    let (_, out, _) = zabkeeper(&["check", "ensemble", "--seconds", "2"]);
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
    let v: serde_json::Value = serde_json::from_str(out.lines().last().expect("a line")).unwrap();
    assert_eq!(v["complete"], false, "{v}");
    assert!(v["unique_states"].as_u64().unwrap() > 0);
    assert_eq!(v["counterexample"], serde_json::Value::Null);
}
