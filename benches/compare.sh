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
work=$(mktemp -d /tmp/zabkeeper-compare.XXXX)
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cargo build --release --quiet
cargo bench --bench load --no-run --quiet 2>/dev/null
bench() { cargo bench --bench load --quiet 2>/dev/null; }

zk_cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
base() { [ "$1" = zookeeper ] && echo 22000 || echo 23000; }
addr() { echo "127.0.0.1:$(($(base "$1") + 180 + $2))"; }
targets() { # the client addresses of a side, but for server $2 (if given)
  local out=() i
  for i in 1 2 3; do [ "$i" = "${2:-0}" ] || out+=("$(addr "$1" $i)"); done
  local IFS=,; echo "${out[*]}"
}
start() { # start server $2 of side $1 from its zoo.cfg
  local side=$1 i=$2 d=$work/$1/$2 b
  b=$(base "$side")
  if [ ! -e "$d/zoo.cfg" ]; then
    mkdir -p "$d"
    echo "$i" >"$d/myid"
    {
      echo "tickTime=2000"; echo "initLimit=10"; echo "syncLimit=5"; echo "dataDir=$d"
      echo "clientPort=$((b + 180 + i))"; echo "clientPortAddress=127.0.0.1"
      echo "maxClientCnxns=0"; echo "4lw.commands.whitelist=*"
      for j in 1 2 3; do echo "server.$j=127.0.0.1:$((b + 280 + j)):$((b + 380 + j))"; done
    } >"$d/zoo.cfg"
  fi
  if [ "$side" = zookeeper ]; then
    java -Xmx1000m -Dzookeeper.admin.enableServer=false -cp "$zk_cp" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >>"$d/out.log" 2>&1 &
  else
    target/release/zabkeeper server --config "$d/zoo.cfg" >>"$d/out.log" 2>&1 &
  fi
  pid[$side.$i]=$!
}
four() { # a four-letter word to host:port, its answer on stdout
  timeout 2 bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1#*:}" && printf %s "$2" >&3 && cat <&3' _ "$1" "$2" \
    2>/dev/null || true
}
leader() { # the index of side $1's leader, once all three serve and one leads; else nothing
  local i mode lead=
  for i in 1 2 3; do
    mode=$(four "$(addr "$1" $i)" srvr | sed -n 's/^Mode: //p')
    case $mode in leader) lead=$i ;; follower) ;; *) return 0 ;; esac
  done
  echo "$lead"
}
ready() { # waits until side $1 has three serving servers, one of them leading
  for _ in $(seq 240); do [ -n "$(leader "$1")" ] && return 0; sleep 0.25; done
  echo "$1 not ready" >&2; exit 1
}

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
