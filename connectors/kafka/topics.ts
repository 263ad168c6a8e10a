// Kafka topic and consumer-group names. The broker topic and the Trigger groups follow Knative's
// Kafka broker (`knative-broker-<ns>-<broker>`, `knative-trigger-<ns>-<name>`); the per-application
// topics follow Drogue Cloud (`events-<app>`, or `evt-<md5>-<app>` when the plain name is too long
// or not a DNS-1123 name), so a Drogue application's Kafka consumer reads the same topic.

import { createHash } from 'node:crypto';

/** The topic of a Knative Broker, as the Knative Kafka broker names it. */
export function brokerTopic(namespace: string, broker: string): string {
  return `knative-broker-${namespace}-${broker}`;
}

/** The consumer group of a Knative Trigger, as the Knative Kafka broker names it. */
export function triggerGroupId(namespace: string, trigger: string): string {
  return `knative-trigger-${namespace}-${trigger}`;
}

const MAX_NAME_LEN = 63;
// Drogue's pattern, verbatim: written as a Rust raw string, its `\\.` is a literal backslash
// followed by any character, so a name with a dot does not match and takes the hashed route.
// Kept as is: compatibility means the same topic for the same application name.
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u;

/**
 * Drogue Cloud's `resource_name` + `make_kafka_resource_name` (drogue-cloud
 * `service-api/src/kafka.rs`): `<prefix>-<name>` when shorter than 63 bytes and a DNS-1123
 * subdomain, else `<hashedPrefix>-<md5(name) hex>-<name>`; then lower-cased, every character
 * outside `[-a-z0-9]` replaced by `-`, cut to 63 characters and trailing `-` removed.
 */
export function drogueResourceName(prefix: string, hashedPrefix: string, resource: string): string {
  const simple = `${prefix}-${resource}`;
  const name = Buffer.byteLength(simple, 'utf8') < MAX_NAME_LEN && NAME_PATTERN.test(resource)
    ? simple
    : `${hashedPrefix}-${createHash('md5').update(resource, 'utf8').digest('hex')}-${resource}`;
  const chars = Array.from(name.toLowerCase(), (c) => (/^[-a-z0-9]$/.test(c) ? c : '-'));
  return chars.slice(0, MAX_NAME_LEN).join('').replace(/-+$/, '');
}

/** The topic of an application's events, as Drogue Cloud names it (`events-<app>`). */
export function applicationEventsTopic(application: string): string {
  return drogueResourceName('events', 'evt', application);
}
