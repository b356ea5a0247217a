-------------------------- MODULE Synchronization --------------------------
(***************************************************************************)
(* Phase 2, Synchronization (src/zab/sync.rs): the leader brings each      *)
(* learner's history in line with its own by DIFF, TRUNC or SNAP, then     *)
(* NEWLEADER; the learner makes the synced history durable, sets           *)
(* currentEpoch := e' and acknowledges (ACK-LD); on a quorum the leader    *)
(* commits its whole history and sends UPTODATE: the epoch is established. *)
(* The follower here is the atomic one (Config.fine_grained off).          *)
(***************************************************************************)
EXTENDS Broadcast

\* `choose_sync` (ZooKeeper's LearnerHandler.syncFollower).
ChooseSync(d, peerLast) ==
    LET snap == d.snapshot.zxid IN
    IF ZLt(peerLast, snap)
    THEN [mode |-> [kind |-> "SNAP", snapshot |-> d.snapshot], entries |-> d.history]
    ELSE IF peerLast = snap \/ InLog(d, peerLast)
    THEN [mode |-> [kind |-> "DIFF"], entries |-> EntriesAfter(d, peerLast)]
    ELSE LET below == SelectSeq(d.history, LAMBDA t : ZLt(t.zxid, peerLast))
             common == IF below = <<>> THEN snap ELSE below[Len(below)].zxid
         IN [mode |-> [kind |-> "TRUNC", zxid |-> common], entries |-> EntriesAfter(d, common)]

\* Only with ZOOKEEPER-1154: DIFF whenever the learner's last zxid lies within the leader's
\* range, whether or not the leader holds it.
ChooseSyncByRange(d, peerLast) ==
    IF ZLe(d.snapshot.zxid, peerLast) /\ ZLe(peerLast, LastZxid(d))
    THEN [mode |-> [kind |-> "DIFF"], entries |-> EntriesAfter(d, peerLast)]
    ELSE ChooseSync(d, peerLast)

\* `leader_sync_learner`: each learner in L that acknowledged the epoch gets its sync packet
\* and NEWLEADER, and from now on every PROPOSAL and COMMIT (ZooKeeper's startForwarding).
\* The learners' packets go to different connections and read only what the loop leaves
\* unchanged, so the loop of the Rust code is one step here.
LeaderSyncLearners(i, r, L) ==
    LET s == r.s
        to == L \cap DOMAIN s.ackepoch
        sync(p) == IF Has("zk-1154") THEN ChooseSyncByRange(s, s.ackepoch[p].zxid)
                   ELSE ChooseSync(s, s.ackepoch[p].zxid)
        msg(p) == [mtype |-> "SYNC", mode |-> sync(p).mode, entries |-> sync(p).entries,
                   committed |-> s.committed]
        newleader == [mtype |-> "NEWLEADER", epoch |-> s.currentEpoch]
    IN IF s.state # "LEADING" THEN r
       ELSE [r EXCEPT !.s = [s EXCEPT !.synced = @ \cup to],
                      !.out = [p \in Server |-> IF p \in to THEN r.out[p] \o <<msg(p), newleader>>
                                               ELSE r.out[p]]]

\* `leader_try_establish`: on a quorum of ACK-LD commit the initial history, send UPTODATE.
LeaderTryEstablish(i, r) ==
    LET s == r.s IN
    IF s.state # "LEADING" \/ s.zabState # "SYNCHRONIZATION" \/ ~IsQuorum(s.ackld) THEN r
    ELSE LET last == LastZxid(s)
             s1 == CommitUpTo([s EXCEPT !.zabState = "BROADCAST"], last)
         IN SendAll([r EXCEPT !.s = s1], s.ackld \ {i}, [mtype |-> "UPTODATE", committed |-> last])

\* `follower_process_sync`: the synced history is held in memory until NEWLEADER.
FollowerProcessSYNC(i, r, j, m) ==
    LET s == r.s IN
    IF s.state = "FOLLOWING" /\ s.leader = j /\ s.zabState = "SYNCHRONIZATION" /\ s.pending = None
    THEN [r EXCEPT !.s.pending = Some([mode |-> m.mode, entries |-> m.entries,
                                       committed |-> m.committed])]
    ELSE r

\* `apply_sync`: the synced history into the log and the delivered state; ok is FALSE for a
\* TRUNC below this server's snapshot.
ApplySync(s, p) ==
    LET s0 == [s EXCEPT !.voteZxid = None]
        k == p.mode.kind
    IN IF k = "TRUNC" /\ ZLt(p.mode.zxid, s0.snapshot.zxid) THEN [ok |-> FALSE, s |-> s0]
       ELSE
       LET s1 == CASE k = "DIFF" -> s0
                   [] k = "TRUNC" -> [s0 EXCEPT !.history =
                                         SelectSeq(@, LAMBDA t : ZLe(t.zxid, p.mode.zxid))]
                   [] k = "SNAP" -> [s0 EXCEPT !.snapshot = p.mode.snapshot, !.history = <<>>]
           s2 == AppendNewer(s1, p.entries)
           c == ZMin(ZMax(ZMax(s2.committed, p.committed), s2.snapshot.zxid), LastZxid(s2))
       IN [ok |-> TRUE,
           s |-> IF k = "DIFF" THEN CommitUpTo(s2, c)
                 ELSE [s2 EXCEPT !.delivered = StateAt(s2, c), !.committed = c]]

\* `follower_process_newleader` (FollowerProcessNEWLEADER): in one step apply the synced
\* history, set currentEpoch := e', save both, acknowledge (ACK-LD).
FollowerProcessNEWLEADER(i, r, j, m) ==
    LET s == r.s IN
    IF ~(s.state = "FOLLOWING" /\ s.leader = j /\ s.zabState = "SYNCHRONIZATION"
         /\ ~s.ackedNewLeader)
    THEN r
    ELSE IF s.pending = None \/ m.epoch # s.acceptedEpoch THEN GoLooking(i, r, Nil)
    ELSE LET a == ApplySync([s EXCEPT !.pending = None], s.pending[1]) IN
         IF ~a.ok THEN GoLooking(i, [r EXCEPT !.s = a.s], Nil)
         ELSE LET s1 == Save([a.s EXCEPT !.currentEpoch = a.s.acceptedEpoch,
                                         !.ackedNewLeader = TRUE])
              IN Send([r EXCEPT !.s = s1], j, [mtype |-> "ACKLD", lastZxid |-> LastZxid(s1)])

\* `leader_process_ackld` (LeaderProcessACKLD): the learner's history is durable up to
\* lastZxid, which also acknowledges every outstanding proposal up to it.
LeaderProcessACKLD(i, r, j, m) ==
    LET s == r.s IN
    IF ~(s.state = "LEADING" /\ j \in s.synced /\ j \notin s.ackld) THEN r
    ELSE
      LET acks == IF IsVoter(j)
                  THEN [z \in DOMAIN s.acks |-> IF ZLe(z, m.lastZxid) THEN s.acks[z] \cup {j}
                                                ELSE s.acks[z]]
                  ELSE s.acks
          r1 == [r EXCEPT !.s.ackld = @ \cup {j}, !.s.acks = acks]
          \* Paper ambiguity 3: COMMIT-LD must carry what the leader committed.
          committed == IF Has("paper-3") THEN m.lastZxid ELSE s.committed
      IN IF s.zabState = "BROADCAST"
         THEN LeaderTryCommit(i, Send(r1, j, [mtype |-> "UPTODATE", committed |-> committed]))
         ELSE LeaderTryEstablish(i, r1)

\* `follower_process_uptodate` (FollowerProcessCOMMITLD): commit and start serving.
FollowerProcessUPTODATE(i, r, j, m) ==
    LET s == r.s IN
    IF s.state = "FOLLOWING" /\ s.leader = j /\ s.zabState = "SYNCHRONIZATION" /\ s.ackedNewLeader
    THEN [r EXCEPT !.s = [CommitUpTo(s, m.committed) EXCEPT
                              !.zabState = "BROADCAST", !.pending = None, !.ackedNewLeader = FALSE]]
    ELSE r
=============================================================================
