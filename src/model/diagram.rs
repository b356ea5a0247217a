//! Sequence diagrams of a run (SVG): one vertical line per actor, an arrow from each message's
//! send to its delivery, and a mark for every other step (a timer, a crash, a recovery, an
//! election, a connection reset, a client write). The explorer shows the diagram of the path
//! it displays (`Model::as_svg`), and `check --svg FILE` writes a counterexample's.
//!
//! Send times are read off the network: between two states a flow (one per pair of actors,
//! FIFO per connection) only loses messages, wherever its connections' heads are, and gains
//! them at its end, so the messages of each flow are matched in order against the previous
//! state's and what is left over was sent by the step in between.

use crate::zab::{Msg, Service};
use stateright::actor::{Actor, ActorModelAction, ActorModelState, Id, Network};
use std::collections::BTreeMap;
use std::fmt::Write;

/// What one step does, for the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark<M> {
    /// A message from `src` reached `dst`.
    Deliver {
        /// The sender.
        src: usize,
        /// The receiver.
        dst: usize,
        /// The message.
        msg: M,
    },
    /// Something happened at these actors (a timer, a crash, an election...).
    At {
        /// The actors it concerns.
        actors: Vec<usize>,
        /// What happened.
        label: String,
    },
}

/// Each flow's messages in order, with the step that sent each (0: before the run).
type Sent<M> = BTreeMap<(Id, Id), Vec<(M, usize)>>;

/// The messages of `network` matched against `before`: a message keeps its send time when it
/// was there before (in order), and gets `now` when it is new.
fn sent_times<M: Clone + Eq + std::hash::Hash>(
    before: &Sent<M>,
    network: &Network<M>,
    now: usize,
) -> Sent<M> {
    let Network::Ordered(flows) = network else {
        return Sent::new();
    };
    let mut out = Sent::new();
    for (key, flow) in flows {
        let old = before.get(key).map_or(&[][..], Vec::as_slice);
        let mut j = 0;
        let mut timed = Vec::with_capacity(flow.len());
        for msg in flow {
            match old[j..].iter().position(|(m, _)| m == msg) {
                Some(k) => {
                    timed.push((msg.clone(), old[j + k].1));
                    j += k + 1;
                }
                None => {
                    j = old.len();
                    timed.push((msg.clone(), now));
                }
            }
        }
        out.insert(*key, timed);
    }
    out
}

/// When the first message equal to `msg` on the flow `src -> dst` was sent (the delivered
/// message is the head of its connection, so the first equal one).
fn send_time<M: PartialEq>(sent: &Sent<M>, src: usize, dst: usize, msg: &M) -> usize {
    sent.get(&(Id::from(src), Id::from(dst)))
        .and_then(|flow| flow.iter().find(|(m, _)| m == msg))
        .map_or(0, |(_, t)| *t)
}

