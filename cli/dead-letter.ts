// The embedded mode's dead-letter sink (`KafkaSink mooring-dead-letter` in a cluster): events
// that a subscriber refused for good are appended, as structured CloudEvents, to
// `<dataDir>/dead-letter.jsonl` and reported to listeners.

import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CloudEvent } from '../events/cloudevent.ts';
import type { Subscriber } from '../functions/ports/bus.ts';
import type { Logger } from '../functions/ports/runtime.ts';

export interface DeadLetterSink {
  subscriber: Subscriber;
  onEvent(listener: (event: CloudEvent) => void): () => void;
}

function toJsonLine(event: CloudEvent): string {
  const { extensions, data, ...core } = event;
  return JSON.stringify({ ...core, ...extensions, ...(data ? { data_base64: Buffer.from(data).toString('base64') } : {}) }) + '\n';
}

export function createDeadLetterSink(path: string, logger: Logger): DeadLetterSink {
  const listeners = new Set<(event: CloudEvent) => void>();
  let ready: Promise<unknown> | undefined;
  const subscriber: Subscriber = async (event) => {
    ready ??= mkdir(dirname(path), { recursive: true });
    await ready;
    await appendFile(path, toJsonLine(event));
    logger.warn({
      id: event.id, type: event.type, application: event.extensions.application,
      code: event.extensions.knativeerrorcode, dest: event.extensions.knativeerrordest,
    }, 'event dead-lettered');
    for (const l of listeners) l(event);
    return undefined;
  };
  return {
    subscriber,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
