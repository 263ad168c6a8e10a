output "broker_topic" {
  description = "The Broker's topic."
  value       = kafka_topic.this["knative-broker-${var.namespace}-${var.broker}"].name
}

output "dead_letter_topic" {
  description = "The dead-letter topic."
  value       = kafka_topic.this[var.dead_letter_topic.name].name
}

output "topics" {
  description = "Partitions and retention (ms) of every topic, by name."
  value = { for name, t in kafka_topic.this : name => {
    partitions   = t.partitions
    retention_ms = tonumber(t.config["retention.ms"])
  } }
}
