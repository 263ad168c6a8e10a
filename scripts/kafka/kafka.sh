#!/usr/bin/env bash
# Apache Kafka 3.9 (KRaft, one combined broker+controller node) on a free loopback port, for the
# tests, the benchmarks and single-host mode. Everything lives under .cache/kafka (git-ignored):
#   libs/       the broker's class path, resolved from Maven Central by scripts/kafka/pom.xml
#   run/<id>/   one broker: server.properties, data/, kafka.log, pid, address
#
#   kafka.sh provision        resolve the class path once (idempotent, quiet, errors shown)
#   kafka.sh start   [id]     start broker <id> (default "default") on fresh free ports and an
#                             empty data dir; prints its bootstrap address 127.0.0.1:PORT.
#                             Already running: prints the address of the running one.
#   kafka.sh restart [id]     stop it if running, start it again on the same ports and data dir
#                             (the fault tests' "Kafka comes back"); starts fresh if it never ran
#   kafka.sh stop    [id]     SIGTERM (controlled shutdown), SIGKILL after KAFKA_STOP_TIMEOUT s
#   kafka.sh kill    [id]     SIGKILL at once (a crash); the data dir stays for `restart`
#   kafka.sh status  [id]     prints the address and exits 0 when running, exits 3 otherwise
#   kafka.sh logs    [id]     the tail of the broker's log
#
# Environment: MOORING_KAFKA_HOME (default <repo>/.cache/kafka), MOORING_M2_REPO (default
# <repo>/.cache/m2), KAFKA_HEAP_OPTS (default -Xms128m -Xmx512m), KAFKA_START_TIMEOUT (s, 90),
# KAFKA_STOP_TIMEOUT (s, 30).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${MOORING_KAFKA_HOME:-$ROOT/.cache/kafka}"
LIBS="$HOME_DIR/libs"
M2="${MOORING_M2_REPO:-$ROOT/.cache/m2}"
HEAP="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

SERVER_NAME=kafka SERVER_KIND=broker SERVER_LOG=kafka.log
# shellcheck source=../lib/local-server.sh
source "$ROOT/scripts/lib/local-server.sh"
server_marker() { echo "kafka.Kafka $1/server.properties"; }

provision() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v java >/dev/null || die "java (17+) is not installed"
  command -v mvn >/dev/null || die "mvn is not installed"
  mkdir -p "$HOME_DIR"
  local tmp="$LIBS.tmp.$$" out="$HOME_DIR/provision.log"
  rm -rf "$tmp"
  if ! mvn -q -B -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" -Dmaven.repo.local="$M2" \
      dependency:copy-dependencies -DoutputDirectory="$tmp" >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    rm -rf "$tmp"
    die "provisioning failed (full output in $out)"
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "provisioning produced no kafka_2.13 jar in $tmp"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  touch "$LIBS/.complete"
}

write_config() {
  local dir="$1" port="$2" cport="$3"
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka/kafka.sh: single-node KRaft, combined broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
# Topics are created by their users (KafkaEventBus creates its own with admin).
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
# A consumer group that joins is served at once (tests create many short-lived groups).
group.initial.rebalance.delay.ms=0
# After a crash (kafka.sh kill) the old registration must expire before the broker may register
# again: keep that short so a restart takes seconds, not the default 9 s.
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
log.retention.hours=24
log.segment.bytes=67108864
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
EOF
}

start() {
  local id="${1:-default}" reuse="${2:-}" dir pid port cport
  dir="$(run_dir "$id")"
  pid="$(live_pid "$dir")"
  if [ -n "$pid" ]; then cat "$dir/address"; return 0; fi
  [ -f "$LIBS/.complete" ] || provision
  if [ -n "$reuse" ] && [ -f "$dir/server.properties" ] && [ -f "$dir/data/meta.properties" ]; then
    port="$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1://p' "$dir/server.properties")"
  else
    rm -rf "$dir"
    mkdir -p "$dir/data"
    port="$(free_port)"; cport="$(free_port)"
    while [ "$cport" = "$port" ]; do cport="$(free_port)"; done
    write_config "$dir" "$port" "$cport"
    local cluster
    cluster="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    java -cp "$LIBS/*" -Dlog4j.configuration="file:$ROOT/scripts/kafka/log4j.properties" \
      kafka.tools.StorageTool format --cluster-id="$cluster" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "formatting the storage of '$id' failed"; }
  fi
  echo "127.0.0.1:$port" >"$dir/address"
  # setsid: the broker outlives the shell (and the process group) that started it.
  # shellcheck disable=SC2086
  setsid nohup java $HEAP -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$ROOT/scripts/kafka/log4j.properties" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" >>"$dir/kafka.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  if ! node "$ROOT/node_modules/tsx/dist/cli.mjs" "$ROOT/scripts/kafka/probe.ts" "127.0.0.1:$port" "$START_TIMEOUT" "$(cat "$dir/pid")" >"$dir/probe.log" 2>&1; then
    cat "$dir/probe.log" >&2
    echo "--- tail of $dir/kafka.log" >&2
    log_tail "$dir"
    stop "$id" >/dev/null 2>&1 || true
    die "broker '$id' did not become ready within ${START_TIMEOUT}s"
  fi
  cat "$dir/address"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  provision) provision ;;
  start) start "${1:-default}" ;;
  restart) stop "${1:-default}"; start "${1:-default}" reuse ;;
  stop) stop "${1:-default}" TERM ;;
  kill) stop "${1:-default}" KILL ;;
  status) status "${1:-default}" ;;
  logs) log_tail "$(run_dir "${1:-default}")" 2>&1 ;;
  *) echo "usage: $0 provision | start|restart|stop|kill|status|logs [id]" >&2; exit 2 ;;
esac
