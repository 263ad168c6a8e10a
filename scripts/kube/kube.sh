#!/usr/bin/env bash
# A real kube-apiserver (on Debian's etcd) on free loopback ports, for the tests of the controller
# and of the manifests. The apiserver is built once from the Go module proxy (k8s.io/kubernetes with
# each staging module replaced by its published v0.31.x) into a cache outside the clone; etcd comes
# from apt. State lives under .cache/kube (git-ignored):
#   run/<id>/   one cluster: pid (apiserver), etcd.pid, address, kubeconfig, certificates, logs
#
#   kube.sh provision      install etcd-server when missing; build kube-apiserver when missing
#                          (about 9 minutes on a busy 2-core machine; idempotent)
#   kube.sh start  [id]    start cluster <id> (default "default"); prints its kubeconfig's path once
#                          /readyz answers. Already running: prints the running one's kubeconfig.
#   kube.sh stop   [id]    SIGTERM both processes, SIGKILL after KUBE_STOP_TIMEOUT s
#   kube.sh status [id]    prints the kubeconfig's path and exits 0 when running, exits 3 otherwise
#   kube.sh logs   [id]    the tail of the apiserver's log
#
# Environment: MOORING_KUBE_HOME (default <repo>/.cache/kube), MOORING_KAS_CACHE (the build cache,
# default ~/.cache/mooring/kas), KUBE_VERSION (v1.31.14), KUBE_START_TIMEOUT (s, 120),
# KUBE_STOP_TIMEOUT (s, 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${MOORING_KUBE_HOME:-$ROOT/.cache/kube}"
KAS_CACHE="${MOORING_KAS_CACHE:-$HOME/.cache/mooring/kas}"
VERSION="${KUBE_VERSION:-v1.31.14}"
START_TIMEOUT="${KUBE_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KUBE_STOP_TIMEOUT:-10}"
KAS="$KAS_CACHE/bin/kube-apiserver"

SERVER_NAME=kube SERVER_KIND=cluster SERVER_LOG=kube-apiserver.log
# shellcheck source=../lib/local-server.sh
source "$ROOT/scripts/lib/local-server.sh"
# shellcheck source=../lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"
server_marker() { echo "$1/"; }

provision() {
  apt_ensure kube etcd:etcd-server
  [ -x "$KAS" ] && return 0
  command -v go >/dev/null || die "go is not installed (needed once, to build kube-apiserver)"
  echo "kube: building kube-apiserver $VERSION into $KAS_CACHE (once; about 9 minutes)" >&2
  local minor="${VERSION#v1.}" staging
  minor="${minor%%.*}"
  staging="v0.${VERSION#v1.}"
  mkdir -p "$KAS_CACHE/bin"
  (
    cd "$KAS_CACHE"
    export GOMAXPROCS=2
    cp -f "$(go mod download -json "k8s.io/kubernetes@$VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')" k8s.mod
    { printf 'module kas\n\ngo 1.22.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$VERSION"
      grep '=> ./staging' k8s.mod | awk -v v="$staging" '{print "\t"$1" => "$1" "v}'; echo ')'; } >go.mod
    printf '//go:build tools\n\npackage kas\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n' >tools.go
    nice -n 19 go mod tidy >&2
    nice -n 19 go build -ldflags "-X k8s.io/component-base/version.gitVersion=$VERSION \
      -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/client-go/pkg/version.gitVersion=$VERSION" -o "$KAS.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
    mv -f "$KAS.tmp" "$KAS"
  )
}

# A CA, the apiserver's serving certificate (SAN 127.0.0.1, localhost), the service-account key
# pair and the static token of the admin (group system:masters) in <dir>.
certificates() {
  local dir="$1"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mooring-test-ca -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext -out server.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >admin.token
    printf '%s,admin,admin-uid,"system:masters"\n' "$(cat admin.token)" >tokens.csv
  ) || die "could not generate the certificates in $dir"
}

