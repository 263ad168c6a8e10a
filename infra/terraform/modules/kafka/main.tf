# The Kafka topics of a Mooring deployment, through the Kafka protocol (the Mongey/kafka provider:
# any Kafka — Amazon MSK, Strimzi, a single broker — with TLS/SASL as the provider is configured by
# the caller). Knative's Kafka Broker and Mooring's bus create a missing topic with defaults; made
# here first, the topics get the partitions and retention chosen below. The topic names follow
# connectors/kafka/topics.ts; test/infra/kafka-module.test.ts applies this module to a real Kafka.

locals {
  topics = merge(
    {
      "knative-broker-${var.namespace}-${var.broker}" = var.broker_topic
      (var.dead_letter_topic.name) = {
        partitions         = var.dead_letter_topic.partitions
        replication_factor = var.dead_letter_topic.replication_factor
        retention_ms       = var.dead_letter_topic.retention_ms
        config             = var.dead_letter_topic.config
      }
    },
    var.topics,
  )
}

resource "kafka_topic" "this" {
  for_each           = local.topics
  name               = each.key
  partitions         = each.value.partitions
  replication_factor = each.value.replication_factor
  config = merge(
    { "retention.ms" = tostring(each.value.retention_ms), "cleanup.policy" = "delete" },
    each.value.config,
  )
}
