//! The bug zoo: each historical bug, switched on in its own model, gives a counterexample that
//! violates the property it is known to break; the same model without the switch holds (the
//! pinned runs in `configs.rs`). `zabkeeper check --bug NAME` runs the same checks.

use super::support::{run, run_bfs};
use zabkeeper::model::ModelConfig;
use zabkeeper::zab::Bug;

/// Checks `bug`'s model with the bug on, breadth first; returns the counterexample's length.
fn caught(bug: Bug) -> usize {
    let cfg = ModelConfig::named(bug.model()).expect("the bug's model exists");
    let run = run_bfs(cfg.with_bug(bug).into_model());
    assert_eq!(run.violated, Some(bug.expected()), "{}", bug.name());
    run.counterexample_steps.expect("a counterexample")
}

#[test]
fn paper_1_propose_only_after_ack_ld_leaves_a_gap() {
    assert!(caught(Bug::Paper1) >= 10);
}

#[test]
fn paper_3_commit_ld_with_the_ack_ld_zxid_delivers_an_uncommitted_proposal() {
    assert!(caught(Bug::Paper3) >= 10);
}

#[test]
fn zk_2845_stale_last_processed_zxid_keeps_an_orphan() {
    assert!(caught(Bug::Zk2845) >= 10);
}

#[test]
fn zk_3911_ack_ld_before_logging_loses_a_committed_entry() {
    assert!(caught(Bug::Zk3911) >= 5);
}

#[test]
fn zk_4643_epoch_before_log_lets_an_empty_server_win() {
    assert!(caught(Bug::Zk4643) >= 5);
}

#[test]
fn zk_4646_async_log_of_synced_proposals_acks_too_early() {
    assert!(caught(Bug::Zk4646) >= 5);
}

#[test]
fn zk_4394_newleader_drains_pending_commits() {
    assert!(caught(Bug::Zk4394) >= 10);
}

#[test]
fn zk_4712_log_writer_outlives_the_follower() {
    assert!(caught(Bug::Zk4712) >= 10);
}

#[test]
fn zk_1154_diff_by_range_keeps_an_orphan() {
    assert!(caught(Bug::Zk1154) >= 10);
}

// The mutants: each takes away one part of what keeps election safe.

#[test]
fn mutant_votes_without_the_zxid_elect_a_shorter_log() {
    assert!(caught(Bug::VoteWithoutZxid) >= 3);
}

#[test]
fn mutant_votes_without_the_epoch_elect_an_older_epoch() {
    assert!(caught(Bug::VoteWithoutEpoch) >= 3);
}

#[test]
fn mutant_without_discovery_s_recency_check_truncates_a_committed_entry() {
    assert!(caught(Bug::NoRecencyCheck) >= 3);
}

#[test]
fn ack_before_save_breaks_the_durability_rule() {
    assert!(caught(Bug::AckBeforeSave) >= 5);
}

#[test]
fn ack_before_save_on_the_pipelined_write_path_is_caught() {
    // The same switch on the runtime's write path: the follower's ACK leaves in the step that
    // takes the PROPOSAL instead of waiting for its log writer's save.
    let cfg = ModelConfig::named("broadcast-pipelined").expect("exists");
    let run = run_bfs(cfg.with_bug(Bug::AckBeforeSave).into_model());
    assert_eq!(run.violated, Some(Bug::AckBeforeSave.expected()));
    assert!(run.counterexample_steps.expect("a counterexample") >= 5);
}

#[test]
fn self_ack_before_save_breaks_the_durability_rule_on_the_leader() {
    // A pipelined leader that counts its own vote before its write is durable: it and one
    // follower commit, it crashes and loses the entry, and a quorum without it moves on.
    assert!(caught(Bug::SelfAckBeforeSave) >= 5);
}

#[test]
fn every_bug_is_listed_with_an_existing_model() {
    for bug in Bug::ALL {
        assert_eq!(Bug::named(bug.name()), Some(bug));
        assert!(ModelConfig::named(bug.model()).is_some(), "{}", bug.name());
    }
}

#[test]
fn the_newleader_model_without_a_bug_holds() {
    // Same configuration as the NEWLEADER bugs, correct code: every property holds.
    let run = run(zabkeeper::model::configs::newleader());
    super::support::assert_all_pass(&run);
    // 687,537 before the ghost counted each server's timers (`env::timer_counts`): the
    // checker had taken states that differ only in which server holds a timer for one.
    assert_eq!(run.unique_states, 723_080);
}
