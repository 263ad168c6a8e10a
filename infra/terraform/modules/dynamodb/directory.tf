# The connection directory (connectors/dynamodb/directory.ts) and the command queue
# (connectors/dynamodb/queue.ts): state of the running instances, rebuilt as devices reconnect, so
# neither point-in-time recovery nor deletion protection. TTL (`ttl`, epoch seconds) only keeps the
# tables small; liveness and expiry are decided by comparing times, never by TTL deletion.
resource "aws_dynamodb_table" "connections" {
  name           = "${var.table_prefix}connections"
  billing_mode   = "PAY_PER_REQUEST"
  hash_key       = "application"
  range_key      = "device"
  stream_enabled = false
  tags           = var.tags

  attribute {
    name = "application"
    type = "S"
  }

  attribute {
    name = "device"
    type = "S"
  }

  attribute {
    name = "instance"
    type = "S"
  }

  # A survivor finds the entries of a dead instance through this index.
  global_secondary_index {
    name            = "by-instance"
    hash_key        = "instance"
    projection_type = "ALL"
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_dynamodb_table" "leases" {
  name           = "${var.table_prefix}leases"
  billing_mode   = "PAY_PER_REQUEST"
  hash_key       = "instance"
  stream_enabled = false
  tags           = var.tags

  attribute {
    name = "instance"
    type = "S"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_dynamodb_table" "losses" {
  name           = "${var.table_prefix}losses"
  billing_mode   = "PAY_PER_REQUEST"
  hash_key       = "instance"
  range_key      = "token"
  stream_enabled = false
  tags           = var.tags

  attribute {
    name = "instance"
    type = "S"
  }

  attribute {
    name = "token"
    type = "S"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_dynamodb_table" "commands" {
  name           = "${var.table_prefix}commands"
  billing_mode   = "PAY_PER_REQUEST"
  hash_key       = "queue"
  range_key      = "key"
  stream_enabled = false
  tags           = var.tags

  attribute {
    name = "queue"
    type = "S"
  }

  attribute {
    name = "key"
    type = "S"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}
