# Mooring on any Kubernetes cluster (kind, minikube, k3s …) with Knative installed, a Kafka the
# workloads reach, and DynamoDB Local (or DynamoDB): the Knative/Kubernetes objects and the Kafka
# topics, sized for one broker. The DynamoDB tables are made by Mooring itself at start (the
# adapters create what is missing). test/infra/terraform.test.ts applies and destroys this example
# against the suite's kube-apiserver and Kafka.

module "kafka" {
  source            = "../../modules/kafka"
  namespace         = var.namespace
  broker_topic      = { partitions = 4, replication_factor = var.replication_factor, retention_ms = 86400000 }
  dead_letter_topic = { partitions = 1, replication_factor = var.replication_factor }
}

module "knative" {
  source                          = "../../modules/knative"
  namespace                       = var.namespace
  create_namespace                = var.create_namespace
  kafka_bootstrap_servers         = var.kafka_bootstrap_servers
  broker_topic_partitions         = 4
  broker_topic_replication_factor = var.replication_factor
  images                          = var.images
  wait_for_rollout                = var.wait_for_rollout
  config = {
    MOORING_DYNAMODB_ENDPOINT = var.dynamodb_endpoint
  }
  depends_on = [module.kafka]
}
