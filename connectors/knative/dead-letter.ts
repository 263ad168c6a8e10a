// The embedded stand-in for the KafkaSink `mooring-dead-letter`: keeps the most recent dead
// letters in memory (bounded) and logs each one, so a developer sees what could not be delivered.

import type { CloudEvent } from '../../events/cloudevent.ts';
import type { Subscriber } from '../../functions/ports/bus.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';

export interface DeadLetterRecorder {
  readonly subscriber: Subscriber;
  /** The recorded dead letters, oldest first. */
  readonly events: readonly CloudEvent[];
  /** Called after each dead letter is recorded. */
  onEvent(listener: (event: CloudEvent) => void): () => void;
}

export function createDeadLetterRecorder(options: { limit?: number; logger?: Logger } = {}): DeadLetterRecorder {
  const limit = options.limit ?? 1000;
  const logger = options.logger ?? silentLogger;
  const events: CloudEvent[] = [];
  const listeners = new Set<(event: CloudEvent) => void>();
  return {
    events,
    subscriber: async (event) => {
      events.push(event);
      if (events.length > limit) events.shift();
      logger.warn({
        id: event.id, type: event.type, source: event.source,
        code: event.extensions.knativeerrorcode, dest: event.extensions.knativeerrordest,
      }, 'dead letter');
      for (const l of listeners) l(event);
      return undefined;
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
  };
}
