//! The `service` model: ZooKeeper's client guarantees over ZAB, checked exhaustively
//! (spec/zookeeper.md, "The service model").

use stateright::{Checker, Expectation, Model};
use zabkeeper::model::service::ServiceConfig;

#[test]
fn service_model_keeps_zookeeper_s_guarantees_through_session_expiry() {
    let checker = ServiceConfig::named()
        .into_model()
        .checker()
        .spawn_dfs()
        .join();
    for p in checker.model().properties() {
        let found = checker.discovery(p.name);
        let ok = match p.expectation {
            Expectation::Sometimes => found.is_some(),
            _ => found.is_none(),
        };
        let path = found.map(|p| format!("{:#?}", p.into_actions()));
        assert!(ok, "{}: {:?}", p.name, path);
    }
    assert_eq!(checker.unique_state_count(), 1_115_135);
}
