----------------------------- MODULE ZabActor -----------------------------
(***************************************************************************)
(* One ZAB server as one actor (`impl Actor for Server` in src/zab/mod.rs):*)
(* `OnMsg` routes a message to its handler, `OnTimeout` a timer, and every *)
(* step ends with `EndStep` (src/zab/service.rs: the snapshot, when due).  *)
(***************************************************************************)
EXTENDS FastLeaderElection

\* `take_snapshot` (ZooKeeper's snapCount): once SnapCount committed transactions sit in the
\* log, fold them into a snapshot of the delivered state and save.
EndStep(i, r) ==
    LET s == r.s
        folded == Len(SelectSeq(s.history, LAMBDA t : ZLe(t.zxid, s.committed)))
    IN IF SnapCount = 0 \/ folded < Max(SnapCount, 1) THEN r
       ELSE [r EXCEPT !.s = Save([s EXCEPT
                 !.snapshot = [zxid |-> s.committed, state |-> s.delivered],
                 !.history = SubSeq(@, folded + 1, Len(@))])]

\* `Actor::on_msg`: server i takes message m from j.
OnMsg(i, s, j, m) ==
    LET r == Begin(s)
        t == m.mtype
    IN EndStep(i,
        CASE t = "NOTIFICATION"    -> ProcessNotification(i, r, j, m)
          [] t = "ELECTIONOUTCOME" -> LeaveElection(i, r, m.leader)
          [] t = "DISCONNECTED"    -> ProcessDISCONNECTED(i, r, j)
          [] t = "CLIENTWRITE"     -> ProcessClientWrite(i, r, m.value)
          [] t = "FOLLOWERINFO"    -> LeaderProcessFOLLOWERINFO(i, r, j, m)
          [] t = "LEADERINFO"      -> FollowerProcessLEADERINFO(i, r, j, m)
          [] t = "ACKEPOCH"        -> LeaderProcessACKEPOCH(i, r, j, m)
          [] t = "SYNC"            -> FollowerProcessSYNC(i, r, j, m)
          [] t = "NEWLEADER"       -> FollowerProcessNEWLEADER(i, r, j, m)
          [] t = "ACKLD"           -> LeaderProcessACKLD(i, r, j, m)
          [] t = "UPTODATE"        -> FollowerProcessUPTODATE(i, r, j, m)
          [] t = "PROPOSAL"        -> FollowerProcessPROPOSAL(i, r, j, m)
          [] t = "ACK"             -> LeaderProcessACK(i, r, j, m)
          [] t = "COMMIT"          -> FollowerProcessCOMMIT(i, r, j, m)
          [] t = "INFORM"          -> ObserverProcessINFORM(i, r, j, m)
          [] t = "REQUEST"         -> LeaderProcessREQUEST(i, r, j, m))

\* `Actor::on_timeout`: a timer fires and is gone.
OnTimeout(i, s, timer) ==
    LET r == Begin([s EXCEPT !.timers = @ \ {timer}]) IN
    EndStep(i, CASE timer = "Flush" -> FollowerFlush(i, r)
                 [] timer = "Finalize" -> ProcessFinalize(i, r))
=============================================================================
