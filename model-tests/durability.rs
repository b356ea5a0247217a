//! Architecture rule 3: a step's `save` is durable before any message of that step leaves. With
//! the `ack_before_save` switch a follower acknowledges a PROPOSAL and saves it in a later step;
//! the model checker must catch it, both as the direct violation (a committed entry not on a
//! quorum of disks) and as its consequence (a committed entry lost by the next leader).

use super::support::{run, run_model};
use zabkeeper::model::configs;
use zabkeeper::zab::Bug;

fn buggy() -> zabkeeper::model::ModelConfig {
    configs::broadcast().with_bug(Bug::AckBeforeSave)
}

#[test]
fn acking_before_saving_breaks_committed_log_durability() {
    let run = run(buggy());
    assert_eq!(run.verdicts["CommittedLogDurability"], "violated");
    assert!(run.counterexample_steps.is_some());
}

#[test]
fn acking_before_saving_loses_a_committed_transaction() {
    // Without the direct check, the checker must still find the loss itself: a crash of the
    // follower whose acknowledgement completed the quorum, and a new leader that lacks the entry.
    let mut model = buggy().into_model();
    model
        .properties
        .retain(|p| p.name != "CommittedLogDurability");
    let run = run_model(model);
    let lost = ["LeaderLogCompleteness", "PrefixConsistency", "Agreement"]
        .iter()
        .any(|p| run.verdicts[p] == "violated");
    assert!(lost, "no loss found: {:?}", run.verdicts);
}

#[test]
fn saving_before_acking_keeps_every_property() {
    let run = run(configs::broadcast());
    assert_eq!(run.verdicts["CommittedLogDurability"], "holds");
    assert_eq!(run.verdicts["LeaderLogCompleteness"], "holds");
}
