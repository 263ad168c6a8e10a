variable "table_prefix" {
  description = "Prefix of every table name; Mooring's MOORING_DYNAMODB_TABLE_PREFIX must be the same."
  type        = string
  default     = "mooring-"
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{0,200}$", var.table_prefix))
    error_message = "table_prefix: up to 200 characters of [A-Za-z0-9_.-] (as cli/config.ts accepts)."
  }
}

variable "point_in_time_recovery" {
  description = "Continuous backups of the registry and token tables (the tables that hold state nobody can rebuild)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the registry and token tables (turn off before a `destroy`)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for encryption at rest; null uses the AWS-owned key."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN (arn:aws:kms:…) or null."
  }
}

variable "tags" {
  description = "Tags on every table."
  type        = map(string)
  default     = {}
}
