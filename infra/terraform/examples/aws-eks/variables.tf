variable "region" {
  description = "AWS region of everything (EKS, MSK, DynamoDB)."
  type        = string
  default     = "eu-west-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region: an AWS region such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the cluster, the MSK cluster and the VPC; also the prefix of the DynamoDB tables (<name>-)."
  type        = string
  default     = "mooring"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name: 2 to 31 characters of [a-z0-9-], starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.31"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version: such as 1.31."
  }
}

variable "node_instance_type" {
  description = "Instance type of the worker nodes (the gateway sizing in docs/deploy.md is per core)."
  type        = string
  default     = "m6i.large"
}

variable "node_count" {
  description = "Worker nodes: minimum, desired and maximum."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 2, desired = 3, max = 6 }
  validation {
    condition     = var.node_count.min >= 1 && var.node_count.min <= var.node_count.desired && var.node_count.desired <= var.node_count.max
    error_message = "node_count: 1 <= min <= desired <= max."
  }
}

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
  default     = "3.6.0"
}

variable "kafka_broker_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m5.large"
  validation {
    condition     = startswith(var.kafka_broker_instance_type, "kafka.")
    error_message = "kafka_broker_instance_type: an MSK instance type (kafka.…)."
  }
}

variable "kafka_broker_storage_gb" {
  description = "EBS storage per MSK broker, GiB."
  type        = number
  default     = 100
  validation {
    condition     = var.kafka_broker_storage_gb >= 1 && var.kafka_broker_storage_gb <= 16384
    error_message = "kafka_broker_storage_gb: 1 to 16384."
  }
}

variable "images" {
  description = "Image replacements by the manifests' repository, e.g. your ECR copy of ghcr.io/mooring/mooring (every Mooring container runs it)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags of every AWS resource."
  type        = map(string)
  default     = { "app.kubernetes.io/part-of" = "mooring" }
}
