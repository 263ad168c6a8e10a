output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name …)."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "The Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "kafka_bootstrap_brokers" {
  description = "MSK's plaintext bootstrap brokers."
  value       = aws_msk_cluster.this.bootstrap_brokers
}

output "gateway_endpoints" {
  description = "The gateway's MQTT endpoints in the cluster; the external address is the mooring-gateway LoadBalancer's."
  value       = module.mooring.gateway_endpoints
}

output "broker_url" {
  description = "The Knative Broker's ingress URL."
  value       = module.mooring.broker_url
}

output "dynamodb_tables" {
  description = "DynamoDB table name by role."
  value       = module.mooring.dynamodb_tables
}
