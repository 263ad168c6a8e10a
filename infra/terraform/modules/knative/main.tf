# Applies the manifests of knative/*.yaml (Broker, Triggers, function Services, dead-letter sink)
# and deploy/*.yaml (gateway, controller, their configuration) with kubectl_manifest, read from the
# checkout itself: the files stay the one source, and test/infra/knative-module.test.ts checks that
# every document of them, and nothing else, is what this module applies. knative/templates/ is
# rendered at run time (the controller's per-application Triggers, the gateway's command Triggers),
# not here. Changes to the documents are the variables' only: namespace, configuration, Kafka
# addresses, the Broker topic's partitions and replication, images.

locals {
  source_dir = coalesce(var.source_dir, "${path.module}/../../../..")
  files      = sort(concat(tolist(fileset(local.source_dir, "knative/*.yaml")), tolist(fileset(local.source_dir, "deploy/*.yaml"))))

  # Every YAML document of the files (chunks of comments only are skipped).
  documents = flatten([for f in local.files : [
    for chunk in split("\n---\n", "\n${file("${local.source_dir}/${f}")}\n") : {
      file = f
      doc  = yamldecode(chunk)
    } if yamldecode(chunk) != null
  ]])
  by_key = { for d in local.documents : "${d.doc.apiVersion}/${d.doc.kind}/${d.doc.metadata.name}" => d.doc }

  kafka_servers = join(",", var.kafka_bootstrap_servers)
  config = merge(
    length(var.kafka_bootstrap_servers) > 0 ? { MOORING_KAFKA_BROKERS = local.kafka_servers } : {},
    var.config,
  )
  broker_config = merge(
    length(var.kafka_bootstrap_servers) > 0 ? { "bootstrap.servers" = local.kafka_servers } : {},
    var.broker_topic_partitions != null ? { "default.topic.partitions" = tostring(var.broker_topic_partitions) } : {},
    var.broker_topic_replication_factor != null ? { "default.topic.replication.factor" = tostring(var.broker_topic_replication_factor) } : {},
  )

  # The documents as applied. Each branch is JSON text, since the documents differ in type.
  manifests = { for key, d in local.by_key : key => yamlencode(jsondecode(
    d.kind == "ConfigMap" && d.metadata.name == "mooring-config" ? jsonencode(merge(d, { data = merge(d.data, local.config) })) :
    d.kind == "ConfigMap" && d.metadata.name == "kafka-broker-config" ? jsonencode(merge(d, { data = merge(d.data, local.broker_config) })) :
    d.kind == "KafkaSink" && length(var.kafka_bootstrap_servers) > 0 ? jsonencode(merge(d, { spec = merge(d.spec, { bootstrapServers = var.kafka_bootstrap_servers }) })) :
    can(d.spec.template.spec.containers) ? jsonencode(merge(d, { spec = merge(d.spec, { template = merge(d.spec.template, { spec = merge(d.spec.template.spec, {
      containers = [for c in d.spec.template.spec.containers : merge(c, { image = lookup(var.images, replace(c.image, "/:[^/:]+$/", ""), c.image) })]
    }) }) }) })) :
    jsonencode(d)
  )) }
}

resource "kubectl_manifest" "namespace" {
  count = var.create_namespace ? 1 : 0
  yaml_body = yamlencode({
    apiVersion = "v1"
    kind       = "Namespace"
    metadata   = { name = var.namespace, labels = { "app.kubernetes.io/part-of" = "mooring" } }
  })
}

resource "kubectl_manifest" "this" {
  for_each           = local.manifests
  yaml_body          = each.value
  override_namespace = var.namespace
  wait_for_rollout   = var.wait_for_rollout
  depends_on         = [kubectl_manifest.namespace]

  lifecycle {
    precondition {
      condition     = length(local.by_key) == length(local.documents)
      error_message = "Two documents of knative/ and deploy/ have the same apiVersion, kind and name."
    }
  }
}
