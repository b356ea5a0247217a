//! The bug zoo: historical ZAB bugs, each re-introduced behind a switch so that the model
//! checker can show it is caught, and that the code without it is not.
//!
//! Every switch is off in production. A bug changes one decision of one handler; the handler
//! names the bug where it tests the switch, so `grep Bug::Zk3911` finds the faulty line.
//!
//! Beside the historical bugs, three mutants (not bugs ZooKeeper had) take away one part of
//! what makes election safe, to show that the checker notices each part missing.

/// One historical bug, or a mutant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Breaks the durability rule: a follower acknowledges a PROPOSAL before it is saved.
    AckBeforeSave,
    /// Breaks the durability rule on a pipelined leader: it counts its own vote for a
    /// proposal when it proposes, before its log write is durable.
    SelfAckBeforeSave,
    /// Zab paper, ambiguity 1: PROPOSE only to followers that already sent ACK-LD.
    Paper1,
    /// Zab paper, ambiguity 3: COMMIT-LD carries the learner's ACK-LD zxid.
    Paper3,
    /// ZOOKEEPER-2845: after LOOKING without a restart, votes and ACKEPOCH report the last
    /// *processed* zxid, not the last logged one.
    Zk2845,
    /// ZOOKEEPER-3911: NEWLEADER acknowledged before the synced proposals are logged.
    Zk3911,
    /// ZOOKEEPER-4643: currentEpoch written before the synced proposals are logged.
    Zk4643,
    /// ZOOKEEPER-4646: synced proposals handed to the asynchronous writer, ACK-LD sent at once.
    Zk4646,
    /// ZOOKEEPER-4394: NEWLEADER drains the queue of synced proposals awaiting COMMIT.
    Zk4394,
    /// ZOOKEEPER-4712: a follower that goes back to LOOKING keeps its log writer's queue.
    Zk4712,
    /// ZOOKEEPER-1154: DIFF chosen by a range check although the learner's last zxid is an
    /// orphan of an old epoch.
    Zk1154,
    /// Mutant: FLE orders votes by (peer epoch, server id), leaving out the last zxid.
    VoteWithoutZxid,
    /// Mutant: FLE orders votes by (last zxid, server id), leaving out the peer epoch.
    VoteWithoutEpoch,
    /// Mutant: a prospective leader takes ACKEPOCH from a learner more recent than itself
    /// instead of giving up (ZooKeeper's `waitForEpochAck` check removed).
    NoRecencyCheck,
}

impl Bug {
    /// Every bug, in the order `check --list-bugs` prints them.
    pub const ALL: [Bug; 14] = [
        Bug::AckBeforeSave,
        Bug::SelfAckBeforeSave,
        Bug::Paper1,
        Bug::Paper3,
        Bug::Zk2845,
        Bug::Zk3911,
        Bug::Zk4643,
        Bug::Zk4646,
        Bug::Zk4394,
        Bug::Zk4712,
        Bug::Zk1154,
        Bug::VoteWithoutZxid,
        Bug::VoteWithoutEpoch,
        Bug::NoRecencyCheck,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeSave => "ack-before-save",
            Bug::SelfAckBeforeSave => "self-ack-before-save",
            Bug::Paper1 => "paper-1",
            Bug::Paper3 => "paper-3",
            Bug::Zk2845 => "zk-2845",
            Bug::Zk3911 => "zk-3911",
            Bug::Zk4643 => "zk-4643",
            Bug::Zk4646 => "zk-4646",
            Bug::Zk4394 => "zk-4394",
            Bug::Zk4712 => "zk-4712",
            Bug::Zk1154 => "zk-1154",
            Bug::VoteWithoutZxid => "mutant-vote-no-zxid",
            Bug::VoteWithoutEpoch => "mutant-vote-no-epoch",
            Bug::NoRecencyCheck => "mutant-no-recency-check",
        }
    }

    /// The bug called `name`.
    pub fn named(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The model configuration that shows the bug.
    pub fn model(self) -> &'static str {
        match self {
            Bug::AckBeforeSave | Bug::Paper1 | Bug::Zk2845 => "broadcast",
            Bug::SelfAckBeforeSave => "broadcast-pipelined",
            Bug::Paper3 => "observer",
            Bug::Zk1154 => "recovery",
            Bug::Zk3911 | Bug::Zk4643 | Bug::Zk4646 | Bug::Zk4394 | Bug::Zk4712 => "newleader",
            Bug::VoteWithoutZxid | Bug::VoteWithoutEpoch => "election",
            Bug::NoRecencyCheck => "recovery-any-leader",
        }
    }

    /// The property whose violation shows the bug.
    pub fn expected(self) -> &'static str {
        match self {
            Bug::AckBeforeSave
            | Bug::SelfAckBeforeSave
            | Bug::Paper3
            | Bug::Zk3911
            | Bug::Zk4646 => "CommittedLogDurability",
            Bug::Paper1 | Bug::Zk2845 | Bug::Zk4712 | Bug::Zk1154 => "ProcessConsistency",
            Bug::Zk4643 => "LeaderLogCompleteness",
            Bug::Zk4394 => "ShouldNotBeTriggered",
            Bug::VoteWithoutZxid | Bug::VoteWithoutEpoch => "ElectionRecency",
            Bug::NoRecencyCheck => "LeaderLogCompleteness",
        }
    }

    /// One line on what goes wrong.
    pub fn about(self) -> &'static str {
        match self {
            Bug::AckBeforeSave => "a follower ACKs a PROPOSAL before the entry is saved",
            Bug::SelfAckBeforeSave => {
                "a pipelined leader counts its own vote before its log write is durable"
            }
            Bug::Paper1 => "PROPOSE only to followers that sent ACK-LD: a late one gets a gap",
            Bug::Paper3 => {
                "COMMIT-LD carries the ACK-LD zxid: a learner delivers an uncommitted proposal"
            }
            Bug::Zk2845 => {
                "votes and ACKEPOCH use the stale last processed zxid: DIFF keeps an orphan"
            }
            Bug::Zk3911 => "NEWLEADER ACKed before the synced proposals are logged",
            Bug::Zk4643 => {
                "currentEpoch saved before the synced proposals: the new epoch wins without them"
            }
            Bug::Zk4646 => {
                "synced proposals go to the async writer and ACK-LD leaves before the write"
            }
            Bug::Zk4394 => {
                "NEWLEADER drains the proposals awaiting COMMIT: a later COMMIT finds none"
            }
            Bug::Zk4712 => {
                "LOOKING does not stop the log writer: stale proposals land after a re-sync"
            }
            Bug::Zk1154 => "DIFF by a range check: an orphan of an old epoch is kept",
            Bug::VoteWithoutZxid => "mutant: votes ignore the last zxid: a shorter log wins",
            Bug::VoteWithoutEpoch => "mutant: votes ignore the peer epoch: an older epoch wins",
            Bug::NoRecencyCheck => {
                "mutant: a leader behind a follower does not give up: it truncates committed entries"
            }
        }
    }
}
