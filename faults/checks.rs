//! The checkers: what each workload's history must satisfy. Each returns findings (empty when
//! the history passes), each finding naming the operations it blames.

use crate::history::{Op, Outcome, Ret, F};
use crate::linear::{self, Model, Verdict};
use crate::workload::Workload;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A violation (or an undecided check), with the operations it concerns.
#[derive(Debug)]
pub struct Finding {
    /// `linearizability`, `lost`, `stale-read`, `duplicate`, `lock-order`, `undecided`...
    pub kind: &'static str,
    pub message: String,
    pub blamed: Vec<usize>,
}

impl Finding {
    /// Undecided checks are reported but are not violations.
    pub fn is_violation(&self) -> bool {
        self.kind != "undecided"
    }
}

fn finding(kind: &'static str, message: String, blamed: Vec<usize>) -> Finding {
    Finding {
        kind,
        message,
        blamed,
    }
}

/// The register's sequential specification: (value, version), as setData changes them.
pub struct Register;

impl Model for Register {
    type State = (i64, i32);
    fn init(&self) -> (i64, i32) {
        (0, 0)
    }
    fn step(&self, s: &(i64, i32), op: &Op) -> Option<(i64, i32)> {
        let (_, ver) = *s;
        match (&op.f, &op.outcome) {
            (F::Read, Outcome::Ok(Ret::Versioned(v, vv))) => (*s == (*v, *vv)).then_some(*s),
            (F::Write(v), Outcome::Ok(Ret::Int(nv))) => {
                (*nv == ver as i64 + 1).then_some((*v, ver + 1))
            }
            (F::Write(v), Outcome::Info(_)) => Some((*v, ver + 1)),
            (F::Cas { version, value }, Outcome::Ok(Ret::Int(nv))) => {
                (ver == *version && *nv == ver as i64 + 1).then_some((*value, ver + 1))
            }
            (F::Cas { version, .. }, Outcome::Fail(_)) => (ver != *version).then_some(*s),
            (F::Cas { version, value }, Outcome::Info(_)) => Some(if ver == *version {
                (*value, ver + 1)
            } else {
                *s
            }),
            _ => None,
        }
    }
}

/// Checks a run's history; `clients` is the number of workload clients (higher process
/// numbers are the final reads, one per server).
pub fn check(w: Workload, ops: &[Op], clients: usize, budget: usize) -> Vec<Finding> {
    match w {
        Workload::Register => register(ops, budget),
        Workload::Set => set(ops, clients),
        Workload::Ids => ids(ops, clients),
        Workload::Counter => counter(ops, clients),
        Workload::Queue => queue(ops, clients),
        Workload::Lock => lock(ops),
    }
}

