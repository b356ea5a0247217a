------------------------------- MODULE MCZab -------------------------------
(***************************************************************************)
(* The named configurations of src/model/configs.rs, for TLC: each .cfg    *)
(* file sets the bounds and picks its seeds from here.                     *)
(***************************************************************************)
EXTENDS Properties, TLC

Txn(e, c, v) == [zxid |-> <<e, c>>, value |-> v]

\* small, broadcast, snapshot: empty data directories.
NoSeeds == [i \in Server |-> None]

\* recovery: epoch 1 committed <1,1> on servers 0 and 1; its leader, server 0, also logged
\* <1,2>; server 1 folded <1,1> into a snapshot; server 2 promised epoch 1 and never synced.
RecoverySeeds ==
    (0 :> Some([acceptedEpoch |-> 1, currentEpoch |-> 1, snapshot |-> EmptySnapshot,
                history |-> <<Txn(1, 1, 1), Txn(1, 2, 2)>>]))
    @@ (1 :> Some([acceptedEpoch |-> 1, currentEpoch |-> 1,
                   snapshot |-> [zxid |-> <<1, 1>>, state |-> <<Txn(1, 1, 1)>>],
                   history |-> <<>>]))
    @@ (2 :> Some([EmptyDurable EXCEPT !.acceptedEpoch = 1]))

NoneCommitted == <<>>
=============================================================================