/// The diagram of a run: `names` of the actors, the run's states and, for each step between
/// two states, its mark and its one-line description; `message` names a delivered message.
pub fn sequence_diagram<A: Actor, H>(
    names: &[String],
    states: &[&ActorModelState<A, H>],
    steps: &[(Mark<A::Msg>, String)],
    message: impl Fn(&A::Msg) -> String,
) -> String
where
    A::Msg: Eq + std::hash::Hash,
{
    let (dx, dy) = (140u64, 34u64);
    let at = |x: usize, y: usize| (40 + x as u64 * dx, 40 + y as u64 * dy);
    let text = steps
        .iter()
        .map(|(_, t)| t.chars().count())
        .max()
        .unwrap_or(0) as u64;
    let width = 40 + names.len() as u64 * dx + 24 + text * 8;
    let height = 60 + (steps.len() as u64 + 1) * dy;
    let mut svg = format!(
        "<svg version='1.1' baseProfile='full' width='{width}' height='{height}' \
         xmlns='http://www.w3.org/2000/svg' font-family='monospace' font-size='12'>\
         <defs><marker id='arrow' markerWidth='10' markerHeight='8' refX='10' refY='4' \
         orient='auto'><polygon points='0 0, 10 4, 0 8' /></marker></defs>\n"
    );
    for (i, name) in names.iter().enumerate() {
        let (x, y0) = at(i, 0);
        let (_, y1) = at(i, steps.len() + 1);
        let _ = writeln!(
            svg,
            "<line x1='{x}' y1='{y0}' x2='{x}' y2='{y1}' stroke='#999' class='svg-actor-timeline' />\
             <text x='{x}' y='{}' text-anchor='middle' class='svg-actor-label'>{}</text>",
            y0 - 12,
            escape(name)
        );
    }
    let mut sent = Sent::new();
    if let Some(first) = states.first() {
        sent = sent_times(&sent, &first.network, 0);
    }
    for (t, (mark, text)) in steps.iter().enumerate() {
        let step = t + 1;
        match mark {
            Mark::Deliver { src, dst, msg } => {
                let from = send_time(&sent, *src, *dst, msg);
                let label = message(msg);
                let (x1, y1) = at(*src, from);
                let (x2, y2) = at(*dst, step);
                let _ = writeln!(
                    svg,
                    "<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='black' \
                     marker-end='url(#arrow)' class='svg-event-line' />\
                     <text x='{}' y='{}' font-size='10' text-anchor='middle'>{}</text>",
                    (x1 + x2) / 2,
                    (y1 + y2) / 2 - 3,
                    escape(&label)
                );
            }
            Mark::At { actors, label } => {
                for &a in actors {
                    let (x, y) = at(a, step);
                    let _ = writeln!(
                        svg,
                        "<circle cx='{x}' cy='{y}' r='5' fill='#c33' class='svg-event-shape' />\
                         <text x='{}' y='{}' font-size='10'>{}</text>",
                        x + 8,
                        y - 4,
                        escape(label)
                    );
                }
            }
        }
        let (_, y) = at(names.len(), step);
        let x = 40 + names.len() as u64 * dx - dx / 2;
        let _ = writeln!(
            svg,
            "<text x='{x}' y='{y}' class='svg-event-label'>{step}. {}</text>",
            escape(text)
        );
        if let Some(next) = states.get(t + 1) {
            sent = sent_times(&sent, &next.network, step);
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A message's name in the picture: ZooKeeper's packet name, with the zxid or epoch it carries.
pub fn message_label<S: Service>(msg: &Msg<S>) -> String {
    match msg {
        Msg::Notification(n) => format!("vote {} r{}", n.vote.leader, n.round),
        Msg::LeaderInfo { epoch } | Msg::NewLeader { epoch } => format!("{} e{epoch}", msg.kind()),
        Msg::FollowerInfo { accepted_epoch } => format!("FOLLOWERINFO p{accepted_epoch}"),
        Msg::Proposal(t) | Msg::Inform(t) => format!("{} {:?}", msg.kind(), t.zxid),
        Msg::Ack(z) | Msg::Commit(z) => format!("{} {z:?}", msg.kind()),
        Msg::AckNewLeader { last_zxid } | Msg::AckEpoch { last_zxid, .. } => {
            format!("{} {last_zxid:?}", msg.kind())
        }
        Msg::UpToDate { committed } => format!("UPTODATE {committed:?}"),
        _ => msg.kind().to_string(),
    }
}

/// The mark of one of stateright's actor steps.
pub fn actor_mark<M: Clone, T: std::fmt::Debug, R>(a: &ActorModelAction<M, T, R>) -> Mark<M> {
    match a {
        ActorModelAction::Deliver { src, dst, msg } => Mark::Deliver {
            src: usize::from(*src),
            dst: usize::from(*dst),
            msg: msg.clone(),
        },
        ActorModelAction::Timeout(id, timer) => Mark::At {
            actors: vec![usize::from(*id)],
            label: format!("{timer:?}"),
        },
        ActorModelAction::Crash(id) => Mark::At {
            actors: vec![usize::from(*id)],
            label: "crash".into(),
        },
        ActorModelAction::Recover(id) => Mark::At {
            actors: vec![usize::from(*id)],
            label: "restart".into(),
        },
        ActorModelAction::SelectRandom { actor, .. } => Mark::At {
            actors: vec![usize::from(*actor)],
            label: "random".into(),
        },
        ActorModelAction::Drop(e) => Mark::At {
            actors: vec![usize::from(e.dst)],
            label: "dropped".into(),
        },
    }
}
