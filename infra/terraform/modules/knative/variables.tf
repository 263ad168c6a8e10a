variable "namespace" {
  description = "Namespace every object goes to (the Broker's, the Triggers', the workloads'). Knative Eventing, its Kafka Broker and Knative Serving must be installed in the cluster."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace)) && length(var.namespace) <= 63
    error_message = "namespace: a DNS-1123 label (lower-case letters, digits and '-', at most 63)."
  }
}

variable "create_namespace" {
  description = "Create the namespace too (and delete it on destroy); false when the platform owns it."
  type        = bool
  default     = false
}

variable "source_dir" {
  description = "The Mooring checkout whose knative/*.yaml and deploy/*.yaml are applied; null is the one this module is part of (the manifests have one source)."
  type        = string
  default     = null
}

variable "config" {
  description = "Mooring variables (README's configuration table) set in the ConfigMap mooring-config, over the values of deploy/config.yaml."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.config) : can(regex("^MOORING_[A-Z0-9_]+$", k))])
    error_message = "config: every key is a Mooring variable (MOORING_…)."
  }
}

variable "kafka_bootstrap_servers" {
  description = "Kafka bootstrap servers (host:port); set in mooring-config (MOORING_KAFKA_BROKERS), kafka-broker-config and the dead-letter KafkaSink. Empty keeps the manifests' addresses."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for s in var.kafka_bootstrap_servers : can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", s))])
    error_message = "kafka_bootstrap_servers: each is host:port."
  }
}

variable "broker_topic_partitions" {
  description = "Partitions of the Broker's topic (kafka-broker-config default.topic.partitions); null keeps the manifest's."
  type        = number
  default     = null
  validation {
    condition     = var.broker_topic_partitions == null || try(var.broker_topic_partitions >= 1 && floor(var.broker_topic_partitions) == var.broker_topic_partitions, false)
    error_message = "broker_topic_partitions: a whole number of at least 1, or null."
  }
}

variable "broker_topic_replication_factor" {
  description = "Replication factor of the Broker's topic (kafka-broker-config default.topic.replication.factor); null keeps the manifest's."
  type        = number
  default     = null
  validation {
    condition     = var.broker_topic_replication_factor == null || try(var.broker_topic_replication_factor >= 1 && floor(var.broker_topic_replication_factor) == var.broker_topic_replication_factor, false)
    error_message = "broker_topic_replication_factor: a whole number of at least 1, or null."
  }
}

variable "images" {
  description = "Image replacements by repository as the manifests name it, e.g. { \"ghcr.io/mooring/mooring\" = \"<registry>/mooring:1.2.0\" }."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.images : can(regex("^[^\\s:]+$", k)) && can(regex("^\\S+$", v))])
    error_message = "images: keys are repositories without a tag, values image references without spaces."
  }
}

variable "wait_for_rollout" {
  description = "Wait for Deployments to roll out after an apply (needs a cluster that runs them)."
  type        = bool
  default     = true
}
