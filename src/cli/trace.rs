//! Counterexamples as people read them: one line per step, with the changes that matter.

use crate::model::ModelService;
use crate::model::{Action, State, ZabModel};
use crate::zab::{Role, ServerState};
use stateright::{Model, Path};
use std::fmt::Write;

/// A one-line summary of a server: role, phase, epochs, log and what it delivered.
pub fn summary(st: &ServerState<ModelService>, crashed: bool) -> String {
    if crashed {
        return "crashed".to_string();
    }
    let role = match &st.role {
        Role::Looking => "LOOKING".to_string(),
        Role::Following(f) => format!("FOLLOWING {}", f.leader),
        Role::Leading(_) => "LEADING".to_string(),
    };
    let log: Vec<String> = st
        .durable
        .log
        .iter()
        .map(|t| format!("{:?}", t.zxid))
        .collect();
    format!(
        "{role} {:?} p={} a={} snap={:?} log=[{}] delivered={}",
        st.phase(),
        st.durable.accepted_epoch,
        st.durable.current_epoch,
        st.durable.snapshot.zxid,
        log.join(" "),
        st.sm.0.len()
    )
}

/// Renders a path: each action, then every server whose summary changed.
pub fn render(model: &ZabModel, path: &Path<State, Action>) -> String {
    let steps = path.clone().into_vec();
    let mut out = String::new();
    let mut prev: Option<Vec<String>> = None;
    for (i, (state, action)) in steps.iter().enumerate() {
        let now: Vec<String> = (0..state.actor_states.len())
            .map(|s| summary(&state.actor_states[s], state.crashed[s]))
            .collect();
        if i == 0 {
            let _ = writeln!(out, "  initial state:");
        }
        for (s, line) in now.iter().enumerate() {
            if prev.as_ref().is_none_or(|p| &p[s] != line) {
                let _ = writeln!(out, "      server {s}: {line}");
            }
        }
        if let Some(action) = action {
            let _ = writeln!(out, "  step {}: {}", i + 1, model.format_action(action));
        }
        prev = Some(now);
    }
    out
}
