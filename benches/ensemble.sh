# Sourced by benches/compare.sh and benches/scale.sh: three zabkeeper processes and three
# Apache ZooKeeper 3.8 JVMs on loopback, each server started from its own zoo.cfg and myid
# with the same lines for both (tickTime 2000, fsync on). `start SIDE I`, `leader SIDE`,
# `ready SIDE`, `four HOST:PORT WORD`, `targets SIDE [BUT]`; every process it started is
# killed and the work directory removed when the script ends. $1 names the work directory.
work=$(mktemp -d "/tmp/zabkeeper-$1.XXXX")
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

cargo build --release --quiet
cargo bench --bench load --no-run --quiet 2>/dev/null
bench() { cargo bench --bench load --quiet 2>"$work/bench.err" || { cat "$work/bench.err" >&2; return 1; }; }

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
    java "-Xmx${ZK_HEAP:-1000m}" -Dzookeeper.admin.enableServer=false -cp "$zk_cp" \
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
ready() { # waits (up to $2 s, default 60) until side $1 has three serving servers, one leading
  for _ in $(seq $((${2:-60} * 4))); do [ -n "$(leader "$1")" ] && return 0; sleep 0.25; done
  echo "$1 not ready" >&2; exit 1
}

