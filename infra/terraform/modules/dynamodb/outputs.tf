output "table_prefix" {
  description = "The prefix to give Mooring as MOORING_DYNAMODB_TABLE_PREFIX."
  value       = var.table_prefix
}

output "table_names" {
  description = "Table name by role (applications, devices, aliases, changes, tokens, connections, leases, losses, commands)."
  value       = { for role, t in aws_dynamodb_table.this : role => t.name }
}

output "table_arns" {
  description = "Table ARN by role."
  value       = { for role, t in aws_dynamodb_table.this : role => t.arn }
}

output "access_policy_json" {
  # The adapters ensure their tables when they start (CreateTable, UpdateTimeToLive): on tables that
  # exist these are answered ResourceInUse / ValidationException and change nothing, but a denied
  # call would stop the start, so they are granted on these tables only.
  description = "An IAM policy document granting Mooring's workloads what the adapters do on these tables (and their indexes); attach it to the pods' role (IRSA)."
  value = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "MooringTables"
      Effect = "Allow"
      Action = [
        "dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:UpdateTimeToLive",
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
        "dynamodb:Query", "dynamodb:Scan", "dynamodb:TransactWriteItems",
      ]
      Resource = flatten([for t in values(aws_dynamodb_table.this) : [t.arn, "${t.arn}/index/*"]])
    }]
  })
}