fn register(ops: &[Op], budget: usize) -> Vec<Finding> {
    let mut keys: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, o) in ops.iter().enumerate() {
        // A failed read had no effect and saw nothing.
        let failed_read = o.f == F::Read && !matches!(o.outcome, Outcome::Ok(_));
        if !failed_read {
            keys.entry(&o.key).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (key, index) in keys {
        match linear::check(&Register, ops, &index, budget) {
            Verdict::Linearizable => {}
            Verdict::Violation { at, mut running } => {
                running.retain(|&r| r != at);
                let msg = format!(
                    "{key}: no order of the operations explains #{at} {:?} -> {:?} (in flight: {running:?})",
                    ops[at].f, ops[at].outcome
                );
                running.push(at);
                out.push(finding("linearizability", msg, running));
            }
            Verdict::Unknown { explored } => out.push(finding(
                "undecided",
                format!("{key}: linearizability undecided after {explored} configurations ({} operations)", index.len()),
                Vec::new(),
            )),
        }
    }
    out
}

fn ok_list(o: &Op) -> Option<&Vec<i64>> {
    match &o.outcome {
        Outcome::Ok(Ret::List(l)) => Some(l),
        _ => None,
    }
}

fn completed_before(o: &Op, t: u64) -> bool {
    matches!(o.outcome, Outcome::Ok(_)) && o.complete.is_some_and(|c| c < t)
}

fn set(ops: &[Op], clients: usize) -> Vec<Finding> {
    let attempted: BTreeSet<i64> = ops
        .iter()
        .filter_map(|o| match (&o.f, &o.outcome) {
            (F::Add(e), Outcome::Ok(_) | Outcome::Info(_) | Outcome::Pending) => Some(*e),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for (r, read) in ops.iter().enumerate() {
        let Some(seen) = ok_list(read) else { continue };
        let seen: BTreeSet<i64> = seen.iter().copied().collect();
        let phantom: Vec<&i64> = seen.difference(&attempted).collect();
        if !phantom.is_empty() {
            out.push(finding(
                "phantom",
                format!("read #{r} saw elements never added: {phantom:?}"),
                vec![r],
            ));
        }
        let missing: Vec<usize> = ops
            .iter()
            .enumerate()
            .filter(|(_, a)| completed_before(a, read.invoke))
            .filter(|(_, a)| matches!(a.f, F::Add(e) if !seen.contains(&e)))
            .map(|(i, _)| i)
            .collect();
        if !missing.is_empty() {
            let kind = if read.process >= clients {
                "lost"
            } else {
                "stale-read"
            };
            let msg = format!(
                "read #{r} misses {} acknowledged adds, first #{}",
                missing.len(),
                missing[0]
            );
            let mut blamed = missing;
            blamed.push(r);
            out.push(finding(kind, msg, blamed));
        }
    }
    out
}

fn ids(ops: &[Op], clients: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for (i, o) in ops.iter().enumerate() {
        if let (F::NewId, Outcome::Ok(Ret::Int(id))) = (&o.f, &o.outcome) {
            if let Some(j) = seen.insert(*id, i) {
                out.push(finding(
                    "duplicate",
                    format!("id {id} given to #{j} and #{i}"),
                    vec![j, i],
                ));
            }
        }
    }
    for (r, read) in ops.iter().enumerate().filter(|(_, o)| o.process >= clients) {
        let Some(list) = ok_list(read) else { continue };
        let present: BTreeSet<i64> = list.iter().copied().collect();
        let lost: Vec<usize> = seen
            .iter()
            .filter(|(id, _)| !present.contains(id))
            .map(|(_, i)| *i)
            .collect();
        if !lost.is_empty() {
            out.push(finding(
                "lost",
                format!("final read #{r} misses {} acknowledged ids", lost.len()),
                lost,
            ));
        }
    }
    out
}

fn counter(ops: &[Op], clients: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    let incr = |o: &Op| matches!(o.f, F::Incr { .. });
    let mut froms: HashMap<i64, usize> = HashMap::new();
    for (i, o) in ops.iter().enumerate() {
        if let (F::Incr { from, .. }, Outcome::Ok(_)) = (&o.f, &o.outcome) {
            if let Some(j) = froms.insert(*from, i) {
                out.push(finding(
                    "lost-update",
                    format!("#{j} and #{i} both incremented from {from}"),
                    vec![j, i],
                ));
            }
        }
    }
    for (r, read) in ops.iter().enumerate() {
        let (F::ReadCounter, Outcome::Ok(Ret::Int(v))) = (&read.f, &read.outcome) else {
            continue;
        };
        let end = read.complete.unwrap_or(u64::MAX);
        let low = ops
            .iter()
            .filter(|o| incr(o) && completed_before(o, read.invoke))
            .count() as i64;
        let high = ops
            .iter()
            .filter(|o| incr(o) && o.invoke < end && !matches!(o.outcome, Outcome::Fail(_)))
            .count() as i64;
        if *v < low || *v > high {
            let kind = if read.process >= clients && *v < low {
                "lost"
            } else {
                "counter-bounds"
            };
            out.push(finding(
                kind,
                format!("read #{r} saw {v}, outside [{low}, {high}]"),
                vec![r],
            ));
        }
    }
    out
}

fn queue(ops: &[Op], clients: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    let attempted: BTreeSet<i64> = ops
        .iter()
        .filter_map(|o| match (&o.f, &o.outcome) {
            (F::Enqueue(e), Outcome::Ok(_) | Outcome::Info(_) | Outcome::Pending) => Some(*e),
            _ => None,
        })
        .collect();
    let mut consumed: HashMap<i64, usize> = HashMap::new();
    let mut maybe: BTreeSet<i64> = BTreeSet::new();
    for (i, o) in ops.iter().enumerate() {
        match (&o.f, &o.outcome) {
            (F::Dequeue(e), Outcome::Ok(_)) => {
                if let Some(j) = consumed.insert(*e, i) {
                    out.push(finding(
                        "consumed-twice",
                        format!("item {e} consumed by #{j} and #{i}"),
                        vec![j, i],
                    ));
                }
                if !attempted.contains(e) {
                    out.push(finding(
                        "phantom",
                        format!("#{i} consumed {e}, never enqueued"),
                        vec![i],
                    ));
                }
            }
            (F::Dequeue(e), Outcome::Info(_) | Outcome::Pending) => {
                maybe.insert(*e);
            }
            _ => {}
        }
    }
    let finals: Vec<(usize, &Vec<i64>)> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.process >= clients)
        .filter_map(|(i, o)| ok_list(o).map(|l| (i, l)))
        .collect();
    for (r, left) in finals {
        for e in left {
            if let Some(j) = consumed.get(e) {
                out.push(finding(
                    "consumed-twice",
                    format!("item {e} consumed by #{j} is still queued (#{r})"),
                    vec![*j, r],
                ));
            }
        }
        let left: BTreeSet<i64> = left.iter().copied().collect();
        let lost: Vec<usize> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o.outcome, Outcome::Ok(_)))
            .filter(|(_, o)| matches!(o.f, F::Enqueue(e) if !left.contains(&e) && !consumed.contains_key(&e) && !maybe.contains(&e)))
            .map(|(i, _)| i)
            .collect();
        if !lost.is_empty() {
            out.push(finding(
                "lost",
                format!(
                    "{} acknowledged items neither consumed nor queued (#{r})",
                    lost.len()
                ),
                lost,
            ));
        }
    }
    out
}

