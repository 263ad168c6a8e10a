variable "namespace" {
  description = "Kubernetes namespace of the deployment (Broker, Triggers, functions, gateway, controller)."
  type        = string
  default     = "mooring"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace)) && length(var.namespace) <= 63
    error_message = "namespace: a DNS-1123 label."
  }
}

variable "create_namespace" {
  description = "Create the namespace (false when the platform owns it)."
  type        = bool
  default     = true
}

variable "aws_region" {
  description = "Region of the DynamoDB tables (MOORING_DYNAMODB_REGION)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.aws_region))
    error_message = "aws_region: an AWS region such as eu-west-1."
  }
}

variable "table_prefix" {
  description = "Prefix of the DynamoDB table names (MOORING_DYNAMODB_TABLE_PREFIX)."
  type        = string
  default     = "mooring-"
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{0,200}$", var.table_prefix))
    error_message = "table_prefix: up to 200 characters of [A-Za-z0-9_.-]."
  }
}

variable "dynamodb_protection" {
  description = "Point-in-time recovery and deletion protection of the registry and token tables."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the tables; null uses the AWS-owned key."
  type        = string
  default     = null
}

variable "kafka_bootstrap_servers" {
  description = "Bootstrap servers (host:port) the workloads and the Broker use, e.g. MSK's bootstrap_brokers_sasl_iam split on ','."
  type        = list(string)
  validation {
    condition     = length(var.kafka_bootstrap_servers) > 0 && alltrue([for s in var.kafka_bootstrap_servers : can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", s))])
    error_message = "kafka_bootstrap_servers: at least one host:port."
  }
}

variable "broker_topic" {
  description = "Partitions, replication factor, retention (ms) and further settings of the Broker's topic."
  type = object({
    partitions         = optional(number, 12)
    replication_factor = optional(number, 3)
    retention_ms       = optional(number, 604800000)
    config             = optional(map(string), {})
  })
  default = {}
}

variable "dead_letter_topic" {
  description = "Partitions, replication factor, retention (ms) and further settings of the dead-letter topic."
  type = object({
    partitions         = optional(number, 3)
    replication_factor = optional(number, 3)
    retention_ms       = optional(number, 1209600000)
    config             = optional(map(string), {})
  })
  default = {}
}

variable "images" {
  description = "Image replacements by the manifests' repository (ghcr.io/mooring/mooring: every Mooring container, functions included)."
  type        = map(string)
  default     = {}
}

variable "config" {
  description = "Further Mooring variables for mooring-config (README's configuration table)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.config) : can(regex("^MOORING_[A-Z0-9_]+$", k))])
    error_message = "config: every key is a Mooring variable (MOORING_…)."
  }
}

variable "tags" {
  description = "Tags of the AWS resources."
  type        = map(string)
  default     = {}
}
