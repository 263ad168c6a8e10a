// A Knative KafkaSink in-process: a Trigger subscriber that writes each event it receives to a
// Kafka topic, binary content mode, key = partitionkey (./binding.ts), acks=all. It answers like
// the KafkaSink's receiver: success once the record is acknowledged, 503 when Kafka does not take
// it (the Trigger's delivery then retries, and the offset of the event waits).

import type { CloudEvent } from '../../events/cloudevent.ts';
import { type Subscriber, type TopicWriter } from '../../functions/ports/bus.ts';
import { deliveryFailed } from '../../events/errors.ts';

/** The topic of the KafkaSink `mooring-dead-letter` (knative/dead-letter.yaml). */
export const DEAD_LETTER_TOPIC = 'mooring-dead-letter';

/**
 * Writes each event to `topicOf(event)`; an event without a topic (undefined) is accepted and
 * skipped.
 */
export function kafkaSink(write: TopicWriter, topicOf: (event: CloudEvent) => string | undefined): Subscriber {
  return async (event) => {
    const topic = topicOf(event);
    if (topic === undefined) return undefined;
    try {
      await write(topic, [event]);
    } catch (e) {
      throw deliveryFailed(`Kafka topic ${topic}: ${(e as Error).message}`, 503, { cause: e });
    }
    return undefined;
  };
}