fn lock(ops: &[Op]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut tokens: HashMap<i64, usize> = HashMap::new();
    for (i, o) in ops.iter().enumerate() {
        if let (F::Acquire, Outcome::Ok(Ret::Int(t))) = (&o.f, &o.outcome) {
            if let Some(j) = tokens.insert(*t, i) {
                out.push(finding(
                    "duplicate",
                    format!("token {t} given to #{j} and #{i}"),
                    vec![j, i],
                ));
            }
        }
    }
    // The protected writes in the order of the versions they produced.
    let mut writes: Vec<(i64, i64, usize)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match (&o.f, &o.outcome) {
            (F::Protected { token }, Outcome::Ok(Ret::Int(v))) => Some((*v, *token, i)),
            _ => None,
        })
        .collect();
    writes.sort();
    for w in writes.windows(2) {
        let ((v1, t1, i1), (v2, t2, i2)) = (w[0], w[1]);
        if v1 == v2 {
            out.push(finding(
                "lock-order",
                format!("version {v1} produced twice (#{i1}, #{i2})"),
                vec![i1, i2],
            ));
        } else if t2 < t1 {
            out.push(finding(
                "lock-order",
                format!("token {t2} (#{i2}) wrote after token {t1} (#{i1})"),
                vec![i1, i2],
            ));
        }
    }
    if let Some(&(vmax, _, imax)) = writes.last() {
        for (r, o) in ops.iter().enumerate() {
            if let (F::Read, Outcome::Ok(Ret::Versioned(_, v))) = (&o.f, &o.outcome) {
                if (*v as i64) < vmax {
                    out.push(finding(
                        "lost",
                        format!("final read #{r} at version {v}, #{imax} wrote {vmax}"),
                        vec![imax, r],
                    ));
                }
            }
        }
    }
    out
}

/// The servers agree after healing: the same state read from each, the same last zxid.
pub fn agreement(states: &[(usize, String)], zxids: &[(usize, Option<String>)]) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some((first, s0)) = states.first() {
        for (i, s) in states {
            if s != s0 {
                out.push(finding(
                    "disagree",
                    format!("server {i} holds {s}, server {first} {s0}"),
                    Vec::new(),
                ));
            }
        }
    }
    let z: BTreeSet<&Option<String>> = zxids.iter().map(|(_, z)| z).collect();
    if z.len() > 1 {
        out.push(finding(
            "disagree",
            format!("last zxids differ: {zxids:?}"),
            Vec::new(),
        ));
    }
    out
}

