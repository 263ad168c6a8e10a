#!/usr/bin/env bash
# The whole test suite, as the README's test line runs it: installs what the tests need
# (Debian's mosquitto-clients, Apache Kafka from Maven Central, both cached), starts one Kafka and
# one DynamoDB Local for the suite, runs every test/**/*.test.ts with uvu, and stops both again.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/ensure-mosquitto-clients.sh ] || [ -f scripts/ensure-mosquitto-clients.sh ]; then
  bash scripts/ensure-mosquitto-clients.sh || { echo "test: could not install mosquitto-clients" >&2; exit 1; }
fi

# A broker of this run's own (id suite-<pid>): two runs on one machine never share, or stop, one.
kafka_id=""
if [ -z "${MOORING_TEST_KAFKA:-}" ] && [ -f scripts/kafka/kafka.sh ] && [ "${MOORING_TEST_NO_KAFKA:-}" != "1" ]; then
  bash scripts/kafka/kafka.sh provision || { echo "test: Kafka provisioning failed" >&2; exit 1; }
  kafka_id="suite-$$"
  MOORING_TEST_KAFKA=$(bash scripts/kafka/kafka.sh start "$kafka_id") || { echo "test: Kafka did not start" >&2; exit 1; }
  export MOORING_TEST_KAFKA
  echo "test: Kafka at $MOORING_TEST_KAFKA"
fi
stop_kafka() {
  [ -n "$kafka_id" ] || return 0
  bash scripts/kafka/kafka.sh stop "$kafka_id" >/dev/null 2>&1
  rm -rf "${MOORING_KAFKA_HOME:-.cache/kafka}/run/$kafka_id"
}

# DynamoDB Local of this run's own (id suite-<pid>), likewise; MOORING_TEST_NO_DYNAMODB=1 skips it.
dynamodb_id=""
if [ -z "${MOORING_TEST_DYNAMODB:-}" ] && [ -f scripts/dynamodb/dynamodb.sh ] && [ "${MOORING_TEST_NO_DYNAMODB:-}" != "1" ]; then
  dynamodb_id="suite-$$"
  MOORING_TEST_DYNAMODB=$(bash scripts/dynamodb/dynamodb.sh start "$dynamodb_id") || { echo "test: DynamoDB Local did not start" >&2; stop_kafka; exit 1; }
  export MOORING_TEST_DYNAMODB
  echo "test: DynamoDB Local at $MOORING_TEST_DYNAMODB"
fi
stop_dynamodb() {
  [ -n "$dynamodb_id" ] || return 0
  bash scripts/dynamodb/dynamodb.sh stop "$dynamodb_id" >/dev/null 2>&1
  rm -rf "${MOORING_DYNAMODB_HOME:-.cache/dynamodb}/run/$dynamodb_id"
}
trap 'stop_kafka; stop_dynamodb' EXIT

# A hard bound for the whole run; each test bounds its own waits.
timeout --kill-after=30 "${MOORING_TEST_TIMEOUT:-2400}" \
  npx uvu -r tsx -r "$PWD/test/setup/finish.cjs" --no-color test "${1:-\\.test\\.ts$}"
