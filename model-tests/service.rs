//! The `service` models: ZooKeeper's client guarantees over ZAB, checked exhaustively
//! (spec/zookeeper.md, "The service model").

use stateright::{Checker, Expectation, Model};
use zabkeeper::model::service::ServiceConfig;

/// Checks `cfg` exhaustively: every `Always` property holds and every `Sometimes` witness is
/// found; returns the number of unique states.
fn check(cfg: ServiceConfig) -> usize {
    let checker = cfg.into_model().checker().spawn_dfs().join();
    for p in checker.model().properties() {
        let found = checker.discovery(p.name);
        let ok = match p.expectation {
            Expectation::Sometimes => found.is_some(),
            _ => found.is_none(),
        };
        let path = found.map(|p| format!("{:#?}", p.into_actions()));
        assert!(ok, "{}: {:?}", p.name, path);
    }
    checker.unique_state_count()
}

#[test]
fn service_model_keeps_zookeeper_s_guarantees_through_session_expiry() {
    assert_eq!(check(ServiceConfig::stable()), 737_771);
}

#[test]
fn service_model_keeps_zookeeper_s_guarantees_through_a_server_crash() {
    assert_eq!(check(ServiceConfig::crash()), 3_662_616);
}
