// Per-application topics (option, MOORING_KAFKA_APP_TOPICS): each application's final stream,
// its io.drogue.event.v1 and io.drogue.connection.v1, also goes to `events-<app>` (Drogue Cloud's
// name, ./topics.ts), so a Kafka application consumes its own events directly, as it did with
// Drogue. In a cluster this is a KafkaSink per application behind a Trigger like the push Trigger
// (knative/templates/app-trigger.yaml); in-process it is one Trigger with the push Trigger's
// filters minus the application, whose subscriber writes each event to its application's topic
// (./sink.ts) with the same binary binding and key. Its offsets are committed only once the
// record is in that topic, so the topic misses nothing the broker topic holds (at least once).

import type { CloudEvent } from '../../events/cloudevent.ts';
import { renderAppTrigger } from '../knative/triggers.ts';
import type { EventBus, SubscriptionsFilter, TopicWriter, TriggerSpec } from '../../functions/ports/bus.ts';
import { kafkaSink } from './sink.ts';
import { applicationEventsTopic } from './topics.ts';

export const APPLICATION_TOPICS_TRIGGER = 'application-topics';

/**
 * The Trigger selecting every application's final events: the push Trigger's filters
 * (knative/templates/app-trigger.yaml, the one routing truth) without the application's (an
 * event without one is skipped by the sink).
 */
export async function applicationTopicsTrigger(namespace: string, broker: string, template?: string): Promise<TriggerSpec> {
  const push = await renderAppTrigger({ app: 'any', endpoint: 'http://any.invalid' }, { template });
  const filters = (push.filters ?? []).filter((f) => !isApplicationFilter(f));
  return {
    name: APPLICATION_TOPICS_TRIGGER,
    namespace,
    broker,
    filters,
    subscriber: { uri: `kafka://${broker}/${APPLICATION_TOPICS_TRIGGER}` },
    // A KafkaSink answers 503 while Kafka does not take the record: keep retrying (about 20
    // minutes, each attempt itself bounded by the bus's publishTimeoutMs) rather than skip it.
    delivery: { retry: 100, backoffPolicy: 'linear', backoffDelay: 'PT0.1S' },
  };
}

function isApplicationFilter(f: SubscriptionsFilter): boolean {
  return 'exact' in f && Object.keys(f.exact).length === 1 && f.exact.application !== undefined;
}

/** The application topic of an event, when it belongs to one. */
export function applicationTopicOf(event: CloudEvent): string | undefined {
  const app = event.extensions.application;
  return typeof app === 'string' && app !== '' ? applicationEventsTopic(app) : undefined;
}

/** Adds the Trigger writing each application's final events to `events-<app>`. */
export async function startApplicationTopics(
  bus: EventBus,
  write: TopicWriter,
  broker: { namespace: string; broker: string },
): Promise<TriggerSpec> {
  const trigger = await applicationTopicsTrigger(broker.namespace, broker.broker);
  await bus.addTrigger(trigger, kafkaSink(write, applicationTopicOf));
  return trigger;
}
