----------------------------- MODULE Discovery -----------------------------
(***************************************************************************)
(* Phase 1, Discovery (src/zab/discovery.rs): FOLLOWERINFO(acceptedEpoch)  *)
(* from a quorum lets the leader pick e' = max + 1 and send LEADERINFO(e');*)
(* a follower promises e' durably and answers ACKEPOCH(currentEpoch, last  *)
(* zxid); on a quorum of fresh promises the leader makes e' its current    *)
(* epoch and synchronizes. A follower more recent than the leader makes it *)
(* give up (ZooKeeper's waitForEpochAck).                                  *)
(***************************************************************************)
EXTENDS Synchronization

\* `leader_try_establish_epoch`: on a quorum of fresh ACKEPOCH, currentEpoch := e' (durably),
\* enter Synchronization and synchronize every learner that acknowledged.
LeaderTryEstablishEpoch(i, r) ==
    LET s == r.s
        fresh == {p \in DOMAIN s.ackepoch : s.ackepoch[p].fresh}
    IN IF s.state # "LEADING" \/ s.zabState # "DISCOVERY" \/ s.newEpoch = 0 \/ ~IsQuorum(fresh)
       THEN r
       ELSE LET s1 == Save([s EXCEPT !.zabState = "SYNCHRONIZATION", !.ackld = @ \cup {i},
                                     !.currentEpoch = s.newEpoch])
                r1 == LeaderSyncLearners(i, [r EXCEPT !.s = s1], DOMAIN s.ackepoch \ {i})
            IN LeaderTryEstablish(i, r1)

\* `leader_try_decide_epoch`: on a quorum of FOLLOWERINFO choose e', promise it durably and
\* announce it (LEADERINFO).
LeaderTryDecideEpoch(i, r) ==
    LET s == r.s IN
    IF s.state # "LEADING" \/ s.newEpoch # 0 \/ ~IsQuorum(DOMAIN s.cepoch) THEN r
    ELSE LET e == SetMax({s.cepoch[p] : p \in DOMAIN s.cepoch}) + 1
             s1 == Save([s EXCEPT !.newEpoch = e,
                                  !.ackepoch = Put(@, i, [zxid |-> LastZxid(s), fresh |-> TRUE]),
                                  !.acceptedEpoch = e])
             r1 == SendAll([r EXCEPT !.s = s1], DOMAIN s.cepoch \ {i},
                           [mtype |-> "LEADERINFO", epoch |-> e])
         IN LeaderTryEstablishEpoch(i, r1)

\* `leader_process_followerinfo` (LeaderProcessCEPOCH): a learner connects with its
\* acceptedEpoch; a new connection replaces an earlier one.
LeaderProcessFOLLOWERINFO(i, r, j, m) ==
    LET s == r.s IN
    IF s.state # "LEADING" \/ j = i THEN r
    ELSE LET s1 == [Forget(s, j) EXCEPT !.cepoch = Put(@, j, m.acceptedEpoch)]
             r1 == [r EXCEPT !.s = s1]
         IN IF s.newEpoch # 0 THEN Send(r1, j, [mtype |-> "LEADERINFO", epoch |-> s.newEpoch])
            ELSE LeaderTryDecideEpoch(i, r1)

\* `follower_process_leaderinfo` (FollowerProcessNEWEPOCH): promise e' unless a newer epoch
\* was promised.
FollowerProcessLEADERINFO(i, r, j, m) ==
    LET s == r.s IN
    IF ~(s.state = "FOLLOWING" /\ s.leader = j /\ s.zabState = "DISCOVERY") THEN r
    ELSE IF m.epoch < s.acceptedEpoch THEN GoLooking(i, r, Nil)
    ELSE LET fresh == m.epoch > s.acceptedEpoch
             s1 == IF fresh THEN Save([s EXCEPT !.acceptedEpoch = m.epoch]) ELSE s
             s2 == [s1 EXCEPT !.zabState = "SYNCHRONIZATION"]
         IN Send([r EXCEPT !.s = s2], j,
                 [mtype |-> "ACKEPOCH", currentEpoch |-> s2.currentEpoch,
                  lastZxid |-> VoteZxid(s2), fresh |-> fresh])

\* `leader_process_ackepoch` (LeaderProcessACKEPOCH): record the promise; on a quorum
\* establish e'; afterwards synchronize each late learner at once.
LeaderProcessACKEPOCH(i, r, j, m) ==
    LET s == r.s
        moreRecent == m.currentEpoch > s.currentEpoch
                      \/ (m.currentEpoch = s.currentEpoch /\ ZLt(LastZxid(s), m.lastZxid))
    IN IF ~(s.state = "LEADING" /\ s.newEpoch # 0 /\ j \in DOMAIN s.cepoch) THEN r
       ELSE IF moreRecent /\ ~Has("mutant-no-recency-check") THEN GoLooking(i, r, Nil)
       ELSE LET r1 == [r EXCEPT !.s.ackepoch = Put(@, j, [zxid |-> m.lastZxid,
                                                          fresh |-> m.fresh])]
            IN IF s.zabState = "DISCOVERY" THEN LeaderTryEstablishEpoch(i, r1)
               ELSE LeaderSyncLearners(i, r1, {j})

\* `leave_election` (FollowLeader / UpdateLeader): a LOOKING server learns who leads (from the
\* oracle or from Fast Leader Election); with ElectionOnly it starts no Discovery.
LeaveElection(i, r, l) ==
    LET s == r.s
        leading == [r EXCEPT !.s = [s EXCEPT !.state = "LEADING", !.zabState = "DISCOVERY",
                                             !.cepoch = Put(EmptyMap, i, s.acceptedEpoch)]]
        following == [r EXCEPT !.s = [s EXCEPT !.state = "FOLLOWING", !.zabState = "DISCOVERY",
                                               !.leader = l]]
    IN CASE s.state # "LOOKING" -> r
         [] l = i /\ ElectionOnly -> leading
         [] l = i -> LeaderTryDecideEpoch(i, leading)
         [] ElectionOnly -> following
         [] OTHER -> Send(following, l, [mtype |-> "FOLLOWERINFO",
                                         acceptedEpoch |-> s.acceptedEpoch])

\* `process_disconnected`: a follower that loses its leader goes LOOKING; a leader forgets
\* the learner, and goes LOOKING when not yet established or without a quorum.
ProcessDISCONNECTED(i, r, j) ==
    LET s == r.s IN
    CASE s.state = "FOLLOWING" /\ s.leader = j -> GoLooking(i, r, j)
      [] s.state = "LEADING" /\ s.zabState # "BROADCAST" -> GoLooking(i, r, j)
      [] s.state = "LEADING" /\ j \in DOMAIN s.cepoch ->
             LET s1 == Forget(s, j) IN
             IF IsQuorum(DOMAIN s1.cepoch) THEN [r EXCEPT !.s = s1]
             ELSE GoLooking(i, [r EXCEPT !.s = s1], j)
      [] OTHER -> r
=============================================================================
