------------------------------ MODULE ZabBase ------------------------------
(***************************************************************************)
(* What every part of the spec of zabkeeper's ZAB actor shares: zxids,     *)
(* transactions, a server's state exactly as the actor holds it            *)
(* (`ServerState` in src/zab/state.rs, `Durable` in src/zab/types.rs), the *)
(* result of a step (the new state and the messages it sends), and the     *)
(* steps that several handlers take: saving, committing up to a zxid and   *)
(* going back to election.                                                 *)
(*                                                                         *)
(* A handler is an operator from a step result to a step result, so that   *)
(* handlers compose as the Rust functions call each other.                 *)
(***************************************************************************)
EXTENDS Integers, Sequences, FiniteSets

CONSTANTS
    Voters,       \* voting servers are 0 .. Voters-1     (Config.voters)
    Observers,    \* then the observers                   (Config.observers)
    Election,     \* "oracle" or "fast" (Fast Leader Election)  (Config.election)
    ElectionOnly, \* decided servers start no Discovery   (Config.election_only)
    Bug,          \* "none", or a bug switch's name       (Config.bug, src/zab/bugs.rs)
    SnapCount     \* 0: never snapshot; else Config.snap_count

N == Voters + Observers
Server == 0 .. N - 1
Nil == -1
IsVoter(i) == i < Voters
\* A strict majority of the voters among S (observers never count).
IsQuorum(S) == 2 * Cardinality({i \in S : IsVoter(i)}) > Voters
Has(b) == Bug = b
Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a < b THEN b ELSE a
\* The maximum of a non-empty finite set of naturals.
SetMax(S) == CHOOSE x \in S : \A y \in S : y <= x
\* A finite map: a function whose domain grows and shrinks.
EmptyMap == [x \in {} |-> 0]
Put(f, k, v) == [x \in DOMAIN f \cup {k} |-> IF x = k THEN v ELSE f[x]]
Remove(f, k) == [x \in DOMAIN f \ {k} |-> f[x]]
\* Options are sequences of length 0 or 1.
None == <<>>
Some(x) == <<x>>

(***************************************************************************)
(* Zxids: <<epoch, counter>>, ordered as ZooKeeper orders epoch << 32 |    *)
(* counter (`Zxid` in src/zab/types.rs).                                   *)
(***************************************************************************)
Zero == <<0, 0>>
ZLt(a, b) == a[1] < b[1] \/ (a[1] = b[1] /\ a[2] < b[2])
ZLe(a, b) == ~ZLt(b, a)
ZMax(a, b) == IF ZLt(a, b) THEN b ELSE a
ZMin(a, b) == IF ZLt(a, b) THEN a ELSE b

(***************************************************************************)
(* Histories are sequences of transactions [zxid, value] in zxid order.    *)
(***************************************************************************)
Contains(seq, x) == \E k \in 1 .. Len(seq) : seq[k] = x
Zxids(seq) == [k \in 1 .. Len(seq) |-> seq[k].zxid]
InLog(d, z) == \E k \in 1 .. Len(d.history) : d.history[k].zxid = z
\* `Durable::last_zxid`: the last transaction held, log or snapshot.
LastZxid(d) == IF d.history = <<>> THEN d.snapshot.zxid
               ELSE d.history[Len(d.history)].zxid
\* `Durable::holds`.
Holds(d, z) == ZLe(z, d.snapshot.zxid) \/ InLog(d, z)
EntriesAfter(d, z) == SelectSeq(d.history, LAMBDA t : ZLt(z, t.zxid))
\* `Durable::next_zxid`: the zxid of the next proposal of a leader of currentEpoch.
NextZxid(d) == LET last == LastZxid(d) IN
               IF last[1] = d.currentEpoch THEN <<last[1], last[2] + 1>>
               ELSE <<d.currentEpoch, 1>>
\* `Durable::state_at`: the state machine (here: the delivered sequence) up to c.
StateAt(d, c) == d.snapshot.state \o SelectSeq(d.history, LAMBDA t : ZLe(t.zxid, c))
\* Every transaction a server holds, snapshot first (`properties::held`).
Held(d) == d.snapshot.state \o d.history

(***************************************************************************)
(* A server's state. The durable part (acceptedEpoch, currentEpoch,        *)
(* snapshot, history) is `Durable`; `disk` is what was last saved (the     *)
(* actor's `Storage`, None before the first save); the rest is volatile.   *)
(* Fields of a role or phase the server is not in hold fixed values, so    *)
(* that a state of the spec stands for exactly one state of the actor.     *)
(***************************************************************************)
EmptySnapshot == [zxid |-> Zero, state |-> <<>>]
EmptyDurable == [acceptedEpoch |-> 0, currentEpoch |-> 0,
                 snapshot |-> EmptySnapshot, history |-> <<>>]
Durable(s) == [acceptedEpoch |-> s.acceptedEpoch, currentEpoch |-> s.currentEpoch,
               snapshot |-> s.snapshot, history |-> s.history]

\* The role data of a LOOKING server (`Role::Looking`).
Looking(s) ==
    [s EXCEPT !.state = "LOOKING", !.zabState = "ELECTION", !.leader = Nil,
              !.pending = None, !.ackedNewLeader = FALSE,
              !.newEpoch = 0, !.cepoch = EmptyMap, !.ackepoch = EmptyMap,
              !.synced = {}, !.ackld = {}, !.acks = EmptyMap]

NoVote == [epoch |-> 0, zxid |-> Zero, leader |-> 0]

\* The server record as `Actor::on_start` builds it, before Fast Leader Election's first round.
StartState(d, disk) ==
    [acceptedEpoch |-> d.acceptedEpoch, currentEpoch |-> d.currentEpoch,
     snapshot |-> d.snapshot, history |-> d.history,
     disk |-> disk,
     committed |-> d.snapshot.zxid, delivered |-> d.snapshot.state,
     state |-> "LOOKING", zabState |-> "ELECTION", leader |-> Nil,
     pending |-> None, ackedNewLeader |-> FALSE,
     newEpoch |-> 0, cepoch |-> EmptyMap, ackepoch |-> EmptyMap,
     synced |-> {}, ackld |-> {}, acks |-> EmptyMap,
     voteZxid |-> None, timers |-> {},
     round |-> 0, vote |-> NoVote, recv |-> EmptyMap, outOfElection |-> EmptyMap]

\* The vote's zxid: the last logged one (with ZOOKEEPER-2845, the stale last processed one).
VoteZxid(s) == IF s.voteZxid = None THEN LastZxid(s) ELSE s.voteZxid[1]
\* `ServerState::vote_key` (currentEpoch, last zxid, id), ordered lexicographically.
VoteGreater(s, i, t, j) ==
    \/ s.currentEpoch > t.currentEpoch
    \/ s.currentEpoch = t.currentEpoch /\ ZLt(VoteZxid(t), VoteZxid(s))
    \/ s.currentEpoch = t.currentEpoch /\ VoteZxid(s) = VoteZxid(t) /\ i > j

\* `Following::acked_new_leader`.
AckedNewLeader(s) ==
    s.state = "FOLLOWING" /\ (s.zabState = "BROADCAST" \/ s.ackedNewLeader)
\* `ServerState::is_synced_with`: PROPOSAL, COMMIT and INFORM are taken from that leader.
IsSyncedWith(s, l) == s.state = "FOLLOWING" /\ s.leader = l /\ AckedNewLeader(s)
IsEstablishedLeader(s) == s.state = "LEADING" /\ s.zabState = "BROADCAST"

(***************************************************************************)
(* A step's result: the server's new state and, per destination, the       *)
(* messages it sends, in order (`Out` of stateright).                      *)
(***************************************************************************)
\* `out` is for the quorum port, `eout` for the election port.
NoOut == [j \in Server |-> <<>>]
Begin(s) == [s |-> s, out |-> NoOut, eout |-> NoOut]
Send(r, j, m) == [r EXCEPT !.out[j] = Append(@, m)]
SendAll(r, S, m) == [r EXCEPT !.out = [j \in Server |->
                        IF j \in S THEN Append(r.out[j], m) ELSE r.out[j]]]
SendElection(r, j, m) == [r EXCEPT !.eout[j] = Append(@, m)]
SendElectionAll(r, S, m) == [r EXCEPT !.eout = [j \in Server |->
                                IF j \in S THEN Append(r.eout[j], m) ELSE r.eout[j]]]
CancelTimer(s, t) == [s EXCEPT !.timers = @ \ {t}]
\* `o.save(durable)`: the durable state as it is now is what a restart finds.
Save(s) == [s EXCEPT !.disk = Some(Durable(s))]
SetTimer(s, t) == [s EXCEPT !.timers = @ \cup {t}]

(***************************************************************************)
(* Fast Leader Election's votes (src/zab/fle.rs): what GoLooking and the   *)
(* start of a server need; the handlers are in FastLeaderElection.tla.     *)
(***************************************************************************)
OwnVote(s, i) == [epoch |-> s.currentEpoch, zxid |-> VoteZxid(s), leader |-> i]
\* The sender's state in a notification (`fle::peer_state`).
PeerState(s, i) == CASE s.state = "LOOKING" -> "LOOKING"
                     [] s.state = "LEADING" -> "LEADING"
                     [] IsVoter(i) -> "FOLLOWING"
                     [] OTHER -> "OBSERVING"
Notification(s, i) == [mtype |-> "NOTIFICATION", vote |-> s.vote, round |-> s.round,
                       state |-> PeerState(s, i)]
SetVote(s, i, v) == [s EXCEPT !.vote = v, !.recv = IF IsVoter(i) THEN Put(@, i, v) ELSE @]
\* A quorum of this round's votes equals v.
HasQuorum(s, v) == IsQuorum({p \in DOMAIN s.recv : s.recv[p] = v})
SendNotifications(i, r) ==
    SendElectionAll(r, {p \in 0 .. Voters - 1 : p # i}, Notification(r.s, i))
\* `fle::start_round`: a new round, a vote for oneself, notifications to every voter.
StartRound(i, r) ==
    LET s0 == [r.s EXCEPT !.round = @ + 1, !.recv = EmptyMap, !.outOfElection = EmptyMap]
        s1 == SetVote(s0, i, OwnVote(s0, i))
        \* An ensemble of one is a quorum with its own vote (arm_finalize).
        s2 == IF HasQuorum(s1, s1.vote) THEN SetTimer(s1, "Finalize") ELSE s1
    IN SendNotifications(i, [r EXCEPT !.s = s2])

\* `Actor::on_start`: a server starting from what it saved (or its seed).
Start(i, d, disk) ==
    LET r == Begin(StartState(d, disk)) IN
    IF Election = "fast" THEN StartRound(i, r) ELSE r

\* `ServerState::commit_up_to`: deliver every held transaction up to z, in order.
CommitUpTo(s, z) ==
    LET upto == ZMin(z, LastZxid(s)) IN
    IF ZLe(upto, s.committed) THEN s
    ELSE [s EXCEPT !.delivered = @ \o SelectSeq(s.history,
                       LAMBDA t : ZLt(s.committed, t.zxid) /\ ZLe(t.zxid, upto)),
                   !.committed = upto]

\* `Durable::append_newer`: append the entries newer than the last one held.
RECURSIVE AppendNewer(_, _)
AppendNewer(s, entries) ==
    IF entries = <<>> THEN s
    ELSE LET t == Head(entries)
             s1 == IF ZLt(LastZxid(s), t.zxid) THEN [s EXCEPT !.history = Append(@, t)]
                   ELSE s
         IN AppendNewer(s1, Tail(entries))

(***************************************************************************)
(* GoLooking (`election::go_looking`; FollowerShutdown / LeaderShutdown):  *)
(* back to LOOKING, closing the connections that are still open (a         *)
(* follower's to its leader, a leader's to each learner) except the one to *)
(* `gone`, which is already closed.                                        *)
(***************************************************************************)
GoLooking(i, r, gone) ==
    LET s == r.s
        open(p) == p # i /\ p # gone
        r1 == CASE s.state = "FOLLOWING" /\ open(s.leader) ->
                       Send(r, s.leader, [mtype |-> "DISCONNECTED"])
                [] s.state = "LEADING" ->
                       SendAll(r, {p \in DOMAIN s.cepoch : open(p)}, [mtype |-> "DISCONNECTED"])
                [] OTHER -> r
        s1 == Looking(s)
        s2 == IF Has("zk-2845") THEN [s1 EXCEPT !.voteZxid = Some(s.committed)] ELSE s1
        r2 == [r1 EXCEPT !.s = s2]
    IN IF Election = "fast" THEN StartRound(i, r2) ELSE r2

\* `Leading::forget`: a learner whose connection closed.
Forget(s, p) ==
    [s EXCEPT !.cepoch = Remove(@, p), !.ackepoch = Remove(@, p),
              !.synced = @ \ {p}, !.ackld = @ \ {p}]
=============================================================================
