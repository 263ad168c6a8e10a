#!/usr/bin/env bash
# Installs what `npm run bench` needs and is missing: Debian's mosquitto broker and its clients
# (mosquitto_passwd comes with the broker). Idempotent: does nothing when they are there.
# Aedes comes from npm (a devDependency); taskset from util-linux.
set -euo pipefail

missing=()
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "ensure-bench-tools: need root to install ${missing[*]}" >&2; exit 1
  fi
else
  SUDO=""
fi

echo "ensure-bench-tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# The package enables a system broker on port 1883; the benchmark runs its own on a free port.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  $SUDO systemctl stop mosquitto >/dev/null 2>&1 || true
fi
