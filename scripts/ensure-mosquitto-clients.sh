#!/usr/bin/env bash
# Installs Debian's mosquitto-clients (mosquitto_pub, mosquitto_sub) for the MQTT end-to-end tests,
# only when they are missing. Idempotent; needs root (or passwordless sudo) only the first time.
set -euo pipefail
if command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq mosquitto-clients >/dev/null
command -v mosquitto_pub >/dev/null 2>&1
