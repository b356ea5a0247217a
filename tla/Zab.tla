-------------------------------- MODULE Zab --------------------------------
(***************************************************************************)
(* zabkeeper's model (`ZabModel`, src/model/mod.rs and src/model/env.rs):  *)
(* the unmodified actors of ZabActor, and what the environment does to     *)
(* them. Election is Fast Leader Election, message by message, or (with    *)
(* Election = "oracle") the oracle's atomic step: a quorum of LOOKING      *)
(* voters learns its leader, the one with the greatest (currentEpoch, last *)
(* zxid, id). Crashes (at most one server down at a                        *)
(* time) and connection resets between a leader and a learner close       *)
(* connections, which drops what they carry and tells each end; client     *)
(* writes reach serving servers. Every environment event reaches a server  *)
(* as a message its own handler takes. After each step the ghost records   *)
(* what the properties need to remember (src/model/ghost.rs).              *)
(*                                                                         *)
(* A state of this spec stands for exactly one state of the Rust model     *)
(* (the bijection is spelled out in tla/README.md), so TLC and `zabkeeper  *)
(* check` count the same distinct states on the same bounds.               *)
(***************************************************************************)
EXTENDS ZabActor, Network

CONSTANTS
    Writes,         \* client writes in all             (Bounds.writes)
    FirstValue,     \* the first write's value, then +1 (Bounds.first_value)
    MaxCrashes,     \* crashes in all                   (Bounds.crashes)
    MaxResets,      \* connection resets in all         (Bounds.resets)
    MaxEpoch,       \* no acceptedEpoch above this      (Bounds.max_epoch)
    MaxRound,       \* no election round above this; 0: unbounded (Bounds.max_round)
    Seeds,          \* per server: None or Some(durable state on disk at first start)
    SeedCommitted,  \* transactions committed before the run besides snapshots
    AnyLeader       \* the oracle may elect any member of a quorum (recovery-any-leader)

VARIABLES
    srv,      \* srv[i]: server i's state (ZabBase); a crashed server keeps its last one
    crashed,  \* crashed[i]: server i is down
    msgs,     \* msgs[j][i]: the quorum connection's FIFO from j to i
    emsgs,    \* emsgs[j][i]: the election connection's FIFO from j to i
    ghost     \* what the properties remember (`Ghost`)

vars == <<srv, crashed, msgs, emsgs, ghost>>

Env == N  \* the id the oracle and the clients send from

SeedOf(i) == IF Seeds[i] = None THEN EmptyDurable ELSE Seeds[i][1]
\* A (re)start: from what was saved, or the seed when nothing was.
StartFrom(i, disk) == Start(i, IF disk = None THEN SeedOf(i) ELSE disk[1], disk)

(***************************************************************************)
(* The ghost (`Ghost::observe`, after every step, for each live server in  *)
(* id order).                                                              *)
(***************************************************************************)
ObserveDelivery(g, seq) ==
    LET c == g.committed IN
    IF Len(seq) <= Len(c)
    THEN IF SubSeq(c, 1, Len(seq)) = seq THEN g ELSE [g EXCEPT !.divergent = @ \cup {seq}]
    ELSE IF SubSeq(seq, 1, Len(c)) = c THEN [g EXCEPT !.committed = seq]
    ELSE [g EXCEPT !.divergent = @ \cup {seq}]

ObserveServer(g0, s, i) ==
    LET g == ObserveDelivery(g0, s.delivered)
        e == s.currentEpoch
        mine == {s.history[k] : k \in {k \in 1 .. Len(s.history) : s.history[k].zxid[1] = e}}
        fresh == {t \in mine : t.zxid \notin DOMAIN g.broadcast}
        bc == [z \in DOMAIN g.broadcast \cup {t.zxid : t \in fresh} |->
                  IF z \in DOMAIN g.broadcast THEN g.broadcast[z]
                  ELSE (CHOOSE t \in fresh : t.zxid = z).value]
        est == Put(g.established, e,
                   (IF e \in DOMAIN g.established THEN g.established[e] ELSE {}) \cup {i})
        ini == IF e \in DOMAIN g.initial THEN g.initial ELSE Put(g.initial, e, Zxids(Held(s)))
        g1 == IF ~IsEstablishedLeader(s) THEN g
              ELSE [g EXCEPT !.established = est, !.initial = ini, !.broadcast = bc]
    \* `Ghost::observe_election` (Fast Leader Election only): every vote a LOOKING voter held.
    IN IF Election = "fast" /\ IsVoter(i) /\ s.state = "LOOKING"
       THEN [g1 EXCEPT !.votes = @ \cup {<<s.round, i, s.vote.leader>>}]
       ELSE g1

RECURSIVE ObserveFrom(_, _, _, _)
ObserveFrom(g, S, C, k) ==
    IF k >= N THEN g
    ELSE ObserveFrom(IF C[k] THEN g ELSE ObserveServer(g, S[k], k), S, C, k + 1)

Observe(g, S, C) == ObserveFrom(g, S, C, 0)

\* `ModelConfig::init_ghost`: what the seeded histories committed and broadcast before.
RECURSIVE LongestSnapshot(_, _)
LongestSnapshot(c, k) ==
    IF k >= N THEN c
    ELSE LET st == SeedOf(k).snapshot.state IN
         LongestSnapshot(IF Seeds[k] # None /\ Len(st) > Len(c) THEN st ELSE c, k + 1)

SeedTxns == UNION {{Held(SeedOf(k))[n] : n \in 1 .. Len(Held(SeedOf(k)))} : k \in Server}

InitGhost ==
    LET snap == LongestSnapshot(<<>>, 0) IN
    [writes |-> 0, crashes |-> 0, resets |-> 0,
     committed |-> IF Len(SeedCommitted) > Len(snap) THEN SeedCommitted ELSE snap,
     divergent |-> {},
     broadcast |-> [z \in {t.zxid : t \in SeedTxns} |-> (CHOOSE t \in SeedTxns : t.zxid = z).value],
     established |-> EmptyMap, initial |-> EmptyMap, restarted |-> {},
     votes |-> {}, staleVote |-> None]

(***************************************************************************)
(* A step of the whole system: servers P each ran one step with results R  *)
(* (they run on different servers and send on different connections, so   *)
(* their order does not matter), on the network `net`.                     *)
(***************************************************************************)
Run2(P, R, S, C, net, enet, g) ==
    LET S1 == [p \in Server |-> IF p \in P THEN R[p].s ELSE S[p]]
        add(n, a, field) == IF a \in P THEN [b \in Server |-> n[a][b] \o R[a][field][b]] ELSE n[a]
    IN /\ srv' = S1
       /\ crashed' = C
       /\ msgs' = [a \in Server |-> add(net, a, "out")]
       /\ emsgs' = [a \in Server |-> add(enet, a, "eout")]
       /\ ghost' = Observe(g, S1, C)
Run(P, R, S, C, net, g) == Run2(P, R, S, C, net, emsgs, g)

Live == {i \in Server : ~crashed[i]}

\* A delivery: server i takes the head of its quorum connection from j.
Receive(j, i) ==
    /\ i \in Live
    /\ msgs[j][i] # <<>>
    /\ Run({i}, [p \in {i} |-> OnMsg(i, srv[i], j, Head(msgs[j][i]))], srv, crashed,
           Take(msgs, j, i), ghost)

\* A notification: server i takes the head of its election connection from j.
ReceiveElection(j, i) ==
    /\ i \in Live
    /\ emsgs[j][i] # <<>>
    /\ Run2({i}, [p \in {i} |-> OnMsg(i, srv[i], j, Head(emsgs[j][i]))], srv, crashed, msgs,
            Take(emsgs, j, i), ghost)

\* `Ghost::observe_decision`: the first voter that left election at the end of finalizeWait
\* for a vote less recent than its own.
ObserveDecision(g, i, before, after) ==
    LET own == OwnVote(before, i)
        v == after.vote
    IN IF before.state = "LOOKING" /\ after.state # "LOOKING" /\ IsVoter(i) /\ g.staleVote = None
          /\ KeyGreater(<<own.epoch, own.zxid, own.leader>>, <<v.epoch, v.zxid, v.leader>>)
       THEN [g EXCEPT !.staleVote = Some(<<i, own, v>>)]
       ELSE g

\* A timer of server i fires.
Timeout(i, t) ==
    /\ i \in Live
    /\ t \in srv[i].timers
    /\ LET r == OnTimeout(i, srv[i], t) IN
       Run({i}, [p \in {i} |-> r], srv, crashed, msgs,
           IF t = "Finalize" THEN ObserveDecision(ghost, i, srv[i], r.s) ELSE ghost)

\* The oracle elects l among the quorum Q of live LOOKING voters.
Elect(Q, l) ==
    /\ Election = "oracle"
    /\ Q \subseteq {i \in Live : IsVoter(i) /\ srv[i].state = "LOOKING"}
    /\ IsQuorum(Q)
    /\ l \in Q
    /\ AnyLeader \/ \A p \in Q \ {l} : VoteGreater(srv[l], l, srv[p], p)
    /\ Run(Q, [p \in Q |-> OnMsg(p, srv[p], Env, [mtype |-> "ELECTIONOUTCOME", leader |-> l])],
           srv, crashed, msgs, ghost)

\* Server i crashes: its timers stop, every connection to and from it resets, and each live
\* peer is told its connection to i is gone.
Crash(i) ==
    /\ ghost.crashes < MaxCrashes
    /\ Live = Server
    /\ LET C == [crashed EXCEPT ![i] = TRUE]
           S == [srv EXCEPT ![i].timers = {}]
           P == Server \ {i}
       IN Run2(P, [p \in P |-> OnMsg(p, S[p], i, [mtype |-> "DISCONNECTED"])], S, C,
               CutAll(msgs, i), CutAll(emsgs, i), [ghost EXCEPT !.crashes = @ + 1])

\* Server i restarts from what it saved.
Recover(i) ==
    /\ crashed[i]
    /\ Run({i}, [p \in {i} |-> StartFrom(i, srv[i].disk)], srv,
           [crashed EXCEPT ![i] = FALSE], msgs, [ghost EXCEPT !.restarted = @ \cup {i}])

\* The quorum connection between a learner and its leader resets.
Reset(a, c) ==
    /\ ghost.resets < MaxResets
    /\ a < c
    /\ {a, c} \subseteq Live
    /\ \/ srv[a].state = "FOLLOWING" /\ srv[a].leader = c
       \/ srv[c].state = "FOLLOWING" /\ srv[c].leader = a
    /\ Run({a, c}, [p \in {a, c} |-> OnMsg(p, srv[p], IF p = a THEN c ELSE a,
                                           [mtype |-> "DISCONNECTED"])],
           srv, crashed, Cut(msgs, a, c), [ghost EXCEPT !.resets = @ + 1])

\* A client's write reaches serving server i.
Write(i) ==
    /\ ghost.writes < Writes
    /\ i \in Live
    /\ srv[i].zabState = "BROADCAST"
    /\ Run({i}, [p \in {i} |-> OnMsg(i, srv[i], Env,
                                     [mtype |-> "CLIENTWRITE", value |-> FirstValue + ghost.writes])],
           srv, crashed, msgs, [ghost EXCEPT !.writes = @ + 1])

Init ==
    LET R == [i \in Server |-> StartFrom(i, None)] IN
    /\ srv = [i \in Server |-> R[i].s]
    /\ crashed = [i \in Server |-> FALSE]
    /\ msgs = [i \in Server |-> R[i].out]
    /\ emsgs = [i \in Server |-> R[i].eout]
    /\ ghost = Observe(InitGhost, srv, crashed)

Next ==
    \/ \E i, j \in Server : Receive(j, i) \/ ReceiveElection(j, i)
    \/ \E i \in Server : \E t \in srv[i].timers : Timeout(i, t)
    \/ \E Q \in SUBSET Server : \E l \in Q : Elect(Q, l)
    \/ \E i \in Server : Crash(i) \/ Recover(i) \/ Write(i)
    \/ \E a, c \in Server : Reset(a, c)

Spec == Init /\ [][Next]_vars

\* `ZabModel::within_boundary`: states beyond it are neither explored nor counted.
WithinBounds ==
    \A i \in Server : srv[i].acceptedEpoch <= MaxEpoch /\ (MaxRound = 0 \/ srv[i].round <= MaxRound)
=============================================================================
