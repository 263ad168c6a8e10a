variable "kubeconfig" {
  description = "Path of the kubeconfig of the cluster (kind, minikube, k3s, any other) with Knative Serving, Eventing and its Kafka Broker installed."
  type        = string
  validation {
    condition     = length(trimspace(var.kubeconfig)) > 0
    error_message = "kubeconfig: the path of a kubeconfig file."
  }
}

variable "kube_context" {
  description = "Context of the kubeconfig to use; null is its current context."
  type        = string
  default     = null
}

variable "namespace" {
  description = "Namespace of the deployment."
  type        = string
  default     = "mooring"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace)) && length(var.namespace) <= 63
    error_message = "namespace: a DNS-1123 label."
  }
}

variable "create_namespace" {
  description = "Create the namespace (and delete it on destroy)."
  type        = bool
  default     = true
}

variable "kafka_bootstrap_servers" {
  description = "Kafka as the workloads reach it from inside the cluster (host:port), e.g. a Strimzi cluster's my-cluster-kafka-bootstrap.kafka:9092."
  type        = list(string)
  validation {
    condition     = length(var.kafka_bootstrap_servers) > 0 && alltrue([for s in var.kafka_bootstrap_servers : can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", s))])
    error_message = "kafka_bootstrap_servers: at least one host:port."
  }
}

variable "kafka_admin_servers" {
  description = "Kafka as this machine reaches it to create the topics (e.g. a port-forward); empty is kafka_bootstrap_servers."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for s in var.kafka_admin_servers : can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", s))])
    error_message = "kafka_admin_servers: each is host:port."
  }
}

variable "replication_factor" {
  description = "Replication factor of the topics (1 on a single-broker Kafka)."
  type        = number
  default     = 1
  validation {
    condition     = var.replication_factor >= 1 && floor(var.replication_factor) == var.replication_factor
    error_message = "replication_factor: a whole number of at least 1."
  }
}

variable "dynamodb_endpoint" {
  description = "DynamoDB as the workloads reach it (e.g. DynamoDB Local in the cluster: http://dynamodb-local.mooring:8000)."
  type        = string
  default     = "http://dynamodb-local:8000"
  validation {
    condition     = can(regex("^https?://", var.dynamodb_endpoint))
    error_message = "dynamodb_endpoint: an http(s) URL."
  }
}

variable "images" {
  description = "Image replacements by the manifests' repository (e.g. images loaded into kind)."
  type        = map(string)
  default     = {}
}

variable "wait_for_rollout" {
  description = "Wait for the Deployments to roll out."
  type        = bool
  default     = true
}
