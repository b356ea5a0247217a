------------------------------- MODULE MCZab -------------------------------
(***************************************************************************)
(* The named configurations of src/model/configs.rs, for TLC: each .cfg    *)
(* file sets the bounds and picks its seeds from here.                     *)
(***************************************************************************)
EXTENDS Properties

\* Per server, as tuples from server 0: <<>> for an empty data directory, <<durable>> for a seed.
\* model-tests/tla_spec.rs checks these are the Rust configurations' seeds, written by
\* `model::tla::tla_value`.
SeedsFrom(t) == [i \in Server |-> t[i + 1]]

\* small, broadcast, snapshot: empty data directories.
NoSeeds == SeedsFrom(<< <<>>, <<>>, <<>> >>)

\* recovery: epoch 1 committed <1,1> on servers 0 and 1; its leader, server 0, also logged
\* <1,2>; server 1 folded <1,1> into a snapshot; server 2 promised epoch 1 and never synced.
RecoverySeeds == SeedsFrom(<<
    <<[acceptedEpoch |-> 1, currentEpoch |-> 1, snapshot |-> [zxid |-> <<0, 0>>, state |-> <<>>],
       history |-> <<[zxid |-> <<1, 1>>, value |-> 1], [zxid |-> <<1, 2>>, value |-> 2]>>]>>,
    <<[acceptedEpoch |-> 1, currentEpoch |-> 1,
       snapshot |-> [zxid |-> <<1, 1>>, state |-> <<[zxid |-> <<1, 1>>, value |-> 1]>>],
       history |-> <<>>]>>,
    <<[acceptedEpoch |-> 1, currentEpoch |-> 0, snapshot |-> [zxid |-> <<0, 0>>, state |-> <<>>],
       history |-> <<>>]>> >>)

\* election: server 1 has the newest epoch but the shorter log of the two that logged, server
\* 0 the longer log, server 2 (the highest id) nothing; server 0's <1,2> was never committed.
ElectionSeeds == SeedsFrom(<<
    <<[acceptedEpoch |-> 1, currentEpoch |-> 1, snapshot |-> [zxid |-> <<0, 0>>, state |-> <<>>],
       history |-> <<[zxid |-> <<1, 1>>, value |-> 1], [zxid |-> <<1, 2>>, value |-> 2]>>]>>,
    <<[acceptedEpoch |-> 2, currentEpoch |-> 2, snapshot |-> [zxid |-> <<0, 0>>, state |-> <<>>],
       history |-> <<[zxid |-> <<1, 1>>, value |-> 1]>>]>>,
    <<[acceptedEpoch |-> 1, currentEpoch |-> 1, snapshot |-> [zxid |-> <<0, 0>>, state |-> <<>>],
       history |-> <<>>]>> >>)

NoneCommitted == <<>>
=============================================================================
