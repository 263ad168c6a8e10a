#!/usr/bin/env bash
# The whole test suite, as the README's test line runs it: installs what the tests need
# (Debian's mosquitto-clients, Apache Kafka from Maven Central, etcd and a kube-apiserver and
# OpenTofu built from the Go module proxy, all cached), starts one Kafka, one DynamoDB Local and one kube-apiserver for
# the suite, runs every test/**/*.test.ts with uvu, and stops them again.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/ensure-mosquitto-clients.sh ] || [ -f scripts/ensure-mosquitto-clients.sh ]; then
  bash scripts/ensure-mosquitto-clients.sh || { echo "test: could not install mosquitto-clients" >&2; exit 1; }
fi

# OpenTofu and the providers the tests of infra/terraform use (test/infra), built from the Go module
# proxy the first time on a machine (minutes; cached outside the clone, scripts/tofu/tofu.sh).
if [ -f scripts/tofu/tofu.sh ] && [ "${MOORING_TEST_NO_TOFU:-}" != "1" ]; then
  bash scripts/tofu/tofu.sh provision || { echo "test: OpenTofu provisioning failed" >&2; exit 1; }
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
# A kube-apiserver of this run's own (id suite-<pid>) with the Knative CRDs of ../shared/crds (CI
# checks shared/ out beside the clone); provisioning builds kube-apiserver the first time on a
# machine (minutes; cached outside the clone). MOORING_TEST_NO_KUBE=1: none for the suite (a test
# that needs one starts its own, as with Kafka and DynamoDB).
kube_id=""
if [ -z "${MOORING_TEST_KUBECONFIG:-}" ] && [ -f scripts/kube/kube.sh ] && [ "${MOORING_TEST_NO_KUBE:-}" != "1" ]; then
  bash scripts/kube/kube.sh provision || { echo "test: kube-apiserver provisioning failed" >&2; stop_kafka; stop_dynamodb; exit 1; }
  kube_id="suite-$$"
  MOORING_TEST_KUBECONFIG=$(bash scripts/kube/kube.sh start "$kube_id") || { echo "test: kube-apiserver did not start" >&2; stop_kafka; stop_dynamodb; exit 1; }
  export MOORING_TEST_KUBECONFIG
  kubectl --kubeconfig "$MOORING_TEST_KUBECONFIG" apply -f ../shared/crds >/dev/null \
    && kubectl --kubeconfig "$MOORING_TEST_KUBECONFIG" wait --for=condition=Established crd --all --timeout=120s >/dev/null \
    || echo "test: applying ../shared/crds failed (the tests that need them will say why)" >&2
  echo "test: kube-apiserver, kubeconfig $MOORING_TEST_KUBECONFIG"
fi
stop_kube() {
  [ -n "$kube_id" ] || return 0
  bash scripts/kube/kube.sh stop "$kube_id" >/dev/null 2>&1
  rm -rf "${MOORING_KUBE_HOME:-.cache/kube}/run/$kube_id"
}
trap 'stop_kafka; stop_dynamodb; stop_kube' EXIT

# A hard bound for the whole run; each test bounds its own waits.
timeout --kill-after=30 "${MOORING_TEST_TIMEOUT:-2400}" \
  npx uvu -r tsx -r "$PWD/test/setup/finish.cjs" --no-color test "${1:-\\.test\\.ts$}"
