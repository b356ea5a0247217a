//! The properties checked on every model, one file each, named as in the literature.
//!
//! The safety properties of the Zab paper (Junqueira, Reed, Serafini, DSN 2011, section III):
//! [`integrity`], [`total_order`], [`agreement`], [`local_primary_order`],
//! [`global_primary_order`], [`primary_integrity`]; [`leadership`] and [`prefix_consistency`]
//! from ZooKeeper's TLA+ protocol spec; [`process_consistency`], [`leader_log_completeness`] and
//! [`committed_log_durability`] from Ouyang et al. (EuroSys 2025), the ones that caught real
//! implementation bugs. "Deliver" means commit to the state machine; a "primary" is an
//! established leader. For Fast Leader Election, [`election_quorum`] and [`round_agreement`];
//! [`should_not_be_triggered`] (after ZooKeeper's system spec) flags a server that hit an
//! internal error. The `Sometimes` properties in [`liveness_witnesses`] prove the model
//! reaches the behaviour the safety properties are about.

pub mod agreement;
pub mod committed_log_durability;
pub mod election_quorum;
pub mod election_recency;
pub mod global_primary_order;
pub mod integrity;
pub mod leader_log_completeness;
pub mod leadership;
pub mod liveness_witnesses;
pub mod local_primary_order;
pub mod prefix_consistency;
pub mod primary_integrity;
pub mod process_consistency;
pub mod round_agreement;
pub mod should_not_be_triggered;
pub mod total_order;

use crate::model::{ModelConfig, ModelService, State, ZabModel};
use crate::zab::{ElectionMode, ServerState, Txn};
use stateright::Property;

/// Every property that applies to `cfg`, in the order `check` prints them.
pub fn all(cfg: &ModelConfig) -> Vec<Property<ZabModel>> {
    let mut props = vec![Property::always(
        "ShouldNotBeTriggered",
        should_not_be_triggered::holds,
    )];
    if cfg.server.election == ElectionMode::Fast {
        props.push(Property::always("ElectionQuorum", election_quorum::holds));
        props.push(Property::always("ElectionRecency", election_recency::holds));
        props.push(Property::always("RoundAgreement", round_agreement::holds));
        props.push(Property::sometimes(
            "a leader is elected",
            liveness_witnesses::leader_elected,
        ));
        if cfg.bounds.crashes > 0 {
            props.push(Property::sometimes(
                "a restarted server rejoins an established ensemble",
                liveness_witnesses::restarted_rejoins_ensemble,
            ));
        }
    }
    if cfg.server.election_only {
        return props;
    }
    props.extend([
        Property::always("Leadership", leadership::holds),
        Property::always("PrefixConsistency", prefix_consistency::holds),
        Property::always("Integrity", integrity::holds),
        Property::always("TotalOrder", total_order::holds),
        Property::always("Agreement", agreement::holds),
        Property::always("LocalPrimaryOrder", local_primary_order::holds),
        Property::always("GlobalPrimaryOrder", global_primary_order::holds),
        Property::always("PrimaryIntegrity", primary_integrity::holds),
        Property::always("ProcessConsistency", process_consistency::holds),
        Property::always("LeaderLogCompleteness", leader_log_completeness::holds),
        Property::always("CommittedLogDurability", committed_log_durability::holds),
        Property::sometimes(
            "a leader is established",
            liveness_witnesses::leader_established,
        ),
        Property::sometimes(
            "a transaction is committed on every server",
            liveness_witnesses::committed_everywhere,
        ),
    ]);
    witnesses(cfg, &mut props);
    props
}

/// The witnesses that only some configurations can reach.
fn witnesses(cfg: &ModelConfig, props: &mut Vec<Property<ZabModel>>) {
    if cfg.bounds.crashes > 0 {
        props.push(Property::sometimes(
            "a server recovers after a crash and rejoins",
            liveness_witnesses::recovered_and_rejoined,
        ));
    }
    if cfg.server.heartbeats && cfg.server.election == ElectionMode::Fast {
        props.push(Property::sometimes(
            "a follower sends FOLLOWERINFO again",
            liveness_witnesses::followerinfo_resent,
        ));
        props.push(Property::sometimes(
            "a heartbeat starts a second election round",
            liveness_witnesses::second_round_without_faults,
        ));
    }
    if cfg.server.heartbeats && cfg.server.sync_limit > 1 {
        props.push(Property::sometimes(
            "a learner stays synced through an unanswered tick",
            liveness_witnesses::silent_learner_kept,
        ));
    }
    if cfg.sync_witnesses {
        props.push(Property::sometimes(
            "a learner is synced by TRUNC",
            liveness_witnesses::synced_by_trunc,
        ));
    }
    if cfg.sync_witnesses || cfg.server.snap_count.is_some() {
        props.push(Property::sometimes(
            "a learner is synced by SNAP",
            liveness_witnesses::synced_by_snap,
        ));
    }
}

/// The servers that are up.
pub fn live(state: &State) -> impl Iterator<Item = &ServerState<ModelService>> {
    state
        .actor_states
        .iter()
        .zip(&state.crashed)
        .filter(|(_, &crashed)| !crashed)
        .map(|(s, _)| &**s)
}

/// Every delivered sequence to compare: each live server's, the ghost committed log (all that
/// was ever delivered) and any sequence that was seen to diverge from it.
pub fn delivered(state: &State) -> Vec<&[Txn<u8>]> {
    let ghost = &state.history;
    live(state)
        .map(|s| s.sm.0.as_slice())
        .chain(std::iter::once(ghost.committed.as_slice()))
        .chain(ghost.divergent.iter().map(|v| v.as_slice()))
        .collect()
}

/// Every transaction a server holds, snapshot first, then log.
pub fn held(st: &ServerState<ModelService>) -> Vec<&Txn<u8>> {
    st.durable
        .snapshot
        .state
        .0
        .iter()
        .chain(&st.durable.log)
        .collect()
}
