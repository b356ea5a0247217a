//! `zabkeeper check`: exhaustive model checking of a named configuration.

use super::trace;
use super::{model_config, parse_bug};
use crate::model::service::{ServiceConfig, ServiceModel};
use crate::model::tla::TraceWriter;
use crate::model::{configs, ModelConfig, ZabModel};
use crate::zab::Bug;
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use stateright::{Checker, Expectation, HasDiscoveries, Model, Path, UniformChooser};
use std::time::{Duration, Instant};

/// The search strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Strategy {
    /// Breadth first: shortest counterexamples, more memory.
    Bfs,
    /// Depth first: less memory.
    Dfs,
    /// Random walks from a fixed seed (not exhaustive): deeper than an exhaustive run can go.
    Simulation,
}

/// Arguments of `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The configuration to check (see --list); without one, every configuration in turn, or
    /// with --bug the bug's own configuration.
    pub model: Option<String>,
    /// List the configurations and exit.
    #[arg(long)]
    pub list: bool,
    /// List the bugs of the bug zoo, each with its model and what goes wrong, and exit.
    #[arg(long)]
    pub list_bugs: bool,
    /// Search strategy [default: bfs with --bug (short counterexamples), dfs otherwise (little
    /// memory)].
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Checker threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// Stop exploring paths longer than this many steps (the run is then not complete).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Re-introduce a historical bug (see --list-bugs).
    #[arg(long)]
    pub bug: Option<String>,
    /// Simulation only: the seed of the random walks.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop after this many seconds (the run is then not complete); simulation needs it or
    /// --max-depth with --states.
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Override the configuration's number of client writes.
    #[arg(long)]
    pub writes: Option<u8>,
    /// Override the configuration's number of crashes (one server is down at a time).
    #[arg(long)]
    pub crashes: Option<u8>,
    /// Override the configuration's number of connection resets.
    #[arg(long)]
    pub resets: Option<u8>,
    /// Override the highest epoch any server may accept.
    #[arg(long)]
    pub max_epoch: Option<u32>,
    /// Bound the heartbeat ticks fired in all (as `runtime-bounded` does with 4).
    #[arg(long)]
    pub max_ticks: Option<u8>,
    /// Override the highest election round any server may reach (Fast Leader Election models).
    #[arg(long)]
    pub max_round: Option<u32>,
    /// Write the counterexample's sequence diagram (SVG) to this file.
    #[arg(long)]
    pub svg: Option<std::path::PathBuf>,
    /// Simulation only: write each random walk to this directory as a trace of the TLA+
    /// spec's states (`walk-K.ndjson`), for `tla/Trace.tla` (see tla/README.md).
    #[arg(long)]
    pub trace_out: Option<std::path::PathBuf>,
}

impl CheckArgs {
    /// The arguments of a plain exhaustive BFS run of `model`.
    pub fn new(model: &str) -> Self {
        CheckArgs {
            model: Some(model.to_string()),
            list: false,
            strategy: Some(Strategy::Bfs),
            threads: 1,
            max_depth: None,
            list_bugs: false,
            bug: None,
            seed: 0,
            seconds: None,
            writes: None,
            crashes: None,
            resets: None,
            max_epoch: None,
            max_ticks: None,
            max_round: None,
            svg: None,
            trace_out: None,
        }
    }

    /// The strategy asked for, or the default: BFS when hunting a bug, DFS otherwise.
    pub fn strategy(&self) -> Strategy {
        self.strategy.unwrap_or(if self.bug.is_some() {
            Strategy::Bfs
        } else {
            Strategy::Dfs
        })
    }

    /// Applies the bound overrides to `cfg`.
    pub fn apply_bounds(&self, mut cfg: ModelConfig) -> ModelConfig {
        let b = &mut cfg.bounds;
        b.writes = self.writes.unwrap_or(b.writes);
        b.crashes = self.crashes.unwrap_or(b.crashes);
        b.resets = self.resets.unwrap_or(b.resets);
        b.max_epoch = self.max_epoch.unwrap_or(b.max_epoch);
        b.max_ticks = self.max_ticks.unwrap_or(b.max_ticks);
        b.max_round = self.max_round.unwrap_or(b.max_round);
        cfg
    }
}

/// The outcome of one run, as printed in the final JSON line.
pub struct Outcome {
    /// The JSON line.
    pub json: Value,
    /// Whether every Always property holds and every Sometimes property was found.
    pub ok: bool,
}

