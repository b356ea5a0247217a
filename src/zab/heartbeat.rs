//! Heartbeats (ZooKeeper's `PING` every tick): how a leader notices a silent learner and a
//! follower a silent leader when no connection reset tells them.
//!
//! On each tick an established leader drops every synced learner whose PING has gone
//! unanswered for `syncLimit` ticks (closing its connection; ZooKeeper's
//! `LearnerHandler.synced()` gives a learner until the tick of its last answer plus
//! `syncLimit`), goes back to election if it no longer has a quorum, and otherwise pings every
//! learner that answered. A learner that sent FOLLOWERINFO to an established leader has
//! `syncLimit` ticks to send its ACKEPOCH, counted the same way (ZooKeeper gives a joining
//! learner `initLimit` + `syncLimit` ticks for its whole sync; the sync itself is then watched
//! by PING): without that, a learner that left in the middle of joining, its connection half
//! open behind a partition, kept counting toward the leader's quorum for ever, and the leader
//! never stepped down (the fault harness found it, docs/reliability.md). A learner busy for a while (writing a large snapshot, a long fsync)
//! is not dropped for it. A follower in Broadcast that heard no PING since its last tick goes
//! back to election (UPTODATE counts as hearing from it); with FLE, a follower still in
//! Discovery sends FOLLOWERINFO again after a tenth of a tick and goes back to election after
//! a further tick, as ZooKeeper's learner that retries and then cannot connect to its leader.
//! In the model a timer may fire at any moment, so a tick stands for any delay: the heartbeat
//! model checks that false suspicions never break safety. A learner has at most one PING
//! outstanding and its unanswered ticks stop at `syncLimit`, which keeps the state space
//! finite.

use super::election::go_looking;
use super::state::{FollowerPhase, Following, Phase, Role, ServerState};
use super::{send, Config, ElectionMode, Msg, Out, Service, Timer};
use std::borrow::Cow;
use std::time::Duration;

/// Sets the next tick: one `tickTime` for the leader and for a follower still looking for its
/// leader (`short`), `syncLimit` ticks for a follower watching its leader.
pub fn arm<S: Service>(cfg: &Config, short: bool, o: &mut Out<S>) {
    let period = if short {
        cfg.tick
    } else {
        cfg.tick * cfg.sync_limit.max(2)
    };
    o.set_timer(Timer::Tick, period..period + Duration::from_millis(1));
}

/// ZooKeeper's `minNotificationInterval` (by default its `finalizeWait`, 200 ms): how often a
/// LOOKING server sends its notifications again. ZooKeeper doubles the wait after each quiet
/// one up to `maxNotificationInterval` (60 s); zabkeeper keeps it fixed, which costs two small
/// messages per voter every 200 ms while a server looks, and no state in the model.
pub const NOTIFICATION_INTERVAL: Duration = super::fle::FINALIZE_WAIT;

/// Sets a LOOKING server's next re-send of its notifications (a tick while LOOKING).
pub fn arm_looking<S: Service>(o: &mut Out<S>) {
    let period = NOTIFICATION_INTERVAL;
    o.set_timer(Timer::Tick, period..period + Duration::from_millis(1));
}

/// Sets a new follower's first tick: with FLE a tenth of a `tickTime`, after which it sends
/// FOLLOWERINFO again (see [`process_tick`]); with the oracle one `tickTime`.
pub fn arm_discovery<S: Service>(cfg: &Config, o: &mut Out<S>) {
    if cfg.election == ElectionMode::Fast {
        let period = cfg.tick / 10;
        o.set_timer(Timer::Tick, period..period + Duration::from_millis(1));
    } else {
        arm(cfg, true, o);
    }
}

/// The established leader pings every synced learner without a PING outstanding and sets
/// its next tick.
pub fn leader_ping<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    let Role::Leading(leading) = &mut st.role else {
        return;
    };
    for &learner in &leading.synced {
        if let std::collections::btree_map::Entry::Vacant(e) = leading.pinged.entry(learner) {
            e.insert(0);
            send(o, learner, Msg::Ping);
        }
    }
    arm(cfg, true, o);
}

