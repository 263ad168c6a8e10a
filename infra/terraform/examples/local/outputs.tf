output "gateway_endpoints" {
  description = "The gateway's MQTT endpoints in the cluster."
  value       = module.knative.gateway_endpoints
}

output "broker_url" {
  description = "The Knative Broker's ingress URL."
  value       = module.knative.broker_url
}

output "kafka_topics" {
  description = "Partitions and retention of the topics, by name."
  value       = module.kafka.topics
}

output "manifests" {
  description = "The applied documents by apiVersion/kind/name."
  value       = module.knative.manifests
}
