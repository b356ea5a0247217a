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

#[test]
fn service_model_keeps_zookeeper_s_guarantees_in_read_only_mode() {
    // A server out of the quorum serves read-only sessions (reads possibly stale, writes
    // NotReadOnly); the sessions stay sequentially consistent and the writes linearizable.
    assert_eq!(check(ServiceConfig::read_only()), 2_110_269);
}

#[test]
fn service_model_keeps_zookeeper_s_guarantees_for_a_pipelining_session() {
    // Client A sends create, versioned set and read of /a at once (the server forwards the
    // writes without waiting for commits, the read waits for them); B reads /a; a crash at any
    // moment. A's answers are its script's, in order; the histories stay consistent.
    assert_eq!(check(ServiceConfig::pipelined()), 4_289_709);
}

#[test]
fn the_service_model_draws_its_runs_as_sequence_diagrams() {
    // A run of the first enabled action, twenty times: the explorer's picture of it has a
    // line per server and client and an arrow per delivery.
    let model = ServiceConfig::named("service").unwrap().into_model();
    let mut state = model.init_states().remove(0);
    let mut taken = Vec::new();
    for _ in 0..20 {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let Some(a) = enabled.into_iter().next() else {
            break;
        };
        state = model.next_state(&state, a.clone()).unwrap();
        taken.push(a);
    }
    let init = model.init_states().remove(0);
    let path = stateright::Path::from_actions(&model, init, &taken).unwrap();
    let svg = model.as_svg(path).expect("a diagram");
    for text in ["server 0", "server 1", "client 2", "client 3"] {
        assert!(svg.contains(text), "no {text:?}");
    }
    let deliveries = taken
        .iter()
        .filter(|a| format!("{a:?}").starts_with("Actor(Deliver"))
        .count();
    assert!(deliveries > 0);
    assert_eq!(svg.matches("marker-end").count(), deliveries);
}
