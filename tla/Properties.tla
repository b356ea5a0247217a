----------------------------- MODULE Properties -----------------------------
(***************************************************************************)
(* The safety properties of src/properties/, one invariant each, under the *)
(* same names: the Zab paper's (Integrity, TotalOrder, Agreement,          *)
(* LocalPrimaryOrder, GlobalPrimaryOrder, PrimaryIntegrity), ZooKeeper's   *)
(* protocol spec's (Leadership, PrefixConsistency) and those of Ouyang et  *)
(* al., EuroSys 2025 (ProcessConsistency, LeaderLogCompleteness,           *)
(* CommittedLogDurability). "Delivered" is committed to the state machine; *)
(* a primary is an established leader.                                     *)
(***************************************************************************)
EXTENDS Zab

\* Every delivered sequence to compare: each live server's, the ghost committed log, and any
\* sequence seen to diverge from it (`properties::delivered`).
Delivered == {srv[i].delivered : i \in Live} \cup {ghost.committed} \cup ghost.divergent

\* No epoch has two established leaders, and no observer leads.
Leadership ==
    /\ \A i \in Live : ~IsVoter(i) => srv[i].state # "LEADING"
    /\ \A e \in DOMAIN ghost.established : Cardinality(ghost.established[e]) <= 1

\* Every pair of delivered sequences is prefix-ordered.
PrefixConsistency ==
    \A p, q \in Delivered :
        LET n == Min(Len(p), Len(q)) IN SubSeq(p, 1, n) = SubSeq(q, 1, n)

\* Every delivered transaction is one a primary proposed, with the same value.
Integrity ==
    \A p \in Delivered : \A k \in 1 .. Len(p) :
        p[k].zxid \in DOMAIN ghost.broadcast /\ ghost.broadcast[p[k].zxid] = p[k].value

\* If p delivers a before b and q delivers b, q delivers a before b.
TotalOrder ==
    \A p, q \in Delivered : \A x, y \in 1 .. Len(p) :
        (x < y /\ Contains(q, p[y])) =>
            LET qb == CHOOSE n \in 1 .. Len(q) : q[n] = p[y] /\ \A m \in 1 .. n - 1 : q[m] # p[y]
            IN \E m \in 1 .. qb - 1 : q[m] = p[x]

\* For delivered sequences p and q, a in p and b in q: b is in p or a is in q.
Agreement ==
    \A p, q \in Delivered : \A x \in 1 .. Len(p) :
        Contains(q, p[x]) \/ \A y \in 1 .. Len(q) : Contains(p, q[y])

\* Every proposal of b's epoch with a smaller zxid is delivered before b.
LocalPrimaryOrder ==
    \A p \in Delivered : \A k \in 1 .. Len(p) :
        \A z \in DOMAIN ghost.broadcast :
            (z[1] = p[k].zxid[1] /\ ZLt(z, p[k].zxid)) => \E m \in 1 .. k - 1 : p[m].zxid = z

\* Along every delivered sequence the epochs never decrease.
GlobalPrimaryOrder ==
    \A p \in Delivered : \A k \in 1 .. Len(p) - 1 : p[k].zxid[1] <= p[k + 1].zxid[1]

\* Every delivered b of an epoch before e is in the initial history of e's primary, for each
\* epoch e whose primary broadcast something.
PrimaryIntegrity ==
    \A e \in DOMAIN ghost.initial :
        (\E z \in DOMAIN ghost.broadcast : z[1] = e) =>
            \A p \in Delivered : \A k \in 1 .. Len(p) :
                p[k].zxid[1] < e => Contains(ghost.initial[e], p[k].zxid)

\* A live follower past NEWLEADER whose leader is up and leads the same epoch holds a prefix
\* of its leader's history.
ProcessConsistency ==
    \A f \in Live :
        LET s == srv[f]
            l == s.leader
        IN (s.state = "FOLLOWING" /\ AckedNewLeader(s) /\ ~crashed[l]
            /\ srv[l].state = "LEADING" /\ srv[l].currentEpoch = s.currentEpoch)
           => LET fh == Held(s)
                  lh == Held(srv[l])
              IN Len(fh) <= Len(lh) /\ fh = SubSeq(lh, 1, Len(fh))

\* Each live leader in Synchronization or Broadcast holds every committed entry up to its
\* own epoch.
LeaderLogCompleteness ==
    \A i \in Live :
        (srv[i].state = "LEADING" /\ srv[i].zabState \in {"SYNCHRONIZATION", "BROADCAST"})
        => \A k \in 1 .. Len(ghost.committed) :
               ghost.committed[k].zxid[1] <= srv[i].currentEpoch
               => Contains(Held(srv[i]), ghost.committed[k])

\* Every entry of the ghost committed log is on the disk of a quorum (or in its seed, for a
\* server that has saved nothing yet).
CommittedLogDurability ==
    \A k \in 1 .. Len(ghost.committed) :
        IsQuorum({i \in Server : IsVoter(i) /\
                    LET d == IF srv[i].disk # None THEN srv[i].disk ELSE Seeds[i]
                    IN d # None /\ Contains(Held(d[1]), ghost.committed[k])})
(***************************************************************************)
(* Fast Leader Election (the models with Election = "fast").               *)
(***************************************************************************)

\* Every live leader was voted for, while they were LOOKING, by a quorum of voters in the round
\* in which it decided.
ElectionQuorum ==
    \A i \in Live :
        srv[i].state = "LEADING" =>
            IsQuorum({p \in Server : <<srv[i].round, p, i>> \in ghost.votes})

\* No voter decided for a vote less recent than its own.
ElectionRecency == ghost.staleVote = None

\* The leader a server follows or is (`ServerState::leader`).
LeaderOf(i) == IF srv[i].state = "LEADING" THEN i ELSE srv[i].leader

\* No round has two accepted leaders at once: a live leader is accepted when it is established
\* or a quorum that decided in its round follows it.
RoundAgreement ==
    LET leaders == {l \in Live : srv[l].state = "LEADING"}
        deciders(l) == {p \in Live : srv[p].state # "LOOKING" /\ srv[p].round = srv[l].round
                                      /\ LeaderOf(p) = l}
        accepted == {l \in leaders : IsEstablishedLeader(srv[l]) \/ IsQuorum(deciders(l))}
    IN \A a, b \in accepted : srv[a].round = srv[b].round => a = b
=============================================================================
