// Registry changes as events (Drogue's registry-events and device-management-controller, §5.8):
// every change this instance made (origin `local`; another instance publishes its own) becomes
// io.drogue.registry.change.application|device, one per changed path, written to the `registry`
// topic when the bus can write topics (Kafka, as Drogue's all-in-one server), else into the bus;
// and every device change also becomes io.drogue.registry.v1 (subject `devices`) in the
// application's stream, which its push Trigger delivers. Unlike Drogue there is no outbox: a
// change whose events cannot be published (the bus is down) is logged, not resent.

import { registryChangeEvent, registryNotificationEvent } from '../../events/constructors.ts';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { rfc3339 } from '../../events/time.ts';
import type { EventBus } from '../../functions/ports/bus.ts';
import type { RegistryChange, RegistryStore } from '../../functions/ports/registry.ts';
import type { Clock, Logger } from '../../functions/ports/runtime.ts';

export const REGISTRY_TOPIC = 'registry';

export interface ChangeEventOptions {
  instance: string;
  newId: () => string;
  clock: Clock;
  logger: Logger;
}

/** The events of one batch of changes: [registry change events, application-stream notifications]. */
export function changeEvents(changes: readonly RegistryChange[], o: Pick<ChangeEventOptions, 'instance' | 'newId'> & { time: string }): [CloudEvent[], CloudEvent[]] {
  const registry: CloudEvent[] = [];
  const stream: CloudEvent[] = [];
  for (const c of changes) {
    if (c.origin !== 'local') continue;
    registry.push(registryChangeEvent({
      id: o.newId(), time: o.time, instance: o.instance, kind: c.kind, application: c.application,
      device: c.device, path: c.path, revision: c.revision, uid: c.uid,
    }));
    if (c.kind === 'device' && c.device !== undefined) {
      stream.push(registryNotificationEvent({
        id: o.newId(), time: o.time, instance: o.instance, application: c.application, device: c.device, deviceUid: c.uid,
      }));
    }
  }
  return [registry, stream];
}

/** Publishes the events of every local change; returns the unsubscribe function. */
export function publishRegistryChanges(store: RegistryStore, bus: EventBus, o: ChangeEventOptions): () => void {
  const topics = bus.capabilities.topics;
  let last: Promise<void> = Promise.resolve();
  return store.onChanges((changes) => {
    const [registry, stream] = changeEvents(changes, { ...o, time: rfc3339(o.clock.now()) });
    if (registry.length === 0) return;
    // One batch after another, so an application sees its devices' changes in order.
    last = last.then(async () => {
      // Drogue skips the notification when the application no longer exists.
      const apps = new Map<string, boolean>();
      const kept: CloudEvent[] = [];
      for (const e of stream) {
        const app = String(e.extensions.application);
        if (!apps.has(app)) apps.set(app, (await store.getApplication(app)) !== undefined);
        if (apps.get(app)) kept.push(e);
      }
      await (topics ? topics(REGISTRY_TOPIC, registry) : bus.publish(registry));
      if (kept.length > 0) await bus.publish(kept);
    }).catch((err: unknown) => {
      o.logger.error({ err: err instanceof Error ? err.message : String(err), changes: changes.length }, 'registry change events not published');
    });
  });
}
