terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
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

provider "aws" {
  region = var.region
}

# The kubectl provider talks to the new cluster with a token from `aws eks get-token`.
provider "kubectl" {
  host                   = module.eks.cluster_endpoint
  cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
  load_config_file       = false
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
  }
}

# Topics are made through the Kafka protocol: run this where MSK's brokers are reachable (a runner
# inside the VPC, or through a VPN). Mooring's Kafka client speaks plaintext inside the VPC.
provider "kafka" {
  bootstrap_servers = split(",", aws_msk_cluster.this.bootstrap_brokers)
  tls_enabled       = false
}
