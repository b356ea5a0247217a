#!/usr/bin/env bash
# Where the CPU goes under one load, per process: three servers of one side (benches/ensemble.sh)
# and the load generator. After a warm-up it reads each process's CPU time (/proc/<pid>/stat)
# and read/write calls (/proc/<pid>/io) over 5 s, and the machine's idle share (/proc/stat).
#
#   benches/cpu.sh                        # zabkeeper, setData 32x32
#   SIDE=zookeeper benches/cpu.sh         # Apache ZooKeeper 3.8 (apt-get install zookeeper)
#   ONLY="getData 32x32" benches/cpu.sh   # another load of `cargo bench --bench load`
set -euo pipefail
cd "$(dirname "$0")/.."
SIDE=${SIDE:-zabkeeper}
source benches/ensemble.sh cpu
for i in 1 2 3; do start "$SIDE" $i; done
ready "$SIDE"
lead=$(leader "$SIDE")
(ZK_BENCH_ONLY="${ONLY:-setData 32x32}" ZK_BENCH_SECONDS=20 ZK_BENCH_TARGET=$(targets "$SIDE") \
  bench >"$work/bench.out") &
load=$!
sleep 8 # the warm-up (ZooKeeper's JIT needs more: compare.sh interleaves repetitions)
gen=$(pgrep -f "deps/load-[0-9a-f]* --bench" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in 1/100 s
calls() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/io"; }
idle() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
procs=("$gen" "${pid[$SIDE.1]}" "${pid[$SIDE.2]}" "${pid[$SIDE.3]}")
declare -A t0 r0 w0
for p in "${procs[@]}"; do t0[$p]=$(ticks "$p"); r0[$p]=$(calls "$p" syscr); w0[$p]=$(calls "$p" syscw); done
read -r i0 all0 < <(idle)
sleep 5
read -r i1 all1 < <(idle)
for p in "${procs[@]}"; do
  name="server"; [ "$p" = "$gen" ] && name="load generator"; [ "$p" = "${pid[$SIDE.$lead]}" ] && name="leader"
  echo "$SIDE $name: $(( ($(ticks "$p") - t0[$p]) / 5 ))% of a core," \
    "$(( ($(calls "$p" syscr) - r0[$p]) / 5 )) read and $(( ($(calls "$p" syscw) - w0[$p]) / 5 )) write calls/s"
done
echo "$SIDE machine idle: $(( (i1 - i0) * 100 / (all1 - all0) ))%"
wait "$load"
sed "s/^target */$SIDE /" "$work/bench.out"
