------------------------- MODULE FastLeaderElection -------------------------
(***************************************************************************)
(* Phase 0, Fast Leader Election (src/zab/fle.rs, ZooKeeper's              *)
(* FastLeaderElection.lookForLeader): notifications on the election port,  *)
(* votes ordered by (peer epoch, last zxid, id), finalizeWait as the       *)
(* Finalize timer, and decided servers answering LOOKING ones. The start   *)
(* of a round (StartRound) is in ZabBase, since GoLooking starts one.      *)
(***************************************************************************)
EXTENDS Discovery

\* The key votes are ordered by (`fle::order`); the mutants leave a component out.
Order(v) == CASE Has("mutant-vote-no-zxid") -> <<v.epoch, Zero, v.leader>>
              [] Has("mutant-vote-no-epoch") -> <<0, v.zxid, v.leader>>
              [] OTHER -> <<v.epoch, v.zxid, v.leader>>
KeyGreater(a, b) ==
    \/ a[1] > b[1]
    \/ a[1] = b[1] /\ ZLt(b[2], a[2])
    \/ a[1] = b[1] /\ a[2] = b[2] /\ a[3] > b[3]
\* `fle::better` (totalOrderPredicate): any voter's vote beats an observer's vote for itself.
Better(n, current) == ~IsVoter(current.leader) \/ KeyGreater(Order(n), Order(current))

\* `fle::check_leader`: the named leader said it leads, or it is this server in its round.
CheckLeader(s, i, l, round) ==
    IF l = i THEN round = s.round
    ELSE l \in DOMAIN s.outOfElection /\ s.outOfElection[l].state = "LEADING"

\* `fle::decide`: the vote is final; leave election.
Decide(i, r, v) ==
    LeaveElection(i, [r EXCEPT !.s = CancelTimer([r.s EXCEPT !.vote = v], "Finalize")], v.leader)

\* `fle::arm_finalize` when a quorum agrees with the vote, else the timer is cancelled.
ArmOrCancelFinalize(r) ==
    [r EXCEPT !.s = IF HasQuorum(r.s, r.s.vote) THEN SetTimer(r.s, "Finalize")
                    ELSE CancelTimer(r.s, "Finalize")]

\* `fle::process_looking_vote`: a LOOKING voter's notification.
ProcessLookingVote(i, r, j, n) ==
    LET s == r.s IN
    IF n.round < s.round THEN SendElection(r, j, Notification(s, i))
    ELSE
      LET r1 == IF n.round > s.round
                THEN LET s0 == [s EXCEPT !.round = n.round, !.recv = EmptyMap]
                         own == OwnVote(s0, i)
                     IN SendNotifications(i, [r EXCEPT !.s =
                            SetVote(s0, i, IF Better(n.vote, own) THEN n.vote ELSE own)])
                ELSE IF Better(n.vote, s.vote)
                THEN SendNotifications(i, [r EXCEPT !.s = SetVote(s, i, n.vote)])
                ELSE r
      IN ArmOrCancelFinalize([r1 EXCEPT !.s.recv = Put(@, j, n.vote)])

\* `fle::process_decided_vote`: a FOLLOWING or LEADING voter's answer.
ProcessDecidedVote(i, r, j, n) ==
    LET l == n.vote.leader
        s == r.s
        s1 == [s EXCEPT !.recv = Put(@, j, n.vote)]
        s2 == [s EXCEPT !.outOfElection =
                  Put(@, j, [round |-> n.round, vote |-> n.vote, state |-> n.state])]
        agreeing == {p \in DOMAIN s2.outOfElection :
                        s2.outOfElection[p].vote.leader = l
                        /\ s2.outOfElection[p].vote.epoch = n.vote.epoch}
    IN IF n.round = s.round /\ HasQuorum(s1, n.vote) /\ CheckLeader(s1, i, l, n.round)
       THEN Decide(i, [r EXCEPT !.s = s1], n.vote)
       ELSE LET s3 == IF n.round = s.round THEN [s2 EXCEPT !.recv = s1.recv] ELSE s2 IN
            IF IsQuorum(agreeing) /\ CheckLeader(s3, i, l, n.round)
            THEN Decide(i, [r EXCEPT !.s = [s3 EXCEPT !.round = n.round]], n.vote)
            ELSE [r EXCEPT !.s = s3]

\* `fle::process_notification`: a notification arrives on the election port.
ProcessNotification(i, r, j, n) ==
    LET s == r.s
        looking == s.state = "LOOKING"
    IN CASE ~IsVoter(j) \/ (~looking /\ n.state = "LOOKING") ->
                SendElection(r, j, Notification(s, i))
         [] ~looking -> r
         [] n.state = "LOOKING" -> ProcessLookingVote(i, r, j, n)
         [] n.state \in {"FOLLOWING", "LEADING"} -> ProcessDecidedVote(i, r, j, n)
         [] OTHER -> r

\* `fle::process_finalize`: finalizeWait is over; decide if a quorum still agrees.
ProcessFinalize(i, r) ==
    IF r.s.state # "LOOKING" \/ ~HasQuorum(r.s, r.s.vote) THEN r
    ELSE Decide(i, r, r.s.vote)
=============================================================================
