terraform {
  required_version = ">= 1.6.0"
  required_providers {
    kafka = {
      source  = "Mongey/kafka"
      version = ">= 0.13.1"
    }
    kubectl = {
      source  = "gavinbunney/kubectl"
      version = ">= 1.19.0"
    }
  }
}

provider "kubectl" {
  config_path      = var.kubeconfig
  config_context   = var.kube_context
  load_config_file = true
}

provider "kafka" {
  bootstrap_servers = length(var.kafka_admin_servers) > 0 ? var.kafka_admin_servers : var.kafka_bootstrap_servers
  tls_enabled       = false
}
