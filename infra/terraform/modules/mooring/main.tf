# A whole Mooring deployment: the DynamoDB tables, the Kafka topics, and the Knative/Kubernetes
# objects, wired to each other (table prefix, region, bootstrap servers and the Broker topic's
# partitions agree everywhere). The caller configures the aws, kafka and kubectl providers.

module "dynamodb" {
  source                 = "../dynamodb"
  table_prefix           = var.table_prefix
  point_in_time_recovery = var.dynamodb_protection
  deletion_protection    = var.dynamodb_protection
  kms_key_arn            = var.kms_key_arn
  tags                   = var.tags
}

module "kafka" {
  source            = "../kafka"
  namespace         = var.namespace
  broker_topic      = var.broker_topic
  dead_letter_topic = var.dead_letter_topic
}

module "knative" {
  source                          = "../knative"
  namespace                       = var.namespace
  create_namespace                = var.create_namespace
  kafka_bootstrap_servers         = var.kafka_bootstrap_servers
  broker_topic_partitions         = var.broker_topic.partitions
  broker_topic_replication_factor = var.broker_topic.replication_factor
  images                          = var.images
  config = merge({
    MOORING_DYNAMODB_ENDPOINT     = "https://dynamodb.${var.aws_region}.amazonaws.com"
    MOORING_DYNAMODB_REGION       = var.aws_region
    MOORING_DYNAMODB_TABLE_PREFIX = module.dynamodb.table_prefix
  }, var.config)

  # The topics (with their retention) exist before the Broker would create its own.
  depends_on = [module.kafka]
}
