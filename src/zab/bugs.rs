//! The bug zoo: historical ZAB bugs, each re-introduced behind a switch so that the model
//! checker can show it is caught, and that the code without it is not.
//!
//! Every switch is off in production. A bug changes one decision of one handler; the handler
//! names the bug where it tests the switch, so `grep Bug::Zk3911` finds the faulty line.

/// One historical bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Breaks the durability rule: a follower acknowledges a PROPOSAL before it is saved.
    AckBeforeSave,
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
}

impl Bug {
    /// Every bug, in the order `check --list-bugs` prints them.
    pub const ALL: [Bug; 10] = [
        Bug::AckBeforeSave,
        Bug::Paper1,
        Bug::Paper3,
        Bug::Zk2845,
        Bug::Zk3911,
        Bug::Zk4643,
        Bug::Zk4646,
        Bug::Zk4394,
        Bug::Zk4712,
        Bug::Zk1154,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeSave => "ack-before-save",
            Bug::Paper1 => "paper-1",
            Bug::Paper3 => "paper-3",
            Bug::Zk2845 => "zk-2845",
            Bug::Zk3911 => "zk-3911",
            Bug::Zk4643 => "zk-4643",
            Bug::Zk4646 => "zk-4646",
            Bug::Zk4394 => "zk-4394",
            Bug::Zk4712 => "zk-4712",
            Bug::Zk1154 => "zk-1154",
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
            Bug::Paper3 => "observer",
            Bug::Zk1154 => "recovery",
            Bug::Zk3911 | Bug::Zk4643 | Bug::Zk4646 | Bug::Zk4394 | Bug::Zk4712 => "newleader",
        }
    }

    /// The property whose violation shows the bug.
    pub fn expected(self) -> &'static str {
        match self {
            Bug::AckBeforeSave | Bug::Paper3 | Bug::Zk3911 | Bug::Zk4646 => {
                "CommittedLogDurability"
            }
            Bug::Paper1 | Bug::Zk2845 | Bug::Zk4712 | Bug::Zk1154 => "ProcessConsistency",
            Bug::Zk4643 => "LeaderLogCompleteness",
            Bug::Zk4394 => "ShouldNotBeTriggered",
        }
    }

    /// One line on what goes wrong.
    pub fn about(self) -> &'static str {
        match self {
            Bug::AckBeforeSave => "a follower ACKs a PROPOSAL before the entry is saved",
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
        }
    }
}
