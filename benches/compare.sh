#!/usr/bin/env bash
# Side by side in one run: three zabkeeper processes and three Apache ZooKeeper 3.8 JVMs
# (Debian's `zookeeper` package), each server started from its own zoo.cfg and myid (the same
# lines for both: tickTime 2000, fsync on), on loopback. The same load generator
# (`cargo bench --bench load` with ZK_BENCH_TARGET) measures both, alternating, REPS times;
# then the resident memory of every server process; then FAILOVERS kill -9 runs of each side's
# leader, alternating, each followed by a restart of the killed server.
#
#   benches/compare.sh            # REPS=3 ZK_BENCH_SECONDS=10 FAILOVERS=20 by default
#
# Needs: `apt-get install zookeeper` (Java comes with it). Builds zabkeeper in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
FAILOVERS=${FAILOVERS:-20}
export ZK_BENCH_SECONDS=${ZK_BENCH_SECONDS:-10}
source benches/ensemble.sh compare

for side in zookeeper zabkeeper; do for i in 1 2 3; do start $side $i; done; done
ready zookeeper; ready zabkeeper

for r in $(seq "$REPS"); do
  for side in zookeeper zabkeeper; do
    echo "== repetition $r: $side"
    ZK_BENCH_TARGET=$(targets $side) bench | sed "s/^target */$side /"
  done
done

echo "== the leaders' group commits (mntr)"
for side in zookeeper zabkeeper; do
  four "$(addr $side "$(leader $side)")" mntr | grep -E 'fsynctime|sync_processor_batch_size' |
    sed "s/^/$side /"
done
echo "== resident memory (MiB) after the load"
for k in "${!pid[@]}"; do echo "$k pid ${pid[$k]}: $(($(ps -o rss= -p "${pid[$k]}") / 1024)) MiB"; done

for r in $(seq "$FAILOVERS"); do
  for side in zookeeper zabkeeper; do
    i=$(leader $side)
    printf '%s run %s, leader %s: ' "$side" "$r" "$i"
    ZK_BENCH_KILL=${pid[$side.$i]} ZK_BENCH_TARGET=$(targets $side "$i") bench
    { wait "${pid[$side.$i]}"; } 2>/dev/null || true
    start $side "$i"
    ready $side
  done
done
