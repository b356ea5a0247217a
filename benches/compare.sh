#!/usr/bin/env bash
# Side by side in one run: three zabkeeper processes (`zabkeeper ensemble`) and three Apache
# ZooKeeper 3.8 JVMs (Debian's `zookeeper` package), both with tickTime 2000 and fsync on, on
# loopback. The same load generator (`cargo bench --bench load` with ZK_BENCH_TARGET) measures
# both, alternating, REPS times; then the resident memory of every server process.
#
#   benches/compare.sh            # REPS=3 ZK_BENCH_SECONDS=10 by default
#
# Needs: `apt-get install zookeeper` (Java comes with it), a release build of zabkeeper.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
export ZK_BENCH_SECONDS=${ZK_BENCH_SECONDS:-10}
work=$(mktemp -d /tmp/zabkeeper-compare.XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cargo build --release --quiet
cargo bench --bench load --no-run --quiet 2>/dev/null

# ZooKeeper: three JVMs, client ports 22181-22183.
zk_cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
for i in 1 2 3; do
  d=$work/zk$i
  mkdir -p "$d"
  echo $i >"$d/myid"
  {
    echo "tickTime=2000"; echo "initLimit=10"; echo "syncLimit=5"; echo "dataDir=$d"
    echo "clientPort=$((22180 + i))"; echo "clientPortAddress=127.0.0.1"; echo "maxClientCnxns=0"
    echo "4lw.commands.whitelist=*"
    for j in 1 2 3; do echo "server.$j=127.0.0.1:$((22280 + j)):$((22380 + j))"; done
  } >"$d/zoo.cfg"
  java -Xmx1000m -Dzookeeper.admin.enableServer=false -cp "$zk_cp" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/out.log" 2>&1 &
  pids+=($!)
done
zk_target=127.0.0.1:22181,127.0.0.1:22182,127.0.0.1:22183

# zabkeeper: three processes, client ports 23181-23183.
target/release/zabkeeper ensemble --nodes 3 --dir "$work/zab" --base-port 23181 \
  >"$work/zab.log" 2>&1 &
pids+=($!)
zab_target=127.0.0.1:23181,127.0.0.1:23182,127.0.0.1:23183

four() { # a four-letter word to host:port, its answer on stdout
  timeout 2 bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1#*:}" && printf %s "$2" >&3 && cat <&3' _ "$1" "$2" \
    2>/dev/null || true
}
ready() { # every server of a connect string answers `ruok` and one of them leads
  local lead=0
  for a in ${1//,/ }; do
    [ "$(four "$a" ruok)" = imok ] || return 1
    four "$a" srvr | grep -q "Mode: leader" && lead=1
  done
  [ $lead = 1 ]
}
for t in $zk_target $zab_target; do
  for _ in $(seq 120); do ready "$t" && break; sleep 0.5; done
  ready "$t" || { echo "not ready: $t" >&2; exit 1; }
done

for r in $(seq "$REPS"); do
  for side in zookeeper zabkeeper; do
    t=$zk_target
    [ $side = zabkeeper ] && t=$zab_target
    echo "== repetition $r: $side"
    ZK_BENCH_TARGET=$t cargo bench --bench load --quiet 2>/dev/null | sed "s/^target /$side/"
  done
done

echo "== resident memory (MiB) after the load"
for p in $(pgrep -f QuorumPeerMain) $(pgrep -f "zabkeeper server"); do
  echo "$(ps -o comm= -p "$p") $p $(($(ps -o rss= -p "$p") / 1024))"
done
