# The process management shared by the scripts that run a local server for the tests and for
# single-host mode (scripts/kafka/kafka.sh, scripts/dynamodb/dynamodb.sh): one server per id
# under $HOME_DIR/run/<id>/ (pid, address, $SERVER_LOG), found again by its command line, stopped
# with a signal and SIGKILL after $STOP_TIMEOUT s. Sourced; the sourcing script sets
#   SERVER_NAME    what messages call it ("kafka", "dynamodb")
#   SERVER_KIND    what an instance is called ("broker", "server")
#   SERVER_LOG     the log file's name in the run directory
#   HOME_DIR, STOP_TIMEOUT
# and defines `server_marker <dir>`: a string only its own server's command line contains.

die() { echo "$SERVER_NAME: $*" >&2; exit 1; }

run_dir() {
  local id="${1:-default}"
  [[ "$id" =~ ^[A-Za-z0-9._-]+$ ]] || die "invalid $SERVER_KIND id '$id'"
  echo "$HOME_DIR/run/$id"
}

# The pid of server <dir> when its process is alive and really is ours, else nothing. A server of
# several processes (kube.sh: etcd + kube-apiserver) names the other's pid file as $2.
live_pid() {
  local dir="$1" file="${2:-pid}" pid
  [ -f "$dir/$file" ] || return 0
  pid="$(cat "$dir/$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(server_marker "$dir")"; then
    echo "$pid"
  fi
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

log_tail() { [ -f "$1/$SERVER_LOG" ] && tail -n 30 "$1/$SERVER_LOG" >&2 || true; }

# stop <id> [signal]: the signal (default TERM), SIGKILL after STOP_TIMEOUT s.
stop() {
  local id="${1:-default}"
  stop_process "$(run_dir "$id")" pid "${2:-TERM}" "$id"
}

# stop_process <dir> <pid file> <signal> <id>: one process of server <dir>.
stop_process() {
  local dir="$1" file="$2" signal="$3" id="$4" pid waited=0
  pid="$(live_pid "$dir" "$file")"
  [ -z "$pid" ] && { rm -f "${dir:?}/$file"; return 0; }
  kill "-$signal" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.1; waited=$((waited + 1))
    [ "$waited" -gt $((STOP_TIMEOUT * 10 + 100)) ] && die "$SERVER_KIND '$id' (pid $pid) does not exit"
  done
  rm -f "$dir/$file"
}

status() {
  local dir pid
  dir="$(run_dir "${1:-default}")"
  pid="$(live_pid "$dir")"
  if [ -n "$pid" ]; then cat "$dir/address"; return 0; fi
  echo "$SERVER_NAME: $SERVER_KIND '${1:-default}' is not running" >&2
  return 3
}