kubeconfig() {
  local dir="$1" address="$2"
  cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: mooring-test
    cluster:
      server: $address
      certificate-authority-data: $(base64 -w0 <"$dir/ca.crt")
users:
  - name: admin
    user:
      token: $(cat "$dir/admin.token")
contexts:
  - name: mooring-test
    context: { cluster: mooring-test, user: admin, namespace: default }
current-context: mooring-test
KUBECONFIG
}

running() { local pid; pid="$(cat "$1/$2" 2>/dev/null)"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# Resolves once /readyz says ok, fails after $2 s or when a process of the cluster exits.
wait_ready() {
  local dir="$1" secs="$2" until
  until=$(($(date +%s) + secs))
  while [ "$(date +%s)" -lt "$until" ]; do
    # Alive by pid alone: right after the launch a child may still be the forked shell, whose
    # command line does not name the run directory yet (live_pid would call it gone).
    running "$dir" etcd.pid || { echo "etcd exited" >&2; return 1; }
    running "$dir" pid || { echo "kube-apiserver exited" >&2; return 1; }
    if [ "$(curl -s --max-time 2 --cacert "$dir/ca.crt" -H "Authorization: Bearer $(cat "$dir/admin.token")" \
      "$(cat "$dir/address")/readyz" 2>/dev/null)" = ok ]; then return 0; fi
    sleep 0.2
  done
  echo "no ready answer from $(cat "$dir/address")/readyz within ${secs}s" >&2
  return 1
}

start() {
  local id="${1:-default}" dir etcd_port peer_port port
  dir="$(run_dir "$id")"
  if [ -n "$(live_pid "$dir")" ]; then echo "$dir/kubeconfig"; return 0; fi
  command -v etcd >/dev/null || die "etcd is not installed (kube.sh provision)"
  [ -x "$KAS" ] || die "kube-apiserver is not built (kube.sh provision)"
  stop_process "$dir" etcd.pid TERM "$id"
  rm -rf "$dir"
  mkdir -p "$dir"
  certificates "$dir"
  etcd_port="$(free_port)"; peer_port="$(free_port)"; port="$(free_port)"
  echo "https://127.0.0.1:$port" >"$dir/address"
  # setsid: the servers outlive the shell (and the process group) that started them.
  setsid nohup etcd --name "$id" --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "$id=http://127.0.0.1:$peer_port" >>"$dir/etcd.log" 2>&1 </dev/null &
  echo $! >"$dir/etcd.pid"
  setsid nohup "$KAS" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
    --tls-cert-file "$dir/server.crt" --tls-private-key-file "$dir/server.key" --client-ca-file "$dir/ca.crt" \
    --token-auth-file "$dir/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$dir/sa.pub" \
    --service-account-signing-key-file "$dir/sa.key" --service-cluster-ip-range 10.0.0.0/24 \
    --disable-admission-plugins ServiceAccount --endpoint-reconciler-type none --profiling=false \
    --cert-dir "$dir/certs" >>"$dir/$SERVER_LOG" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  if ! wait_ready "$dir" "$START_TIMEOUT"; then
    echo "--- tail of $dir/etcd.log" >&2; tail -n 10 "$dir/etcd.log" >&2 || true
    echo "--- tail of $dir/$SERVER_LOG" >&2; log_tail "$dir"
    stop_cluster "$id" >/dev/null 2>&1 || true
    die "cluster '$id' was not ready within ${START_TIMEOUT}s"
  fi
  kubeconfig "$dir" "$(cat "$dir/address")"
  echo "$dir/kubeconfig"
}

stop_cluster() {
  local id="${1:-default}" dir
  dir="$(run_dir "$id")"
  stop_process "$dir" pid TERM "$id"
  stop_process "$dir" etcd.pid TERM "$id"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  provision) provision ;;
  start) start "${1:-default}" ;;
  stop) stop_cluster "${1:-default}" ;;
  status) status "${1:-default}" >/dev/null && echo "$(run_dir "${1:-default}")/kubeconfig" ;;
  logs) log_tail "$(run_dir "${1:-default}")" 2>&1 ;;
  *) echo "usage: $0 provision|start|stop|status|logs [id]" >&2; exit 2 ;;
esac
