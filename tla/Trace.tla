------------------------------- MODULE Trace -------------------------------
(***************************************************************************)
(* Trace validation: is a walk that `zabkeeper check MODEL --strategy      *)
(* simulation --trace-out DIR` wrote a behaviour of the spec? (After       *)
(* etcd-raft's Traceetcdraft.tla.)                                         *)
(*                                                                         *)
(* DIR holds walk-1.ndjson .. walk-K.ndjson, all of one configuration:     *)
(* a first line {"constants": ...} and then one line per state of the walk *)
(* with the values of srv, crashed, msgs, emsgs and ghost (model::tla).    *)
(* The environment names the files: TRACE_DIR=DIR TRACE_WALKS=K. The       *)
(* constants of the spec are read from the first walk, so Trace.cfg serves *)
(* every configuration.                                                    *)
(*                                                                         *)
(* TLC starts in the first state of every walk (which must be the spec's   *)
(* initial state) and may take a step only to the walk's next state, by    *)
(* one of the spec's actions. A walk that is not a behaviour of the spec   *)
(* stops TLC with a deadlock at its first step that is not; a walk that is *)
(* ends in its last state, which stutters.                                 *)
(***************************************************************************)
EXTENDS MCZab, Json, IOUtils, TLC

Walks == atoi(IOEnv.TRACE_WALKS)
File(w) == IOEnv.TRACE_DIR \o "/walk-" \o ToString(w) \o ".ndjson"
Lines == [w \in 1 .. Walks |-> ndJsonDeserialize(File(w))]
C == Lines[1][1].constants

(* JSON has no finite maps and no sets: the trace writes them as arrays.  *)
Range(s) == {s[k] : k \in DOMAIN s}
ToSet(s) == Range(s)
ToMap(pairs) == [k \in {p[1] : p \in Range(pairs)} |->
                    (CHOOSE p \in Range(pairs) : p[1] = k)[2]]
ToMapOfSets(pairs) == [k \in {p[1] : p \in Range(pairs)} |->
                          ToSet((CHOOSE p \in Range(pairs) : p[1] = k)[2])]
\* JSON arrays are sequences from 1; servers count from 0.
FromZero(s) == [i \in 0 .. Len(s) - 1 |-> s[i + 1]]

TraceVoters == C.Voters
TraceObservers == C.Observers
TraceElection == C.Election
TraceElectionOnly == C.ElectionOnly
TraceMaxRound == C.MaxRound
TraceBug == C.Bug
TraceSnapCount == C.SnapCount
TraceWrites == C.Writes
TraceFirstValue == C.FirstValue
TraceMaxCrashes == C.MaxCrashes
TraceMaxResets == C.MaxResets
TraceMaxEpoch == C.MaxEpoch
TraceSeeds == FromZero(C.Seeds)
TraceSeedCommitted == C.SeedCommitted
TraceAnyLeader == C.AnyLeader

Srv(j) == [k \in 0 .. Len(j) - 1 |->
             [j[k + 1] EXCEPT !.cepoch = ToMap(@), !.ackepoch = ToMap(@),
                              !.synced = ToSet(@), !.ackld = ToSet(@),
                              !.acks = ToMapOfSets(@), !.timers = ToSet(@),
                              !.recv = ToMap(@), !.outOfElection = ToMap(@)]]
Net(j) == [a \in 0 .. Len(j) - 1 |-> FromZero(j[a + 1])]
Ghost(j) == [j EXCEPT !.divergent = ToSet(@), !.broadcast = ToMap(@),
                      !.established = ToMapOfSets(@), !.initial = ToMap(@),
                      !.restarted = ToSet(@), !.votes = ToSet(@)]

\* Line l of walk w as the spec's state.
Is(w, l) ==
    LET j == Lines[w][l] IN
    <<srv, crashed, msgs, emsgs, ghost>> =
        <<Srv(j.srv), FromZero(j.crashed), Net(j.msgs), Net(j.emsgs), Ghost(j.ghost)>>
IsNext(w, l) ==
    LET j == Lines[w][l] IN
    <<srv', crashed', msgs', emsgs', ghost'>> =
        <<Srv(j.srv), FromZero(j.crashed), Net(j.msgs), Net(j.emsgs), Ghost(j.ghost)>>

VARIABLES walk, line

TraceInit ==
    /\ walk \in 1 .. Walks
    /\ line = 2
    /\ Init
    /\ Is(walk, 2)

TraceNext ==
    \/ /\ line < Len(Lines[walk])
       /\ Next
       /\ IsNext(walk, line + 1)
       /\ line' = line + 1
       /\ UNCHANGED walk
    \/ /\ line = Len(Lines[walk])
       /\ UNCHANGED <<srv, crashed, msgs, emsgs, ghost, walk, line>>

\* The election properties apply to the Fast Leader Election models only (as in
\* `properties::all`).
FastElectionQuorum == Election = "fast" => ElectionQuorum
FastElectionRecency == Election = "fast" => ElectionRecency
FastRoundAgreement == Election = "fast" => RoundAgreement

\* What the last step's line said the model did, for reading a rejected walk.
TraceAction == Lines[walk][line].action
=============================================================================
