variable "namespace" {
  description = "Namespace of the Knative Broker: its topic is knative-broker-<namespace>-<broker>, as Knative's Kafka Broker and Mooring's bus name it (connectors/kafka/topics.ts)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace)) && length(var.namespace) <= 63
    error_message = "namespace: a DNS-1123 label."
  }
}

variable "broker" {
  description = "Name of the Knative Broker (knative/broker.yaml)."
  type        = string
  default     = "mooring"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.broker))
    error_message = "broker: a DNS-1123 label."
  }
}

variable "broker_topic" {
  description = "The Broker's topic, every event of the deployment: partitions bound the parallelism of ordered delivery (knative/broker.yaml says 12), retention how long a replay can reach back."
  type = object({
    partitions         = optional(number, 12)
    replication_factor = optional(number, 3)
    retention_ms       = optional(number, 604800000)
    config             = optional(map(string), {})
  })
  default = {}
  validation {
    condition     = var.broker_topic.partitions >= 1 && var.broker_topic.replication_factor >= 1 && (var.broker_topic.retention_ms == -1 || var.broker_topic.retention_ms >= 60000)
    error_message = "broker_topic: partitions and replication_factor at least 1; retention_ms at least 60000, or -1 (forever)."
  }
}

variable "dead_letter_topic" {
  description = "The dead-letter topic the Broker's KafkaSink writes (knative/dead-letter.yaml: mooring-dead-letter, 3 partitions); kept longer than the events, so they can be replayed."
  type = object({
    name               = optional(string, "mooring-dead-letter")
    partitions         = optional(number, 3)
    replication_factor = optional(number, 3)
    retention_ms       = optional(number, 1209600000)
    config             = optional(map(string), {})
  })
  default = {}
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,249}$", var.dead_letter_topic.name)) && var.dead_letter_topic.partitions >= 1 && var.dead_letter_topic.replication_factor >= 1 && (var.dead_letter_topic.retention_ms == -1 || var.dead_letter_topic.retention_ms >= 60000)
    error_message = "dead_letter_topic: a Kafka topic name, partitions and replication_factor at least 1, retention_ms at least 60000 or -1."
  }
}

variable "topics" {
  description = "Further topics by name, e.g. per-application topics (events-<application>, MOORING_KAFKA_APP_TOPICS) provisioned ahead."
  type = map(object({
    partitions         = optional(number, 3)
    replication_factor = optional(number, 3)
    retention_ms       = optional(number, 604800000)
    config             = optional(map(string), {})
  }))
  default = {}
  validation {
    condition = alltrue([for name, t in var.topics :
      can(regex("^[A-Za-z0-9._-]{1,249}$", name)) && t.partitions >= 1 && t.replication_factor >= 1 && (t.retention_ms == -1 || t.retention_ms >= 60000)
    ])
    error_message = "topics: Kafka topic names; partitions and replication_factor at least 1; retention_ms at least 60000, or -1."
  }
}