/// A tick: the leader drops silent learners; a follower gives up on a silent leader.
pub fn process_tick<S: Service>(cfg: &Config, state: &mut Cow<ServerState<S>>, o: &mut Out<S>) {
    match &state.role {
        Role::Leading(l) if l.phase() == Phase::Broadcast => leader_tick(cfg, state.to_mut(), o),
        Role::Following(Following {
            phase: FollowerPhase::Broadcast { heard },
            ..
        }) => {
            if *heard {
                if let Some(Following {
                    phase: FollowerPhase::Broadcast { heard },
                    ..
                }) = state.to_mut().following_mut()
                {
                    *heard = false;
                }
                arm(cfg, false, o);
            } else {
                go_looking(cfg, state.to_mut(), None, o);
            }
        }
        Role::Following(Following {
            phase: FollowerPhase::Discovery { .. },
            ..
        }) if cfg.election == ElectionMode::Fast => follower_discovery_tick(cfg, state.to_mut(), o),
        Role::Following(_) => arm(cfg, false, o),
        Role::Looking if cfg.election == ElectionMode::Fast => {
            // ZooKeeper's lookForLeader re-sends its notifications when none arrived for a
            // while: a peer that answered as a follower before it started looking itself has
            // no copy of this round's vote otherwise. Waiting a whole tick for that cost a
            // failover two seconds; ZooKeeper waits `minNotificationInterval`, and so do we.
            super::fle::send_notifications(cfg, state, o);
            arm_looking(o);
        }
        _ => {}
    }
}

/// The established leader's tick: one more unanswered tick for every outstanding PING; drop
/// the learners silent for `syncLimit` ticks, then ping those that answered, or go back to
/// election without a quorum.
fn leader_tick<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    let Some(leading) = st.leading_mut() else {
        return;
    };
    let limit = cfg.sync_limit.max(1);
    let mut silent = Vec::new();
    for (&learner, ticks) in leading.pinged.iter_mut() {
        *ticks += 1;
        if *ticks >= limit {
            silent.push(learner);
        }
    }
    for learner in silent {
        leading.forget(learner);
        send(o, learner, Msg::Disconnected);
    }
    if cfg.is_quorum_of(leading.cepoch.keys()) {
        leader_ping(cfg, st, o);
    } else {
        go_looking(cfg, st, None, o);
    }
}

/// No LEADERINFO yet: with FLE a learner may decide before its leader does, and the leader
/// ignores FOLLOWERINFO until it leads. As ZooKeeper's learner retries its connection to the
/// leader, send FOLLOWERINFO once more (the leader takes it as a new connection replacing the
/// first; on one connection it precedes ACKEPOCH, so a duplicate is harmless) and wait a tick;
/// then, as a learner that cannot connect, go back to election (a new round, so FLE's round
/// bound keeps this finite). The oracle tells the leader first: no such case.
fn follower_discovery_tick<S: Service>(cfg: &Config, st: &mut ServerState<S>, o: &mut Out<S>) {
    let accepted_epoch = st.durable.accepted_epoch;
    let Some(Following {
        leader,
        phase: FollowerPhase::Discovery { retried },
    }) = st.following_mut()
    else {
        return;
    };
    if *retried {
        go_looking(cfg, st, None, o);
    } else {
        *retried = true;
        send(o, *leader, Msg::FollowerInfo { accepted_epoch });
        arm(cfg, true, o);
    }
}

/// PING from the leader (answer it) or a learner's answer (note it).
pub fn process_ping<S: Service>(state: &mut Cow<ServerState<S>>, src: usize, o: &mut Out<S>) {
    match &state.role {
        Role::Following(f) if f.leader == src => {
            // Only a serving follower watches its leader's heartbeat.
            if matches!(f.phase, FollowerPhase::Broadcast { heard: false }) {
                if let Some(Following {
                    phase: FollowerPhase::Broadcast { heard },
                    ..
                }) = state.to_mut().following_mut()
                {
                    *heard = true;
                }
            }
            send(o, src, Msg::Ping);
        }
        // Only a synced learner's answer counts: a joining one must send its ACKEPOCH (an
        // answer to an old PING, late on a connection it has since left, proves nothing).
        Role::Leading(l) if l.pinged.contains_key(&src) && l.synced.contains(&src) => {
            state
                .to_mut()
                .leading_mut()
                .expect("leading")
                .pinged
                .remove(&src);
        }
        _ => {}
    }
}
