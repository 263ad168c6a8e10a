# The DynamoDB tables Mooring's adapters (connectors/dynamodb) use, with the keys, indexes and TTL
# attributes those adapters create when they find a table missing. The adapters stay the source of
# truth: test/infra/dynamodb-schema.test.ts parses this file and compares every table with what the
# adapters create on DynamoDB Local. No adapter reads DynamoDB Streams (instances poll the changes
# table), so no table enables a stream. All tables are billed per request, as the adapters create them.

locals {
  tables = {
    # The registry (connectors/dynamodb/tables.ts).
    applications = { hash_key = "name", range_key = null, attributes = { name = "S" }, ttl = null, indexes = {}, kept = true }
    devices      = { hash_key = "application", range_key = "name", attributes = { application = "S", name = "S" }, ttl = null, indexes = {}, kept = true }
    aliases      = { hash_key = "scope", range_key = "value", attributes = { scope = "S", value = "S" }, ttl = null, indexes = {}, kept = true }
    # Cross-instance change notifications: polled, removed by TTL on `expires` (epoch seconds).
    changes = { hash_key = "stream", range_key = "key", attributes = { stream = "S", key = "S" }, ttl = "expires", indexes = {}, kept = false }
    # Users and access tokens (connectors/dynamodb/tokens.ts).
    tokens = { hash_key = "pk", range_key = "sk", attributes = { pk = "S", sk = "S" }, ttl = null, indexes = {}, kept = true }
    # The connection directory (connectors/dynamodb/directory.ts): a survivor finds the entries of a
    # dead instance through `by-instance`. TTL (`ttl`) only keeps the tables small: liveness is
    # decided by comparing times, never by TTL deletion.
    connections = {
      hash_key   = "application"
      range_key  = "device"
      attributes = { application = "S", device = "S", instance = "S" }
      ttl        = null
      indexes    = { "by-instance" = { hash_key = "instance", range_key = null, projection_type = "ALL" } }
      kept       = false
    }
    leases = { hash_key = "instance", range_key = null, attributes = { instance = "S" }, ttl = "ttl", indexes = {}, kept = false }
    losses = { hash_key = "instance", range_key = "token", attributes = { instance = "S", token = "S" }, ttl = "ttl", indexes = {}, kept = false }
    # The offline command queue (connectors/dynamodb/queue.ts).
    commands = { hash_key = "queue", range_key = "key", attributes = { queue = "S", key = "S" }, ttl = "ttl", indexes = {}, kept = false }
  }
}

# Tables marked `kept` hold state nobody can rebuild: point-in-time recovery and deletion protection.
# The others are state of the running instances, rebuilt as devices reconnect.
resource "aws_dynamodb_table" "this" {
  for_each                    = local.tables
  name                        = "${var.table_prefix}${each.key}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  stream_enabled              = false
  deletion_protection_enabled = each.value.kept && var.deletion_protection
  tags                        = var.tags

  dynamic "attribute" {
    for_each = each.value.attributes
    content {
      name = attribute.key
      type = attribute.value
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.indexes
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value.hash_key
      range_key       = global_secondary_index.value.range_key
      projection_type = global_secondary_index.value.projection_type
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl == null ? [] : [each.value.ttl]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = each.value.kept && var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}
