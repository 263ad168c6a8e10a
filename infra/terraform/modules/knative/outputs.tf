output "namespace" {
  description = "The namespace of every object."
  value       = var.namespace
}

output "manifests" {
  description = "The applied documents (YAML) by apiVersion/kind/name."
  value       = local.manifests
  depends_on  = [kubectl_manifest.this]
}

output "broker_url" {
  description = "Where producers POST CloudEvents into the Broker (Knative's Kafka Broker ingress)."
  value       = "http://kafka-broker-ingress.knative-eventing.svc.cluster.local/${var.namespace}/${local.by_key["eventing.knative.dev/v1/Broker/mooring"].metadata.name}"
}

output "gateway_endpoints" {
  description = "The gateway's Service in the cluster (MQTT, MQTT over TLS, MQTT over WebSocket); its external address is the LoadBalancer's (kubectl get service mooring-gateway)."
  value = {
    for p in local.by_key["v1/Service/mooring-gateway"].spec.ports :
    p.name => "mooring-gateway.${var.namespace}.svc.cluster.local:${p.port}"
  }
}