/// Runs `check`; returns whether the verdict is a pass.
pub fn run(args: CheckArgs) -> Result<bool, String> {
    if args.list {
        for name in configs::NAMES {
            let cfg = ModelConfig::named(name).expect("listed");
            println!("{name:<10} {}", cfg.about);
        }
        for name in ServiceConfig::NAMES {
            let cfg = ServiceConfig::named(name).expect("listed");
            println!("{name:<10} {}", cfg.about);
        }
        return Ok(true);
    }
    if args.list_bugs {
        for bug in Bug::ALL {
            println!("{:<16} {:<10} {}", bug.name(), bug.model(), bug.about());
        }
        return Ok(true);
    }
    let bug = args.bug.as_deref().map(parse_bug).transpose()?;
    if args.strategy() == Strategy::Simulation && args.seconds.is_none() {
        return Err("--strategy simulation needs --seconds".to_string());
    }
    if args.trace_out.is_some() && (args.strategy() != Strategy::Simulation || args.threads != 1) {
        return Err("--trace-out needs --strategy simulation and one thread".to_string());
    }
    let names: Vec<&str> = match (args.model.as_deref(), bug) {
        (Some(name), _) => vec![name],
        (None, Some(bug)) => vec![bug.model()],
        (None, None) => default_names(),
    };
    let mut all_ok = true;
    for name in names {
        if let Some(mut cfg) = ServiceConfig::named(name) {
            let others = [
                args.writes.is_some(),
                args.resets.is_some(),
                args.max_epoch.is_some(),
            ];
            if others.contains(&true) || args.max_ticks.is_some() || args.max_round.is_some() {
                return Err(format!(
                    "`{name}` takes only --crashes among the bound overrides"
                ));
            }
            cfg.crashes = args.crashes.unwrap_or(cfg.crashes);
            let outcome = check_service(cfg, &args);
            println!("{}", outcome.json);
            all_ok &= outcome.ok;
            continue;
        }
        let cfg = args.apply_bounds(model_config(name, bug)?);
        eprintln!("checking `{name}`: {}", cfg.about);
        let outcome = check(cfg, &args, true);
        println!("{}", outcome.json);
        all_ok &= outcome.ok;
    }
    Ok(all_ok)
}

/// What `check` with no model runs: every configuration but the long ones.
fn default_names() -> Vec<&'static str> {
    eprintln!(
        "checking every model but `ensemble`, `runtime` and `service-full`, which take longer \
         (run them by name; see docs/model-checking.md)"
    );
    let zab = configs::NAMES
        .iter()
        .copied()
        .filter(|&n| n != "ensemble" && n != "runtime");
    let service = ServiceConfig::NAMES
        .into_iter()
        .filter(|&n| n != "service-full");
    zab.chain(service).collect()
}

/// Checks one configuration; with `verbose`, prints progress and counterexamples to stderr.
pub fn check(cfg: ModelConfig, args: &CheckArgs, verbose: bool) -> Outcome {
    let name = cfg.name;
    let b = &cfg.bounds;
    let bounds = json!({"servers": b.servers, "writes": b.writes, "crashes": b.crashes,
        "resets": b.resets, "max_epoch": b.max_epoch, "max_round": b.max_round});
    let writer = match &args.trace_out {
        Some(dir) => match TraceWriter::new(dir.clone(), &cfg) {
            Ok(w) => Some(w),
            Err(e) => return failed(e),
        },
        None => None,
    };
    let model = cfg.into_model();
    let mut builder = model
        .checker()
        .threads(usize::from(args.threads))
        .finish_when(HasDiscoveries::AnyFailures);
    if let Some(depth) = args.max_depth {
        builder = builder.target_max_depth(depth);
    }
    if let Some(seconds) = args.seconds {
        builder = builder.timeout(Duration::from_secs(seconds));
    }
    if let Some(w) = &writer {
        builder = builder.visitor(w.clone());
    }
    let start = Instant::now();
    let render = |m: &ZabModel, p: &Path<_, _>| trace::render(m, p);
    let mut json = match args.strategy() {
        Strategy::Bfs => finish(builder.spawn_bfs(), name, args, start, verbose, render),
        Strategy::Dfs => finish(builder.spawn_dfs(), name, args, start, verbose, render),
        Strategy::Simulation => {
            let checker = builder.spawn_simulation(args.seed, UniformChooser);
            finish(checker, name, args, start, verbose, render)
        }
    };
    if let Some(w) = writer {
        match w.finish() {
            Ok(walks) => json["trace_walks"] = json!(walks),
            Err(e) => return failed(e),
        }
    }
    outcome(json, bounds)
}

/// The outcome of a run that could not be done as asked.
fn failed(error: String) -> Outcome {
    eprintln!("{error}");
    Outcome {
        json: json!({ "error": error }),
        ok: false,
    }
}

fn outcome(mut json: Value, bounds: Value) -> Outcome {
    json["bounds"] = bounds;
    let ok = json["properties"]
        .as_object()
        .is_some_and(|p| p.values().all(|v| v == "holds" || v == "found"));
    Outcome { json, ok }
}

/// Checks a `service` configuration.
pub fn check_service(cfg: ServiceConfig, args: &CheckArgs) -> Outcome {
    let name = cfg.name;
    eprintln!("checking `{name}`: {}", cfg.about);
    let bounds =
        json!({"servers": cfg.servers, "crashes": cfg.crashes, "max_ticks": cfg.max_ticks});
    let mut builder = cfg
        .into_model()
        .checker()
        .threads(usize::from(args.threads))
        .finish_when(HasDiscoveries::AnyFailures);
    if let Some(seconds) = args.seconds {
        builder = builder.timeout(Duration::from_secs(seconds));
    }
    let start = Instant::now();
    let render = |_: &ServiceModel, p: &Path<_, _>| format!("{:#?}\n", p.clone().into_actions());
    let json = match args.strategy() {
        Strategy::Bfs => finish(builder.spawn_bfs(), name, args, start, true, render),
        _ => finish(builder.spawn_dfs(), name, args, start, true, render),
    };
    outcome(json, bounds)
}

