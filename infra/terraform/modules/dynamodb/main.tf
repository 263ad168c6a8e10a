# The DynamoDB tables Mooring's adapters (connectors/dynamodb) use, with the keys, indexes and TTL
# attributes those adapters create when they find a table missing. The adapters stay the source of
# truth: test/infra/dynamodb-schema.test.ts parses this file and compares every table with what the
# adapters create on DynamoDB Local. No adapter reads DynamoDB Streams (instances poll the changes
# table), so no table enables a stream. All tables are billed per request, as the adapters create them.
#
# Registry (connectors/dynamodb/tables.ts), kept: point-in-time recovery and deletion protection.
resource "aws_dynamodb_table" "applications" {
  name                        = "${var.table_prefix}applications"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "name"
  stream_enabled              = false
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "name"
    type = "S"
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_dynamodb_table" "devices" {
  name                        = "${var.table_prefix}devices"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "application"
  range_key                   = "name"
  stream_enabled              = false
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "application"
    type = "S"
  }

  attribute {
    name = "name"
    type = "S"
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_dynamodb_table" "aliases" {
  name                        = "${var.table_prefix}aliases"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "scope"
  range_key                   = "value"
  stream_enabled              = false
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "scope"
    type = "S"
  }

  attribute {
    name = "value"
    type = "S"
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

# The cross-instance change notifications: polled, removed by TTL on `expires` (epoch seconds).
resource "aws_dynamodb_table" "changes" {
  name           = "${var.table_prefix}changes"
  billing_mode   = "PAY_PER_REQUEST"
  hash_key       = "stream"
  range_key      = "key"
  stream_enabled = false
  tags           = var.tags

  attribute {
    name = "stream"
    type = "S"
  }

  attribute {
    name = "key"
    type = "S"
  }

  ttl {
    attribute_name = "expires"
    enabled        = true
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

# Users and access tokens (connectors/dynamodb/tokens.ts), kept like the registry.
resource "aws_dynamodb_table" "tokens" {
  name                        = "${var.table_prefix}tokens"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  stream_enabled              = false
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}
