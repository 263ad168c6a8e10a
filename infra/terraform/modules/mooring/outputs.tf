output "namespace" {
  description = "The deployment's namespace."
  value       = module.knative.namespace
}

output "gateway_endpoints" {
  description = "The gateway's MQTT endpoints in the cluster (external: the mooring-gateway LoadBalancer)."
  value       = module.knative.gateway_endpoints
}

output "broker_url" {
  description = "The Broker's ingress URL."
  value       = module.knative.broker_url
}

output "dynamodb_tables" {
  description = "DynamoDB table name by role."
  value       = module.dynamodb.table_names
}

output "dynamodb_access_policy_json" {
  description = "IAM policy for the workloads' role (IRSA) on the tables."
  value       = module.dynamodb.access_policy_json
}

output "kafka_topics" {
  description = "Partitions and retention of the topics, by name."
  value       = module.kafka.topics
}