/// Writes the sequence diagram of `path` to `file` (a failure is reported, not fatal: the
/// verdict stands).
fn write_svg<M: Model>(model: &M, path: &Path<M::State, M::Action>, file: &std::path::Path)
where
    M::State: Clone,
    M::Action: Clone,
{
    let Some(svg) = model.as_svg(path.clone()) else {
        return eprintln!("this model draws no diagram");
    };
    match std::fs::write(file, svg) {
        Ok(()) => eprintln!("sequence diagram written to {}", file.display()),
        Err(e) => eprintln!("cannot write {}: {e}", file.display()),
    }
}

/// Waits for `checker`; with `verbose`, prints progress every 2 seconds. Returns false when
/// `limit` passed: stateright 0.31 then calls itself done but its threads stop only when they
/// run out of local work, which a depth-first search may not do for hours, so the command
/// does not wait for them (joining would) and reports what was checked by then. `start` is
/// taken before the checker was spawned, so this limit passes no later than stateright's.
fn wait<M: Model, C: Checker<M>>(
    checker: &C,
    verbose: bool,
    start: Instant,
    limit: Option<Duration>,
) -> bool {
    let mut last = (Instant::now(), 0usize);
    let over = || limit.is_some_and(|l| start.elapsed() >= l);
    while !checker.is_done() && !over() {
        std::thread::sleep(Duration::from_millis(100));
        if verbose && last.0.elapsed() >= Duration::from_secs(2) {
            let states = checker.state_count();
            let rate = (states - last.1) as f64 / last.0.elapsed().as_secs_f64();
            eprintln!(
                "states={states} unique={} states/s={rate:.0} depth={}",
                checker.unique_state_count(),
                checker.max_depth()
            );
            last = (Instant::now(), states);
        }
    }
    !over()
}

fn finish<M: Model, C: Checker<M>>(
    checker: C,
    name: &str,
    args: &CheckArgs,
    start: Instant,
    verbose: bool,
    render: impl Fn(&M, &Path<M::State, M::Action>) -> String,
) -> Value
where
    M::State: Clone + std::fmt::Debug + std::hash::Hash + PartialEq,
    M::Action: Clone + std::fmt::Debug + PartialEq,
{
    if !wait(
        &checker,
        verbose,
        start,
        args.seconds.map(Duration::from_secs),
    ) {
        // Still running: report what it has checked; its threads end with the process.
        return report(&checker, name, args, start, verbose, &render);
    }
    let checker = checker.join();
    report(&checker, name, args, start, verbose, &render)
}

/// The JSON line for what `checker` has checked so far (all of it once joined).
fn report<M: Model, C: Checker<M>>(
    checker: &C,
    name: &str,
    args: &CheckArgs,
    start: Instant,
    verbose: bool,
    render: &impl Fn(&M, &Path<M::State, M::Action>) -> String,
) -> Value
where
    M::State: Clone + std::fmt::Debug + std::hash::Hash + PartialEq,
    M::Action: Clone + std::fmt::Debug + PartialEq,
{
    let seconds = start.elapsed().as_secs_f64();
    let model = checker.model();
    let mut props = Map::new();
    let mut counterexample = Value::Null;
    for p in model.properties() {
        let found = checker.discovery(p.name);
        let verdict = match (p.expectation, &found) {
            (Expectation::Always | Expectation::Eventually, None) => "holds",
            (Expectation::Always | Expectation::Eventually, Some(_)) => "violated",
            (Expectation::Sometimes, Some(_)) => "found",
            (Expectation::Sometimes, None) => "not found",
        };
        props.insert(p.name.to_string(), json!(verdict));
        if let (Some(path), "violated", true) = (found, verdict, counterexample.is_null()) {
            let encoded = path.encode(model);
            let steps = path.clone().into_actions().len();
            if verbose {
                eprintln!("\n{} is violated in {steps} steps:", p.name);
                eprint!("{}", render(model, &path));
                eprintln!("explorer path: {encoded}\n");
            }
            counterexample = json!({"property": p.name, "path": encoded, "steps": steps});
            if let Some(file) = &args.svg {
                write_svg(model, &path, file);
            }
        }
    }
    let complete = args.max_depth.is_none()
        && args.strategy() != Strategy::Simulation
        && counterexample.is_null()
        && args.seconds.is_none_or(|s| seconds < s as f64)
        && checker.is_done();
    json!({
        "model": name,
        "bug": args.bug,
        "strategy": format!("{:?}", args.strategy()).to_lowercase(),
        "complete": complete,
        "unique_states": checker.unique_state_count(),
        "states": checker.state_count(),
        "max_depth": checker.max_depth(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "properties": props,
        "counterexample": counterexample,
    })
}
