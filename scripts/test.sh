#!/usr/bin/env bash
# The whole test suite, as the README's test line runs it: installs what the tests need
# (Debian's mosquitto-clients, Apache Kafka from Maven Central, both cached), starts one Kafka for
# the suite, runs every test/**/*.test.ts with uvu, and stops Kafka again.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/ensure-mosquitto-clients.sh ] || [ -f scripts/ensure-mosquitto-clients.sh ]; then
  bash scripts/ensure-mosquitto-clients.sh || { echo "test: could not install mosquitto-clients" >&2; exit 1; }
fi

kafka_started=""
if [ -z "${MOORING_TEST_KAFKA:-}" ] && [ -f scripts/kafka/kafka.sh ] && [ "${MOORING_TEST_NO_KAFKA:-}" != "1" ]; then
  bash scripts/kafka/kafka.sh provision || { echo "test: Kafka provisioning failed" >&2; exit 1; }
  MOORING_TEST_KAFKA=$(bash scripts/kafka/kafka.sh start) || { echo "test: Kafka did not start" >&2; exit 1; }
  export MOORING_TEST_KAFKA
  kafka_started=1
  echo "test: Kafka at $MOORING_TEST_KAFKA"
fi
stop_kafka() { [ -n "$kafka_started" ] && bash scripts/kafka/kafka.sh stop >/dev/null 2>&1; }
trap stop_kafka EXIT

# A hard bound for the whole run; each test bounds its own waits.
timeout --kill-after=30 "${MOORING_TEST_TIMEOUT:-2400}" \
  npx uvu -r tsx -r "$PWD/test/setup/finish.cjs" --no-color test "${1:-\\.test\\.ts$}"
