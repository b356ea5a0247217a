------------------------------ MODULE Network ------------------------------
(***************************************************************************)
(* The connections between servers, as src/model/env.rs and stateright's  *)
(* ordered network carry them: for each directed pair of servers and each  *)
(* channel (the quorum port here; the election port in the FLE models) one *)
(* FIFO. A message is taken only at the head of its FIFO; a crash or a     *)
(* reset empties the FIFOs of the connections it closes. A message sent to *)
(* a server that is down waits for it, as stateright keeps it.             *)
(***************************************************************************)
EXTENDS Sequences

\* No connection carries anything.
EmptyNet(S) == [i \in S |-> [j \in S |-> <<>>]]

\* The messages `out` (per destination, in order) that server i sent, added to their FIFOs.
Deliver(net, i, out) == [net EXCEPT ![i] = [j \in DOMAIN @ |-> @[j] \o out[j]]]

\* The head of the FIFO from j to i is taken.
Take(net, j, i) == [net EXCEPT ![j][i] = Tail(@)]

\* The connections between i and j, both directions, lose what they carry.
Cut(net, i, j) == [net EXCEPT ![i][j] = <<>>, ![j][i] = <<>>]

\* Every connection to and from i loses what it carries.
CutAll(net, i) ==
    [a \in DOMAIN net |-> [b \in DOMAIN net[a] |-> IF a = i \/ b = i THEN <<>> ELSE net[a][b]]]
=============================================================================
