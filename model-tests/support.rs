//! Shared helpers: run a configuration to completion and read the verdicts.

use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::collections::BTreeMap;
use zabkeeper::model::{ModelConfig, ZabModel};

/// What one exhaustive BFS run found.
pub struct Run {
    pub unique_states: usize,
    pub verdicts: BTreeMap<&'static str, &'static str>,
    pub counterexample_steps: Option<usize>,
    pub violated: Option<&'static str>,
    pub max_depth: usize,
}

/// Checks `model` exhaustively, depth first (stopping at the first violation).
pub fn run_model(model: ZabModel) -> Run {
    let checker = model
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
    verdicts(checker)
}

/// Checks `model` breadth first, stopping at the first violation (which is then among the
/// shortest).
pub fn run_bfs(model: ZabModel) -> Run {
    let checker = model
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    verdicts(checker)
}

/// Random walks from `seed` until `states` states were generated.
pub fn simulate(model: ZabModel, seed: u64, states: usize) -> Run {
    let checker = model
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .target_state_count(states)
        .spawn_simulation(seed, stateright::UniformChooser)
        .join();
    verdicts(checker)
}

/// Random walks of at most `depth` steps (for configurations whose space is unbounded).
pub fn simulate_to_depth(model: ZabModel, seed: u64, states: usize, depth: usize) -> Run {
    let checker = model
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .target_state_count(states)
        .target_max_depth(depth)
        .spawn_simulation(seed, stateright::UniformChooser)
        .join();
    verdicts(checker)
}

fn verdicts(checker: impl Checker<ZabModel>) -> Run {
    let mut verdicts = BTreeMap::new();
    let mut counterexample_steps = None;
    let mut violated = None;
    for p in checker.model().properties() {
        let found = checker.discovery(p.name);
        let verdict = match (p.expectation, &found) {
            (Expectation::Sometimes, Some(_)) => "found",
            (Expectation::Sometimes, None) => "not found",
            (_, None) => "holds",
            (_, Some(path)) => {
                counterexample_steps = Some(path.clone().into_actions().len());
                violated = Some(p.name);
                "violated"
            }
        };
        verdicts.insert(p.name, verdict);
    }
    Run {
        unique_states: checker.unique_state_count(),
        verdicts,
        counterexample_steps,
        violated,
        max_depth: checker.max_depth(),
    }
}

/// Checks a named configuration.
pub fn run(cfg: ModelConfig) -> Run {
    run_model(cfg.into_model())
}

/// Asserts every Always property holds and every Sometimes property is found.
pub fn assert_all_pass(run: &Run) {
    for (name, verdict) in &run.verdicts {
        assert!(
            *verdict == "holds" || *verdict == "found",
            "{name}: {verdict}"
        );
    }
}

/// The pinned unique-state counts of the configurations that the TLA+ spec also covers
/// (tla/cfg/*.cfg must expect the same: tla_spec.rs).
pub const PINNED: &[(&str, usize)] = &[
    ("small", 320),
    ("broadcast", 161_598),
    ("broadcast-pipelined", 970_333),
    ("snapshot", 163_802),
    ("recovery", 1_757_419),
    ("recovery-any-leader", 6_555_865),
    ("recovery-pipelined", 10_625_104),
    ("observer", 36_556),
    ("election", 17_821_467),
];

/// The pinned count of `name`.
pub fn pinned(name: &str) -> usize {
    PINNED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| panic!("{name} has no pinned count"))
}

/// Runs the `zabkeeper` binary with `args`: its exit code, stdout and stderr.
pub fn zabkeeper(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zabkeeper"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
