#!/usr/bin/env bash
# What grows with the data, side by side in one run: three zabkeeper processes and three
# Apache ZooKeeper 3.8 JVMs (benches/ensemble.sh), each side filled with N znodes of 100 bytes
# (`cargo bench --bench load` with ZK_BENCH_FILL), one side after the other. For each side:
# the time to create them; every server's resident memory and the bytes it grew per znode; the
# newest snapshot file's size; the time for all three servers to serve again after a kill -9
# of all of them (recovery from snapshot + log); the time for a follower whose data directory
# was removed to serve the whole tree again (SNAP from the leader).
#
#   benches/scale.sh              # N=1000000 by default; ZK_HEAP (default 2g) is ZooKeeper's -Xmx
#   SIDES=zabkeeper benches/scale.sh   # one side only
#
# Needs: `apt-get install zookeeper`. Builds zabkeeper in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
export ZK_HEAP=${ZK_HEAP:-2g}
source benches/ensemble.sh scale

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.2f'; }
rss() { echo $(($(ps -o rss= -p "${pid[$1.$2]}") / 1024)); } # MiB
count() { four "$(addr "$1" "$2")" mntr | sed -n 's/^zk_znode_count\t//p'; }
newest_snapshot() { # the size in KiB of server $2's newest snapshot
  local f
  f=$(ls -t "$work/$1/$2/version-2"/snapshot.* 2>/dev/null | head -1)
  [ -n "$f" ] && echo "$(($(stat -c %s "$f") / 1024)) KiB" || echo none
}
kill_wait() { kill -9 "${pid[$1.$2]}"; { wait "${pid[$1.$2]}"; } 2>/dev/null || true; }

for side in ${SIDES:-zookeeper zabkeeper}; do
  echo "== $side: $N znodes"
  for i in 1 2 3; do start $side $i; done
  ready $side
  declare -A before=()
  for i in 1 2 3; do before[$i]=$(rss $side $i); done
  ZK_BENCH_FILL=$N ZK_BENCH_TARGET=$(targets $side) bench | sed "s/^/$side /"
  sleep 5 # the last snapshot, if one is due
  lead=$(leader $side)
  for i in 1 2 3; do
    r=$(rss $side $i)
    role=follower; [ "$i" = "$lead" ] && role=leader
    echo "$side server $i ($role): $(count $side $i) znodes, resident ${before[$i]} -> $r MiB" \
      "($(( (r - before[$i]) * 1048576 / N )) bytes per znode), newest snapshot $(newest_snapshot $side $i)"
  done
  four "$(addr $side "$lead")" mntr | grep -E '^zk_(avg|max|cnt)_(snapshottime|fsynctime)' | sed "s/^/$side leader mntr /" || true

  for i in 1 2 3; do kill_wait $side $i; done
  t=$(now)
  for i in 1 2 3; do start $side $i; done
  ready $side 600
  echo "$side: kill -9 of all three, restart: serving again after $(since "$t") s," \
    "$(count $side "$(leader $side)") znodes"
  for i in 1 2 3; do echo "$side server $i after recovery: resident $(rss $side $i) MiB"; done

  lead=$(leader $side)
  f=$((lead % 3 + 1))
  kill_wait $side $f
  rm -rf "$work/$side/$f/version-2"
  t=$(now)
  start $side $f
  want=$(count $side "$lead")
  for _ in $(seq 2400); do
    [ "$(count $side $f)" = "$want" ] && [ -n "$(leader $side)" ] && break
    sleep 0.25
  done
  echo "$side: follower $f with its data removed serves all $(count $side $f) of $want znodes" \
    "after $(since "$t") s (SNAP), resident $(rss $side $f) MiB"
  for i in 1 2 3; do kill_wait $side $i; done
done
