----------------------------- MODULE Broadcast -----------------------------
(***************************************************************************)
(* Phase 3, Broadcast (src/zab/broadcast.rs): the established leader gives *)
(* each client write the next zxid, logs it and sends PROPOSAL to every    *)
(* synced follower; a follower logs it and sends ACK; on a quorum of ACKs  *)
(* (its own included) the leader commits, in zxid order, and sends COMMIT  *)
(* (INFORM to observers).                                                  *)
(***************************************************************************)
EXTENDS ZabBase

\* `leader_try_commit`: commit, in zxid order, every outstanding proposal a quorum acknowledged.
RECURSIVE LeaderTryCommit(_, _)
LeaderTryCommit(i, r) ==
    LET s == r.s IN
    IF s.state # "LEADING" \/ s.zabState # "BROADCAST" \/ DOMAIN s.acks = {} THEN r
    ELSE
      LET z == CHOOSE x \in DOMAIN s.acks : \A y \in DOMAIN s.acks : ZLe(x, y)
      IN IF ~IsQuorum(s.acks[z]) THEN r
         ELSE
           LET txn == CHOOSE t \in {s.history[k] : k \in 1 .. Len(s.history)} : t.zxid = z
               toVoters == {p \in s.synced : IsVoter(p)}
               r1 == SendAll(r, toVoters, [mtype |-> "COMMIT", zxid |-> z])
               r2 == SendAll(r1, s.synced \ toVoters, [mtype |-> "INFORM", txn |-> txn])
               s1 == [s EXCEPT !.acks = Remove(@, z)]
           IN LeaderTryCommit(i, [r2 EXCEPT !.s = CommitUpTo(s1, z)])

\* `leader_propose`: log the proposal durably, send it to every synced voter.
LeaderPropose(i, r, value) ==
    LET s == r.s
        txn == [zxid |-> NextZxid(s), value |-> value]
        s1 == Save([s EXCEPT !.history = Append(@, txn),
                             !.acks = Put(@, txn.zxid, {i})])
        \* Paper ambiguity 1: a follower that has not yet sent ACK-LD must get proposals too.
        to == {p \in s.synced : IsVoter(p) /\ (Has("paper-1") => p \in s.ackld)}
        r1 == SendAll([r EXCEPT !.s = s1], to, [mtype |-> "PROPOSAL", txn |-> txn])
    IN LeaderTryCommit(i, r1)

\* `process_client_write`: the established leader proposes; a serving follower forwards (REQUEST).
ProcessClientWrite(i, r, value) ==
    LET s == r.s IN
    CASE IsEstablishedLeader(s) -> LeaderPropose(i, r, value)
      [] s.state = "FOLLOWING" /\ s.zabState = "BROADCAST" ->
             Send(r, s.leader, [mtype |-> "REQUEST", value |-> value])
      [] OTHER -> r

\* `leader_process_request`: a write a synced learner forwarded.
LeaderProcessREQUEST(i, r, j, m) ==
    IF IsEstablishedLeader(r.s) /\ j \in r.s.synced THEN LeaderPropose(i, r, m.value) ELSE r

\* `follower_process_proposal`: log the proposal durably, then acknowledge it.
FollowerProcessPROPOSAL(i, r, j, m) ==
    LET s == r.s
        z == m.txn.zxid
    IN IF ~IsSyncedWith(s, j) \/ ZLe(z, LastZxid(s)) THEN r
       ELSE LET s1 == [s EXCEPT !.history = Append(@, m.txn)]
                \* The bug: the write is handed to a writer that reaches the disk later.
                s2 == IF Has("ack-before-save") THEN SetTimer(s1, "Flush") ELSE Save(s1)
            IN Send([r EXCEPT !.s = s2], j, [mtype |-> "ACK", zxid |-> z])

\* `follower_flush` (the Flush timer; only the ack-before-save bug sets it in these models):
\* the log as it is reaches the disk.
FollowerFlush(i, r) ==
    IF Has("ack-before-save") THEN [r EXCEPT !.s = Save(r.s)] ELSE r

\* `leader_process_ack`: count the acknowledgement and commit what has a quorum.
LeaderProcessACK(i, r, j, m) ==
    LET s == r.s IN
    IF s.state = "LEADING" /\ m.zxid \in DOMAIN s.acks /\ j \notin s.acks[m.zxid]
    THEN LeaderTryCommit(i, [r EXCEPT !.s.acks[m.zxid] = @ \cup {j}])
    ELSE r

\* `follower_process_commit`: deliver up to the zxid; a COMMIT for a proposal never logged
\* means the follower is out of step: it stops following.
FollowerProcessCOMMIT(i, r, j, m) ==
    LET s == r.s IN
    IF ~(s.state = "FOLLOWING" /\ s.leader = j /\ AckedNewLeader(s)) \/ ZLe(m.zxid, s.committed)
    THEN r
    ELSE IF Holds(s, m.zxid) THEN [r EXCEPT !.s = CommitUpTo(s, m.zxid)]
    ELSE GoLooking(i, r, Nil)

\* `observer_process_inform`: log the committed transaction and deliver it.
ObserverProcessINFORM(i, r, j, m) ==
    LET s == r.s
        z == m.txn.zxid
    IN IF ~IsSyncedWith(s, j) THEN r
       ELSE LET s1 == IF ZLt(LastZxid(s), z) THEN Save([s EXCEPT !.history = Append(@, m.txn)])
                      ELSE s
            IN [r EXCEPT !.s = CommitUpTo(s1, z)]
=============================================================================
