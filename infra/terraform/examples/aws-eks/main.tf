# Mooring on AWS: an EKS cluster (Knative Serving, Eventing and its Kafka Broker installed on it
# beforehand, see infra/terraform/README.md), an MSK cluster for the Broker's topics, DynamoDB for
# the registry and the connection directory, and the pods' access to DynamoDB through EKS Pod
# Identity. Not applied in the test suite (no AWS provider can be had there): `tofu fmt -check` and
# the schema test of the dynamodb module cover it.

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, 3)
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.0"

  name               = var.name
  cidr               = "10.40.0.0/16"
  azs                = local.azs
  private_subnets    = ["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"]
  public_subnets     = ["10.40.96.0/22", "10.40.100.0/22", "10.40.104.0/22"]
  enable_nat_gateway = true
  single_nat_gateway = true
  # The gateway's Service is a LoadBalancer: public subnets carry the load balancers.
  public_subnet_tags  = { "kubernetes.io/role/elb" = "1" }
  private_subnet_tags = { "kubernetes.io/role/internal-elb" = "1" }
  tags                = var.tags
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"

  cluster_name                             = var.name
  cluster_version                          = var.kubernetes_version
  vpc_id                                   = module.vpc.vpc_id
  subnet_ids                               = module.vpc.private_subnets
  cluster_endpoint_public_access           = true
  enable_cluster_creator_admin_permissions = true
  cluster_addons = {
    eks-pod-identity-agent = {}
  }
  eks_managed_node_groups = {
    default = {
      instance_types = [var.node_instance_type]
      min_size       = var.node_count.min
      desired_size   = var.node_count.desired
      max_size       = var.node_count.max
    }
  }
  tags = var.tags
}

# MSK: three brokers, one per zone, reachable from the nodes only.
resource "aws_security_group" "msk" {
  name_prefix = "${var.name}-msk-"
  vpc_id      = module.vpc.vpc_id
  tags        = var.tags

  ingress {
    description     = "Kafka (plaintext) from the cluster's nodes"
    from_port       = 9092
    to_port         = 9092
    protocol        = "tcp"
    security_groups = [module.eks.node_security_group_id]
  }
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = 3
  tags                   = var.tags

  broker_node_group_info {
    instance_type   = var.kafka_broker_instance_type
    client_subnets  = module.vpc.private_subnets
    security_groups = [aws_security_group.msk.id]
    storage_info {
      ebs_storage_info {
        volume_size = var.kafka_broker_storage_gb
      }
    }
  }

  # Mooring's Kafka client has no TLS or SASL settings yet: plaintext, inside the VPC only.
  client_authentication {
    unauthenticated = true
  }

  encryption_info {
    encryption_in_transit {
      client_broker = "TLS_PLAINTEXT"
      in_cluster    = true
    }
  }
}

module "mooring" {
  source = "../../modules/mooring"

  namespace               = "mooring"
  aws_region              = var.region
  table_prefix            = "${var.name}-"
  kafka_bootstrap_servers = split(",", aws_msk_cluster.this.bootstrap_brokers)
  images                  = var.images
  tags                    = var.tags

  depends_on = [module.eks]
}

# The workloads reach DynamoDB as this role (EKS Pod Identity: the gateway, functions and
# integrations run as the namespace's default service account, the controller as its own).
resource "aws_iam_role" "workloads" {
  name = "${var.name}-workloads"
  tags = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
    }]
  })
}

resource "aws_iam_role_policy" "dynamodb" {
  name   = "dynamodb"
  role   = aws_iam_role.workloads.id
  policy = module.mooring.dynamodb_access_policy_json
}

resource "aws_eks_pod_identity_association" "workloads" {
  for_each        = toset(["default", "mooring-controller"])
  cluster_name    = module.eks.cluster_name
  namespace       = module.mooring.namespace
  service_account = each.key
  role_arn        = aws_iam_role.workloads.arn
}
