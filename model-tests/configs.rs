//! Each named configuration is checked exhaustively and its unique state count is pinned: a
//! change to the state space must be a visible decision (update the number and
//! docs/model-checking.md together).

use super::support::{assert_all_pass, run};
use zabkeeper::model::configs;

#[test]
fn small_is_exhaustively_safe() {
    let run = run(configs::small());
    assert_all_pass(&run);
    assert_eq!(run.unique_states, 320);
}

#[test]
fn broadcast_is_exhaustively_safe() {
    let run = run(configs::broadcast());
    assert_all_pass(&run);
    assert_eq!(run.unique_states, 161_598);
}

#[test]
fn recovery_is_exhaustively_safe() {
    let run = run(configs::recovery());
    assert_all_pass(&run);
    assert_eq!(run.unique_states, 1_757_419);
}

#[test]
fn every_listed_configuration_builds() {
    for name in configs::NAMES {
        let cfg = zabkeeper::model::ModelConfig::named(name).expect("listed name resolves");
        assert_eq!(cfg.name, *name);
    }
    assert!(zabkeeper::model::ModelConfig::named("nosuch").is_none());
}

#[test]
fn heartbeat_is_exhaustively_safe() {
    // PING timers fire at any moment: every false suspicion of a leader or learner is explored.
    let run = run(configs::heartbeat());
    assert_all_pass(&run);
    // DFS figure; BFS reports 7,303,807 for this model (see docs/model-checking.md).
    assert_eq!(run.unique_states, 7_255_806);
}