/// The checkers against histories made by hand, run before every campaign: each bad history
/// must be caught and each good one pass, or the campaign's verdicts mean nothing.
pub fn selftest() -> Result<(), String> {
    let op = |process: usize, key: &str, f: F, t: (u64, Option<u64>), outcome: Outcome| Op {
        process,
        key: key.into(),
        f,
        invoke: t.0,
        complete: t.1,
        outcome,
    };
    let ok = |r: Ret| Outcome::Ok(r);
    let read = |p, t0, t1, v, ver| op(p, "/r", F::Read, (t0, Some(t1)), ok(Ret::Versioned(v, ver)));
    let kinds = |w: Workload, h: &[Op]| -> Vec<&'static str> {
        check(w, h, 2, 100_000).iter().map(|f| f.kind).collect()
    };
    let mut cases: Vec<(&str, Workload, Vec<Op>, Vec<&'static str>)> = Vec::new();
    let write5 = op(0, "/r", F::Write(5), (0, Some(100)), ok(Ret::Int(1)));
    cases.push((
        "a read concurrent with a write sees either value",
        Workload::Register,
        vec![write5.clone(), read(1, 10, 20, 0, 0), read(1, 30, 40, 5, 1)],
        vec![],
    ));
    cases.push((
        "a read after a newer one goes back",
        Workload::Register,
        vec![write5.clone(), read(1, 30, 40, 5, 1), read(1, 50, 60, 0, 0)],
        vec!["linearizability"],
    ));
    cases.push((
        "a read after the write returned is stale",
        Workload::Register,
        vec![
            op(0, "/r", F::Write(5), (0, Some(10)), ok(Ret::Int(1))),
            read(1, 20, 30, 0, 0),
        ],
        vec!["linearizability"],
    ));
    cases.push((
        "a write of unknown outcome seen, then unseen",
        Workload::Register,
        vec![
            op(
                0,
                "/r",
                F::Write(7),
                (0, None),
                Outcome::Info("lost".into()),
            ),
            read(1, 10, 20, 7, 1),
            read(1, 30, 40, 0, 0),
        ],
        vec!["linearizability"],
    ));
    cases.push((
        "a failed compare-and-set at the version that was there",
        Workload::Register,
        vec![op(
            0,
            "/r",
            F::Cas {
                version: 0,
                value: 3,
            },
            (0, Some(10)),
            Outcome::Fail("BadVersion".into()),
        )],
        vec!["linearizability"],
    ));
    cases.push((
        "an acknowledged add missing from the final read",
        Workload::Set,
        vec![
            op(0, "/set", F::Add(1), (0, Some(10)), ok(Ret::None)),
            op(2, "/set", F::ReadSet, (20, Some(30)), ok(Ret::List(vec![]))),
        ],
        vec!["lost"],
    ));
    cases.push((
        "protected writes whose token goes back",
        Workload::Lock,
        vec![
            op(
                0,
                "/protected",
                F::Protected { token: 5 },
                (0, Some(10)),
                ok(Ret::Int(1)),
            ),
            op(
                1,
                "/protected",
                F::Protected { token: 3 },
                (20, Some(30)),
                ok(Ret::Int(2)),
            ),
        ],
        vec!["lock-order"],
    ));
    cases.push((
        "one item consumed twice",
        Workload::Queue,
        vec![
            op(0, "/queue", F::Enqueue(1), (0, Some(10)), ok(Ret::Int(0))),
            op(0, "/queue", F::Dequeue(1), (20, Some(30)), ok(Ret::Int(1))),
            op(1, "/queue", F::Dequeue(1), (25, Some(35)), ok(Ret::Int(1))),
        ],
        vec!["consumed-twice"],
    ));
    cases.push((
        "a counter read below the increments acknowledged before it",
        Workload::Counter,
        vec![
            op(
                0,
                "/counter",
                F::Incr {
                    version: 0,
                    from: 0,
                },
                (0, Some(10)),
                ok(Ret::Int(1)),
            ),
            op(
                1,
                "/counter",
                F::ReadCounter,
                (20, Some(30)),
                ok(Ret::Int(0)),
            ),
        ],
        vec!["counter-bounds"],
    ));
    for (name, w, h, want) in cases {
        let got = kinds(w, &h);
        if got != want {
            return Err(format!(
                "checker self-test `{name}`: expected {want:?}, got {got:?}"
            ));
        }
    }
    Ok(())
}
